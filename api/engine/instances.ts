import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { decodeSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import {
  bpmnProcessWorkflowType,
  processInstanceId,
  type BpmnProcessInput,
  type MessageInput,
  type ProcessInstanceState,
  type Variables,
} from '../../workflows/contracts';
import { messageSignal, stateQuery } from '../../workflows/handles';
import type { ProcessModel } from '../../workflows/model';
import { matchesWaitingFilter, visibilityLiteral, waitingInstancesQuery, type WaitingFilter } from '../../workflows/visibility-query';
import { ApiError } from '../errors';

/**
 * The Temporal side of process instances, for every route that touches one (instances, tasks,
 * callbacks, ops): start, describe with state, deliver a message, cancel, list. Errors come out as
 * ApiErrors (404 unknown instance, 409 duplicate start), so a route only has to call.
 */

export const instanceSearchAttributes = {
  processKey: defineSearchAttributeKey('KfProcessKey', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('KfBusinessKey', SearchAttributeType.KEYWORD),
  processVersion: defineSearchAttributeKey('KfProcessVersion', SearchAttributeType.INT),
  customerId: defineSearchAttributeKey('KfCustomerId', SearchAttributeType.KEYWORD),
  orgUnit: defineSearchAttributeKey('KfOrgUnit', SearchAttributeType.KEYWORD),
  incident: defineSearchAttributeKey('KfIncident', SearchAttributeType.BOOL),
};

/** Temporal's execution statuses as the API names them. */
export const temporalStatuses = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'continued_as_new', 'timed_out'] as const;
export type TemporalStatus = (typeof temporalStatuses)[number];

const visibilityStatus: Record<TemporalStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  continued_as_new: 'ContinuedAsNew',
  timed_out: 'TimedOut',
};

export interface StartInstanceInput {
  definition: ProcessModel;
  businessKey: string;
  variables: Variables;
  customerId?: string;
  orgUnitId?: string;
  startedBy: string;
}

export interface StartedInstance {
  processInstanceId: string;
  runId: string;
  processKey: string;
  processVersion: number;
  businessKey: string;
}

/**
 * Starts one `bpmnProcess` with the pinned model in its input and its search attributes set from
 * the first moment, so it is findable before its first workflow task runs.
 * @throws ApiError CONFLICT when an instance with this process key and business key exists (running or closed)
 */
export async function startInstance(client: Client, taskQueue: string, input: StartInstanceInput): Promise<StartedInstance> {
  const { definition } = input;
  const workflowId = processInstanceId(definition.key, input.businessKey);
  const args: BpmnProcessInput = {
    definition,
    businessKey: input.businessKey,
    variables: input.variables,
    startedBy: input.startedBy,
    ...(input.customerId ? { customerId: input.customerId } : {}),
    ...(input.orgUnitId ? { orgUnitId: input.orgUnitId } : {}),
  };
  const attributes: SearchAttributePair[] = [
    { key: instanceSearchAttributes.processKey, value: definition.key },
    { key: instanceSearchAttributes.businessKey, value: input.businessKey },
    { key: instanceSearchAttributes.processVersion, value: definition.version },
    { key: instanceSearchAttributes.incident, value: false },
  ];
  if (input.customerId) attributes.push({ key: instanceSearchAttributes.customerId, value: input.customerId });
  if (input.orgUnitId) attributes.push({ key: instanceSearchAttributes.orgUnit, value: input.orgUnitId });
  try {
    const handle = await client.workflow.start(bpmnProcessWorkflowType, {
      taskQueue,
      workflowId,
      args: [args],
      // The instance id is the identity of (process, business key): never a second one, even after the first closed.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: attributes,
    });
    return { processInstanceId: workflowId, runId: handle.firstExecutionRunId, processKey: definition.key, processVersion: definition.version, businessKey: input.businessKey };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new ApiError('CONFLICT', `an instance of ${definition.key} with business key ${JSON.stringify(input.businessKey)} already exists`, { processInstanceId: workflowId });
    }
    throw error;
  }
}

export interface InstanceView {
  processInstanceId: string;
  runId: string;
  status: TemporalStatus;
  startedAt: string;
  closedAt: string | null;
  processKey: string | null;
  processVersion: number | null;
  businessKey: string | null;
  customerId: string | null;
  orgUnitId: string | null;
  incident: boolean;
  /** The interpreter's `state` query; null when it could not be answered (see `stateError`). */
  state: ProcessInstanceState | null;
  stateError?: string;
}

