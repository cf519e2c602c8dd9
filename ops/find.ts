import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { decodeSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { bpmnProcessWorkflowType } from '../workflows/contracts';
import { instanceState } from './actions';

// Visibility queries take no parameters: every value that goes into one is checked against this
// (no quotes, no backslashes), so a filter can never change the query's shape.
export const keyword = z.string().min(1).max(200).regex(/^[^'"\\\n\r]+$/, 'must not contain quotes, backslashes or newlines');

export const instanceStatuses = ['incident', 'running', 'completed', 'failed', 'timedOut', 'terminated', 'cancelled', 'continuedAsNew'] as const;
export type InstanceStatusFilter = (typeof instanceStatuses)[number];

/** A filter over process instances: every field optional, all given fields must hold. */
export const instanceFilter = z
  .object({
    status: z.enum(instanceStatuses).optional(),
    processKey: keyword.optional(),
    processVersion: z.coerce.number().int().min(1).optional(),
    /** Incident node for `status=incident`, otherwise any active node. */
    nodeId: keyword.optional(),
    /** Case-insensitive substring of the incident message (or the failure of a failed instance). */
    errorContains: z.string().min(1).max(500).optional(),
    businessKey: keyword.optional(),
    customerId: keyword.optional(),
    /** The instance's org unit (`KfOrgUnit`), exactly. */
    orgUnitId: keyword.optional(),
    startedAfter: z.string().datetime().optional(),
    startedBefore: z.string().datetime().optional(),
    closedAfter: z.string().datetime().optional(),
    closedBefore: z.string().datetime().optional(),
    /** `bpmnProcess` unless given (ops tools also see their own batches and test workflows). */
    workflowType: keyword.optional(),
    taskQueue: keyword.optional(),
  })
  .strict();
export type InstanceFilter = z.infer<typeof instanceFilter>;

const statusQuery: Record<InstanceStatusFilter, string> = {
  incident: `ExecutionStatus = 'Running' AND KfIncident = true`,
  running: `ExecutionStatus = 'Running'`,
  completed: `ExecutionStatus = 'Completed'`,
  failed: `ExecutionStatus = 'Failed'`,
  timedOut: `ExecutionStatus = 'TimedOut'`,
  terminated: `ExecutionStatus = 'Terminated'`,
  cancelled: `ExecutionStatus = 'Canceled'`,
  continuedAsNew: `ExecutionStatus = 'ContinuedAsNew'`,
};

/** The visibility query for a filter (values were validated by `instanceFilter`). */
export function visibilityQuery(filter: InstanceFilter): string {
  const parts = [`WorkflowType = '${filter.workflowType ?? bpmnProcessWorkflowType}'`];
  if (filter.status) parts.push(statusQuery[filter.status]);
  if (filter.processKey) parts.push(`KfProcessKey = '${filter.processKey}'`);
  if (filter.processVersion !== undefined) parts.push(`KfProcessVersion = ${filter.processVersion}`);
  if (filter.nodeId) parts.push(filter.status === 'incident' ? `KfIncidentNode = '${filter.nodeId}'` : `KfActiveNodes = '${filter.nodeId}'`);
  if (filter.businessKey) parts.push(`KfBusinessKey = '${filter.businessKey}'`);
  if (filter.customerId) parts.push(`KfCustomerId = '${filter.customerId}'`);
  if (filter.orgUnitId) parts.push(`KfOrgUnit = '${filter.orgUnitId}'`);
  if (filter.startedAfter) parts.push(`StartTime >= '${filter.startedAfter}'`);
  if (filter.startedBefore) parts.push(`StartTime < '${filter.startedBefore}'`);
  if (filter.closedAfter) parts.push(`CloseTime >= '${filter.closedAfter}'`);
  if (filter.closedBefore) parts.push(`CloseTime < '${filter.closedBefore}'`);
  if (filter.taskQueue) parts.push(`TaskQueue = '${filter.taskQueue}'`);
  return parts.join(' AND ');
}

export interface FoundInstance {
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
  incident: boolean;
  incidentNode?: string;
  activeNodes: string[];
  /** Incidents (from the `state` query) or the failure, when the filter asked about errors. */
  errors?: { nodeId?: string; incidentId?: string; message: string }[];
}

function first(info: WorkflowExecutionInfo, name: string): unknown {
  const values = info.searchAttributes?.[name];
  return Array.isArray(values) ? values[0] : undefined;
}

function toFound(info: WorkflowExecutionInfo): FoundInstance {
  const active = info.searchAttributes?.KfActiveNodes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.type,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
    processKey: first(info, 'KfProcessKey') as string | undefined,
    processVersion: first(info, 'KfProcessVersion') as number | undefined,
    businessKey: first(info, 'KfBusinessKey') as string | undefined,
    customerId: first(info, 'KfCustomerId') as string | undefined,
    orgUnitId: first(info, 'KfOrgUnit') as string | undefined,
    incident: first(info, 'KfIncident') === true,
    incidentNode: first(info, 'KfIncidentNode') as string | undefined,
    activeNodes: Array.isArray(active) ? active.map(String) : [],
  };
}

/**
 * Instances matching the filter, newest first, at most `limit`. Error text is not indexed, so with
 * `errorContains` each candidate's incidents (state query) or failure (history) are read and
 * matched here; `scanLimit` bounds how many candidates that reads.
 */
export async function findInstances(client: Client, filter: InstanceFilter, options: { limit: number; scanLimit?: number }): Promise<FoundInstance[]> {
  const found: FoundInstance[] = [];
  const scanLimit = options.scanLimit ?? Math.max(options.limit * 4, 1000);
  let scanned = 0;
  for await (const info of client.workflow.list({ query: visibilityQuery(filter), pageSize: 500 })) {
    if (found.length >= options.limit || scanned >= scanLimit) break;
    scanned += 1;
    const instance = toFound(info);
    if (filter.errorContains !== undefined) {
      const matching = matchingErrors(await errorsOf(client, instance), filter);
      if (matching.length === 0) continue;
      instance.errors = matching;
    }
    found.push(instance);
  }
  return found;
}

export interface InstancePage {
  instances: FoundInstance[];
  /** Temporal's opaque token for the next page; absent on the last. */
  nextPageToken?: Uint8Array;
}

const protoStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

function timestampToDate(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): Date | undefined {
  if (!timestamp || timestamp.seconds === undefined || timestamp.seconds === null) return undefined;
  return new Date(Number(String(timestamp.seconds)) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6));
}

/**
 * One visibility page of instances matching the filter, newest first: `pageSize` candidates, of
 * which those whose error text does not match `errorContains` are dropped (a page may then hold
 * fewer, even none, and still have a next one).
 */
export async function findInstancePage(client: Client, filter: InstanceFilter, options: { pageSize: number; pageToken?: Uint8Array }): Promise<InstancePage> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: visibilityQuery(filter),
    pageSize: options.pageSize,
    nextPageToken: options.pageToken,
  });
  const instances: FoundInstance[] = [];
  for (const execution of response.executions ?? []) {
    const searchAttributes = decodeSearchAttributes(execution.searchAttributes?.indexedFields) as WorkflowExecutionInfo['searchAttributes'];
    const statusName = (protoStatus[execution.status ?? protoStatus.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED] ?? '').replace('WORKFLOW_EXECUTION_STATUS_', '').replace('CANCELED', 'CANCELLED');
    const instance = toFound({
      workflowId: execution.execution?.workflowId ?? '',
      runId: execution.execution?.runId ?? '',
      type: execution.type?.name ?? '',
      status: { name: statusName },
      startTime: timestampToDate(execution.startTime) ?? new Date(0),
      closeTime: timestampToDate(execution.closeTime),
      searchAttributes,
    } as unknown as WorkflowExecutionInfo);
    if (filter.errorContains !== undefined) {
      const matching = matchingErrors(await errorsOf(client, instance), filter);
      if (matching.length === 0) continue;
      instance.errors = matching;
    }
    instances.push(instance);
  }
  const token = response.nextPageToken && response.nextPageToken.length > 0 ? response.nextPageToken : undefined;
  return { instances, ...(token ? { nextPageToken: token } : {}) };
}

