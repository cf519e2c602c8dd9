import { sql } from 'slonik';
import { z } from 'zod';
import { evaluateRevenueAlerts } from '../../../activities/supervision';
import { startSupervisionInstance, supervisionInstanceId } from '../../../api/engine/supervision';
import { insertNodes, insertTicket } from '../../../db/supervision';
import { login, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { completeTaskUpdateName, updateRejections } from '../../../workflows/contracts';
import { startInstance } from '../../../api/engine/instances';
import { deployComplaint, eventually, insertTicket as insertTroubleTicket, tasksOf } from '../../support/complaint';
import { createAccountFixture, type AccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';
import { createSupervisionStaff, deploySupervision, nodesOf, openTasksOf } from '../../support/supervision';

type Tree = { state: string; assignee: string | null; kind: string; orgUnitId: string; overdue: boolean; lastReport: { text: string } | null; sendBackReason: string | null; children: Tree[]; id: string };

/**
 * A supervision ticket through the API, as the people who work it: the province's supervisor issues
 * it to two cities, each passes it down to a county, the counties to their customer managers (one
 * at area level), two managers report (one of them twice), a county sends one back with a reason;
 * the tree shows every state to the issuer, and nothing to someone outside it. Then every branch
 * is accepted up to the issuer and the ticket closes. KPI alerts open tickets once per cause and
 * period. Bad input changes nothing. Deadlines are the workflow tests' (time-skipping).
 */
describe('supervision tickets through the API', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let staff: Awaited<ReturnType<typeof createSupervisionStaff>>;
  const sessions: Record<string, Session> = {};
  let account: AccountFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startExternalStack(database);
    await deploySupervision(database.pool);
    staff = await createSupervisionStaff(database.pool, String(Date.now() % 10_000));
    for (const [name, person] of Object.entries(staff)) sessions[name] = await login(stack.api.url, person.username, person.password);
    account = await createAccountFixture(database.pool, testOrg.tianhe, { tier: 'gold', customerManagerId: staff.tianheManager.id });
  }, 120_000);

  afterAll(async () => {
    const running = await database?.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM supervision_tickets WHERE workflow_id IS NOT NULL`);
    for (const id of running ?? []) await stack.workflows.getHandle(id).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const nodeAt = async (ticketId: string, where: (node: Awaited<ReturnType<typeof nodesOf>>[number]) => boolean, what: string) =>
    (await eventually(() => nodesOf(database.pool, ticketId), (nodes) => nodes.some(where), what)).find(where)!;
  /** Waits until the branch's instance has opened the task the next call completes. */
  const waitingAt = (nodeId: string, taskNode: string) => eventually(() => openTasksOf(database.pool, nodeId), (tasks) => tasks.some((task) => task.node_id === taskNode), `${nodeId} waits at ${taskNode}`);
  const counts = () =>
    database.pool.one(sql.type(z.object({ tickets: z.number(), nodes: z.number(), reports: z.number() }))`
      SELECT (SELECT count(*)::int FROM supervision_tickets) AS tickets, (SELECT count(*)::int FROM supervision_nodes) AS nodes, (SELECT count(*)::int FROM supervision_reports) AS reports`);
  const flatten = (trees: Tree[]): Tree[] => trees.flatMap((tree) => [tree, ...flatten(tree.children)]);

  it('flows from the province through two cities and their counties to the managers, back up with a send-back, and closes', async () => {
    // when the province's supervisor issues it to Guangzhou and Shenzhen
    const issued = await call(sessions.province!, 'POST', '/api/supervision-tickets', {
      subject: '重点客户续约攻坚',
      goal: '本月完成重点客户续约洽谈',
      deadline: inDays(5),
      priority: 2,
      accountIds: [account.accountId],
      attachments: [{ name: '续约清单.xlsx', url: 'https://files.example.cn/renewals.xlsx' }],
      units: [testOrg.guangzhou, testOrg.shenzhen],
    });
    expect(issued.status).toBe(201);
    const ticketId = issued.body.id as string;
    expect(issued.body).toMatchObject({ kind: 'supervision', status: 'issued', issuedBy: staff.province.username, accountIds: [account.accountId] });

    // then each city's supervisor holds its branch, reviewed by the issuer
    const gz = await nodeAt(ticketId, (node) => node.org_unit_id === testOrg.guangzhou, 'the Guangzhou branch');
    const sz = await nodeAt(ticketId, (node) => node.org_unit_id === testOrg.shenzhen, 'the Shenzhen branch');
    expect(gz).toMatchObject({ kind: 'unit', assignee: staff.guangzhou.username, reviewer: staff.province.username, parent_id: null });
    expect(sz).toMatchObject({ kind: 'unit', assignee: staff.shenzhen.username });

    // when each city passes it down to a county (Shenzhen's cannot pass down Guangzhou's branch)
    await waitingAt(gz.id, 'dispatch');
    expect((await call(sessions.shenzhen!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${gz.id}/pass-down`, { units: [testOrg.tianhe] })).status).toBe(404);
    expect((await call(sessions.guangzhou!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${gz.id}/pass-down`, { instructions: '天河区负责', units: [testOrg.tianhe] })).status).toBe(200);
    await waitingAt(sz.id, 'dispatch');
    expect((await call(sessions.shenzhen!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${sz.id}/pass-down`, { units: [testOrg.nanshan] })).status).toBe(200);

    // and the counties to their managers — Tianhe's to one at county and one at area level
    const th = await nodeAt(ticketId, (node) => node.org_unit_id === testOrg.tianhe, 'the Tianhe branch');
    const ns = await nodeAt(ticketId, (node) => node.org_unit_id === testOrg.nanshan, 'the Nanshan branch');
    expect(th).toMatchObject({ assignee: staff.tianhe.username, reviewer: staff.guangzhou.username, parent_id: gz.id });
    await waitingAt(th.id, 'dispatch');
    expect((await call(sessions.tianhe!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${th.id}/pass-down`, { managers: [staff.tianheManager.username, staff.areaManager.username] })).status).toBe(200);
    await waitingAt(ns.id, 'dispatch');
    expect((await call(sessions.nanshan!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${ns.id}/pass-down`, { managers: [staff.nanshanManager.username] })).status).toBe(200);
    const thManager = await nodeAt(ticketId, (node) => node.assignee === staff.tianheManager.username, "the Tianhe manager's branch");
    const areaManager = await nodeAt(ticketId, (node) => node.assignee === staff.areaManager.username, "the area manager's branch");
    const nsManager = await nodeAt(ticketId, (node) => node.assignee === staff.nanshanManager.username, "the Nanshan manager's branch");
    expect(areaManager).toMatchObject({ kind: 'manager', org_unit_id: testOrg.tianheArea, reviewer: staff.tianhe.username });

    // when two managers report: progress twice, then the results
    await waitingAt(thManager.id, 'work');
    const report = (who: string, node: string, body: unknown) => call(sessions[who]!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${node}/reports`, body);
    expect((await report('tianheManager', thManager.id, { kind: 'progress', text: '已约见客户', percent: 30 })).status).toBe(201);
    expect((await report('tianheManager', thManager.id, { kind: 'progress', text: '报价已发', percent: 70 })).status).toBe(201);
    expect((await report('areaManager', thManager.id, { kind: 'progress', text: '不是我的' })).status).toBe(404);
    expect((await report('tianhe', thManager.id, { kind: 'progress', text: '代报' })).status).toBe(403);
    expect((await report('tianheManager', thManager.id, { kind: 'result', text: '已续约三年', outcome: 'done' })).status).toBe(201);
    await waitingAt(areaManager.id, 'work');
    expect((await report('areaManager', areaManager.id, { kind: 'result', text: '客户推迟', outcome: 'partial' })).status).toBe(201);

    // and Tianhe accepts one and sends the other back with the reason
    await waitingAt(thManager.id, 'review');
    const review = (who: string, node: string, body: unknown) => call(sessions[who]!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${node}/review`, body);
    expect((await review('guangzhou', thManager.id, { accepted: true })).status).toBe(403);
    expect((await review('tianhe', thManager.id, { accepted: true })).status).toBe(200);
    await waitingAt(areaManager.id, 'review');
    expect((await review('tianhe', areaManager.id, { accepted: false })).status).toBe(400);
    expect((await review('tianhe', areaManager.id, { accepted: false, reason: '请给出续约时间表' })).status).toBe(200);
    await waitingAt(areaManager.id, 'work');

    // then the issuer's tree shows every state
    const tree = await eventually(
      () => call(sessions.province!, 'GET', `/api/supervision-tickets/${ticketId}/tree`),
      (answer) => flatten(answer.body.branches).some((node: Tree) => node.state === 'sent_back') && flatten(answer.body.branches).some((node: Tree) => node.state === 'accepted'),
      'the tree with the verdicts',
    );
    expect(tree.status).toBe(200);
    expect(tree.body.status).toBe('in_progress');
    const nodes = flatten(tree.body.branches);
    const byAssignee = (username: string) => nodes.find((node) => node.assignee === username)!;
    expect(tree.body.branches.map((node: Tree) => node.orgUnitId).sort()).toEqual([testOrg.guangzhou, testOrg.shenzhen]);
    expect(byAssignee(staff.guangzhou.username)).toMatchObject({ state: 'in_progress', overdue: false });
    expect(byAssignee(staff.tianhe.username).children).toHaveLength(2);
    expect(byAssignee(staff.tianheManager.username)).toMatchObject({ state: 'accepted', lastReport: { text: '已续约三年' } });
    expect(byAssignee(staff.areaManager.username)).toMatchObject({ state: 'sent_back', sendBackReason: '请给出续约时间表', lastReport: { text: '客户推迟' } });
    expect(byAssignee(staff.nanshanManager.username)).toMatchObject({ state: 'in_progress', lastReport: null });

    // and a county sees its own part only; someone outside the ticket's subtree sees nothing, and cannot act
    const countyView = await call(sessions.tianhe!, 'GET', `/api/supervision-tickets/${ticketId}/tree`);
    expect(flatten(countyView.body.branches).map((node) => node.orgUnitId).sort()).toEqual([testOrg.tianhe, testOrg.tianheArea, testOrg.tianhe].sort());
    expect((await call(sessions.outsider!, 'GET', `/api/supervision-tickets/${ticketId}/tree`)).status).toBe(404);
    expect((await call(sessions.outsider!, 'GET', `/api/supervision-tickets/${ticketId}`)).status).toBe(404);
    expect((await report('outsider', nsManager.id, { kind: 'progress', text: '?' })).status).toBe(404);

    // when the issuer extends the deadline (a city cannot; an earlier or past deadline is refused)
    const extend = (who: string, body: unknown) => call(sessions[who]!, 'POST', `/api/supervision-tickets/${ticketId}/extend`, body);
    expect((await extend('guangzhou', { deadline: inDays(6), reason: '客户出差' })).status).toBe(403);
    expect((await extend('province', { deadline: new Date(Date.now() - 60_000).toISOString(), reason: '客户出差' })).status).toBe(400);
    expect((await extend('province', { deadline: inDays(4), reason: '客户出差' })).status).toBe(422);
    const extended = await extend('province', { deadline: inDays(6), reason: '客户出差' });
    expect(extended.status).toBe(200);
    expect(Date.parse(extended.body.deadline)).toBeGreaterThan(Date.now() + 5.9 * 86_400_000);
    expect((await nodesOf(database.pool, ticketId)).length).toBe(7);

    // when every branch comes back up and is accepted
    expect((await report('areaManager', areaManager.id, { kind: 'result', text: '下月十日前续约', outcome: 'done' })).status).toBe(201);
    await waitingAt(areaManager.id, 'review');
    expect((await review('tianhe', areaManager.id, { accepted: true })).status).toBe(200);
    await waitingAt(th.id, 'summarise');
    expect((await report('tianhe', th.id, { kind: 'result', text: '天河两户均已落实', outcome: 'done' })).status).toBe(201);
    await waitingAt(th.id, 'review');
    expect((await review('guangzhou', th.id, { accepted: true })).status).toBe(200);
    await waitingAt(gz.id, 'summarise');
    expect((await report('guangzhou', gz.id, { kind: 'result', text: '广州完成', outcome: 'done' })).status).toBe(201);
    await waitingAt(nsManager.id, 'work');
    expect((await report('nanshanManager', nsManager.id, { kind: 'result', text: '南山完成', outcome: 'done' })).status).toBe(201);
    await waitingAt(nsManager.id, 'review');
    expect((await review('nanshan', nsManager.id, { accepted: true })).status).toBe(200);
    await waitingAt(ns.id, 'summarise');
    expect((await report('nanshan', ns.id, { kind: 'result', text: '南山区完成', outcome: 'done' })).status).toBe(201);
    await waitingAt(ns.id, 'review');
    expect((await review('shenzhen', ns.id, { accepted: true })).status).toBe(200);
    await waitingAt(sz.id, 'summarise');
    expect((await report('shenzhen', sz.id, { kind: 'result', text: '深圳完成', outcome: 'done' })).status).toBe(201);
    await waitingAt(gz.id, 'review');
    expect((await review('province', gz.id, { accepted: true })).status).toBe(200);
    await waitingAt(sz.id, 'review');
    expect((await review('province', sz.id, { accepted: true })).status).toBe(200);

    // then the ticket is closed, and takes no more reports
    await eventually(() => call(sessions.province!, 'GET', `/api/supervision-tickets/${ticketId}`), (answer) => answer.body.status === 'closed', 'the ticket closes');
    const before = await counts();
    const late = await report('tianheManager', thManager.id, { kind: 'progress', text: '补充' });
    expect(late.status).toBe(409);
    expect(late.body.error.details.reason).toBe('TICKET_CLOSED');
    expect(await counts()).toEqual(before);
    const audit = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`SELECT DISTINCT action FROM audit_log WHERE entity_id = ${ticketId} ORDER BY action`);
    expect(audit).toEqual(expect.arrayContaining(['supervision.issue', 'supervision.passDown', 'supervision.progress', 'supervision.report', 'supervision.sendBack', 'supervision.accept', 'supervision.extend', 'supervision.close']));

    // and the statistics count the branches per unit
    const stats = await call(sessions.province!, 'GET', `/api/supervision-tickets/stats?orgUnitId=${testOrg.guangzhou}`);
    expect(stats.status).toBe(200);
    expect(stats.body.units.find((unit: { orgUnitId: string }) => unit.orgUnitId === testOrg.tianhe)).toMatchObject({ open: 0, completed: 3, completedOnTimePercent: 100 });
    expect((await call(sessions.tianhe!, 'GET', `/api/supervision-tickets/stats?orgUnitId=${testOrg.shenzhen}`)).status).toBe(404);
  }, 240_000);

  it('refuses bad input with a clear 4xx and writes nothing', async () => {
    const before = await counts();
    const issue = (session: Session, body: unknown) => call(session, 'POST', '/api/supervision-tickets', body);
    const valid = { subject: '督办', deadline: inDays(2), units: [testOrg.tianhe] };

    const past = await issue(sessions.guangzhou!, { ...valid, deadline: new Date(Date.now() - 3_600_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body.error.details).toEqual([expect.objectContaining({ field: 'body.deadline' })]);
    const outside = await issue(sessions.guangzhou!, { ...valid, units: [testOrg.tianhe, testOrg.shenzhen] });
    expect(outside.status).toBe(422);
    expect(outside.body.error.details).toMatchObject({ reason: 'OUTSIDE_SUBTREE', refused: [testOrg.shenzhen] });
    expect((await issue(sessions.guangzhou!, { ...valid, units: [testOrg.guangzhou] })).status).toBe(422);
    expect((await issue(sessions.guangzhou!, { ...valid, managers: [staff.nanshanManager.username] })).status).toBe(422);
    expect((await issue(sessions.guangzhou!, { ...valid, units: [] })).status).toBe(400);
    expect((await issue(sessions.guangzhou!, { ...valid, subject: '' })).status).toBe(400);
    expect((await issue(sessions.guangzhou!, { ...valid, colour: 'red' })).status).toBe(400);
    expect((await issue(sessions.guangzhou!, { ...valid, deadline: 'tomorrow' })).status).toBe(400);
    expect((await issue(sessions.tianheManager!, valid)).status).toBe(403);
    expect((await issue(sessions.shenzhen!, { ...valid, units: [testOrg.nanshan], accountIds: [account.accountId] })).status).toBe(422);
    expect((await call(sessions.guangzhou!, 'POST', '/api/supervision-tickets/SV99999999/extend', { deadline: inDays(9), reason: 'x' })).status).toBe(404);
    expect((await call(sessions.guangzhou!, 'GET', '/api/supervision-tickets/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).status).toBe(400);

    expect(await counts()).toEqual(before);
  });

  it("records a visit on a visit ticket as its manager: the visit is kept and the ticket closes", async () => {
    // given a visit ticket for the account, as supervision-visits.bpmn opens it
    const dueAt = inDays(21);
    const ticketId = await database.pool.transaction(async (tx) => {
      const id = (await insertTicket(
        tx,
        {
          kind: 'visit', title: '客户走访（A 类）', priority: 2, dueAt, remindAt: inDays(18), accountIds: [account.accountId], attachments: [],
          orgUnitId: testOrg.tianhe, issuedByUnitId: testOrg.tianhe, issuedByUsername: null, cause: { cause: 'visit', class: 'A' }, dedupeKey: `visit:${account.accountId}:test`,
        },
        supervisionInstanceId,
      ))!;
      await insertNodes(tx, { ticketId: id, parentId: null, reviewer: null, dueAt, step: `issue:${id}`, targets: [{ kind: 'manager', orgUnitId: testOrg.tianhe, assignee: staff.tianheManager.username }] });
      return id;
    });
    await startSupervisionInstance(stack.api.temporal, database.pool, stack.config.KEYFLOW_TASK_QUEUE, { ticketId, orgUnitId: testOrg.tianhe, startedBy: 'test' });
    const [node] = await eventually(() => nodesOf(database.pool, ticketId), (nodes) => nodes[0]?.state === 'in_progress', 'the visit reaches the manager');
    await waitingAt(node!.id, 'work');
    const visit = (session: Session, body: unknown) => call(session, 'POST', `/api/supervision-tickets/${ticketId}/visits`, body);

    // when someone else, a future date or another account's contact is given: refused
    expect((await visit(sessions.areaManager!, { visitedOn: '2026-11-30', notes: '走访' })).status).toBe(404);
    expect((await visit(sessions.tianhe!, { visitedOn: '2026-11-30', notes: '走访' })).status).toBe(403);
    expect((await visit(sessions.tianheManager!, { visitedOn: '2099-01-01', notes: '走访' })).status).toBe(400);
    expect((await visit(sessions.tianheManager!, { visitedOn: '2026-11-30', contactId: 'CT99999999', notes: '走访' })).status).toBe(422);

    // when the manager records it
    const recorded = await visit(sessions.tianheManager!, { visitedOn: '2026-11-30', contactId: account.contactId, notes: '续约意向明确' });

    // then the visit is kept, and the ticket closes
    expect(recorded.status).toBe(201);
    const visits = await database.pool.any(sql.type(z.object({ ticket_id: z.string(), contact_name: z.string().nullable(), manager: z.string() }))`
      SELECT ticket_id, contact_name, manager FROM supervision_visits WHERE account_id = ${account.accountId}`);
    expect(visits).toEqual([{ ticket_id: ticketId, contact_name: '张伟', manager: staff.tianheManager.username }]);
    await eventually(() => call(sessions.tianheManager!, 'GET', `/api/supervision-tickets/${ticketId}`), (answer) => answer.body.status === 'closed', 'the visit ticket closes');
    expect((await visit(sessions.tianheManager!, { visitedOn: '2026-11-30', notes: '又一次' })).status).toBe(409);
  }, 60_000);

  it('opens one alert ticket for a revenue drop after a bill run, none on a second evaluation, one when the account turns black and one when its key contact leaves', async () => {
    // given bills of three periods around 1,000 yuan, then one of 400
    const bill = (period: string, total: number) => database.pool.query(sql.type(z.object({}))`
      INSERT INTO bills (billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits, status, bill_no,
                         charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor)
      VALUES (${account.billingAccountId}, ${account.accountId}, ${testOrg.tianhe}, ${period}, ${`${period}-01`}, (${`${period}-01`}::date + interval '1 month')::date, 'Asia/Shanghai', 'CNY', 2, 'sent', ${`BL-T-${period}`},
              ${total}, 0, 0, 0, ${total}, 0, ${total})`);
    for (const [period, total] of [['2026-07', 100_000], ['2026-08', 110_000], ['2026-09', 90_000], ['2026-10', 40_000]] as const) await bill(period, total);
    const deps = { pool: database.pool, client: stack.api.temporal, taskQueue: stack.config.KEYFLOW_TASK_QUEUE, now: new Date() };

    // when the bill run of October is evaluated, twice
    const first = await evaluateRevenueAlerts(deps, { period: '2026-10', thresholdPercent: 30, trailingPeriods: 3 });
    const second = await evaluateRevenueAlerts(deps, { period: '2026-10', thresholdPercent: 30, trailingPeriods: 3 });

    // then exactly one alert, to the account's manager, with the figures
    expect(first).toHaveLength(1);
    expect(second).toEqual([]);
    const alert = await call(sessions.tianheManager!, 'GET', `/api/supervision-tickets/${first[0]}/tree`);
    expect(alert.body).toMatchObject({ kind: 'alert', cause: { cause: 'revenue_drop', period: '2026-10', figures: { periodMinor: 40_000, trailingAverageMinor: 100_000, dropPercent: 60 } } });
    expect(alert.body.branches).toEqual([expect.objectContaining({ assignee: staff.tianheManager.username, reviewer: staff.tianhe.username })]);
    await waitingAt(alert.body.branches[0].id, 'work');

    // when a supervisor puts the account on the black list, twice in the month
    const version = async () => (await call(sessions.guangzhou!, 'GET', `/api/accounts/${account.accountId}`)).body.version as number;
    expect((await call(sessions.guangzhou!, 'PUT', `/api/accounts/${account.accountId}/credit-list`, { version: await version(), creditList: 'black', reason: '欠费三个月' })).status).toBe(200);
    expect((await call(sessions.guangzhou!, 'PUT', `/api/accounts/${account.accountId}/credit-list`, { version: await version(), creditList: 'none', reason: '已缴清' })).status).toBe(200);
    expect((await call(sessions.guangzhou!, 'PUT', `/api/accounts/${account.accountId}/credit-list`, { version: await version(), creditList: 'black', reason: '再次欠费' })).status).toBe(200);

    // and the key contact leaves (marked inactive), the change saved twice
    const contactVersion = async () => (await call(sessions.tianheManager!, 'GET', `/api/accounts/${account.accountId}/contacts`)).body.items[0].version as number;
    expect((await call(sessions.tianheManager!, 'PATCH', `/api/contacts/${account.contactId}`, { version: await contactVersion(), active: false, notes: '已离职' })).status).toBe(200);
    expect((await call(sessions.tianheManager!, 'PATCH', `/api/contacts/${account.contactId}`, { version: await contactVersion(), active: false })).status).toBe(200);

    // then one alert ticket for the black list, and one for the contact
    const alerts = await database.pool.any(sql.type(z.object({ id: z.string(), cause: z.string(), status: z.string() }))`
      SELECT id, cause->>'cause' AS cause, status FROM supervision_tickets WHERE kind = 'alert' ORDER BY id`);
    expect(alerts.map((row) => row.cause)).toEqual(['revenue_drop', 'credit_black', 'key_contact_left']);
    await eventually(() => nodesOf(database.pool, alerts[1]!.id), (nodes) => nodes[0]?.state === 'in_progress', 'the black-list alert reaches the manager');
  }, 120_000);
  it('opens one alert ticket when a complaint is re-opened a second time', async () => {
    // given a complaint of the account, run by the shipped complaint process
    const complaint = await deployComplaint(database.pool);
    const ticket = await insertTroubleTicket(database.pool, { accountId: account.accountId, orgUnitId: testOrg.tianhe, externalId: `RE-${Date.now()}` });
    const workflowId = `complaint:${ticket.id}`;
    await startInstance(stack.api.temporal, stack.config.KEYFLOW_TASK_QUEUE, {
      definition: complaint,
      businessKey: ticket.id,
      variables: { ticketId: ticket.id, accountId: account.accountId, ticketType: 'fault', category: 'network', channel: 'phone', severity: 'major', priority: 2 },
      customerId: account.accountId,
      orgUnitId: testOrg.tianhe,
      startedBy: 'test',
    });
    const finish = async (nodeId: string, variables: Record<string, unknown>) => {
      const task = (await eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((row) => row.node_id === nodeId && row.status === 'open'), `${nodeId} opens`)).find(
        (row) => row.node_id === nodeId && row.status === 'open',
      )!;
      // The inbox row is written a moment before the instance takes the opened task in: until then
      // it refuses the completion as TaskNotFound, as the task API knows and asks again.
      await eventually(
        () =>
          stack.workflows
            .getHandle(workflowId)
            .executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.id, variables, completedBy: 'test' }] })
            .then(
              () => true,
              (error: unknown) => {
                if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === updateRejections.taskNotFound) return false;
                throw error;
              },
            ),
        (done) => done,
        `${nodeId} completes`,
      );
    };
    const alertsFor = () =>
      database.pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM supervision_tickets WHERE kind = 'alert' AND cause->>'cause' = 'complaint_reopened' AND cause->>'period' = ${ticket.id}`);

    // when the customer is unsatisfied once: no alert
    await finish('handle', { resolution: '已修复', rootCause: 'network_fault', compensationKind: 'none' });
    await finish('survey', { satisfied: false, score: 2 });
    await finish('handle', { resolution: '再次修复', rootCause: 'network_fault', compensationKind: 'none' });
    expect(await alertsFor()).toEqual([]);

    // when unsatisfied a second time
    await finish('survey', { satisfied: false, score: 1 });

    // then one alert ticket to the account's manager
    const [alert] = await eventually(alertsFor, (ids) => ids.length > 0, 'the re-open alert');
    await eventually(() => nodesOf(database.pool, alert!), (nodes) => nodes[0]?.assignee === staff.tianheManager.username, 'the alert reaches the manager');
    expect(await alertsFor()).toHaveLength(1);
    await stack.workflows.getHandle(workflowId).terminate('test over').catch(() => undefined);
  }, 120_000);
});
