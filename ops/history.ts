import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
type Failure = temporal.api.failure.v1.IFailure;
const EventType = temporal.api.enums.v1.EventType;

/** What happened, in words ops read: one entry per meaningful history event. */
export const timelineKinds = [
  'instance.started',
  'instance.completed',
  'instance.failed',
  'instance.timedOut',
  'instance.terminated',
  'instance.cancelled',
  'instance.continuedAsNew',
  'node.entered',
  'node.left',
  'activity.scheduled',
  'activity.started',
  'activity.completed',
  'activity.failed',
  'activity.timedOut',
  'activity.cancelled',
  'timer.started',
  'timer.fired',
  'timer.cancelled',
  'signal.received',
  'update.accepted',
  'update.completed',
  'child.initiated',
  'child.started',
  'child.completed',
  'child.failed',
  'child.cancelled',
  'child.timedOut',
  'child.terminated',
  'marker.recorded',
  'workflowTask.failed',
  'searchAttributes.updated',
] as const;
export type TimelineKind = (typeof timelineKinds)[number];

export interface TimelineEntry {
  eventId: number;
  at: string;
  kind: TimelineKind;
  /** The BPMN node the event belongs to, when known. */
  nodeId?: string;
  activityId?: string;
  activityType?: string;
  attempt?: number;
  /** For activity.started with attempt > 1: the error of the attempt before it. */
  previousAttemptError?: string;
  error?: { message: string; type?: string };
  /** Signal, update, timer, marker or child workflow name/id. */
  name?: string;
  /** The workflow task that issued this command: a reset point just before it. */
  resetPointEventId?: number;
  details?: Record<string, unknown>;
}

export interface Timeline {
  workflowId: string;
  runId?: string;
  entries: TimelineEntry[];
  /** Workflow-task completions, the events `reset` accepts. */
  resetPoints: { eventId: number; at: string }[];
}

/**
 * Tells which BPMN node an activity belongs to. The interpreter's activities carry it in their
 * input (a service task's `ServiceTaskRequest.context.nodeId`, the inbox activities' `nodeId` or
 * task id `<workflowId>/<nodeId>/<loop>`); other workflows may name it in the activity's summary or
 * as the first segment of the activity id (`<nodeId>/<loop>`).
 */
export function nodeOfActivity(activityId: string | undefined, summary: string | undefined, input?: unknown): string | undefined {
  if (input && typeof input === 'object') {
    const request = input as { context?: { nodeId?: unknown }; nodeId?: unknown; taskId?: unknown; workflowId?: unknown };
    if (typeof request.context?.nodeId === 'string') return request.context.nodeId;
    if (typeof request.nodeId === 'string') return request.nodeId;
    if (typeof request.taskId === 'string') {
      const parts = request.taskId.split('/');
      if (parts.length >= 3) return parts[parts.length - 2];
    }
  }
  if (summary) return summary;
  if (!activityId) return undefined;
  const head = activityId.split('/')[0]!;
  // A bare sequence number (the SDK's default activity id) names no node.
  return /^\d+$/.test(head) ? undefined : head;
}

/** The node of an ACTIVITY_TASK_SCHEDULED event (see `nodeOfActivity`). */
export function nodeOfScheduledEvent(event: HistoryEvent): string | undefined {
  const attributes = event.activityTaskScheduledEventAttributes;
  if (!attributes) return undefined;
  return nodeOfActivity(attributes.activityId ?? undefined, summaryOf(event), decode(attributes.input?.payloads?.[0]));
}

