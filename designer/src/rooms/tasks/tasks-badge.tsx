import { useQuery, useQueryClient } from '@tanstack/preact-query';
import { useEffect } from 'preact/hooks';
import { api } from '../../api/client';
import { coalesce } from '../../api/coalesce';
import { t } from '../../i18n';
import { subscribeInbox } from './inbox-stream';
import { SlaNotices } from './sla-notices';
import type { TaskCounts } from './tasks-api';

export const countsKey = ['tasks', 'counts'] as const;

/**
 * The navigation's count of open tasks waiting for me and my groups (red when some are overdue),
 * kept current by the pushed inbox stream rather than by polling.
 */
export function TasksBadge() {
  const client = useQueryClient();
  const counts = useQuery({ queryKey: countsKey, queryFn: () => api<TaskCounts>('/api/tasks/counts'), staleTime: Infinity });
  useEffect(() => {
    const reload = coalesce(150, () => void client.invalidateQueries({ queryKey: countsKey }));
    const unsubscribe = subscribeInbox(reload.poke);
    return () => {
      reload.cancel();
      unsubscribe();
    };
  }, []);
  if (!counts.data) return null;
  const waiting = counts.data.mine + counts.data.group;
  const label = t('tasks.badge', { count: waiting, overdue: counts.data.overdue });
  return (
    <span class={counts.data.overdue > 0 ? 'kf-nav-badge kf-nav-badge--overdue' : 'kf-nav-badge'} data-testid="tasks-badge" title={label}>
      <span aria-hidden="true">{waiting}</span>
      <span class="kf-visually-hidden">{label}</span>
    </span>
  );
}

/** What the shell shows for the task list outside the navigation: the SLA notices of my tasks. */
export function TasksNotices() {
  return <SlaNotices />;
}
