import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { bpmnProcessWorkflowType } from '../workflows/contracts';
import { instanceState } from './actions';

// Visibility queries take no parameters: every value that goes into one is checked against this
// (no quotes, no backslashes), so a filter can never change the query's shape.
const keyword = z.string().min(1).max(200).regex(/^[^'"\\\n\r]+$/, 'must not contain quotes, backslashes or newlines');

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
      const errors = await errorsOf(client, instance);
      const needle = filter.errorContains.toLowerCase();
      const matching = errors.filter((error) => error.message.toLowerCase().includes(needle) && (filter.nodeId === undefined || error.nodeId === undefined || error.nodeId === filter.nodeId));
      if (matching.length === 0) continue;
      instance.errors = matching;
    }
    found.push(instance);
  }
  return found;
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
