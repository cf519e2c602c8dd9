import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { sql } from 'slonik';
import { z } from 'zod';
import { createActivities } from '../../../activities';
import { loadConfig } from '../../../runtime/config';
import { timeSkippingServerExecutable } from '../../../runtime/services/time-skipping';
import { bpmnProcessWorkflowType, completeTaskUpdateName, processInstanceId, type BpmnProcessInput, type CompleteTaskInput } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { seedOrgTree, testOrg } from '../../support/auth';
import { eventually } from '../../support/complaint';
import { createAccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testLogger, workflowBundle } from '../../support/services';
import { createSupervisionStaff, deploySupervision, nodesOf, openTasksOf } from '../../support/supervision';
import { replayHistoryDir } from '../engine/harness';

const days = (n: number) => n * 86_400_000;

/**
 * processes/supervision-visits.bpmn on Temporal's time-skipping test server (its own, so the other
 * supervision timers never share its clock), with the real activities and PostgreSQL. The model
 * starts from a Temporal schedule (its timer start event), which the test server does not run: the
 * test starts each round as the schedule would, a month apart.
 */
describe('supervision: visit tickets by account class on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;
  let worker: Worker;
  let running: Promise<void>;
  let models: Awaited<ReturnType<typeof deploySupervision>>;
  let staff: Awaited<ReturnType<typeof createSupervisionStaff>>;
  const taskQueue = `supervision-visits-${randomUUID()}`;

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // installed already in this process
    }
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: timeSkippingServerExecutable() } } });
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    staff = await createSupervisionStaff(database.pool, String(Date.now() % 10_000));
    models = await deploySupervision(database.pool);
    const config = loadConfig({ ...process.env, DATABASE_URL: database.url });
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: createActivities({ pool: database.pool, config, logger: testLogger, now: () => new Date() }),
    });
    running = worker.run();
  }, 120_000);

  afterAll(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await env?.teardown();
    await database?.drop();
  });

  const start = (model: ProcessModel, businessKey: string, variables: Record<string, unknown> = {}) =>
    env.client.workflow.start(bpmnProcessWorkflowType, {
      taskQueue,
      workflowId: processInstanceId(model.key, businessKey),
      args: [{ definition: model, businessKey, variables, startedBy: 'test', indexSearchAttributes: false } satisfies BpmnProcessInput],
    });
  const waitingAt = async (nodeId: string, taskNode: string) =>
    (await eventually(() => openTasksOf(database.pool, nodeId), (tasks) => tasks.some((task) => task.node_id === taskNode), `${nodeId} waits at ${taskNode}`)).find((task) => task.node_id === taskNode)!;
  const complete = async (nodeId: string, taskNode: string, variables: Record<string, unknown>, completedBy: string) => {
    const task = await waitingAt(nodeId, taskNode);
    await env.client.workflow.getHandle(`supervision-node:${nodeId}`).executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.id, variables, completedBy } satisfies CompleteTaskInput] });
  };
  const record = async (name: string, handle: WorkflowHandle) => {
    if (process.env.RECORD_REPLAY_HISTORIES !== '1') return;
    const history = await handle.fetchHistory();
    fs.writeFileSync(path.join(replayHistoryDir, `${name}.json`), `${JSON.stringify({ workflowId: handle.workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1)}\n`);
  };
  /** Awaiting a result would let the test server skip time to the next timer anywhere: these poll instead. */
  const finished = (handle: WorkflowHandle) => eventually(() => handle.describe(), (description) => description.status.name === 'COMPLETED', `${handle.workflowId} completes`);
  const ticketStatus = (id: string) => database.pool.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM supervision_tickets WHERE id = ${id}`);

  it("opens an A-class account's visit ticket every month, and a B-class one's only when its quarter is up; recording the visit closes it", async () => {
    // given a gold (A: monthly) account never visited and a silver (B: quarterly) one visited this month
    const gold = await createAccountFixture(database.pool, testOrg.nanshan, { tier: 'gold', customerManagerId: staff.nanshanManager.id });
    const silver = await createAccountFixture(database.pool, testOrg.nanshan, { tier: 'silver', customerManagerId: staff.nanshanManager.id });
    const today = DateTime.fromMillis(await env.currentTimeMs(), { zone: 'Asia/Shanghai' }).toFormat('yyyy-MM-dd');
    await database.pool.query(sql.type(z.object({}))`
      INSERT INTO supervision_visits (account_id, org_unit_id, manager, visited_on, notes) VALUES (${silver.accountId}, ${testOrg.nanshan}, ${staff.nanshanManager.username}, ${today}, '季度走访')`);
    const visits = () =>
      database.pool.any(sql.type(z.object({ id: z.string(), accountId: z.string(), status: z.string(), class: z.string() }))`
        SELECT id, account_id AS "accountId", status, cause->>'class' AS class FROM supervision_tickets WHERE kind = 'visit' ORDER BY id`);

    // when the monthly schedule fires
    const round1 = await start(models['supervision-visits'], 'scheduled-round-1');
    const [visit] = await eventually(visits, (rows) => rows.length > 0, 'a visit ticket');

    // then the A-class account has a visit ticket for its manager; the B-class one none
    expect(await visits()).toEqual([{ id: visit!.id, accountId: gold.accountId, status: expect.any(String), class: 'A' }]);
    const [node] = await eventually(() => nodesOf(database.pool, visit!.id), (nodes) => nodes[0]?.state === 'in_progress', 'the visit reaches the manager');
    expect(node).toMatchObject({ assignee: staff.nanshanManager.username, reviewer: null });

    // when the manager records the visit, the ticket closes and the round ends
    await complete(node!.id, 'work', { result: '走访完成，会见张伟', outcome: 'done' }, staff.nanshanManager.username);
    await finished(round1);
    expect(await ticketStatus(visit!.id)).toBe('closed');
    await record('supervision-visits', round1);

    // when thirty days pass and the schedule fires again: the A-class account is due again, the B-class still not
    await database.pool.query(sql.type(z.object({}))`
      INSERT INTO supervision_visits (ticket_id, account_id, org_unit_id, manager, visited_on, notes) VALUES (${visit!.id}, ${gold.accountId}, ${testOrg.nanshan}, ${staff.nanshanManager.username}, ${today}, '月度走访')`);
    await env.sleep(days(31));
    const round2 = await start(models['supervision-visits'], 'scheduled-round-2');
    const again = await eventually(visits, (rows) => rows.length === 2, "the next month's visit");
    expect(again.map((row) => row.accountId)).toEqual([gold.accountId, gold.accountId]);
    await round2.terminate('test over').catch(() => undefined);
  }, 120_000);
});
