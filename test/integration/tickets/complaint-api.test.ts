import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { callbackSecretFor } from '../../../activities/external/endpoints';
import { signCallback } from '../../../activities/external/signature';
import { completeTaskUpdateName } from '../../../workflows/contracts';
import { login, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createComplaintStaff, deployComplaint, eventually, tasksOf, ticketRowOf } from '../../support/complaint';
import { createAccountFixture, type AccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';

/**
 * The complaint process end to end through the API, as the people who work it: intake (TMF621),
 * duplicates, transfer, suspend and resume, completion refused outside the group or the scope,
 * compensation approval and its credit, the callback survey and a re-open, network alarms, and
 * bad input at every door. SLA timers are the workflow tests' (time-skipping); here SLAs are hours away.
 */
describe('trouble tickets through the API', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let gold: AccountFixture;
  let other: AccountFixture;
  let staff: Awaited<ReturnType<typeof createComplaintStaff>>;
  const sessions: Record<string, Session> = {};
  let gzBilling: Session;
  let szBilling: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startExternalStack(database);
    await deployComplaint(database.pool);
    staff = await createComplaintStaff(database.pool, String(Date.now() % 10_000));
    for (const [name, person] of Object.entries(staff)) sessions[name] = await login(stack.api.url, person.username, person.password);
    const { createTestStaff } = await import('../../support/auth');
    const clerk = await createTestStaff(database.pool, { roles: ['billing_clerk'], orgUnitId: testOrg.guangzhou });
    gzBilling = await login(stack.api.url, clerk.username, clerk.password);
    const szClerk = await createTestStaff(database.pool, { roles: ['billing_clerk'], orgUnitId: testOrg.shenzhen });
    szBilling = await login(stack.api.url, szClerk.username, szClerk.password);
    gold = await createAccountFixture(database.pool, testOrg.tianhe, { tier: 'gold' });
    other = await createAccountFixture(database.pool, testOrg.tianhe, { tier: 'silver' });
  }, 120_000);

  afterAll(async () => {
    const running = await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM trouble_tickets WHERE workflow_id IS NOT NULL`);
    for (const id of running) await stack.workflows.getHandle(id).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const report = (account: AccountFixture, overrides: Record<string, unknown> = {}) => ({
    ticketType: 'fault',
    name: '专线中断',
    severity: 'major',
    priority: 2,
    category: 'network',
    channel: { name: 'phone' },
    relatedEntity: [
      { id: account.accountId, role: 'account', '@referredType': 'KeyAccount' },
      { id: account.subscriptionId, role: 'subscription', '@referredType': 'Subscription' },
    ],
    externalId: `CC-${randomUUID()}`,
    note: [{ text: '客户来电：总部专线不通' }],
    ...overrides,
  });
  const ticketCount = () => database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) AS count FROM trouble_tickets`);
  const openTask = (workflowId: string, nodeId: string) =>
    eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((task) => task.node_id === nodeId && task.status === 'open'), `${nodeId} opens`).then(
      (tasks) => tasks.filter((task) => task.node_id === nodeId && task.status === 'open').at(-1)!,
    );
  const complete = (session: Session, taskId: string, variables: Record<string, unknown>) => call(session, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/complete`, { variables });

  it('opens a ticket and its process, routes it to the NOC dispatchers of its city, and joins duplicates to it', async () => {
    const created = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(gold, { externalId: 'CC-0001' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ticketType: 'fault', severity: 'major', channel: { name: 'phone' }, joined: false, note: [{ text: '客户来电：总部专线不通' }] });
    const id = created.body.id as string;
    const handle = await openTask(created.body.workflowId, 'handle');
    expect(handle).toMatchObject({ candidate_groups: ['dispatcher'], org_unit_id: testOrg.tianhe });
    const group = await call(sessions.gzDispatcher!, 'GET', '/api/tasks/group');
    expect(group.body.items.map((task: any) => task.id)).toContain(handle.id);
    expect((await call(sessions.szDispatcher!, 'GET', '/api/tasks/group')).body.items.map((task: any) => task.id)).not.toContain(handle.id);

    // gold + major: 4 hours (complaint-sla)
    const shown = await call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`);
    expect(shown.body).toMatchObject({ status: 'inProgress', department: 'noc', sla: { hours: 4, pausedSeconds: 0, breached: false } });
    expect(shown.body.statusChangeHistory.map((row: any) => row.event)).toEqual(['acknowledge', 'dispatch']);
    expect((await call(sessions.gzDispatcher!, 'GET', `/api/tickets/${id}`)).body).toMatchObject({ status: 'inProgress', sla: { hours: 4 } });

    // the same report again (its externalId), and the same fault from the web: both join
    const again = await call(sessions.tianheManager!, 'POST', '/api/troubleTicket', report(gold, { externalId: 'CC-0001' }));
    expect(again).toMatchObject({ status: 200, body: { id, joined: true } });
    const fromWeb = await call(sessions.tianheManager!, 'POST', '/api/troubleTicket', report(gold, { externalId: 'WEB-77', channel: { name: 'web' } }));
    expect(fromWeb).toMatchObject({ status: 200, body: { id, joined: true } });
    expect((await call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`)).body.note.length).toBe(5);
    expect(await database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) AS count FROM trouble_tickets WHERE account_id = ${gold.accountId} AND workflow_id IS NOT NULL`)).toBe(1);
  });

  it('refuses bad input at the intake with a clear 4xx naming the field, and changes nothing', async () => {
    const before = await ticketCount();
    const cases: [unknown, number, string][] = [
      [{ ...report(gold), ticketType: undefined }, 400, 'body.ticketType'],
      [{ ...report(gold), severity: 'apocalyptic' }, 400, 'body.severity'],
      [{ ...report(gold), channel: 'phone' }, 400, 'body.channel'],
      [{ ...report(gold), relatedEntity: [] }, 400, 'body.relatedEntity'],
      [{ ...report(gold), surprise: true }, 400, 'body'],
      [{ ...report(gold), relatedEntity: [{ id: gold.subscriptionId, role: 'subscription' }] }, 400, 'body.relatedEntity'],
      [report(gold, { relatedEntity: [{ id: gold.accountId, role: 'account' }] }), 400, 'body.relatedEntity'],
      [report(gold, { relatedEntity: [{ id: gold.accountId, role: 'account' }, { id: other.subscriptionId, role: 'subscription' }] }), 422, 'body.relatedEntity'],
    ];
    for (const [body, status, field] of cases) {
      const answer = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', body);
      expect({ status: answer.status, field }).toEqual({ status, field });
      expect(JSON.stringify(answer.body.error.details ?? [])).toContain(field === 'body' ? 'body' : field);
    }
    // an unknown account, and one outside the caller's scope: 404 alike
    expect((await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(gold, { relatedEntity: [{ id: 'KA99999999', role: 'account' }], ticketType: 'complaint' }))).status).toBe(404);
    expect((await call(sessions.szDispatcher!, 'POST', '/api/troubleTicket', report(gold))).status).toBe(404);
    // a role that takes no reports
    expect((await call(gzBilling, 'POST', '/api/troubleTicket', report(gold))).status).toBe(403);
    // an action on a ticket outside the scope, and a malformed action
    const [ticket] = (await call(sessions.gzDispatcher!, 'GET', '/api/troubleTicket?open=true')).body.items;
    expect((await call(sessions.szDispatcher!, 'POST', `/api/troubleTicket/${ticket.id}/actions`, { action: 'resume' })).status).toBe(404);
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${ticket.id}/actions`, { action: 'explode' })).status).toBe(400);
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${ticket.id}/actions`, { action: 'resume' })).status).toBe(409);
    expect(await ticketCount()).toBe(before);
  });

  it('transfers, suspends and resumes a ticket; only its group in its scope may complete it; a credit above the threshold needs a supervisor and lands on the billing account; an unsatisfied callback re-opens it', async () => {
    const created = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(other, { ticketType: 'complaint', category: 'service', severity: 'minor' }));
    expect(created.status).toBe(201);
    const { id, workflowId } = created.body;
    await openTask(workflowId, 'handle');

    // transfer (转派) to the billing centre: the billing clerks of the city take it
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${id}/actions`, { action: 'transfer', department: 'billing_center', reason: '实为计费争议' })).status).toBe(202);
    const billingTask = await eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((task) => task.status === 'open' && task.candidate_groups.includes('billing_clerk')), 'the transferred task').then(
      (tasks) => tasks.find((task) => task.status === 'open')!,
    );
    expect((await call(gzBilling, 'GET', '/api/tasks/group')).body.items.map((task: any) => task.id)).toContain(billingTask.id);

    // suspend (挂起): the clock stands still and shows it; resume: it runs on
    expect((await call(gzBilling, 'POST', `/api/troubleTicket/${id}/actions`, { action: 'suspend', reason: '等待客户提供账单截图' })).status).toBe(403);
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${id}/actions`, { action: 'suspend', reason: '等待客户提供账单截图' })).status).toBe(202);
    const paused = await eventually(() => call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`), (answer) => answer.body.status === 'pending', 'pending');
    expect(paused.body.sla.pausedSince).toEqual(expect.any(String));
    expect((await tasksOf(database.pool, workflowId)).filter((task) => task.status === 'open')).toEqual([]);
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${id}/actions`, { action: 'note', text: '客户已发来截图', attachment: { name: 'bill.png', mimeType: 'image/png' } })).status).toBe(202);
    // a note is recorded by the process on its own branch: wait until it shows before resuming, as the dispatcher would
    await eventually(() => call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`), (answer) => answer.body.note.some((row: any) => row.text === '客户已发来截图'), 'the note');
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${id}/actions`, { action: 'resume' })).status).toBe(202);
    const resumed = await eventually(() => call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`), (answer) => answer.body.status === 'inProgress' && answer.body.sla.pausedSince === null, 'in progress');
    expect(resumed.body.note.map((row: any) => row.text)).toContain('客户已发来截图');
    expect(resumed.body.attachment).toEqual([{ name: 'bill.png', mimeType: 'image/png' }]);
    const task = await openTask(workflowId, 'handle');
    expect(task.candidate_groups).toEqual(['billing_clerk']);

    // a completion refused outside the group (a dispatcher) and outside the scope (Shenzhen's clerk)
    const resolution = { resolution: '多收月租已冲正', rootCause: 'billing_error', compensationKind: 'credit', compensationAmountMinor: 45_000 };
    expect((await complete(sessions.gzDispatcher!, task.id, resolution)).status).toBe(404);
    expect((await complete(szBilling, task.id, resolution)).status).toBe(404);
    expect((await complete(gzBilling, task.id, resolution)).status).toBe(200);

    // 450 yuan is above silver's 300: a supervisor of the city approves
    const approval = await openTask(workflowId, 'approve-compensation');
    expect((await complete(sessions.szSupervisor!, approval.id, { compensationApproved: true })).status).toBe(404);
    expect((await complete(sessions.gzSupervisor!, approval.id, { compensationApproved: true, compensationComment: '同意' })).status).toBe(200);
    const credit = await eventually(
      () => database.pool.maybeOne(sql.type(z.object({ billing_account_id: z.string(), amount_minor: z.coerce.number(), kind: z.string(), description: z.string() }))`
        SELECT billing_account_id, amount_minor, kind, description FROM billing_adjustments WHERE trouble_ticket_id = ${id}`),
      (row) => row !== null,
      'the credit',
    );
    expect(credit).toMatchObject({ billing_account_id: other.billingAccountId, amount_minor: 45_000, kind: 'credit', description: expect.stringContaining(id) });
    expect((await call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`)).body.compensation).toEqual([expect.objectContaining({ kind: 'credit', amountMinor: 45_000, status: 'posted' })]);

    // the callback survey (回访) by the account's customer manager: not satisfied, so back to the billing clerks
    const survey = await openTask(workflowId, 'survey');
    expect((await complete(sessions.tianheManager!, survey.id, { satisfied: false, score: 2, comment: '补偿金额不足' })).status).toBe(200);
    const again = await eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((row) => row.node_id === 'handle' && row.status === 'open'), 'the re-opened task').then(
      (tasks) => tasks.find((row) => row.node_id === 'handle' && row.status === 'open')!,
    );
    expect(again.candidate_groups).toEqual(['billing_clerk']);
    expect(await ticketRowOf(database.pool, id)).toMatchObject({ status: 'inProgress', reopen_count: 1 });
    expect((await complete(gzBilling, again.id, { resolution: '补发差额', rootCause: 'billing_error', compensationKind: 'none' })).status).toBe(200);
    const survey2 = await eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((row) => row.node_id === 'survey' && row.status === 'open'), 'the second survey').then(
      (tasks) => tasks.find((row) => row.node_id === 'survey' && row.status === 'open')!,
    );
    expect((await complete(sessions.tianheManager!, survey2.id, { satisfied: true, score: 4 })).status).toBe(200);
    const closed = await eventually(() => call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${id}`), (answer) => answer.body.status === 'closed', 'closed');
    expect(closed.body.statusChangeHistory.map((row: any) => `${row.event}:${row.status}`)).toEqual([
      'acknowledge:acknowledged',
      'dispatch:inProgress',
      'transfer:inProgress',
      'suspend:pending',
      'note:pending',
      'resume:inProgress',
      'resolve:resolved',
      'reopen:inProgress',
      'resolve:resolved',
      'close:closed',
    ]);
    const audited = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`SELECT action FROM audit_log WHERE entity_type = 'trouble_ticket' AND entity_id = ${id} ORDER BY id`);
    expect(audited).toEqual(expect.arrayContaining(['ticket.open', 'ticket.transfer', 'ticket.suspend', 'ticket.resume', 'ticket.compensation.approve', 'ticket.compensation.post', 'ticket.reopen', 'ticket.close']));
  });

  it('merges a duplicate into the open ticket', async () => {
    const first = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(gold, { ticketType: 'complaint', category: 'other', relatedEntity: [{ id: gold.accountId, role: 'account' }] }));
    const second = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(gold, { ticketType: 'complaint', category: 'installation', relatedEntity: [{ id: gold.accountId, role: 'account' }] }));
    expect([first.status, second.status]).toEqual([201, 201]);
    await openTask(second.body.workflowId, 'handle');
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${second.body.id}/actions`, { action: 'merge', into: other.troubleTicketId })).status).toBe(422);
    expect((await call(sessions.gzDispatcher!, 'POST', `/api/troubleTicket/${second.body.id}/actions`, { action: 'merge', into: first.body.id })).status).toBe(202);
    await stack.workflows.getHandle(second.body.workflowId).result();
    expect((await call(sessions.gzDispatcher!, 'GET', `/api/troubleTicket/${second.body.id}`)).body).toMatchObject({ status: 'cancelled', mergedInto: first.body.id });
    expect((await tasksOf(database.pool, second.body.workflowId)).map((task) => task.status)).toEqual(['cancelled']);
  });

  it('opens one fault ticket per account on a network element when the alarm is raised, and clears them when it clears; forged and replayed alarms change nothing', async () => {
    const element = `PE-${randomUUID().slice(0, 8)}`;
    const riders = [await createAccountFixture(database.pool, testOrg.tianhe, { tier: 'gold' }), await createAccountFixture(database.pool, testOrg.yuexiu, { tier: 'bronze' })];
    const bystander = await createAccountFixture(database.pool, testOrg.tianhe);
    for (const rider of riders) await database.pool.query(sql.type(z.object({}))`UPDATE subscriptions SET network_element_id = ${element} WHERE id = ${rider.subscriptionId}`);
    const alarmTickets = (alarmId: string) =>
      database.pool.any(sql.type(z.object({ id: z.string(), account_id: z.string(), status: z.string() }))`SELECT id, account_id, status FROM trouble_tickets WHERE alarm_id = ${alarmId} ORDER BY account_id`);

    // a forged alarm (wrong secret) and a replayed one (the same signed request twice)
    const before = await ticketCount();
    const forgedBody = JSON.stringify({ eventId: `evt-${randomUUID()}`, alarmId: 'ALM-FORGED', serviceId: element, networkElementId: element, state: 'raised', severity: 'critical', probableCause: 'LOS', occurredAt: new Date().toISOString() });
    const forged = await fetch(`${stack.api.url}/api/callbacks/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signCallback('not-the-secret-at-all-0000', forgedBody, new Date()) }, body: forgedBody });
    expect(forged.status).toBe(401);
    const lonely = forgedBody.replace('ALM-FORGED', 'ALM-LONELY').replaceAll(element, `${element}-none`);
    const signed = signCallback(callbackSecretFor(stack.config, 'alarms')!, lonely, new Date());
    const firstTry = await fetch(`${stack.api.url}/api/callbacks/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signed }, body: lonely });
    expect(firstTry.status).toBe(200);
    const replayed = await fetch(`${stack.api.url}/api/callbacks/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signed }, body: lonely });
    expect(replayed.status).toBe(401);
    const malformed = JSON.stringify({ eventId: 'evt-bad', alarmId: 'ALM-BAD', serviceId: element, networkElementId: element, state: 'smoking', severity: 'critical', probableCause: 'LOS', occurredAt: 'yesterday' });
    const bad = await fetch(`${stack.api.url}/api/callbacks/alarms`, { method: 'POST', headers: { 'content-type': 'application/json', ...signCallback(callbackSecretFor(stack.config, 'alarms')!, malformed, new Date()) }, body: malformed });
    expect(bad.status).toBe(400);
    expect(await ticketCount()).toBe(before);

    // when the simulator's alarm feed raises the alarm (twice: a redelivery)
    const raised = await stack.control.alarm({ serviceId: element, networkElementId: element, state: 'raised', duplicate: true });
    await stack.control.settled();
    const opened = await eventually(() => alarmTickets(raised.alarmId), (rows) => rows.length === 2, 'two fault tickets');
    expect(opened.map((row) => row.account_id)).toEqual(riders.map((rider) => rider.accountId).sort());
    expect(opened.map((row) => row.account_id)).not.toContain(bystander.accountId);
    for (const row of opened) await eventually(() => ticketRowOf(database.pool, row.id), (ticket) => ticket.status === 'inProgress', 'dispatched');

    // when it clears: both tickets are resolved by the network and closed
    await stack.control.alarm({ serviceId: element, networkElementId: element, state: 'cleared', alarmId: raised.alarmId });
    await stack.control.settled();
    const cleared = await eventually(() => alarmTickets(raised.alarmId), (rows) => rows.every((row) => row.status === 'closed'), 'both closed');
    for (const row of cleared) expect((await ticketRowOf(database.pool, row.id)).root_cause).toBe('NETWORK_ALARM_CLEARED');
  });

  it('refuses a completion through the engine for a task of another ticket form', async () => {
    // the engine itself refuses fields a task's form does not declare, whoever sends the update
    const created = await call(sessions.gzDispatcher!, 'POST', '/api/troubleTicket', report(other, { ticketType: 'complaint', category: 'billing', relatedEntity: [{ id: other.accountId, role: 'account' }] }));
    const task = await openTask(created.body.workflowId, 'handle');
    await expect(
      stack.workflows.getHandle(created.body.workflowId).executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.id, variables: { resolution: 'x', rootCause: 'billing_error', slaDueAt: '2099-01-01T00:00:00Z' }, completedBy: 'someone' }] }),
    ).rejects.toThrow();
  });
});