/**
 * Temporal's description plus the `state` query. A closed instance still answers: Temporal replays
 * its history on a worker to run the query; when no worker can, the final variables come from the
 * workflow's result. `admit` sees the description first and may refuse the caller (throw) before
 * the instance is queried.
 * @throws ApiError NOT_FOUND for an unknown instance id
 */
export async function getInstance(client: Client, id: string, admit: (view: InstanceView) => Promise<void> = async () => undefined): Promise<InstanceView> {
  const handle = client.workflow.getHandle(id);
  const description = await describe(client, id);
  const view = toView(description);
  // Before the query: it asks the instance for its variables, and waits for a worker to answer.
  await admit(view);
  try {
    view.state = await handle.query(stateQuery);
  } catch (error) {
    view.stateError = `the state query was not answered: ${(error as Error).message}`;
    if (view.status === 'completed') {
      const result = (await handle.result().catch(() => null)) as { variables?: Variables } | null;
      if (result?.variables) {
        view.state = {
          processKey: view.processKey ?? '',
          processVersion: view.processVersion ?? 0,
          businessKey: view.businessKey ?? '',
          status: 'completed',
          activeNodes: [],
          completedNodes: [],
          variables: result.variables,
          incidents: [],
          openTasks: [],
        };
      }
    }
  }
  return view;
}

/** Describes an instance; 404 when Temporal does not know it. */
export async function describe(client: Client, id: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ApiError('NOT_FOUND', `no process instance ${JSON.stringify(id)}`);
    throw error;
  }
}

/**
 * Delivers a BPMN message (the `message` signal). The interpreter matches it by name and
 * correlation key, keeps an early one for the element that will wait for it, and ignores a
 * redelivered `messageId`.
 * @throws ApiError NOT_FOUND for an unknown instance; CONFLICT when it is no longer running
 */
export async function deliverMessage(client: Client, id: string, message: MessageInput): Promise<void> {
  const description = await describe(client, id);
  if (description.status.name !== 'RUNNING') throw new ApiError('CONFLICT', `process instance ${id} is ${statusName(description.status.name)}; it takes no more messages`);
  try {
    await client.workflow.getHandle(id).signal(messageSignal, message);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new ApiError('CONFLICT', `process instance ${id} closed before the message arrived`);
    throw error;
  }
}

/**
 * Requests cancellation: the interpreter runs compensation handlers of completed activities in
 * reverse order, closes open tasks, then ends as cancelled.
 * @throws ApiError NOT_FOUND for an unknown instance; CONFLICT when it is not running
 */
export async function cancelInstance(client: Client, id: string): Promise<void> {
  const description = await describe(client, id);
  if (description.status.name !== 'RUNNING') throw new ApiError('CONFLICT', `process instance ${id} is ${statusName(description.status.name)}; only a running instance can be cancelled`);
  await client.workflow.getHandle(id).cancel();
}

export interface ListFilter {
  processKey?: string;
  businessKey?: string;
  customerId?: string;
  orgUnitIds?: readonly string[];
  status?: TemporalStatus;
  incident?: boolean;
  pageSize: number;
  pageToken?: string;
}

export interface InstancePage {
  items: Omit<InstanceView, 'state' | 'stateError'>[];
  /** Pass as `pageToken` for the next page; absent on the last page. */
  nextPageToken?: string;
}

/**
 * Lists `bpmnProcess` instances through Temporal visibility, newest first. Filter values are
 * quoted (not spliced) into the visibility query.
 */
