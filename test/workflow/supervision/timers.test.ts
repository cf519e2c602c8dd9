import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { sql } from 'slonik';
import { z } from 'zod';
import { timerStartEvent } from '../../../api/engine/schedules';
import { insertNodes, insertTicket } from '../../../db/supervision';
import { processInstanceId } from '../../../workflows/contracts';
import { timerSchedule } from '../../../workflows/timers';
import { testOrg } from '../../support/auth';
import { eventually } from '../../support/complaint';
import { simControl, simControlHeaders } from '../../support/external';
import { nodesOf, supervisionNoticesOf } from '../../support/supervision';
import { createSupervisionWorkflows, type SupervisionWorkflows } from '../../support/supervision-workflows';

const hours = (n: number) => n * 3_600_000;
const days = (n: number) => n * 86_400_000;

/**
 * The timers of the supervision models on Temporal's time-skipping test server, with the real
 * activities, PostgreSQL and the simulator: a ticket's reminder before its deadline and the
 * escalation of its overdue branch, and the weekly work plan (visits: visits.test.ts).
 * The recurring models start from Temporal schedules (timer start events), which the test server
 * does not run: the test starts each round as its schedule would, at the schedule's times.
 */
describe('supervision: deadlines and the weekly plan on the time-skipping test server', () => {
  let harness: SupervisionWorkflows;
  let env: SupervisionWorkflows['env'];
  let database: SupervisionWorkflows['database'];
  let models: SupervisionWorkflows['models'];
  let staff: SupervisionWorkflows['staff'];

  beforeAll(async () => {
    harness = await createSupervisionWorkflows('supervision');
    ({ env, database, models, staff } = harness);
  }, 120_000);
  afterAll(() => harness?.stop());

  const start: SupervisionWorkflows['start'] = (...args) => harness.start(...args);
  const complete: SupervisionWorkflows['complete'] = (...args) => harness.complete(...args);
  const record: SupervisionWorkflows['record'] = (...args) => harness.record(...args);
  const finished: SupervisionWorkflows['finished'] = (...args) => harness.finished(...args);
  const ticketStatus: SupervisionWorkflows['ticketStatus'] = (...args) => harness.ticketStatus(...args);
  const sim = simControl(`http://${process.env.KEYFLOW_SIM_HOST ?? '127.0.0.1'}:${process.env.KEYFLOW_SIM_PORT}`, simControlHeaders());
  const smsTo = async (mobile: string, workflowId: string) =>
    (await sim.ledger({ system: 'notify', idempotencyKeyPrefix: `${workflowId}/` })).entries.filter((entry) => (entry.request as { to?: string }).to === mobile);

  it('reminds the open branches before the deadline and escalates the overdue one to the issuer and its supervisor', async () => {
    // given a ticket from Guangzhou to two Tianhe managers, due in two days, reminded a day before
    const now = await env.currentTimeMs();
    const dueAt = new Date(now + days(2)).toISOString();
    const ticketId = await database.pool.transaction(async (tx) => {
      const id = (await insertTicket(
        tx,
        {
          kind: 'supervision', title: '走访重点客户', priority: 2, dueAt, remindAt: new Date(now + days(1)).toISOString(), accountIds: [], attachments: [],
          orgUnitId: testOrg.tianhe, issuedByUnitId: testOrg.guangzhou, issuedByUsername: staff.guangzhou.username,
        },
        (ticket) => processInstanceId('supervision', ticket),
      ))!;
      await insertNodes(tx, {
        ticketId: id, parentId: null, reviewer: staff.guangzhou.username, dueAt, step: `issue:${id}`,
        targets: [{ kind: 'manager', orgUnitId: testOrg.tianhe, assignee: staff.tianheManager.username }, { kind: 'manager', orgUnitId: testOrg.tianheArea, assignee: staff.areaManager.username }],
      });
      return id;
    });
    const handle = await start(models.supervision, ticketId, { ticketId });
    const [first, second] = await eventually(() => nodesOf(database.pool, ticketId), (nodes) => nodes.length === 2 && nodes.every((node) => node.state === 'in_progress'), 'both branches open');

    // when the Tianhe manager reports, is sent back once, reports again and is accepted
    await complete(first!.id, 'work', { result: '已走访', outcome: 'partial' }, staff.tianheManager.username);
    await complete(first!.id, 'review', { accepted: false, reason: '请补充纪要' }, staff.guangzhou.username);
    await complete(first!.id, 'work', { result: '已走访，纪要已传', outcome: 'done' }, staff.tianheManager.username);
    await complete(first!.id, 'review', { accepted: true, reason: null }, staff.guangzhou.username);
    await eventually(() => nodesOf(database.pool, ticketId), (nodes) => nodes[0]!.state === 'accepted', 'the first branch accepted');

    // then nothing is reminded before the reminder time
    await env.sleep(hours(20));
    expect(await supervisionNoticesOf(database.pool, ticketId)).toEqual([]);

    // when the reminder time passes: only the open branch's manager hears of it, by notice and SMS
    await env.sleep(hours(5));
    await eventually(() => supervisionNoticesOf(database.pool, ticketId), (notices) => notices.length > 0, 'the reminder notice');
    expect(await supervisionNoticesOf(database.pool, ticketId)).toEqual([{ username: staff.areaManager.username, kind: 'supervision.reminder' }]);
    await eventually(() => smsTo(staff.areaManager.mobile, handle.workflowId), (sms) => sms.length === 1, 'the reminder SMS');
    expect(await smsTo(staff.tianheManager.mobile, handle.workflowId)).toEqual([]);

    // when the deadline passes with the area manager's branch open: it is escalated to the issuer and Tianhe's supervisor
    await env.sleep(days(1));
    await eventually(() => supervisionNoticesOf(database.pool, ticketId), (notices) => notices.some((notice) => notice.kind === 'supervision.escalation'), 'the escalation');
    const escalations = (await supervisionNoticesOf(database.pool, ticketId)).filter((notice) => notice.kind === 'supervision.escalation').map((notice) => notice.username);
    expect(escalations.sort()).toEqual([staff.guangzhou.username, staff.tianhe.username].sort());
    expect(await smsTo(staff.tianhe.mobile, handle.workflowId)).toHaveLength(1);
    const overdue = await database.pool.any(sql.type(z.object({ id: z.string(), overdue: z.boolean() }))`
      SELECT id, overdue_at IS NOT NULL AS overdue FROM supervision_nodes WHERE ticket_id = ${ticketId} ORDER BY id`);
    expect(overdue).toEqual([{ id: first!.id, overdue: false }, { id: second!.id, overdue: true }]);

    // when the issuer extends the deadline by two days (as the API does) and the branch comes in
    const extended = new Date(now + days(5)).toISOString();
    await database.pool.query(sql.type(z.object({}))`UPDATE supervision_tickets SET due_at = ${extended}, remind_at = ${new Date(now + days(4)).toISOString()} WHERE id = ${ticketId}`);
    await handle.signal('message', { name: 'supervision.extend', messageId: randomUUID(), variables: {} });
    await env.sleep(days(2));
    await eventually(() => supervisionNoticesOf(database.pool, ticketId), (notices) => notices.filter((notice) => notice.kind === 'supervision.reminder').length === 2, 'the second reminder');
    await complete(second!.id, 'work', { result: '已走访', outcome: 'done' }, staff.areaManager.username);
    await complete(second!.id, 'review', { accepted: true, reason: null }, staff.guangzhou.username);

    // then the ticket closes
    await finished(handle);
    expect(await ticketStatus(ticketId)).toBe('closed');
    await record('supervision-deadline', handle);
    await record('supervision-node-sent-back', env.client.workflow.getHandle(`supervision-node:${first!.id}`));
  }, 120_000);

  it('opens a work-plan ticket for every customer manager each week, once per week, from the Monday schedule', async () => {
    // given the model's timer start: every 7 days from a Monday, 09:00 in Guangzhou
    const startEvent = timerStartEvent(models['supervision-weekly-plan'])!;
    expect(startEvent.event.kind).toBe('timer');
    const schedule = timerSchedule((startEvent.event as { timer: Parameters<typeof timerSchedule>[0] }).timer, {}, Date.parse('2026-12-01T00:00:00Z'));
    expect(schedule.intervalMs).toBe(days(7));
    expect(DateTime.fromMillis(Date.parse('2026-12-01T00:00:00Z') + schedule.firstDelayMs, { zone: 'Asia/Shanghai' }).toFormat('ccc HH:mm')).toBe('Mon 09:00');
    const managers = [staff.tianheManager, staff.areaManager, staff.nanshanManager, staff.outsider].map((person) => person.username).sort();

    // when the schedule fires (and a duplicate fire in the same week)
    const week1 = await start(models['supervision-weekly-plan'], 'scheduled-week-1');
    const plans = async () =>
      database.pool.any(sql.type(z.object({ id: z.string(), manager: z.string(), week: z.string(), status: z.string() }))`
        SELECT t.id, n.assignee AS manager, t.cause->>'period' AS week, t.status FROM supervision_tickets t JOIN supervision_nodes n ON n.ticket_id = t.id
        WHERE t.kind = 'work_plan' ORDER BY t.cause->>'period', n.assignee`);
    const first = await eventually(plans, (rows) => rows.length === managers.length, 'a plan per manager');
    const duplicate = await start(models['supervision-weekly-plan'], 'scheduled-week-1-again');
    await finished(duplicate);

    // then each manager has one plan ticket and its task; the duplicate opened none
    expect(first.map((row) => row.manager)).toEqual(managers);
    expect(new Set(first.map((row) => row.week)).size).toBe(1);
    expect(await plans()).toHaveLength(managers.length);
    const tianhePlan = first.find((row) => row.manager === staff.tianheManager.username)!;
    const [tianheNode] = await nodesOf(database.pool, tianhePlan.id);
    await complete(tianheNode!.id, 'work', { result: '本周：走访三户，跟进两个商机', outcome: 'done' }, staff.tianheManager.username);
    await eventually(() => ticketStatus(tianhePlan.id), (status) => status === 'closed', 'the reported plan closes (no review)');

    // when the week goes by: the open plans are reminded a day before they are due (Friday 17:00)
    await env.sleep(days(4));
    await eventually(() => supervisionNoticesOf(database.pool, first.find((row) => row.manager === staff.nanshanManager.username)!.id), (notices) => notices.length === 1, 'the plan reminder');
    expect(await supervisionNoticesOf(database.pool, tianhePlan.id)).toEqual([]);

    // and the next Monday's run opens the next week's plans
    await env.sleep(days(3));
    const week2 = await start(models['supervision-weekly-plan'], 'scheduled-week-2');
    const both = await eventually(plans, (rows) => rows.length === 2 * managers.length, "the next week's plans");
    expect(new Set(both.map((row) => row.week)).size).toBe(2);
    await record('supervision-weekly-plan', week2);
    for (const handle of [week1, week2]) await handle.terminate('test over').catch(() => undefined);
  }, 120_000);

});
