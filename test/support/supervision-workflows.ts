/**
 * The supervision models on a time-skipping test server of their own, with the real activities
 * and PostgreSQL: what the deadline and the visit workflow tests share.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { createActivities } from '../../activities';
import { loadConfig } from '../../runtime/config';
import { timeSkippingServerExecutable } from '../../runtime/services/time-skipping';
import { bpmnProcessWorkflowType, completeTaskUpdateName, processInstanceId, type BpmnProcessInput, type CompleteTaskInput } from '../../workflows/contracts';
import type { ProcessModel } from '../../workflows/model';
import { seedOrgTree } from './auth';
import { eventually } from './complaint';
import { createTestDatabase, type TestDatabase } from './database';
import { testLogger, workflowBundle } from './services';
import { createSupervisionStaff, deploySupervision, openTasksOf } from './supervision';
import { recordReplayHistory } from './replay-histories';

export interface SupervisionWorkflows {
  env: TestWorkflowEnvironment;
  database: TestDatabase;
  models: Awaited<ReturnType<typeof deploySupervision>>;
  staff: Awaited<ReturnType<typeof createSupervisionStaff>>;
  start(model: ProcessModel, businessKey: string, variables?: Record<string, unknown>): Promise<WorkflowHandle>;
  waitingAt(nodeId: string, taskNode: string): Promise<Awaited<ReturnType<typeof openTasksOf>>[number]>;
  complete(nodeId: string, taskNode: string, variables: Record<string, unknown>, completedBy: string): Promise<void>;
  /** Saves the history under test/replay/histories when RECORD_REPLAY_HISTORIES=1. */
  record(name: string, handle: WorkflowHandle): Promise<void>;
  /** Awaiting a result would let the test server skip time to the next timer anywhere: this polls instead. */
  finished(handle: WorkflowHandle): Promise<unknown>;
  ticketStatus(id: string): Promise<string>;
  stop(): Promise<void>;
}

export async function createSupervisionWorkflows(taskQueuePrefix: string): Promise<SupervisionWorkflows> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // installed already in this process
  }
  const taskQueue = `${taskQueuePrefix}-${randomUUID()}`;
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: timeSkippingServerExecutable() } } });
  const database = await createTestDatabase();
  await seedOrgTree(database.pool);
  const staff = await createSupervisionStaff(database.pool, String(Date.now() % 10_000));
  const models = await deploySupervision(database.pool);
  const config = loadConfig({ ...process.env, DATABASE_URL: database.url });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: database.pool, config, logger: testLogger, now: () => new Date() }),
  });
  const running = worker.run();
  const waitingAt: SupervisionWorkflows['waitingAt'] = async (nodeId, taskNode) =>
    (await eventually(() => openTasksOf(database.pool, nodeId), (tasks) => tasks.some((task) => task.node_id === taskNode), `${nodeId} waits at ${taskNode}`)).find((task) => task.node_id === taskNode)!;
  return {
    env,
    database,
    models,
    staff,
    start: (model, businessKey, variables = {}) =>
      env.client.workflow.start(bpmnProcessWorkflowType, {
        taskQueue,
        workflowId: processInstanceId(model.key, businessKey),
        args: [{ definition: model, businessKey, variables, startedBy: 'test', indexSearchAttributes: false } satisfies BpmnProcessInput],
      }),
    waitingAt,
    async complete(nodeId, taskNode, variables, completedBy) {
      const task = await waitingAt(nodeId, taskNode);
      await env.client.workflow.getHandle(`supervision-node:${nodeId}`).executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.id, variables, completedBy } satisfies CompleteTaskInput] });
    },
    record: recordReplayHistory,
    finished: (handle) => eventually(() => handle.describe(), (description) => description.status.name === 'COMPLETED', `${handle.workflowId} completes`),
    ticketStatus: (id) => database.pool.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM supervision_tickets WHERE id = ${id}`),
    async stop() {
      worker.shutdown();
      await running.catch(() => undefined);
      await env.teardown();
      await database.drop();
    },
  };
}
