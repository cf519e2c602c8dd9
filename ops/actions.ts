import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { UpdateDefinition } from '@temporalio/common';
import type { MigrateInstanceResult, MoveTokenInput, ProcessInstanceState, ResolveIncidentInput, RetryIncidentInput, Variables } from '../workflows/contracts';
import { migrateInstanceUpdate, moveTokenUpdate, resolveIncidentUpdate, retryIncidentUpdate, stateQuery } from '../workflows/handles';
import type { ProcessModel } from '../workflows/model';
import { OpsError } from './errors';
import { nodeOfScheduledEvent, toNumber } from './history';

const EventType = temporal.api.enums.v1.EventType;


/** One instance, as ops see it before acting. */
export async function describeInstance(client: Client, workflowId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (error) {
    throw mapTemporalError(error, workflowId);
  }
}

async function requireRunning(client: Client, workflowId: string): Promise<WorkflowExecutionDescription> {
  const description = await describeInstance(client, workflowId);
  if (description.status.name !== 'RUNNING') {
    throw new OpsError('CONFLICT', `instance ${workflowId} is ${description.status.name.toLowerCase()}, not running`, { status: description.status.name });
  }
  return description;
}

export async function fetchEvents(client: Client, workflowId: string, runId?: string): Promise<temporal.api.history.v1.IHistoryEvent[]> {
  try {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    return history.events ?? [];
  } catch (error) {
    throw mapTemporalError(error, workflowId);
  }
}

export async function terminateInstance(client: Client, workflowId: string, reason: string): Promise<{ runId: string }> {
  const description = await requireRunning(client, workflowId);
  await client.workflow.getHandle(workflowId, description.runId).terminate(reason);
  return { runId: description.runId };
}

/**
 * Cancels the instance: the interpreter runs the compensation handlers of what completed, in
 * reverse order, before it ends (Temporal cancellation is a request the workflow handles).
 */
export async function cancelInstance(client: Client, workflowId: string): Promise<{ runId: string }> {
  const description = await requireRunning(client, workflowId);
  await client.workflow.getHandle(workflowId, description.runId).cancel();
  return { runId: description.runId };
}

/**
 * Resets the instance's latest run to a workflow-task event of its history (Temporal's
 * ResetWorkflowExecution): everything after it is dropped and the workflow continues from there in
 * a new run, with signals received after it re-applied (Updates are not: the steps after the point
 * are done again). Works on failed, terminated and running runs.
 * @throws OpsError UNPROCESSABLE when the event is not a workflow-task completion of that run
 */
export async function resetInstance(client: Client, workflowId: string, options: { eventId: number; reason: string }): Promise<{ fromRunId: string; runId: string; eventId: number }> {
  const description = await describeInstance(client, workflowId);
  const events = await fetchEvents(client, workflowId, description.runId);
  const target = events.find((event) => toNumber(event.eventId) === options.eventId);
  if (!target || target.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
    throw new OpsError('UNPROCESSABLE', `event ${options.eventId} of ${workflowId} is not a workflow task completion; pick one of the timeline's reset points`, {
      eventId: options.eventId,
    });
  }
  try {
    const response: temporal.api.workflowservice.v1.IResetWorkflowExecutionResponse = await client.workflowService.resetWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId, runId: description.runId },
      reason: options.reason,
      // protobufjs takes a plain number for an int64 field; the typing only names Long.
      workflowTaskFinishEventId: options.eventId as never,
      requestId: randomUUID(),
      // Signals after the point are re-applied (an outside system's message must not be lost), but
      // not Updates: they are the completions and repairs of the steps the reset is meant to redo;
      // re-applied, a reset to before a user task would complete that task again at once.
      resetReapplyExcludeTypes: [temporal.api.enums.v1.ResetReapplyExcludeType.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE],
    });
    return { fromRunId: description.runId, runId: response.runId ?? '', eventId: options.eventId };
  } catch (error) {
    throw mapTemporalError(error, workflowId);
  }
}