function matchingErrors(errors: NonNullable<FoundInstance['errors']>, filter: InstanceFilter): NonNullable<FoundInstance['errors']> {
  const needle = (filter.errorContains ?? '').toLowerCase();
  return errors.filter((error) => error.message.toLowerCase().includes(needle) && (filter.nodeId === undefined || error.nodeId === undefined || error.nodeId === filter.nodeId));
}

async function errorsOf(client: Client, instance: FoundInstance): Promise<NonNullable<FoundInstance['errors']>> {
  try {
    if (instance.status === 'RUNNING') {
      const state = await instanceState(client, instance.workflowId);
      return state.incidents.map((incident) => ({ nodeId: incident.nodeId, incidentId: incident.id, message: `${incident.errorType}: ${incident.message}` }));
    }
    const history = await client.workflow.getHandle(instance.workflowId, instance.runId).fetchHistory();
    const last = history.events?.[history.events.length - 1];
    const failure = last?.workflowExecutionFailedEventAttributes?.failure;
    if (!failure) return [];
    const messages: string[] = [];
    for (let cause: typeof failure | null | undefined = failure; cause; cause = cause.cause) messages.push(cause.message ?? '');
    return [{ message: messages.join(': ') }];
  } catch {
    // An instance that closed or cannot answer between list and read simply does not match.
    return [];
  }
}

export interface InstanceCounts {
  total: number;
  byProcess: { processKey: string; processVersion: number | null; count: number; incidents: number }[];
  byNode: { processKey: string; processVersion: number | null; nodeId: string; active: number; incidents: number }[];
  /** True when more instances matched than were counted (`scanLimit`). */
  truncated: boolean;
}

