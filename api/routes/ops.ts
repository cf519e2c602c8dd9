import { randomUUID } from 'node:crypto';
import type { WorkflowBundle } from '@temporalio/worker';
import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { countBatchItems, createBatch, getBatch, itemStatuses, listBatches, listBatchItems, listInstanceAudit, instanceEntityType, opsActions } from '../../db/ops';
import {
  cancelInstance,
  describeInstance,
  fetchEvents,
  instanceState,
  migrateInstance,
  moveToken,
  resetBeforeNode,
  resetInstance,
  retryIncident,
  skipIncident,
  terminateInstance,
} from '../../ops/actions';
import { OpsError } from '../../ops/errors';
import { countInstances, findInstancePage, findInstances, groupIncidents, instanceFilter, keyword, throughputPerHour } from '../../ops/find';
import { timelineFromHistory } from '../../ops/history';
import { removedNodeImpact, replayCheck } from '../../ops/replay';
import { collectNodeStatsOnce } from '../../ops/node-stats';
import { collectedUntil, deployedVersion, nodeStats } from '../../db/node-stats';
import { loadModel } from '../../db/definitions';
import { findDefinition } from '../../db/definitions';
import { bundleWorkflows } from '../../runtime/workflow-bundle';
import { opsBatchProgressQuery, opsBatchWorkflowId, opsBatchWorkflowType, type OpsBatchInput } from '../../workflows/ops-batch-contract';
import type { ApiDependencies, OpsRouteOptions } from '../dependencies';
import { decodePageToken, encodePageToken } from '../engine/instances';
import type { AuthenticatedStaff } from '../auth';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';

const access = ['ops'] as const;
const tags = ['ops'];
const reason = z.string().trim().min(1).max(1000).describe('why: recorded in the audit trail (and in Temporal for terminate and reset)');
const variables = z.record(z.unknown());
const workflowIdParam = z.object({ workflowId: z.string().min(1).max(400) });
const incidentParams = workflowIdParam.extend({ incidentId: z.string().min(1).max(200) });
const anyObject = z.record(z.unknown());
const limitQuery = z.coerce.number().int().min(1).max(1000).default(100);

/** Every ops action becomes an ApiError with the same code, or passes through. */
function asApiError(error: unknown): unknown {
  if (error instanceof OpsError) return new ApiError(error.code, error.message, error.details);
  return error;
}

