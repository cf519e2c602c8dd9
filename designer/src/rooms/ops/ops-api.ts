import { api } from '../../api/client';

/** The ops room's calls: the `/api/ops/*` routes, typed as the room reads them. */

export interface FoundInstance {
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime?: string;
  processKey?: string;
  processVersion?: number;
  businessKey?: string;
  customerId?: string;
  orgUnitId?: string;
  incident: boolean;
  incidentNode?: string;
  activeNodes: string[];
  errors?: { nodeId?: string; incidentId?: string; message: string }[];
}

export interface InstanceFilter {
  status?: string;
  processKey?: string;
  processVersion?: string;
  nodeId?: string;
  errorContains?: string;
  businessKey?: string;
  customerId?: string;
  orgUnitId?: string;
  startedAfter?: string;
  startedBefore?: string;
}

export interface InstanceCounts {
  total: number;
  byProcess: { processKey: string; processVersion: number | null; count: number; incidents: number }[];
  byNode: { processKey: string; processVersion: number | null; nodeId: string; active: number; incidents: number }[];
  truncated: boolean;
}

export interface IncidentGroup {
  processKey: string;
  processVersion: number | null;
  nodeId: string;
  error: string;
  count: number;
  workflowIds: string[];
}

export interface Incident {
  id: string;
  nodeId: string;
  tokenId: string;
  errorType: string;
  message: string;
  errorCode?: string;
  attempts: number;
  createdAt: string;
}

export interface InstanceState {
  processKey: string;
  processVersion: number;
  businessKey: string;
  status: string;
  activeNodes: { tokenId: string; nodeId: string; since: string; loopCounter?: number }[];
  completedNodes: { nodeId: string; startedAt: string; completedAt: string }[];
  variables: Record<string, unknown>;
  incidents: Incident[];
  openTasks: { taskId: string; nodeId: string; name: string; candidateGroups: string[]; assignee?: string; dueAt?: string }[];
}

export interface InstanceDetail {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: string;
  startTime: string;
  closeTime?: string;
  processKey?: string;
  processVersion?: number;
  businessKey?: string;
  customerId?: string;
  orgUnitId?: string;
  parent?: { workflowId: string; runId: string };
  state?: InstanceState;
}

export interface TimelineEntry {
  eventId: number;
  at: string;
  kind: string;
  nodeId?: string;
  activityId?: string;
  activityType?: string;
  attempt?: number;
  previousAttemptError?: string;
  error?: { message: string; type?: string };
  name?: string;
  resetPointEventId?: number;
  details?: Record<string, unknown>;
}

export interface Timeline {
  workflowId: string;
  runId?: string;
  entries: TimelineEntry[];
  resetPoints: { eventId: number; at: string }[];
  nodes?: { completed: InstanceState['completedNodes']; active: InstanceState['activeNodes'] };
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  requestId?: string | null;
  details: Record<string, unknown> & { reason?: string; result?: string; error?: { code: string; message: string } };
}

export interface ReplayVerdict {
  workflowId: string;
  runId: string;
  deterministic: boolean;
  error?: { type: string; message: string };
  divergentEvent?: { eventId: number; eventType: string; summary: string };
}

export interface DefinitionVersion {
  key: string;
  version: number;
  name: string | null;
  xml: string;
  summary: { nodes: { id: string; type: string; name?: string; parentId?: string }[] };
}

const instancePath = (workflowId: string) => `/api/ops/instances/${encodeURIComponent(workflowId)}`;

export const findInstances = (filter: InstanceFilter, limit: number, pageToken?: string) =>
  api<{ instances: FoundInstance[]; nextPageToken?: string }>('/api/ops/instances', { query: { ...filter, limit, pageToken } });

export const countInstances = (filter: InstanceFilter) => api<InstanceCounts>('/api/ops/counts', { query: { ...filter } });

export const incidentGroups = (filter: Omit<InstanceFilter, 'status' | 'errorContains'> = {}) =>
  api<{ groups: IncidentGroup[]; instances: number; truncated: boolean }>('/api/ops/incidents', { query: { ...filter } });

export const loadInstance = (workflowId: string) => api<InstanceDetail>(instancePath(workflowId));
export const loadTimeline = (workflowId: string) => api<Timeline>(`${instancePath(workflowId)}/timeline`);
export const loadAudit = (workflowId: string) => api<{ entries: AuditEntry[] }>(`${instancePath(workflowId)}/audit`);

export const loadVersion = (key: string, version: number) => api<DefinitionVersion>(`/api/process-definitions/${encodeURIComponent(key)}/versions/${version}`);
export const listVersions = (key: string) =>
  api<{ items: { key: string; version: number; name: string | null; deployedAt: string; note: string | null }[] }>('/api/process-definitions', { query: { key } }).then((page) => page.items);
