import type { DecisionSummary } from './decisions/decision-api';
import type { ModelingCatalogue } from './modeler/kf-properties/catalogue';
import { api } from '../../api/client';
import type { ServerProblem } from './modeler/problems/server-problems';

export interface DefinitionSummary {
  key: string;
  version: number;
  name: string | null;
  deployedBy: string;
  deployedAt: string;
  note: string | null;
}

export interface DefinitionDetail extends DefinitionSummary {
  xml: string;
}

export interface VersionImpact {
  processKey: string;
  runningInstances: number;
  versions: { processVersion: number; instances: number; waitingAt: { nodeId: string; instances: number; removed: boolean }[] }[];
}

export const listDefinitions = () => api<{ items: DefinitionSummary[] }>('/api/process-definitions').then((page) => page.items);

export const loadDefinition = (key: string, version?: number) =>
  api<DefinitionDetail>(version ? `/api/process-definitions/${encodeURIComponent(key)}/versions/${version}` : `/api/process-definitions/${encodeURIComponent(key)}`);

export const checkModel = (xml: string) => api<{ key: string | null; problems: ServerProblem[] }>('/api/process-definitions/check', { method: 'POST', body: xml, contentType: 'application/xml' });

/** What a deploy answers: the (first) process, and every process of the document with the pools it left out. */
export interface Deployment extends DefinitionSummary {
  created: boolean;
  processes: (DefinitionSummary & { created: boolean })[];
  skipped: { processId: string; name?: string; reason: string }[];
}

export const deployModel = (xml: string, note: string) =>
  api<Deployment>('/api/process-definitions', { method: 'POST', body: xml, contentType: 'application/xml', query: { note: note.trim() || undefined } });

export const impactOf = (key: string, nodeIds: string[]) => api<VersionImpact>(`/api/process-definitions/${encodeURIComponent(key)}/impact`, { method: 'POST', body: { nodeIds } });

export const loadActivityTypes = () => api<{ items: ModelingCatalogue['activityTypes'] }>('/api/activity-types').then((page) => page.items);
export const loadCandidateGroups = () => api<{ items: string[] }>('/api/candidate-groups').then((page) => page.items);

/** One entry per key, its latest version first, from the API's every-version list. */
export function latestPerKey<T extends { key: string; version: number }>(definitions: readonly T[]): (T & { versions: number })[] {
  const byKey = new Map<string, T & { versions: number }>();
  for (const definition of definitions) {
    const seen = byKey.get(definition.key);
    if (!seen) byKey.set(definition.key, { ...definition, versions: 1 });
    else {
      seen.versions += 1;
      if (definition.version > seen.version) byKey.set(definition.key, { ...definition, versions: seen.versions });
    }
  }
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/** Every deployed version of every decision. */
export const listDecisions = () => api<{ items: DecisionSummary[] }>('/api/decision-definitions').then((page) => page.items);