/**
 * The reset point just before a node ran: the workflow task that scheduled the node's last activity
 * (or, without a node, the activity that failed last). Resetting there re-runs the node with the
 * current code and whatever outside fault has since been removed.
 * @throws OpsError UNPROCESSABLE when the history holds no such activity
 */
export function resetPointBeforeNode(events: readonly temporal.api.history.v1.IHistoryEvent[], nodeId?: string): { eventId: number; nodeId?: string; activityId: string } {
  const scheduled = new Map<number, temporal.api.history.v1.IHistoryEvent>();
  let chosen: temporal.api.history.v1.IHistoryEvent | undefined;
  for (const event of events) {
    const eventId = toNumber(event.eventId);
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      scheduled.set(eventId, event);
      if (nodeId !== undefined && nodeOfScheduled(event) === nodeId) chosen = event;
    }
    if (nodeId === undefined) {
      const failedFrom =
        event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
          ? event.activityTaskFailedEventAttributes?.scheduledEventId
          : event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
            ? event.activityTaskTimedOutEventAttributes?.scheduledEventId
            : undefined;
      if (failedFrom !== undefined && failedFrom !== null) chosen = scheduled.get(toNumber(failedFrom)) ?? chosen;
    }
  }
  if (!chosen) {
    throw new OpsError('UNPROCESSABLE', nodeId === undefined ? 'no failed activity in this run to reset before' : `node ${nodeId} ran no activity in this run`, { nodeId });
  }
  const attributes = chosen.activityTaskScheduledEventAttributes!;
  return { eventId: toNumber(attributes.workflowTaskCompletedEventId), nodeId: nodeOfScheduled(chosen), activityId: attributes.activityId ?? '' };
}

function nodeOfScheduled(event: temporal.api.history.v1.IHistoryEvent): string | undefined {
  return nodeOfScheduledEvent(event) ?? event.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
}

export async function resetBeforeNode(client: Client, workflowId: string, options: { nodeId?: string; reason: string }) {
  const description = await describeInstance(client, workflowId);
  const point = resetPointBeforeNode(await fetchEvents(client, workflowId, description.runId), options.nodeId);
  const reset = await resetInstance(client, workflowId, { eventId: point.eventId, reason: options.reason });
  return { ...reset, nodeId: point.nodeId, activityId: point.activityId };
}

/** The interpreter's `state` query. */
export async function instanceState(client: Client, workflowId: string): Promise<ProcessInstanceState> {
  try {
    return await client.workflow.getHandle(workflowId).query(stateQuery);
  } catch (error) {
    throw mapTemporalError(error, workflowId);
  }
}

async function update<R, A>(client: Client, workflowId: string, definition: UpdateDefinition<R, [A]>, input: A): Promise<R> {
  // No describe first: a closed instance refuses the update itself (mapped to CONFLICT below), and
  // a batch over thousands of instances saves the round trip.
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(definition, { args: [input] });
  } catch (error) {
    throw mapTemporalError(error, workflowId);
  }
}

export function retryIncident(client: Client, workflowId: string, input: RetryIncidentInput): Promise<unknown> {
  return update(client, workflowId, retryIncidentUpdate, input);
}

export function skipIncident(client: Client, workflowId: string, input: ResolveIncidentInput): Promise<unknown> {
  return update(client, workflowId, resolveIncidentUpdate, input);
}

export function moveToken(client: Client, workflowId: string, input: MoveTokenInput): Promise<unknown> {
  return update(client, workflowId, moveTokenUpdate, input);
}

/**
 * Re-pins a running instance to another version of its process, moving each token by the explicit
 * `nodeMapping` (old node id → new node id).
 * @throws OpsError UNPROCESSABLE naming the active nodes the mapping leaves out (`details.unmappedNodes`),
 *   NOT_FOUND when the version is not deployed
 */