export const listOrgUnits = () => api<{ items: { id: string; name: string; path: string }[] }>('/api/org-units').then((page) => page.items);

/** Every ops action on one instance: the route's own words after the instance path, and its body (which always carries a reason). */
export type InstanceAction =
  | { kind: 'retry'; incidentId: string; variables?: Record<string, unknown> }
  | { kind: 'skip'; incidentId: string; variables: Record<string, unknown> }
  | { kind: 'reset'; nodeId?: string; eventId?: number }
  | { kind: 'move'; fromNodeId: string; toNodeId: string }
  | { kind: 'migrate'; toVersion: number; nodeMapping: Record<string, string> }
  | { kind: 'cancel' }
  | { kind: 'terminate' };

export function runAction(workflowId: string, action: InstanceAction, reason: string): Promise<Record<string, unknown>> {
  const base = instancePath(workflowId);
  switch (action.kind) {
    case 'retry':
      return api(`${base}/incidents/${encodeURIComponent(action.incidentId)}/retry`, { method: 'POST', body: { reason, ...(action.variables ? { variables: action.variables } : {}) } });
    case 'skip':
      return api(`${base}/incidents/${encodeURIComponent(action.incidentId)}/skip`, { method: 'POST', body: { reason, variables: action.variables } });
    case 'reset':
      return api(`${base}/reset`, { method: 'POST', body: { reason, ...(action.nodeId ? { nodeId: action.nodeId } : {}), ...(action.eventId ? { eventId: action.eventId } : {}) } });
    case 'move':
      return api(`${base}/move`, { method: 'POST', body: { reason, fromNodeId: action.fromNodeId, toNodeId: action.toNodeId } });
    case 'migrate':
      return api(`${base}/migrate`, { method: 'POST', body: { reason, toVersion: action.toVersion, nodeMapping: action.nodeMapping } });
    case 'cancel':
      return api(`${base}/cancel`, { method: 'POST', body: { reason } });
    case 'terminate':
      return api(`${base}/terminate`, { method: 'POST', body: { reason } });
  }
}

export const replayCheck = (processKey: string, businessKey: string) =>
  api<{ checked: number; nonDeterministic: number; instances: ReplayVerdict[] }>('/api/ops/replay-check', { method: 'POST', body: { filter: { processKey, businessKey }, limit: 1 } });

export interface NodeStat {
  nodeId: string;
  executions: number;
  avgMs: number;
  p95Ms: number;
  maxMs: number;
  overSla?: boolean;
}

export interface NodeStats {
  processKey: string;
  processVersion: number;
  from: string;
  to: string;
  collectedUntil: string | null;
  nodes: NodeStat[];
}

export const loadNodeStats = (processKey: string, version: number, windowMs: number, slaMs?: number) =>
  api<NodeStats>(`/api/ops/processes/${encodeURIComponent(processKey)}/node-stats`, {
    query: { version, from: new Date(Date.now() - windowMs).toISOString(), slaMs },
  });

export const collectNodeStats = () => api<{ collected: { instances: number; executions: number } | null }>('/api/ops/node-stats/collect', { method: 'POST', body: {} });

export interface BatchDryRun {
  dryRun: true;
  count: number;
  sample: string[];
}

export interface BatchView {
  id: string;
  action: string;
  status: string;
  total: number;
  progress?: { total: number; done: number; succeeded: number; failed: number; skipped: number; status: string };
  counts: { pending: number; succeeded: number; failed: number; skipped: number };
}

export const batchActions = ['retry', 'cancel', 'terminate'] as const;
export type BatchAction = (typeof batchActions)[number];

export const dryRunBatch = (action: BatchAction, filter: InstanceFilter, reason: string) =>
  api<BatchDryRun>('/api/ops/batches', { method: 'POST', body: { action, filter, reason, dryRun: true } });
export const startBatch = (action: BatchAction, filter: InstanceFilter, reason: string) =>
  api<{ dryRun: false; batchId: string; count: number }>('/api/ops/batches', { method: 'POST', body: { action, filter, reason, dryRun: false } });
export const loadBatch = (batchId: string) => api<BatchView>(`/api/ops/batches/${encodeURIComponent(batchId)}`);

export const loadThroughput = (processKey: string, version: number, hours: number) =>
  api<{ hours: { hour: string; started: number; completed: number }[] }>(`/api/ops/processes/${encodeURIComponent(processKey)}/throughput`, { query: { version, hours } });
