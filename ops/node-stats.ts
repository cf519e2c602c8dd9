import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { collectedUntil, insertNodeExecutions, setCollectedUntil, type NodeExecution } from '../db/node-stats';
import type { Logger } from '../runtime/logger';
import { bpmnProcessWorkflowType } from '../workflows/contracts';
import { timelineFromHistory } from './history';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * The node executions one run's history shows, with their durations: a wait state (user task,
 * timer, message) from entering to leaving it (the interpreter's `KfActiveNodes` upserts), a service
 * task from its activity being scheduled to its completion (retries included). Nodes that issue no
 * command (gateways, script tasks) take no time worth counting and leave no trace. Pure.
 */
export function nodeExecutionsFromHistory(
  instance: { workflowId: string; runId: string; processKey: string; processVersion: number },
  events: readonly HistoryEvent[],
): NodeExecution[] {
  const { entries } = timelineFromHistory(instance.workflowId, events);
  const executions: NodeExecution[] = [];
  const entered = new Map<string, string>();
  const activities = new Map<string, { nodeId: string; at: string }>();
  const push = (nodeId: string, startedAt: string, completedAt: string) =>
    executions.push({ ...instance, nodeId, startedAt, completedAt, durationMs: Math.max(0, Date.parse(completedAt) - Date.parse(startedAt)) });
  for (const entry of entries) {
    if (entry.kind === 'node.entered' && entry.nodeId) entered.set(entry.nodeId, entry.at);
    else if (entry.kind === 'node.left' && entry.nodeId) {
      const since = entered.get(entry.nodeId);
      if (since !== undefined) push(entry.nodeId, since, entry.at);
      entered.delete(entry.nodeId);
    } else if (entry.kind === 'activity.scheduled' && entry.nodeId && entry.activityId && !entry.activityType?.startsWith('engine.')) {
      activities.set(entry.activityId, { nodeId: entry.nodeId, at: entry.at });
    } else if (entry.kind === 'activity.completed' && entry.activityId) {
      const scheduled = activities.get(entry.activityId);
      if (scheduled) push(scheduled.nodeId, scheduled.at, entry.at);
      activities.delete(entry.activityId);
    }
  }
  return executions;
}

/**
 * Reads the histories of the `bpmnProcess` runs that closed in [closedAfter, closedBefore) and
 * stores their node executions (an execution stored before is skipped, so windows may overlap).
 */
export async function collectNodeExecutions(
  client: Client,
  pool: CommonQueryMethods,
  window: { closedAfter: string; closedBefore: string },
): Promise<{ instances: number; executions: number }> {
  const query = [
    `WorkflowType = '${bpmnProcessWorkflowType}'`,
    `ExecutionStatus != 'Running'`,
    `CloseTime >= '${new Date(window.closedAfter).toISOString()}'`,
    `CloseTime < '${new Date(window.closedBefore).toISOString()}'`,
  ].join(' AND ');
  let instances = 0;
  let executions = 0;
  for await (const info of client.workflow.list({ query, pageSize: 500 })) {
    const processKey = info.searchAttributes?.KfProcessKey?.[0];
    const processVersion = info.searchAttributes?.KfProcessVersion?.[0];
    if (typeof processKey !== 'string' || typeof processVersion !== 'number') continue;
    const history = await client.workflow
      .getHandle(info.workflowId, info.runId)
      .fetchHistory()
      .catch(() => undefined);
    if (!history) continue;
    instances += 1;
    executions += await insertNodeExecutions(pool, nodeExecutionsFromHistory({ workflowId: info.workflowId, runId: info.runId, processKey, processVersion }, history.events ?? []));
  }
  return { instances, executions };
}

/** Instances close a moment before visibility lists them: the collector stays this far behind now. */
const visibilityLagMs = 10_000;
/** On its very first run the collector reads the day before. */
const firstWindowMs = 24 * 3600_000;

/**
 * One collection from where the last ended up to now (less the visibility lag). Several API
 * processes may run it: a transaction-scoped advisory lock lets one at a time in, the others skip.
 */
export async function collectNodeStatsOnce(client: Client, pool: DatabasePool, now = new Date()): Promise<{ instances: number; executions: number } | null> {
  return pool.transaction(async (tx) => {
    const locked = await tx.oneFirst(sql.type(z.object({ locked: z.boolean() }))`SELECT pg_try_advisory_xact_lock(hashtext('node_stats_collector')) AS locked`);
    if (!locked) return null;
    const until = new Date(now.getTime() - visibilityLagMs).toISOString();
    const since = (await collectedUntil(tx)) ?? new Date(now.getTime() - firstWindowMs).toISOString();
    if (since >= until) return { instances: 0, executions: 0 };
    const collected = await collectNodeExecutions(client, tx, { closedAfter: since, closedBefore: until });
    await setCollectedUntil(tx, until);
    return collected;
  });
}

/** Runs the collection every `intervalMs` until stopped; a failed round is logged and the next one tries again. */
export function startNodeStatsCollector(client: Client, pool: DatabasePool, logger: Logger, intervalMs: number): { stop(): Promise<void> } {
  let current: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    current = current
      .then(() => collectNodeStatsOnce(client, pool))
      .then((collected) => collected && collected.instances > 0 && logger.debug(collected, 'node statistics collected'))
      .catch((error: unknown) => logger.warn({ err: error }, 'node statistics collection failed'));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current.catch(() => undefined);
    },
  };
}
