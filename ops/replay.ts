import type { Client } from '@temporalio/client';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { findInstances, type InstanceFilter } from './find';
import { instanceState } from './actions';
import { toNumber } from './history';

const EventType = temporal.api.enums.v1.EventType;

export interface ReplayCheckOptions {
  /** Which instances; `status` is forced to running. */
  filter: Omit<InstanceFilter, 'status'>;
  /** Replay at most this many per process key and version (all when absent). */
  samplePerVersion?: number;
  /** Upper bound on instances replayed in one check. */
  limit: number;
}

export interface ReplayVerdict {
  workflowId: string;
  runId: string;
  processKey?: string;
  processVersion?: number;
  deterministic: boolean;
  error?: { type: string; message: string };
  /** The first history event the current code no longer produces the same command for. */
  divergentEvent?: { eventId: number; eventType: string; summary: string };
}

export interface ReplayCheckReport {
  checked: number;
  nonDeterministic: number;
  instances: ReplayVerdict[];
}

/**
 * Replays the histories of running instances against a workflow bundle (the current code) and
 * reports, per instance, whether the code still makes the same decisions — the check to run before
 * a worker with changed workflow code is deployed.
 */
export async function replayCheck(client: Client, workflowBundle: WorkflowBundle, options: ReplayCheckOptions): Promise<ReplayCheckReport> {
  const candidates = await findInstances(client, { ...options.filter, status: 'running' }, { limit: options.samplePerVersion ? options.limit * 20 : options.limit });
  const perVersion = new Map<string, number>();
  const chosen = candidates.filter((instance) => {
    const group = `${instance.processKey ?? instance.workflowType}\u0000${instance.processVersion ?? ''}`;
    const taken = perVersion.get(group) ?? 0;
    if (options.samplePerVersion !== undefined && taken >= options.samplePerVersion) return false;
    perVersion.set(group, taken + 1);
    return true;
  }).slice(0, options.limit);

  const histories = new Map<string, temporal.api.history.v1.IHistory>();
  for (const instance of chosen) {
    histories.set(instance.workflowId, await client.workflow.getHandle(instance.workflowId, instance.runId).fetchHistory());
  }
  const verdicts = new Map<string, ReplayVerdict>();
  const results = Worker.runReplayHistories(
    { workflowBundle, replayName: 'keyflow-replay-check' },
    chosen.map((instance) => ({ workflowId: instance.workflowId, history: histories.get(instance.workflowId)! })),
  );
  for await (const result of results) {
    const instance = chosen.find((candidate) => candidate.workflowId === result.workflowId);
    const verdict: ReplayVerdict = {
      workflowId: result.workflowId,
      runId: result.runId,
      processKey: instance?.processKey,
      processVersion: instance?.processVersion,
      deterministic: result.error === undefined,
    };
    if (result.error) {
      verdict.error = { type: result.error.name, message: result.error.message };
      verdict.divergentEvent = divergentEvent(histories.get(result.workflowId)?.events ?? [], result.error.message);
    }
    verdicts.set(result.workflowId, verdict);
  }
  const instances = chosen.map((instance) => verdicts.get(instance.workflowId)!).filter(Boolean);
  return { checked: instances.length, nonDeterministic: instances.filter((verdict) => !verdict.deterministic).length, instances };
}

/**
 * Finds the history event the nondeterminism error is about. Temporal's core names the command
 * and the event it expected (an activity type or id, a timer id, a child workflow) but not always
 * its event id, so the first command event whose identity appears in the message — or, failing
 * that, the first command event of the workflow task that failed — is named.
 */