/** Derives the timeline of one run from its Temporal history. Pure: the history is all it reads. */
export function timelineFromHistory(workflowId: string, events: readonly HistoryEvent[]): Timeline {
  const entries: TimelineEntry[] = [];
  const resetPoints: Timeline['resetPoints'] = [];
  const scheduled = new Map<number, { activityId: string; activityType?: string; nodeId?: string }>();
  const timers = new Map<number, string>();
  const updates = new Map<string, string>();
  let activeNodes: string[] = [];
  let runId: string | undefined;

  for (const event of events) {
    const eventId = toNumber(event.eventId);
    const at = toIso(event.eventTime);
    const push = (entry: Omit<TimelineEntry, 'eventId' | 'at'>) => entries.push({ eventId, at, ...entry });
    switch (event.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        const a = event.workflowExecutionStartedEventAttributes!;
        runId = a.originalExecutionRunId ?? undefined;
        push({ kind: 'instance.started', name: a.workflowType?.name ?? undefined, details: { identity: a.identity, attempt: a.attempt } });
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        push({ kind: 'instance.completed' });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        push({ kind: 'instance.failed', error: failureOf(event.workflowExecutionFailedEventAttributes?.failure) });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
        push({ kind: 'instance.timedOut' });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
        const a = event.workflowExecutionTerminatedEventAttributes!;
        push({ kind: 'instance.terminated', details: { reason: a.reason, identity: a.identity } });
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        push({ kind: 'instance.cancelled' });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        push({ kind: 'instance.continuedAsNew', details: { newRunId: event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId } });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        resetPoints.push({ eventId, at });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED: {
        const a = event.workflowTaskFailedEventAttributes!;
        push({ kind: 'workflowTask.failed', error: failureOf(a.failure), details: { cause: a.cause } });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = event.activityTaskScheduledEventAttributes!;
        const activityId = a.activityId ?? '';
        const nodeId = nodeOfScheduledEvent(event);
        scheduled.set(eventId, { activityId, activityType: a.activityType?.name ?? undefined, nodeId });
        push({
          kind: 'activity.scheduled',
          activityId,
          activityType: a.activityType?.name ?? undefined,
          nodeId,
          resetPointEventId: toNumber(a.workflowTaskCompletedEventId) || undefined,
          details: { maximumAttempts: a.retryPolicy?.maximumAttempts ?? undefined },
        });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = event.activityTaskStartedEventAttributes!;
        const origin = scheduled.get(toNumber(a.scheduledEventId));
        push({
          kind: 'activity.started',
          ...origin,
          attempt: a.attempt ?? 1,
          previousAttemptError: a.lastFailure ? failureOf(a.lastFailure)?.message : undefined,
        });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const origin = scheduled.get(toNumber(event.activityTaskCompletedEventAttributes?.scheduledEventId));
        push({ kind: 'activity.completed', ...origin });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: {
        const a = event.activityTaskFailedEventAttributes!;
        push({ kind: 'activity.failed', ...scheduled.get(toNumber(a.scheduledEventId)), error: failureOf(a.failure), details: { retryState: a.retryState } });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
        const a = event.activityTaskTimedOutEventAttributes!;
        push({ kind: 'activity.timedOut', ...scheduled.get(toNumber(a.scheduledEventId)), error: failureOf(a.failure) });
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        push({ kind: 'activity.cancelled', ...scheduled.get(toNumber(event.activityTaskCanceledEventAttributes?.scheduledEventId)) });
        break;
      }
      case EventType.EVENT_TYPE_TIMER_STARTED: {
        const a = event.timerStartedEventAttributes!;
        timers.set(eventId, a.timerId ?? '');
        push({ kind: 'timer.started', name: a.timerId ?? undefined, details: { summary: summaryOf(event), fireAfterMs: durationMs(a.startToFireTimeout) } });
        break;
      }
      case EventType.EVENT_TYPE_TIMER_FIRED:
        push({ kind: 'timer.fired', name: timers.get(toNumber(event.timerFiredEventAttributes?.startedEventId)) });
        break;
      case EventType.EVENT_TYPE_TIMER_CANCELED:
        push({ kind: 'timer.cancelled', name: timers.get(toNumber(event.timerCanceledEventAttributes?.startedEventId)) });
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
        const a = event.workflowExecutionSignaledEventAttributes!;
        push({ kind: 'signal.received', name: a.signalName ?? undefined, details: { identity: a.identity, input: decodeAll(a.input?.payloads) } });
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
        const a = event.workflowExecutionUpdateAcceptedEventAttributes!;
        const name = a.acceptedRequest?.input?.name ?? undefined;
        const updateId = a.acceptedRequest?.meta?.updateId ?? a.protocolInstanceId ?? '';
        updates.set(updateId, name ?? '');
        push({
          kind: 'update.accepted',
          name,
          details: { updateId, identity: a.acceptedRequest?.meta?.identity, input: decodeAll(a.acceptedRequest?.input?.args?.payloads) },
        });
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
        const a = event.workflowExecutionUpdateCompletedEventAttributes!;
        const updateId = a.meta?.updateId ?? '';
        const failure = a.outcome?.failure;
        push({ kind: 'update.completed', name: updates.get(updateId), error: failure ? failureOf(failure) : undefined, details: { updateId } });
        break;
      }
      case EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
        const a = event.startChildWorkflowExecutionInitiatedEventAttributes!;
        push({ kind: 'child.initiated', name: a.workflowId ?? undefined, details: { workflowType: a.workflowType?.name }, resetPointEventId: toNumber(a.workflowTaskCompletedEventId) || undefined });
        break;
      }
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        push({ kind: 'child.started', name: event.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? undefined });
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
        push({ kind: 'child.completed', name: event.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId ?? undefined });
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: {
        const a = event.childWorkflowExecutionFailedEventAttributes!;
        push({ kind: 'child.failed', name: a.workflowExecution?.workflowId ?? undefined, error: failureOf(a.failure) });
        break;
      }
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
        push({ kind: 'child.cancelled', name: event.childWorkflowExecutionCanceledEventAttributes?.workflowExecution?.workflowId ?? undefined });
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
        push({ kind: 'child.timedOut', name: event.childWorkflowExecutionTimedOutEventAttributes?.workflowExecution?.workflowId ?? undefined });
        break;
      case EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
        push({ kind: 'child.terminated', name: event.childWorkflowExecutionTerminatedEventAttributes?.workflowExecution?.workflowId ?? undefined });
        break;
      case EventType.EVENT_TYPE_MARKER_RECORDED: {
        const a = event.markerRecordedEventAttributes!;
        const details = Object.fromEntries(Object.entries(a.details ?? {}).map(([key, value]) => [key, decodeAll(value.payloads)]));
        push({ kind: 'marker.recorded', name: a.markerName ?? undefined, details });
        break;
      }
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const fields = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
        const decoded = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, decode(value)]));
        // KfActiveNodes is where the interpreter says which nodes hold tokens: its changes are the
        // node entries and exits, even for nodes that run no activity (gateways, user tasks, timers).
        if ('KfActiveNodes' in decoded) {
          const next = Array.isArray(decoded.KfActiveNodes) ? (decoded.KfActiveNodes as unknown[]).map(String) : [];
          for (const nodeId of activeNodes.filter((node) => !next.includes(node))) push({ kind: 'node.left', nodeId });
          for (const nodeId of next.filter((node) => !activeNodes.includes(node))) push({ kind: 'node.entered', nodeId });
          activeNodes = next;
        }
        push({ kind: 'searchAttributes.updated', details: decoded });
        break;
      }
      default:
        break;
    }
  }
  return { workflowId, runId, entries, resetPoints };
}

