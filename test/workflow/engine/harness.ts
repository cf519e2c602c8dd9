import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { createActivities } from '../../../activities';
import { loadConfig } from '../../../runtime/config';
import { bpmnProcessWorkflowType, processInstanceId, stateQueryName, type BpmnProcessInput, type BpmnProcessResult, type ProcessInstanceState, type Variables } from '../../../workflows/contracts';
import type { FlowNode, ProcessModel, SequenceFlow } from '../../../workflows/model';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testLogger, workflowBundle } from '../../support/services';
import { recordReplayHistory } from '../../support/replay-histories';

export { replayHistoryDir } from '../../support/replay-histories';

type NodeSpec = { id: string; type: FlowNode['type'] } & Record<string, unknown>;

/**
 * Builds a ProcessModel from nodes and `[id, source, target, condition?]` flows, filling in
 * incoming/outgoing and each activity's boundaryEventIds — what the parser derives from XML.
 */
export function buildModel(key: string, nodes: NodeSpec[], flows: [string, string, string, string?][], extra: Partial<ProcessModel> = {}): ProcessModel {
  const built: Record<string, FlowNode> = {};
  for (const spec of nodes) {
    const node = { incoming: [], outgoing: [], ...spec } as Record<string, unknown>;
    if (['serviceTask', 'userTask', 'scriptTask', 'receiveTask', 'task', 'callActivity', 'subProcess'].includes(spec.type)) node.boundaryEventIds ??= [];
    if (['startEvent', 'endEvent', 'intermediateCatchEvent', 'intermediateThrowEvent'].includes(spec.type)) node.event ??= { kind: 'none' };
    if (spec.type === 'serviceTask') {
      node.retries ??= 1;
      node.timeout ??= 'PT10S';
      node.retryBackoff ??= 'PT0.1S';
    }
    built[spec.id] = node as unknown as FlowNode;
  }
  for (const spec of nodes) {
    if (spec.type === 'boundaryEvent') (built[spec.attachedToRef as string] as { boundaryEventIds: string[] }).boundaryEventIds.push(spec.id);
  }
  const sequenceFlows: Record<string, SequenceFlow> = {};
  for (const [id, sourceId, targetId, condition] of flows) {
    sequenceFlows[id] = { id, sourceId, targetId, ...(condition ? { condition } : {}) };
    built[sourceId]!.outgoing.push(id);
    built[targetId]!.incoming.push(id);
  }
  return { key, version: 1, nodes: built, flows: sequenceFlows, messages: {}, errors: {}, ...extra };
}

/** Test activities: service tasks of the fixtures call these by name. */
export type TestActivities = Record<string, (...args: any[]) => Promise<unknown>>;

export interface EngineHarness {
  database: TestDatabase;
  client: Client;
  taskQueue: string;
  start(model: ProcessModel, variables?: Variables, options?: Partial<BpmnProcessInput> & { businessKey?: string }): Promise<WorkflowHandle>;
  run(model: ProcessModel, variables?: Variables, options?: Partial<BpmnProcessInput> & { businessKey?: string }): Promise<{ handle: WorkflowHandle; result: BpmnProcessResult }>;
  state(handle: WorkflowHandle): Promise<ProcessInstanceState>;
  /** Waits until the state satisfies `predicate` (polling the query). */
  waitFor(handle: WorkflowHandle, predicate: (state: ProcessInstanceState) => boolean, timeoutMs?: number): Promise<ProcessInstanceState>;
  tasks(workflowId: string): Promise<readonly TaskRow[]>;
  /** Saves the instance's history under test/replay/histories when RECORD_REPLAY_HISTORIES=1. */
  record(name: string, handle: WorkflowHandle): Promise<void>;
  stop(): Promise<void>;
}

const taskRow = z.object({
  id: z.string(),
  node_id: z.string(),
  name: z.string(),
  status: z.string(),
  candidate_groups: z.array(z.string()),
  assignee: z.string().nullable(),
  due_at: z.string().nullable(),
  form_key: z.string().nullable(),
  completed_by: z.string().nullable(),
  outcome: z.unknown().nullable(),
  customer_id: z.string().nullable(),
  org_unit_id: z.string().nullable(),
});
export type TaskRow = z.infer<typeof taskRow>;

/** A worker on the test services with the real engine activities plus the fixtures' own, on this file's database and task queue. */
export async function createEngineHarness(testActivities: TestActivities): Promise<EngineHarness> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this process
  }
  const database = await createTestDatabase();
  const config = loadConfig({ ...process.env, DATABASE_URL: database.url });
  const taskQueue = `engine-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: { ...createActivities({ pool: database.pool, config, logger: testLogger, now: () => new Date() }), ...testActivities },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

  const harness: EngineHarness = {
    database,
    client,
    taskQueue,
    async start(model, variables = {}, options = {}) {
      const businessKey = options.businessKey ?? randomUUID();
      return client.workflow.start(bpmnProcessWorkflowType, {
        taskQueue,
        workflowId: processInstanceId(model.key, businessKey),
        args: [{ definition: model, variables, ...options, businessKey } satisfies BpmnProcessInput],
      });
    },
    async run(model, variables = {}, options = {}) {
      const handle = await harness.start(model, variables, options);
      return { handle, result: (await handle.result()) as BpmnProcessResult };
    },
    state: (handle) => handle.query<ProcessInstanceState>(stateQueryName),
    async waitFor(handle, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ProcessInstanceState | undefined;
      let lastError: unknown;
      while (Date.now() < deadline) {
        try {
          last = await harness.state(handle);
          if (predicate(last)) return last;
        } catch (error) {
          // A query can time out while the worker is busy (a loaded machine, a continue-as-new in
          // flight); the question stands until the deadline.
          lastError = error;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`state never matched; last: ${JSON.stringify(last)}${lastError ? `; last query error: ${String(lastError)}` : ''}`);
    },
    tasks: (workflowId) =>
      database.pool.any(sql.type(taskRow)`
        SELECT id, node_id, name, status, candidate_groups, assignee, due_at, form_key, completed_by, outcome, customer_id, org_unit_id
        FROM human_tasks WHERE workflow_id = ${workflowId} ORDER BY created_at, id`),
    async record(name, handle) {
      await recordReplayHistory(name, handle);
    },
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close();
      await connection.close();
      await database.drop();
    },
  };
  return harness;
}

/** Completed node ids in order: the path a test asserts. */
export function path_(state: ProcessInstanceState): string[] {
  return state.completedNodes.map((node) => node.nodeId);
}
