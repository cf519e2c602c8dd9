import { useQuery } from '@tanstack/preact-query';
import { api } from '../../api/client';

/** The deployed process keys, for the search's process picker. */
export function useProcessKeys() {
  return useQuery({
    queryKey: ['ops', 'process-keys'],
    queryFn: async () => {
      const page = await api<{ items: { key: string }[] }>('/api/process-definitions');
      return [...new Set(page.items.map((item) => item.key))].sort();
    },
    staleTime: 60_000,
  });
}