function summaryOf(event: HistoryEvent): string | undefined {
  const summary = event.userMetadata?.summary;
  if (!summary) return undefined;
  const value = decode(summary);
  return typeof value === 'string' ? value : undefined;
}

function failureOf(failure: Failure | null | undefined): { message: string; type?: string } | undefined {
  if (!failure) return undefined;
  // The interesting message is usually the innermost cause (an activity failure wraps the app error).
  let innermost: Failure = failure;
  while (innermost.cause) innermost = innermost.cause;
  const type = innermost.applicationFailureInfo?.type ?? undefined;
  const message = innermost === failure ? failure.message ?? '' : `${failure.message ?? ''}: ${innermost.message ?? ''}`;
  return { message, ...(type ? { type } : {}) };
}

function decode(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as never);
  } catch {
    return '<undecodable payload>';
  }
}

function decodeAll(payloads: Payload[] | null | undefined): unknown[] | undefined {
  return payloads ? payloads.map(decode) : undefined;
}

export function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && 'toNumber' in (value as object)) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

function toIso(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  if (!timestamp) return new Date(0).toISOString();
  return new Date(toNumber(timestamp.seconds) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}

function durationMs(duration: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!duration) return undefined;
  return toNumber(duration.seconds) * 1000 + Math.floor((duration.nanos ?? 0) / 1e6);
}
