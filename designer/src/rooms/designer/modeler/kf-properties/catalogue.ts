import { signal } from '@preact/signals';

/** What the properties panel offers to pick from: loaded from the API when the designer opens. */
export interface ModelingCatalogue {
  activityTypes: { type: string; description: string; input: { name: string; type: string; required: boolean; values?: string[] }[]; defaultRetries: number; defaultTimeout: string }[];
  candidateGroups: string[];
  processes: { key: string; name: string | null; latestVersion: number }[];
  decisions: { key: string; name: string | null; latestVersion: number }[];
}

export const modelingCatalogue = signal<ModelingCatalogue>({ activityTypes: [], candidateGroups: [], processes: [], decisions: [] });