/** Ops: find, inspect, fix one instance or many, replay-check, audit. Role `ops` only. */
export function createOpsRoutes({ pool, temporal, config }: ApiDependencies, options: OpsRouteOptions = {}): ApiRoutes {
  let defaultBundle: Promise<WorkflowBundle> | undefined;
  const replayBundle = options.replayBundle ?? (() => (defaultBundle ??= bundleWorkflows()));

  /** Runs one action on one instance and records it — succeeded or refused — in the audit log. */
  async function audited<T>(
    staff: AuthenticatedStaff,
    requestId: string,
    action: string,
    workflowId: string,
    details: Record<string, unknown>,
    run: () => Promise<T>,
  ): Promise<T> {
    const who = { actor: staff.username, requestId };
    const entry = { action: `ops.${action}`, entityType: instanceEntityType, entityId: workflowId };
    try {
      const result = await run();
      await recordAudit(pool, who, { ...entry, details: { ...details, result: 'succeeded', outcome: result } });
      return result;
    } catch (error) {
      const mapped = asApiError(error);
      const failure = mapped instanceof ApiError ? { code: mapped.code, message: mapped.message } : { code: 'INTERNAL', message: 'internal error' };
      await recordAudit(pool, who, { ...entry, details: { ...details, result: 'failed', error: failure } });
      throw mapped;
    }
  }

  const batchBody = z
    .object({
      action: z.enum(opsActions),
      filter: instanceFilter,
      params: anyObject.default({}),
      ratePerSecond: z.number().int().min(1).max(1000).default(20),
      reason,
      /** Count and sample the targets, start nothing. */
      dryRun: z.boolean().default(false),
      maxInstances: z.number().int().min(1).max(100_000).default(10_000),
    })
    .strict();

  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/ops/instances',
        summary: 'Find instances: incidents, failed, timed-out, terminated, running …',
        tags,
        access,
        description:
          'Paged by Temporal visibility: pass `nextPageToken` back as `pageToken`. With `errorContains` and no `pageToken`, candidates are scanned until `limit` match (no next page); with a `pageToken`, a page holds the matches among `limit` candidates.',
        query: instanceFilter.extend({ limit: limitQuery, pageToken: z.string().max(4096).optional() }),
        response: {
          status: 200,
          description: 'matching instances, newest first',
          schema: z.object({ instances: z.array(anyObject), nextPageToken: z.string().optional() }),
        },
      },
      async ({ query }) => {
        const { limit, pageToken, ...filter } = query;
        if (filter.errorContains !== undefined && pageToken === undefined) {
          return { instances: await findInstances(temporal, filter, { limit }).catch((error) => Promise.reject(asApiError(error))) };
        }
        const page = await findInstancePage(temporal, filter, { pageSize: limit, pageToken: pageToken === undefined ? undefined : decodePageToken(pageToken) }).catch((error) =>
          Promise.reject(asApiError(error)),
        );
        return { instances: page.instances, ...(page.nextPageToken ? { nextPageToken: encodePageToken(page.nextPageToken) } : {}) };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/counts',
        summary: 'Counts per process version and per node: where instances stand and get stuck',
        tags,
        access,
        query: instanceFilter,
        response: { status: 200, description: 'counts', schema: anyObject },
      },
      async ({ query }) => countInstances(temporal, query),
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/incidents',
        summary: 'Open incidents grouped by process → version → node → error text, with counts',
        tags,
        access,
        query: instanceFilter.omit({ status: true, errorContains: true }).extend({ scanLimit: z.coerce.number().int().min(1).max(2000).default(500) }),
        response: {
          status: 200,
          description: 'groups, and how many incident instances were read',
          schema: z.object({ groups: z.array(anyObject), instances: z.number(), truncated: z.boolean() }),
        },
      },
      async ({ query }) => {
        const { scanLimit, ...filter } = query;
        return groupIncidents(temporal, filter, scanLimit);
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/processes/:processKey/node-stats',
        summary: 'How long each node of a process version takes (executions, average, p95, maximum) over a window, from the collected node executions',
        description:
          'Read from `node_executions`, which the API fills from the histories of closed instances every `KEYFLOW_NODE_STATS_INTERVAL_MS`; `collectedUntil` says how far. Nodes whose p95 exceeds `slaMs` are flagged `overSla`.',
        tags,
        access,
        params: z.object({ processKey: z.string().min(1).max(200) }),
        query: z
          .object({
            version: z.coerce.number().int().min(1).optional().describe('the latest when absent'),
            from: z.string().datetime({ offset: true }).optional().describe('default: 24 hours before `to`'),
            to: z.string().datetime({ offset: true }).optional().describe('default: now'),
            slaMs: z.coerce.number().int().min(1).optional(),
          })
          .strict(),
        response: { status: 200, description: 'per-node statistics', schema: anyObject },
        errors: ['NOT_FOUND'],
      },
      async ({ params, query }) => {
        const processVersion = await deployedVersion(pool, params.processKey, query.version);
        if (processVersion === null) throw new ApiError('NOT_FOUND', `no process ${params.processKey}${query.version === undefined ? '' : ` version ${query.version}`}`);
        const to = query.to ? new Date(query.to) : new Date();
        const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * 3600_000);
        if (from >= to) throw new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.from', message: 'must be before to' }]);
        const [rows, until] = await Promise.all([
          nodeStats(pool, { processKey: params.processKey, processVersion, from: from.toISOString(), to: to.toISOString() }),
          collectedUntil(pool),
        ]);
        return {
          processKey: params.processKey,
          processVersion,
          from: from.toISOString(),
          to: to.toISOString(),
          collectedUntil: until,
          nodes: rows.map((row) => ({
            nodeId: row.node_id,
            executions: row.executions,
            avgMs: Math.round(row.avg_ms),
            p95Ms: Math.round(row.p95_ms),
            maxMs: Math.round(row.max_ms),
            ...(query.slaMs !== undefined ? { overSla: row.p95_ms > query.slaMs } : {}),
          })),
        };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/processes/:processKey/throughput',
        summary: 'Instances started and completed per hour over the last hours (Temporal visibility counts)',
        tags,
        access,
        params: z.object({ processKey: keyword }),
        query: z.object({ version: z.coerce.number().int().min(1).optional(), hours: z.coerce.number().int().min(1).max(168).default(24) }).strict(),
        response: { status: 200, description: 'one entry per hour, oldest first', schema: z.object({ hours: z.array(anyObject) }) },
      },
      async ({ params, query }) => ({ hours: await throughputPerHour(temporal, { processKey: params.processKey, processVersion: query.version }, query.hours) }),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/node-stats/collect',
        summary: 'Read the histories of the instances closed since the last collection into the node statistics now',
        tags,
        access,
        body: z.object({}).strict(),
        response: { status: 200, description: 'how many instances and node executions were read (null: another collection is running)', schema: anyObject },
      },
      async () => ({ collected: await collectNodeStatsOnce(temporal, pool) }),
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/instances/:workflowId',
        summary: 'One instance: status and, while it runs a BPMN process, its state',
        tags,
        access,
        params: workflowIdParam,
        response: { status: 200, description: 'the instance', schema: anyObject },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const description = await describeInstance(temporal, params.workflowId).catch((error) => Promise.reject(asApiError(error)));
        // A closed instance answers its state query too (a worker replays it), so its path stays
        // visible; without a worker on its task queue the query would wait, so it gets 5 s.
        const query = () => instanceState(temporal, params.workflowId);
        const state =
          description.type !== 'bpmnProcess'
            ? undefined
            : await (description.status.name === 'RUNNING' ? query() : temporal.connection.withDeadline(Date.now() + 5_000, query)).catch(() => undefined);
        const attributes = description.searchAttributes as Record<string, unknown[] | undefined>;
        const first = (name: string) => attributes[name]?.[0];
        return {
          workflowId: description.workflowId,
          runId: description.runId,
          workflowType: description.type,
          status: description.status.name,
          startTime: description.startTime.toISOString(),
          closeTime: description.closeTime?.toISOString(),
          processKey: first('KfProcessKey'),
          processVersion: first('KfProcessVersion'),
          businessKey: first('KfBusinessKey'),
          customerId: first('KfCustomerId'),
          orgUnitId: first('KfOrgUnit'),
          parent: description.parentExecution ? { workflowId: description.parentExecution.workflowId, runId: description.parentExecution.runId } : undefined,
          state,
        };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/instances/:workflowId/timeline',
        summary: 'The instance timeline from its Temporal history: nodes, activity attempts with errors, updates, signals, timers, children',
        tags,
        access,
        params: workflowIdParam,
        query: z.object({ runId: z.string().max(100).optional() }).strict(),
        response: { status: 200, description: 'timeline entries in history order, and the reset points', schema: anyObject },
        errors: ['NOT_FOUND'],
      },
      async ({ params, query }) => {
        const events = await fetchEvents(temporal, params.workflowId, query.runId).catch((error) => Promise.reject(asApiError(error)));
        const timeline = timelineFromHistory(params.workflowId, events);
        // Nodes without commands (gateways, script tasks, events) leave no history event of their
        // own; the interpreter's state lists every node entered and left, so it completes the picture.
        const started = events[0]?.workflowExecutionStartedEventAttributes;
        const state =
          started?.workflowType?.name === 'bpmnProcess' && query.runId === undefined ? await instanceState(temporal, params.workflowId).catch(() => undefined) : undefined;
        return { ...timeline, ...(state ? { nodes: { completed: state.completedNodes, active: state.activeNodes } } : {}) };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/instances/:workflowId/audit',
        summary: 'Every ops action taken on this instance, newest first',
        tags,
        access,
        params: workflowIdParam,
        query: z.object({ limit: limitQuery, before: z.coerce.number().int().optional() }).strict(),
        response: { status: 200, description: 'audit entries', schema: z.object({ entries: z.array(anyObject) }) },
      },
      async ({ params, query }) => ({ entries: await listInstanceAudit(pool, params.workflowId, query) }),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/terminate',
        summary: 'Terminate a running instance (no compensation)',
        tags,
        access,
        params: workflowIdParam,
        body: z.object({ reason }).strict(),
        response: { status: 200, description: 'terminated', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'terminate', params.workflowId, { reason: body.reason }, () =>
          terminateInstance(temporal, params.workflowId, `${body.reason} (by ${staff.username})`),
        ),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/cancel',
        summary: 'Cancel a running instance; the interpreter compensates what completed',
        tags,
        access,
        params: workflowIdParam,
        body: z.object({ reason }).strict(),
        response: { status: 200, description: 'cancellation requested', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      ({ req, staff, params, body }) => audited(staff, String(req.id), 'cancel', params.workflowId, { reason: body.reason }, () => cancelInstance(temporal, params.workflowId)),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/reset',
        summary: 'Reset to a workflow-task event, or to just before a node ran (default: before the last failed activity)',
        tags,
        access,
        params: workflowIdParam,
        body: z
          .object({ reason, eventId: z.number().int().min(1).optional(), nodeId: z.string().min(1).max(200).optional() })
          .strict()
          .refine((body) => body.eventId === undefined || body.nodeId === undefined, { message: 'give eventId or nodeId, not both', path: ['eventId'] }),
        response: { status: 200, description: 'the new run', schema: anyObject },
        errors: ['NOT_FOUND', 'UNPROCESSABLE'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'reset', params.workflowId, { reason: body.reason, eventId: body.eventId, nodeId: body.nodeId }, async () => {
          const why = `${body.reason} (by ${staff.username})`;
          if (body.eventId !== undefined) return resetInstance(temporal, params.workflowId, { eventId: body.eventId, reason: why });
          return resetBeforeNode(temporal, params.workflowId, { nodeId: body.nodeId, reason: why });
        }),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/incidents/:incidentId/retry',
        summary: 'Retry an incident, optionally with changed variables',
        tags,
        access,
        params: incidentParams,
        body: z.object({ reason, variables: variables.optional() }).strict(),
        response: { status: 200, description: 'the retry was accepted by the instance', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'retry', params.workflowId, { reason: body.reason, incidentId: params.incidentId, variables: body.variables }, async () => ({
          result: (await retryIncident(temporal, params.workflowId, { incidentId: params.incidentId, variables: body.variables })) ?? null,
        })),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/incidents/:incidentId/skip',
        summary: 'Skip an incident: the token moves on with these output variables, as if the task completed',
        tags,
        access,
        params: incidentParams,
        body: z.object({ reason, variables }).strict(),
        response: { status: 200, description: 'skipped', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'skip', params.workflowId, { reason: body.reason, incidentId: params.incidentId, variables: body.variables }, async () => ({
          result: (await skipIncident(temporal, params.workflowId, { incidentId: params.incidentId, variables: body.variables })) ?? null,
        })),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/move',
        summary: 'Move the token(s) at one node to another node of the same scope',
        tags,
        access,
        params: workflowIdParam,
        body: z.object({ reason, fromNodeId: z.string().min(1).max(200), toNodeId: z.string().min(1).max(200), variables: variables.optional() }).strict(),
        response: { status: 200, description: 'moved', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'move', params.workflowId, { reason: body.reason, fromNodeId: body.fromNodeId, toNodeId: body.toNodeId }, async () => ({
          result: (await moveToken(temporal, params.workflowId, { fromNodeId: body.fromNodeId, toNodeId: body.toNodeId, variables: body.variables })) ?? null,
        })),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/instances/:workflowId/migrate',
        summary: 'Migrate a running instance to another deployed version of its process, with an explicit node mapping',
        description: 'Every active node must be mapped (old node id → node id in the target version); otherwise 422 names the unmapped nodes.',
        tags,
        access,
        params: workflowIdParam,
        body: z.object({ reason, toVersion: z.number().int().min(1), nodeMapping: z.record(z.string().min(1).max(200)) }).strict(),
        response: { status: 200, description: 'migrated', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      ({ req, staff, params, body }) =>
        audited(staff, String(req.id), 'migrate', params.workflowId, { reason: body.reason, toVersion: body.toVersion, nodeMapping: body.nodeMapping }, () =>
          migrateInstance(temporal, params.workflowId, { toVersion: body.toVersion, nodeMapping: body.nodeMapping, loadDefinition: (key, version) => loadModel(pool, key, version) }),
        ),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/batches',
        summary: 'Run one action over every instance a filter matches, as a durable, rate-limited workflow (dryRun: count only)',
        tags,
        access,
        body: batchBody,
        response: { status: 200, description: 'the dry-run count, or the started batch', schema: anyObject },
        errors: ['UNPROCESSABLE'],
      },
      async ({ req, staff, body }) => {
        const found = await findInstances(temporal, body.filter, { limit: body.maxInstances + 1 }).catch((error) => Promise.reject(asApiError(error)));
        if (found.length > body.maxInstances) {
          throw new ApiError('UNPROCESSABLE', `the filter matches more than maxInstances (${body.maxInstances}) instances; narrow it or raise maxInstances`);
        }
        if (body.dryRun) {
          // A migration's dry run also names the instances it would refuse (active nodes left unmapped).
          const mapping = body.action === 'migrate' && typeof body.params.nodeMapping === 'object' && body.params.nodeMapping ? (body.params.nodeMapping as Record<string, unknown>) : undefined;
          const wouldRefuse =
            body.action === 'migrate'
              ? found
                  .map((instance) => ({
                    workflowId: instance.workflowId,
                    unmappedNodes: [...new Set([...instance.activeNodes, ...(instance.incidentNode ? [instance.incidentNode] : [])])].filter((nodeId) => mapping?.[nodeId] === undefined),
                  }))
                  .filter((refusal) => refusal.unmappedNodes.length > 0)
              : undefined;
          return { dryRun: true, count: found.length, sample: found.slice(0, 20).map((instance) => instance.workflowId), ...(wouldRefuse ? { wouldRefuse } : {}) };
        }
        const batchId = randomUUID();
        const workflowIds = found.map((instance) => instance.workflowId);
        const batch = await createBatch(pool, {
          id: batchId,
          action: body.action,
          filter: body.filter,
          params: body.params,
          ratePerSecond: body.ratePerSecond,
          reason: body.reason,
          actor: staff.username,
          requestId: String(req.id),
          workflowIds,
        });
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, {
          action: `ops.batch.${body.action}`,
          entityType: 'ops_batch',
          entityId: batchId,
          details: { reason: body.reason, filter: body.filter, params: body.params, ratePerSecond: body.ratePerSecond, count: workflowIds.length },
        });
        const input: OpsBatchInput = {
          batchId,
          action: body.action,
          workflowIds,
          params: body.params,
          ratePerSecond: body.ratePerSecond,
          actor: staff.username,
          reason: body.reason,
          requestId: String(req.id),
        };
        await temporal.workflow.start(opsBatchWorkflowType, { taskQueue: config.KEYFLOW_TASK_QUEUE, workflowId: opsBatchWorkflowId(batchId), args: [input] });
        return { dryRun: false, batchId, count: workflowIds.length, status: batch.status };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/batches',
        summary: 'Recent batches',
        tags,
        access,
        query: z.object({ limit: limitQuery }).strict(),
        response: { status: 200, description: 'batches, newest first', schema: z.object({ batches: z.array(anyObject) }) },
      },
      async ({ query }) => ({ batches: await listBatches(pool, query.limit) }),
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/batches/:batchId',
        summary: 'A batch with its progress (live, from the workflow) and result counts',
        tags,
        access,
        params: z.object({ batchId: z.string().uuid() }),
        response: { status: 200, description: 'the batch', schema: anyObject },
        errors: ['NOT_FOUND'],
      },
      async ({ params }) => {
        const batch = await getBatch(pool, params.batchId);
        if (!batch) throw new ApiError('NOT_FOUND', `no batch ${params.batchId}`);
        const progress = await temporal.workflow
          .getHandle(opsBatchWorkflowId(params.batchId))
          .query(opsBatchProgressQuery)
          .catch(() => undefined);
        return { ...batch, progress, counts: await countBatchItems(pool, params.batchId) };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/ops/batches/:batchId/items',
        summary: 'Per-instance results of a batch, in order',
        tags,
        access,
        params: z.object({ batchId: z.string().uuid() }),
        query: z.object({ status: z.enum(itemStatuses).optional(), after: z.coerce.number().int().min(-1).optional(), limit: limitQuery }).strict(),
        response: { status: 200, description: 'items', schema: z.object({ items: z.array(anyObject) }) },
      },
      async ({ params, query }) => ({ items: await listBatchItems(pool, params.batchId, query) }),
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/batches/:batchId/cancel',
        summary: 'Stop a running batch; actions already taken stay taken',
        tags,
        access,
        params: z.object({ batchId: z.string().uuid() }),
        body: z.object({ reason }).strict(),
        response: { status: 200, description: 'cancellation requested', schema: anyObject },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, body }) => {
        const batch = await getBatch(pool, params.batchId);
        if (!batch) throw new ApiError('NOT_FOUND', `no batch ${params.batchId}`);
        if (batch.status !== 'running') throw new ApiError('CONFLICT', `batch ${params.batchId} is ${batch.status}`);
        await temporal.workflow.getHandle(opsBatchWorkflowId(params.batchId)).cancel();
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, {
          action: 'ops.batch.cancel',
          entityType: 'ops_batch',
          entityId: params.batchId,
          details: { reason: body.reason },
        });
        return { batchId: params.batchId, cancelRequested: true };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/ops/replay-check',
        summary: 'Replay running instances against the current workflow code and report non-determinism per instance',
        tags,
        access,
        body: z
          .object({
            filter: instanceFilter.omit({ status: true }).default({}),
            samplePerVersion: z.number().int().min(1).max(1000).optional(),
            limit: z.number().int().min(1).max(5000).default(500),
            /** Before deploying a new version: how many running instances sit on nodes it removes. */
            newVersion: z
              .object({ processKey: z.string().min(1).max(200), version: z.number().int().min(1).optional(), nodeIds: z.array(z.string().min(1).max(200)).max(10_000).optional() })
              .strict()
              .refine((value) => (value.version === undefined) !== (value.nodeIds === undefined), { message: 'give the deployed version or the new node ids' })
              .optional(),
            /** Only report the removed-node impact; replay nothing. */
            impactOnly: z.boolean().default(false),
          })
          .strict(),
        response: { status: 200, description: 'one verdict per replayed instance, and the impact of the new version when asked', schema: anyObject },
        errors: ['NOT_FOUND'],
      },
      async ({ req, staff, body }) => {
        let impact: Awaited<ReturnType<typeof removedNodeImpact>> | undefined;
        if (body.newVersion) {
          const { processKey, version, nodeIds } = body.newVersion;
          let newNodes = nodeIds;
          if (version !== undefined) {
            const definition = await findDefinition(pool, processKey, version);
            if (!definition || definition.version !== version) throw new ApiError('NOT_FOUND', `${processKey} has no version ${version}`);
            newNodes = Object.keys(definition.model.nodes);
          }
          impact = await removedNodeImpact(temporal, processKey, new Set(newNodes), { ...body.filter, processKey });
        }
        const report = body.impactOnly
          ? { checked: 0, nonDeterministic: 0, instances: [] }
          : await replayCheck(temporal, await replayBundle(), { filter: body.filter, samplePerVersion: body.samplePerVersion, limit: body.limit });
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, {
          action: 'ops.replay-check',
          entityType: 'replay_check',
          entityId: String(req.id),
          details: { filter: body.filter, checked: report.checked, nonDeterministic: report.instances.filter((verdict) => !verdict.deterministic).map((verdict) => verdict.workflowId) },
        });
        return { ...report, ...(impact ? { newVersionImpact: impact } : {}) };
      },
    );
}