/** Where instances stand: counts per process version and per node (active tokens and incidents). */
export async function countInstances(client: Client, filter: InstanceFilter, scanLimit = 20_000): Promise<InstanceCounts> {
  const processes = new Map<string, InstanceCounts['byProcess'][number]>();
  const nodes = new Map<string, InstanceCounts['byNode'][number]>();
  let total = 0;
  let truncated = false;
  for await (const info of client.workflow.list({ query: visibilityQuery(filter), pageSize: 1000 })) {
    if (total >= scanLimit) {
      truncated = true;
      break;
    }
    total += 1;
    const instance = toFound(info);
    const processKey = instance.processKey ?? instance.workflowType;
    const processVersion = instance.processVersion ?? null;
    const processId = `${processKey}\u0000${processVersion}`;
    const process = processes.get(processId) ?? { processKey, processVersion, count: 0, incidents: 0 };
    process.count += 1;
    if (instance.incident) process.incidents += 1;
    processes.set(processId, process);
    const nodeIds = new Set([...instance.activeNodes, ...(instance.incidentNode ? [instance.incidentNode] : [])]);
    for (const nodeId of nodeIds) {
      const nodeKey = `${processId}\u0000${nodeId}`;
      const node = nodes.get(nodeKey) ?? { processKey, processVersion, nodeId, active: 0, incidents: 0 };
      if (instance.activeNodes.includes(nodeId)) node.active += 1;
      if (instance.incident && instance.incidentNode === nodeId) node.incidents += 1;
      nodes.set(nodeKey, node);
    }
  }
  const byCount = <T extends { processKey: string }>(a: T, b: T) => a.processKey.localeCompare(b.processKey);
  return {
    total,
    byProcess: [...processes.values()].sort(byCount),
    byNode: [...nodes.values()].sort((a, b) => b.incidents - a.incidents || b.active - a.active || byCount(a, b)),
    truncated,
  };
}

export interface IncidentGroup {
  processKey: string;
  processVersion: number | null;
  nodeId: string;
  /** The incident's error type and message, as the instances' `state` reports it. */
  error: string;
  count: number;
  /** Up to 20 of the instances, newest first. */
  workflowIds: string[];
}

/**
 * Open incidents grouped by process → version → node → error text, with counts. Error text is not
 * indexed: each incident instance's state is read (at most `scanLimit`, newest first; `truncated`
 * says when more matched).
 */
export async function groupIncidents(client: Client, filter: Omit<InstanceFilter, 'status'>, scanLimit = 500): Promise<{ groups: IncidentGroup[]; instances: number; truncated: boolean }> {
  const found = await findInstances(client, { ...filter, status: 'incident', errorContains: undefined }, { limit: scanLimit + 1, scanLimit: scanLimit + 1 });
  const truncated = found.length > scanLimit;
  const groups = new Map<string, IncidentGroup>();
  for (const instance of found.slice(0, scanLimit)) {
    const errors = await errorsOf(client, instance);
    const nodeErrors = errors.length > 0 ? errors : [{ nodeId: instance.incidentNode, message: '' }];
    for (const error of nodeErrors) {
      const nodeId = error.nodeId ?? instance.incidentNode ?? '?';
      const processKey = instance.processKey ?? instance.workflowType;
      const processVersion = instance.processVersion ?? null;
      const id = [processKey, processVersion, nodeId, error.message].join('\u0000');
      const group = groups.get(id) ?? { processKey, processVersion, nodeId, error: error.message, count: 0, workflowIds: [] };
      group.count += 1;
      if (group.workflowIds.length < 20 && !group.workflowIds.includes(instance.workflowId)) group.workflowIds.push(instance.workflowId);
      groups.set(id, group);
    }
  }
  const sorted = [...groups.values()].sort(
    (a, b) => a.processKey.localeCompare(b.processKey) || (b.processVersion ?? 0) - (a.processVersion ?? 0) || a.nodeId.localeCompare(b.nodeId) || b.count - a.count,
  );
  return { groups: sorted, instances: Math.min(found.length, scanLimit), truncated };
}

/**
 * Instances of a process (version) started and completed per hour over the last `hours` hours,
 * oldest first: two visibility counts per hour, a few at a time.
 */
export async function throughputPerHour(
  client: Client,
  filter: { processKey: string; processVersion?: number },
  hours: number,
  now = new Date(),
): Promise<{ hour: string; started: number; completed: number }[]> {
  const end = Math.ceil(now.getTime() / 3600_000) * 3600_000;
  const buckets = Array.from({ length: hours }, (_, index) => end - (hours - index) * 3600_000);
  const count = async (query: string) => Number((await client.workflow.count(query)).count);
  const result: { hour: string; started: number; completed: number }[] = [];
  for (let offset = 0; offset < buckets.length; offset += 6) {
    result.push(
      ...(await Promise.all(
        buckets.slice(offset, offset + 6).map(async (start) => {
          const from = new Date(start).toISOString();
          const to = new Date(start + 3600_000).toISOString();
          const base = { processKey: filter.processKey, ...(filter.processVersion !== undefined ? { processVersion: filter.processVersion } : {}) };
          const [started, completed] = await Promise.all([
            count(visibilityQuery({ ...base, startedAfter: from, startedBefore: to })),
            count(visibilityQuery({ ...base, status: 'completed', closedAfter: from, closedBefore: to })),
          ]);
          return { hour: from, started, completed };
        }),
      )),
    );
  }
  return result;
}
