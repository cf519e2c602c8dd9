import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { createActivities } from '../../../activities';
import { listTasks } from '../../../db/tasks';
import { loadConfig } from '../../../runtime/config';
import { timeSkippingServerExecutable } from '../../../runtime/services/time-skipping';
import { bpmnProcessWorkflowType, completeTaskUpdateName, messageSignalName, type BpmnProcessInput, type CompleteTaskInput, type MessageInput } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { seedOrgTree, testOrg } from '../../support/auth';
import {
  complaintInstanceId,
  createComplaintStaff,
  deployComplaint,
  eventually,
  insertTicket,
  noticesOf,
  tasksOf,
  ticketEventsOf,
  ticketRowOf,
} from '../../support/complaint';
import { createAccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { simControl, simControlHeaders } from '../../support/external';
import { testLogger, workflowBundle } from '../../support/services';
import { replayHistoryDir } from '../engine/harness';

const hours = (n: number) => n * 3_600_000;
const minutes = (n: number) => n * 60_000;

/**
 * The SLA timers of processes/complaint.bpmn on Temporal's time-skipping test server: hours of
 * SLA pass in moments (`env.sleep`), with the real activities, PostgreSQL and the simulator.
 * A gold account's critical network fault: 2 hours (complaint-sla), the NOC's dispatchers.
 */
describe('complaint process: SLA timers on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;
  let worker: Worker;
  let running: Promise<void>;
  let model: ProcessModel;
  let staff: Awaited<ReturnType<typeof createComplaintStaff>>;
  let accountId: string;
  const taskQueue = `complaint-${randomUUID()}`;
  const sim = simControl(`http://${process.env.KEYFLOW_SIM_HOST ?? '127.0.0.1'}:${process.env.KEYFLOW_SIM_PORT}`, simControlHeaders());

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // installed already in this process
    }
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: timeSkippingServerExecutable() } } });
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    staff = await createComplaintStaff(database.pool, String(Date.now() % 10_000));
    accountId = (await createAccountFixture(database.pool, testOrg.tianhe, { tier: 'gold' })).accountId;
    model = await deployComplaint(database.pool);
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

  async function open(category = 'network'): Promise<{ ticketId: string; handle: WorkflowHandle }> {
    const ticket = await insertTicket(database.pool, { accountId, orgUnitId: testOrg.tianhe, category, externalId: randomUUID() });
    const handle = await env.client.workflow.start(bpmnProcessWorkflowType, {
      taskQueue,
      workflowId: complaintInstanceId(ticket.id),
      args: [
        {
          definition: model,
          businessKey: ticket.id,
          variables: { ticketId: ticket.id, accountId, ticketType: 'fault', category, channel: 'phone', severity: 'critical', priority: 2 },
          customerId: accountId,
          orgUnitId: testOrg.tianhe,
          startedBy: 'test',
          indexSearchAttributes: false,
        } satisfies BpmnProcessInput,
      ],
    });
    return { ticketId: ticket.id, handle };
  }

  const openTask = (handle: WorkflowHandle, nodeId: string) =>
    eventually(() => tasksOf(database.pool, handle.workflowId), (tasks) => tasks.some((task) => task.node_id === nodeId && task.status === 'open'), `${nodeId} opens`).then(
      (tasks) => tasks.find((task) => task.node_id === nodeId && task.status === 'open')!,
    );
  const complete = (handle: WorkflowHandle, taskId: string, variables: Record<string, unknown>, completedBy: string) =>
    handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId, variables, completedBy } satisfies CompleteTaskInput] });
  const send = (handle: WorkflowHandle, message: MessageInput) => handle.signal(messageSignalName, { messageId: randomUUID(), ...message });
  const groupInbox = (who: { username: string; roles: readonly string[]; orgUnitId: string }) =>
    database.pool
      .oneFirst(sql.type(z.object({ path: z.string() }))`SELECT path FROM org_units WHERE id = ${who.orgUnitId}`)
      .then(async (orgPath) => (await listTasks(database.pool, { username: who.username, roles: who.roles, orgPath }, { view: 'group', limit: 100 }))!.items);
  const mine = async (who: { username: string; roles: readonly string[] }) => (await listTasks(database.pool, { username: who.username, roles: who.roles, orgPath: '/' }, { view: 'mine', limit: 100 }))!.items;
  const smsTo = async (mobile: string, workflowId: string) =>
    (await sim.ledger({ system: 'notify', idempotencyKeyPrefix: `${workflowId}/` })).entries.filter((entry) => (entry.request as { to?: string }).to === mobile);

  it('reminds the handlers at 75 % of the SLA, escalates to the supervisor at breach and to the unit above after a further two hours', async () => {
    const { ticketId, handle } = await open();
    const handleTask = await openTask(handle, 'handle');
    expect(handleTask).toMatchObject({ candidate_groups: ['dispatcher'], org_unit_id: testOrg.tianhe });
    const started = await ticketRowOf(database.pool, ticketId);
    expect(started.status).toBe('inProgress');
    expect(Date.parse(started.sla_due_at) - Date.parse(started.sla_reminder_at!)).toBe(minutes(30));

    // when an hour passes, nothing yet
    await env.sleep(hours(1));
    expect(await noticesOf(database.pool, ticketId)).toEqual([]);

    // when 75 % of the two hours has passed: the dispatchers who may see the ticket get an SMS and a notice
    await env.sleep(minutes(35));
    await eventually(() => noticesOf(database.pool, ticketId), (notices) => notices.length > 0, 'the reminder notice');
    expect(await noticesOf(database.pool, ticketId)).toEqual([staff.gzDispatcher.username]);
    await eventually(() => smsTo(staff.gzDispatcher.mobile, handle.workflowId), (sms) => sms.length === 1, 'the reminder SMS');
    expect((await smsTo(staff.gzDispatcher.mobile, handle.workflowId))[0]!.request).toMatchObject({ text: expect.stringContaining(ticketId) });
    expect(await smsTo(staff.szDispatcher.mobile, handle.workflowId)).toEqual([]);

    // when the SLA is breached: an escalation task for the supervisors of Guangzhou, not Shenzhen's
    await env.sleep(minutes(30));
    const first = await openTask(handle, 'escalation-1');
    expect(first).toMatchObject({ candidate_groups: ['supervisor'], assignee: null });
    expect((await groupInbox(staff.gzSupervisor)).map((task) => task.id)).toContain(first.id);
    expect((await groupInbox(staff.szSupervisor)).map((task) => task.id)).not.toContain(first.id);
    expect(await ticketRowOf(database.pool, ticketId)).toMatchObject({ escalation_level: 1, sla_breached_at: expect.any(String) });
    // the handler's task stays open beside it
    expect((await tasksOf(database.pool, handle.workflowId)).find((task) => task.id === handleTask.id)?.status).toBe('open');

    // when two more hours pass without a decision: the unit above (the province) gets it, by name
    await env.sleep(hours(2) + minutes(1));
    const second = await openTask(handle, 'escalation-2');
    expect(second.assignee).toBe(staff.provinceSupervisor.username);
    expect((await mine(staff.provinceSupervisor)).map((task) => task.id)).toContain(second.id);
    expect((await tasksOf(database.pool, handle.workflowId)).find((task) => task.id === first.id)?.status).toBe('cancelled');
    expect((await ticketRowOf(database.pool, ticketId)).escalation_level).toBe(2);

    // when the province supervisor extends the SLA by 4 hours: the handling task is offered again, due 4 hours later
    const dueBefore = Date.parse((await ticketRowOf(database.pool, ticketId)).sla_due_at);
    await complete(handle, second.id, { action: 'extend', extendHours: 4, reason: '等待光缆抢修' }, staff.provinceSupervisor.username);
    const reopened = await eventually(
      () => tasksOf(database.pool, handle.workflowId),
      (tasks) => tasks.filter((task) => task.node_id === 'handle' && task.status === 'open' && task.id !== handleTask.id).length === 1,
      'the handling task is offered again',
    );
    const again = reopened.find((task) => task.node_id === 'handle' && task.status === 'open')!;
    expect(Date.parse(again.due_at!)).toBe(dueBefore + hours(4));
    expect(await ticketRowOf(database.pool, ticketId)).toMatchObject({ escalation_level: 0 });
    expect(await ticketEventsOf(database.pool, ticketId)).toEqual([
      'acknowledge:acknowledged',
      'dispatch:inProgress',
      'escalate:inProgress',
      'escalate:inProgress',
      'escalationDecision:inProgress',
    ]);
    await handle.terminate('test over');
  });

  it('stops the SLA clock while the ticket is suspended and runs it on from where it stood', async () => {
    const { ticketId, handle } = await open('service');
    await openTask(handle, 'handle');
    const dueAt = Date.parse((await ticketRowOf(database.pool, ticketId)).sla_due_at);

    // when an hour of the two passes, then the ticket waits five hours for the customer
    await env.sleep(hours(1));
    await send(handle, { name: 'ticket.suspend', variables: { requestedBy: staff.gzDispatcher.username, reason: '等待客户提供现场照片' } });
    await eventually(() => ticketRowOf(database.pool, ticketId), (row) => row.status === 'pending', 'the ticket is pending');
    await env.sleep(hours(5));

    // then no reminder and no escalation came while it waited
    expect(await noticesOf(database.pool, ticketId)).toEqual([]);
    expect((await tasksOf(database.pool, handle.workflowId)).filter((task) => task.status === 'open')).toEqual([]);

    // when the customer answers: the clock runs on, due five hours (and the seconds it took) later
    await send(handle, { name: 'ticket.resume', variables: { requestedBy: staff.gzDispatcher.username } });
    const resumed = await eventually(() => ticketRowOf(database.pool, ticketId), (row) => row.status === 'inProgress' && row.sla_paused_seconds > 0, 'the ticket runs again');
    expect(resumed.sla_paused_seconds).toBeGreaterThanOrEqual(5 * 3600);
    expect(resumed.sla_paused_seconds).toBeLessThan(5 * 3600 + 300);
    expect(Math.abs(Date.parse(resumed.sla_due_at) - (dueAt + resumed.sla_paused_seconds * 1000))).toBeLessThan(1000);
    await openTask(handle, 'handle');

    // then the reminder comes after the half hour of active time still due before 75 %, not before
    await env.sleep(minutes(20));
    expect(await noticesOf(database.pool, ticketId)).toEqual([]);
    await env.sleep(minutes(15));
    await eventually(() => noticesOf(database.pool, ticketId), (notices) => notices.length === 1, 'the reminder after resuming');
    expect(await ticketEventsOf(database.pool, ticketId)).toEqual(['acknowledge:acknowledged', 'dispatch:inProgress', 'suspend:pending', 'resume:inProgress']);
    await handle.terminate('test over');
  });

  it('re-opens the ticket to the same department after an unsatisfied callback, and closes it when the customer is satisfied', async () => {
    // an installation fault: field engineering, worked by the dispatchers
    const { ticketId, handle } = await open('installation');
    const first = await openTask(handle, 'handle');
    await complete(handle, first.id, { resolution: '更换光模块', rootCause: 'network_fault', compensationKind: 'none' }, staff.gzDispatcher.username);

    // when the callback finds the customer unsatisfied
    const survey = await openTask(handle, 'survey');
    expect(survey.candidate_groups).toEqual(['customer_manager']);
    expect((await ticketRowOf(database.pool, ticketId)).status).toBe('resolved');
    await complete(handle, survey.id, { satisfied: false, score: 2, comment: '仍有丢包' }, staff.tianheManager.username);

    // then the same department's group gets it again, with a fresh SLA
    const second = await eventually(
      () => tasksOf(database.pool, handle.workflowId),
      (tasks) => tasks.some((task) => task.node_id === 'handle' && task.status === 'open'),
      'the ticket is handled again',
    ).then((tasks) => tasks.find((task) => task.node_id === 'handle' && task.status === 'open')!);
    expect(second.candidate_groups).toEqual(['dispatcher']);
    expect(await ticketRowOf(database.pool, ticketId)).toMatchObject({ status: 'inProgress', reopen_count: 1 });

    // when it is handled again and the customer is satisfied: closed, and the instance ends
    await complete(handle, second.id, { resolution: '更换上联端口', rootCause: 'network_fault' }, staff.gzDispatcher.username);
    const survey2 = await eventually(
      () => tasksOf(database.pool, handle.workflowId),
      (tasks) => tasks.some((task) => task.node_id === 'survey' && task.status === 'open'),
      'the second survey',
    ).then((tasks) => tasks.find((task) => task.node_id === 'survey' && task.status === 'open')!);
    await complete(handle, survey2.id, { satisfied: true, score: 5 }, staff.tianheManager.username);
    await handle.result();
    expect(await ticketRowOf(database.pool, ticketId)).toMatchObject({ status: 'closed', reopen_count: 1, root_cause: 'network_fault' });
    expect(await ticketEventsOf(database.pool, ticketId)).toEqual([
      'acknowledge:acknowledged',
      'dispatch:inProgress',
      'resolve:resolved',
      'reopen:inProgress',
      'resolve:resolved',
      'close:closed',
    ]);
    if (process.env.RECORD_REPLAY_HISTORIES === '1') {
      const history = await handle.fetchHistory();
      fs.writeFileSync(
        path.join(replayHistoryDir, 'complaint-reopen.json'),
        `${JSON.stringify({ workflowId: handle.workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1)}\n`,
      );
    }
  });
});