export async function migrateInstance(
  client: Client,
  workflowId: string,
  options: { toVersion: number; nodeMapping: Record<string, string>; loadDefinition: (key: string, version: number) => Promise<ProcessModel | null> },
): Promise<MigrateInstanceResult> {
  const state = await instanceState(client, workflowId);
  if (state.status !== 'running') throw new OpsError('CONFLICT', `instance ${workflowId} is ${state.status}`);
  if (state.processVersion === options.toVersion) throw new OpsError('CONFLICT', `instance ${workflowId} already runs version ${options.toVersion}`);
  const definition = await options.loadDefinition(state.processKey, options.toVersion);
  if (!definition) throw new OpsError('NOT_FOUND', `${state.processKey} has no version ${options.toVersion}`);
  const unmappedNodes = [...new Set(state.activeNodes.map((node) => node.nodeId))].filter((nodeId) => options.nodeMapping[nodeId] === undefined);
  if (unmappedNodes.length > 0) {
    throw new OpsError('UNPROCESSABLE', `instance ${workflowId} has active node(s) without a mapping: ${unmappedNodes.join(', ')}`, { unmappedNodes });
  }
  const missingTargets = Object.entries(options.nodeMapping).filter(([, target]) => !definition.nodes[target]);
  if (missingTargets.length > 0) {
    throw new OpsError('UNPROCESSABLE', `version ${options.toVersion} has no node(s) ${missingTargets.map(([, target]) => target).join(', ')}`, {
      missingTargets: missingTargets.map(([, target]) => target),
    });
  }
  return update(client, workflowId, migrateInstanceUpdate, { definition, nodeMapping: options.nodeMapping });
}

/**
 * Retries (or skips) every incident of a running instance, or only those at `nodeId` whose message
 * contains `errorContains`; what a batch does per instance.
 */
export async function actOnIncidents(
  client: Client,
  workflowId: string,
  action: 'retry' | 'skip',
  options: { nodeId?: string; errorContains?: string; variables?: Variables },
): Promise<{ incidentIds: string[] }> {
  const state = await instanceState(client, workflowId);
  const incidents = state.incidents.filter(
    (incident) =>
      (options.nodeId === undefined || incident.nodeId === options.nodeId) &&
      (options.errorContains === undefined || incident.message.toLowerCase().includes(options.errorContains.toLowerCase())),
  );
  if (incidents.length === 0) throw new OpsError('CONFLICT', `instance ${workflowId} has no matching incident`);
  for (const incident of incidents) {
    if (action === 'retry') await retryIncident(client, workflowId, { incidentId: incident.id, variables: options.variables });
    else await skipIncident(client, workflowId, { incidentId: incident.id, variables: options.variables ?? {} });
  }
  return { incidentIds: incidents.map((incident) => incident.id) };
}

/** Temporal's errors, as ops errors with a code and a message a person can act on. */
export function mapTemporalError(error: unknown, workflowId: string): Error {
  if (error instanceof OpsError) return error;
  if (error instanceof WorkflowNotFoundError) return new OpsError('NOT_FOUND', `no instance ${workflowId}`);
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'UnmappedNodes') {
      return new OpsError('UNPROCESSABLE', cause.message, { unmappedNodes: cause.details?.[0] });
    }
    if (cause instanceof ApplicationFailure) {
      const code = /NotFound$/.test(cause.type ?? '') ? 'NOT_FOUND' : 'UNPROCESSABLE';
      return new OpsError(code, cause.message, { type: cause.type, details: cause.details });
    }
    return new OpsError('UNPROCESSABLE', cause?.message ?? error.message);
  }
  const grpc = error as { code?: number; details?: string; message?: string };
  // gRPC NOT_FOUND (5), FAILED_PRECONDITION (9), INVALID_ARGUMENT (3)
  if (grpc.code === 5 && /already completed/i.test(grpc.details ?? grpc.message ?? '')) return new OpsError('CONFLICT', `instance ${workflowId} is no longer running`);
  if (grpc.code === 5) return new OpsError('NOT_FOUND', `no instance ${workflowId}`);
  if (grpc.code === 9) return new OpsError('CONFLICT', grpc.details ?? grpc.message ?? 'not possible in the instance state');
  if (grpc.code === 3) return new OpsError('UNPROCESSABLE', grpc.details ?? grpc.message ?? 'refused by Temporal');
  return error instanceof Error ? error : new Error(String(error));
}