export function divergentEvent(events: readonly temporal.api.history.v1.IHistoryEvent[], message: string): ReplayVerdict['divergentEvent'] {
  const idMatch = /event(?: id)?[:\s#]+(\d+)/i.exec(message);
  if (idMatch) {
    const byId = events.find((event) => toNumber(event.eventId) === Number(idMatch[1]));
    if (byId) return describeEvent(byId);
  }
  const commands = events.filter((event) => commandEventTypes.has(event.eventType ?? 0));
  for (const event of commands) {
    const identity = identityOf(event);
    if (identity.some((value) => value && message.includes(`'${value}'`))) return describeEvent(event);
  }
  for (const event of commands) {
    const identity = identityOf(event);
    if (identity.some((value) => value && message.includes(value))) return describeEvent(event);
  }
  return undefined;
}

const commandEventTypes = new Set<number>([
  EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
  EventType.EVENT_TYPE_TIMER_STARTED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_MARKER_RECORDED,
  EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
  EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
]);

function identityOf(event: temporal.api.history.v1.IHistoryEvent): string[] {
  return [
    event.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
    event.activityTaskScheduledEventAttributes?.activityId ?? '',
    event.timerStartedEventAttributes?.timerId ?? '',
    event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '',
    event.markerRecordedEventAttributes?.markerName ?? '',
  ];
}

function describeEvent(event: temporal.api.history.v1.IHistoryEvent): NonNullable<ReplayVerdict['divergentEvent']> {
  const type = EventType[event.eventType ?? 0] ?? String(event.eventType);
  const eventType = type.replace(/^EVENT_TYPE_/, '');
  const identity = identityOf(event).filter(Boolean);
  return { eventId: toNumber(event.eventId), eventType, summary: `${eventType}${identity.length ? ` ${identity.join(' ')}` : ''}` };
}

export interface RemovedNodeImpact {
  processKey: string;
  /** Running instances with at least one token on a node the new version does not have. */
  affectedInstances: number;
  runningInstances: number;
  removedNodes: { nodeId: string; processVersion: number; instances: number }[];
  /** Up to 100 of the affected instances. */
  sample: string[];
}

/**
 * How many running instances of a process sit on nodes a new version removes: each running
 * instance's live tokens (its `state` query) are checked against the new version's node ids.
 */
export async function removedNodeImpact(client: Client, processKey: string, newNodeIds: ReadonlySet<string>, filter: Omit<InstanceFilter, 'status'>, limit = 10_000): Promise<RemovedNodeImpact> {
  const running = await findInstances(client, { ...filter, processKey, status: 'running' }, { limit });
  const removed = new Map<string, { nodeId: string; processVersion: number; instances: number }>();
  const affected: string[] = [];
  for (const instance of running) {
    let nodes: string[];
    try {
      nodes = [...new Set((await instanceState(client, instance.workflowId)).activeNodes.map((node) => node.nodeId))];
    } catch {
      nodes = instance.activeNodes;
    }
    const gone = nodes.filter((nodeId) => !newNodeIds.has(nodeId));
    if (gone.length === 0) continue;
    affected.push(instance.workflowId);
    for (const nodeId of gone) {
      const key = `${instance.processVersion ?? 0}\u0000${nodeId}`;
      const entry = removed.get(key) ?? { nodeId, processVersion: instance.processVersion ?? 0, instances: 0 };
      entry.instances += 1;
      removed.set(key, entry);
    }
  }
  return { processKey, affectedInstances: affected.length, runningInstances: running.length, removedNodes: [...removed.values()], sample: affected.slice(0, 100) };
}

/** Where the running instances of a process wait, per version, and which of those nodes a new version drops. */
export interface VersionImpact {
  processKey: string;
  runningInstances: number;
  versions: { processVersion: number; instances: number; waitingAt: { nodeId: string; instances: number; removed: boolean }[] }[];
}

/**
 * What deploying a model with `newNodeIds` would touch: the running instances of the process by
 * version, and the nodes they wait at (from the `KfActiveNodes` search attribute, so it reads no
 * history and no state), each flagged when the new model no longer has it.
 */
export async function versionImpact(client: Client, processKey: string, newNodeIds: ReadonlySet<string>, limit = 10_000): Promise<VersionImpact> {
  const running = await findInstances(client, { processKey, status: 'running' }, { limit });
  const versions = new Map<number, { instances: number; nodes: Map<string, number> }>();
  for (const instance of running) {
    const version = instance.processVersion ?? 0;
    const entry = versions.get(version) ?? { instances: 0, nodes: new Map<string, number>() };
    entry.instances += 1;
    for (const nodeId of new Set(instance.activeNodes)) entry.nodes.set(nodeId, (entry.nodes.get(nodeId) ?? 0) + 1);
    versions.set(version, entry);
  }
  return {
    processKey,
    runningInstances: running.length,
    versions: [...versions.entries()]
      .sort(([a], [b]) => b - a)
      .map(([processVersion, entry]) => ({
        processVersion,
        instances: entry.instances,
        waitingAt: [...entry.nodes.entries()].sort(([, a], [, b]) => b - a).map(([nodeId, instances]) => ({ nodeId, instances, removed: !newNodeIds.has(nodeId) })),
      })),
  };
}