export async function listInstances(client: Client, filter: ListFilter): Promise<InstancePage> {
  const clauses = [`WorkflowType = ${visibilityLiteral(bpmnProcessWorkflowType)}`];
  if (filter.processKey !== undefined) clauses.push(`KfProcessKey = ${visibilityLiteral(filter.processKey)}`);
  if (filter.businessKey !== undefined) clauses.push(`KfBusinessKey = ${visibilityLiteral(filter.businessKey)}`);
  if (filter.customerId !== undefined) clauses.push(`KfCustomerId = ${visibilityLiteral(filter.customerId)}`);
  if (filter.orgUnitIds !== undefined) clauses.push(filter.orgUnitIds.length === 0 ? 'KfOrgUnit = "\u0000none"' : `KfOrgUnit IN (${filter.orgUnitIds.map(visibilityLiteral).join(', ')})`);
  if (filter.status !== undefined) clauses.push(`ExecutionStatus = ${visibilityLiteral(visibilityStatus[filter.status])}`);
  if (filter.incident !== undefined) clauses.push(`KfIncident = ${filter.incident ? 'true' : 'false'}`);
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    // No ORDER BY: SQL-backed visibility refuses it; its own order is newest start first.
    query: clauses.join(' AND '),
    pageSize: filter.pageSize,
    nextPageToken: filter.pageToken ? decodePageToken(filter.pageToken) : undefined,
  });
  const items = (response.executions ?? []).map((execution) => {
    const attributes = decodeSearchAttributes(execution.searchAttributes?.indexedFields) as Record<string, unknown[] | undefined>;
    return {
      processInstanceId: execution.execution?.workflowId ?? '',
      runId: execution.execution?.runId ?? '',
      status: statusFromProto(execution.status),
      startedAt: timestampToIso(execution.startTime) ?? '',
      closedAt: timestampToIso(execution.closeTime),
      ...fromAttributes(attributes),
    };
  });
  const token = response.nextPageToken && response.nextPageToken.length > 0 ? encodePageToken(response.nextPageToken) : undefined;
  return { items, ...(token ? { nextPageToken: token } : {}) };
}

/**
 * Ids of the running instances a `WaitingFilter` names (the correlation index, KfWaitingFor), at
 * most `limit` of them.
 */
export async function findWaitingInstances(client: Client, filter: WaitingFilter, limit: number): Promise<string[]> {
  const response = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query: waitingInstancesQuery(filter), pageSize: limit });
  return (response.executions ?? [])
    .filter((execution) => matchesWaitingFilter(execution, filter))
    .map((execution) => execution.execution?.workflowId ?? '')
    .filter((id) => id !== '');
}

/** A visibility page token as the API hands it out (`decodePageToken` takes it back). */
export function encodePageToken(token: Uint8Array): string {
  return Buffer.from(token).toString('base64url');
}

/**
 * Temporal's visibility page tokens are JSON; anything else is refused here at once (Temporal would
 * answer it with an internal error that the client retries for many seconds).
 */
export function decodePageToken(token: string): Uint8Array {
  const refused = () => new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.pageToken', message: 'not a token this API handed out' }]);
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(token)) throw refused();
  const bytes = Buffer.from(token, 'base64url');
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw refused();
  } catch {
    throw refused();
  }
  return bytes;
}

/** A string literal of Temporal's SQL-like visibility language. */
function toView(description: WorkflowExecutionDescription): InstanceView {
  const attributes = description.searchAttributes as Record<string, unknown[] | undefined>;
  return {
    processInstanceId: description.workflowId,
    runId: description.runId,
    status: statusName(description.status.name),
    startedAt: description.startTime.toISOString(),
    closedAt: description.closeTime ? description.closeTime.toISOString() : null,
    ...fromAttributes(attributes),
    state: null,
  };
}

function fromAttributes(attributes: Record<string, unknown[] | undefined>) {
  const first = <T>(name: string): T | null => (attributes[name]?.[0] as T | undefined) ?? null;
  return {
    processKey: first<string>('KfProcessKey'),
    processVersion: first<number>('KfProcessVersion'),
    businessKey: first<string>('KfBusinessKey'),
    customerId: first<string>('KfCustomerId'),
    orgUnitId: first<string>('KfOrgUnit'),
    incident: first<boolean>('KfIncident') === true,
  };
}

function statusName(name: string): TemporalStatus {
  switch (name) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    case 'TERMINATED':
      return 'terminated';
    case 'CONTINUED_AS_NEW':
      return 'continued_as_new';
    default:
      return 'timed_out';
  }
}

const protoStatus = temporal.api.enums.v1.WorkflowExecutionStatus;

function statusFromProto(status: temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined): TemporalStatus {
  const name = protoStatus[status ?? protoStatus.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED] ?? '';
  return statusName(name.replace('WORKFLOW_EXECUTION_STATUS_', '').replace('CANCELED', 'CANCELLED'));
}

function timestampToIso(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!timestamp || timestamp.seconds === undefined || timestamp.seconds === null) return null;
  const millis = Number(String(timestamp.seconds)) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6);
  return new Date(millis).toISOString();
}
