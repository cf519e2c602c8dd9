import { sql } from 'slonik';
import { z } from 'zod';
import { callbackSecretFor } from '../../../activities/external/endpoints';
import { signCallback } from '../../../activities/external/signature';
import { stateQueryName, type ProcessInstanceState } from '../../../workflows/contracts';
import { login, seedOrgTree, type Session } from '../../support/auth';
import { eventually, tasksOf } from '../../support/complaint';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';
import {
  createOrderAccount,
  createOrderStaff,
  deployOrderFulfilment,
  ensureOrderCatalogue,
  leasedLineOrder,
  orderEventsOf,
  orderNoticesOf,
  orderRowOf,
} from '../../support/orders';
import { recordReplayHistory } from '../../support/replay-histories';

/**
 * Order fulfilment (业务受理 → 开通) end to end on real Temporal, PostgreSQL and the simulator, as
 * the people who work it complete its steps through the API: capture (TMF622), validation, the
 * credit lists, qualification of a new account, resource shortage and its project, contract
 * signing, activation with a late, a lost and a failing network, billing, notices, cancellation
 * with compensation in reverse, and a modify order. Timers are seconds here (the configuration's).
 */
describe('order fulfilment through the API', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let staff: Awaited<ReturnType<typeof createOrderStaff>>;
  const sessions: Record<string, Session> = {};

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startExternalStack(database, {
      KEYFLOW_ORDER_ACTIVATION_TIMEOUT: 'PT3S',
      KEYFLOW_ORDER_PROJECT_TASK_DUE: 'PT4S',
      KEYFLOW_ORDER_PROJECT_REMINDER_AFTER: 'PT2S',
      KEYFLOW_ORDER_PROJECT_ESCALATE_AFTER: 'PT4S',
    });
    await deployOrderFulfilment(database.pool);
    await ensureOrderCatalogue(database.pool);
    staff = await createOrderStaff(database.pool, String(Date.now() % 10_000));
    for (const [name, person] of Object.entries(staff)) sessions[name] = await login(stack.api.url, person.username, person.password);
  }, 120_000);

  afterAll(async () => {
    const running = await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM orders WHERE workflow_id IS NOT NULL`);
    for (const id of running) await stack.workflows.getHandle(id).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  afterEach(async () => {
    await stack.control.clearFaults();
  });

  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const capture = async (body: unknown, session = sessions.manager!) => {
    const answer = await call(session, 'POST', '/api/productOrder', body);
    expect(answer.status).toBe(201);
    return answer.body as { id: string; processInstanceId: string; state: string };
  };
  const openTask = (workflowId: string, nodeId: string, timeoutMs = 30_000) =>
    eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((task) => task.node_id === nodeId && task.status === 'open'), `${nodeId} opens`, timeoutMs).then(
      (tasks) => tasks.filter((task) => task.node_id === nodeId && task.status === 'open').at(-1)!,
    );
  const complete = async (session: Session, taskId: string, variables: Record<string, unknown>) => {
    let answer = await call(session, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/complete`, { variables });
    // The inbox row is written a moment before the instance takes completions for it.
    for (let attempt = 0; answer.status === 409 && answer.body?.error?.details?.reason === 'TASK_NOT_OPEN' && attempt < 20; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await call(session, 'POST', `/api/tasks/${encodeURIComponent(taskId)}/complete`, { variables });
    }
    expect({ status: answer.status, body: answer.status === 200 ? 'ok' : answer.body }).toEqual({ status: 200, body: 'ok' });
  };
  const stateOf = (orderId: string) => orderRowOf(database.pool, orderId).then((row) => row.status);
  const reaches = async (orderId: string, state: string, timeoutMs = 30_000) => {
    try {
      return await eventually(() => stateOf(orderId), (current) => current === state, `order ${orderId} becomes ${state}`, timeoutMs);
    } catch (error) {
      const instance = await stack.workflows.getHandle(`order-fulfilment:${orderId}`).query<ProcessInstanceState>(stateQueryName).catch((failure: unknown) => String(failure));
      throw new Error(`${(error as Error).message}\n${JSON.stringify(typeof instance === 'string' ? instance : { active: instance.activeNodes, incidents: instance.incidents }, null, 1)}`);
    }
  };
  /** The instance has ended (its last steps run after the state it records). */
  const ended = (workflowId: string) => stack.workflows.getHandle(workflowId).result();
  const signContract = async (order: { id: string; processInstanceId: string }) => {
    const task = await openTask(order.processInstanceId, 'sign-contract');
    await complete(sessions.manager!, task.id, { contractNo: `HT-${order.id}`, signedOn: new Date().toISOString().slice(0, 10) });
  };
  /** With RECORD_REPLAY_HISTORIES=1, keeps the instance's history for test/replay/ (see its README). */
  const record = async (name: string, workflowId: string) => {
    await recordReplayHistory(name, stack.workflows.getHandle(workflowId));
  };
  const ledgerOf = async (workflowId: string) => (await stack.control.ledger({ idempotencyKeyPrefix: `${workflowId}/` })).entries.map((entry) => entry.operation);

  it('takes a leased line from capture to a working, billed service: reserved, contract signed, billing account opened, activated by the callback, customer and manager told', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const order = await capture(leasedLineOrder(account.accountId));
    expect(order).toMatchObject({ state: 'acknowledged', processInstanceId: `order-fulfilment:${order.id}`, relatedParty: [{ id: account.accountId, role: 'customer' }] });

    await reaches(order.id, 'pending');
    await signContract(order);
    await reaches(order.id, 'completed');

    const shown = await call(sessions.manager!, 'GET', `/api/productOrder/${order.id}`);
    expect(shown.body).toMatchObject({ state: 'completed', contractId: expect.any(String), billingAccount: { id: expect.any(String) }, productOrderItem: [{ id: '1', action: 'add', state: 'completed' }] });
    expect(shown.body.orderMilestone.map((milestone: any) => milestone.name)).toEqual([
      'captured',
      'validated',
      'itemReserved',
      'feasibilityChecked',
      'contractPending',
      'contractSigned',
      'billingAccountOpened',
      'activationStarted',
      'itemActivated',
      'completed',
    ]);
    const crm = await call(sessions.manager!, 'GET', `/api/orders/${order.id}`);
    expect(crm.body).toMatchObject({ status: 'completed', workflowId: order.processInstanceId, milestones: expect.arrayContaining([expect.objectContaining({ name: 'completed', state: 'completed' })]) });

    // each side effect exactly once, in the model's order
    expect(await ledgerOf(order.processInstanceId)).toEqual(['provisioning.reserve', 'accounting.openBillingAccount', 'provisioning.activate', 'notify.sendSms', 'notify.sendSms']);
    const subscription = await database.pool.one(sql.type(z.object({ status: z.string(), activated_at: z.string().nullable(), product_id: z.string(), network_service_id: z.string().nullable(), accounting_id: z.string().nullable() }))`
      SELECT s.status, s.activated_at, s.product_id, s.network_service_id, b.accounting_id FROM subscriptions s JOIN billing_accounts b ON b.id = s.billing_account_id WHERE s.order_id = ${order.id}`);
    expect(subscription).toMatchObject({ status: 'active', product_id: 'TEST-DIA-200M', network_service_id: expect.stringMatching(/^SVC/), accounting_id: expect.any(String) });
    expect(subscription.activated_at).not.toBeNull();
    expect(await database.pool.oneFirst(sql.type(z.object({ contract_no: z.string() }))`SELECT contract_no FROM contracts WHERE id = ${shown.body.contractId}`)).toBe(`HT-${order.id}`);
    expect(await orderNoticesOf(database.pool, order.id)).toEqual([{ username: staff.manager.username, kind: 'order.notice' }]);
    const audited = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`SELECT action FROM audit_log WHERE entity_type = 'order' AND entity_id = ${order.id} ORDER BY id`);
    expect(audited).toEqual(expect.arrayContaining(['order.captured', 'order.validated', 'order.contractSigned', 'order.completed']));
    expect((await stack.workflows.getHandle(order.processInstanceId).describe()).status.name).toBe('COMPLETED');
    await record('order-fulfilment', order.processInstanceId);
  });
  it('refuses an order of a black-listed account with the reason, and calls no outside system', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id, { creditList: 'black' });
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'rejected');
    expect(await orderRowOf(database.pool, order.id)).toMatchObject({ state_reason: 'the account is on the black list' });
    expect(await ledgerOf(order.processInstanceId)).toEqual([]);
    expect((await call(sessions.manager!, 'GET', `/api/productOrder/${order.id}`)).body).toMatchObject({ state: 'rejected', stateReason: 'the account is on the black list' });
  });

  it('holds a grey-listed account\'s order for a supervisor, goes on when granted and rejects it when refused; a red-listed account passes with a note', async () => {
    const grey = await createOrderAccount(database.pool, staff.manager.id, { creditList: 'grey' });
    const granted = await capture(leasedLineOrder(grey.accountId));
    const refused = await capture(leasedLineOrder(grey.accountId));
    await reaches(granted.id, 'held');
    await reaches(refused.id, 'held');
    const grant = await openTask(granted.processInstanceId, 'approve-credit');
    // a customer manager is not the supervisor the task is for: to them it does not exist
    expect((await call(sessions.manager!, 'POST', `/api/tasks/${encodeURIComponent(grant.id)}/complete`, { variables: { creditApproved: true } })).status).toBe(404);
    await complete(sessions.supervisor!, grant.id, { creditApproved: true, creditComment: '已缴清欠费' });
    await reaches(granted.id, 'pending');
    await complete(sessions.supervisor!, (await openTask(refused.processInstanceId, 'approve-credit')).id, { creditApproved: false, creditComment: '存在长期欠费' });
    await reaches(refused.id, 'rejected');
    expect(await orderRowOf(database.pool, refused.id)).toMatchObject({ state_reason: '存在长期欠费' });
    expect(await orderEventsOf(database.pool, granted.id)).toEqual(['captured:acknowledged', 'validated:inProgress', 'creditHeld:held', 'creditApproved:inProgress', 'itemReserved:inProgress', 'feasibilityChecked:inProgress', 'contractPending:pending']);
    expect(await ledgerOf(refused.processInstanceId)).toEqual([]);

    const red = await createOrderAccount(database.pool, staff.manager.id, { creditList: 'red' });
    const passed = await capture(leasedLineOrder(red.accountId));
    await reaches(passed.id, 'pending');
    const milestones = (await call(sessions.manager!, 'GET', `/api/productOrder/${passed.id}`)).body.orderMilestone;
    expect(milestones).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'creditNoted', description: 'red list: protected account, passed with a note' })]));
  });

  it('asks a supervisor to qualify a new key account, and the account is active once qualified', async () => {
    const prospect = await createOrderAccount(database.pool, staff.manager.id, { status: 'prospect' });
    const order = await capture(leasedLineOrder(prospect.accountId));
    await reaches(order.id, 'held');
    await complete(sessions.supervisor!, (await openTask(order.processInstanceId, 'qualify')).id, { qualified: true, qualificationComment: '年收入超过 5000 万' });
    await reaches(order.id, 'pending');
    expect(await database.pool.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM key_accounts WHERE id = ${prospect.accountId}`)).toBe('active');
    expect(await orderEventsOf(database.pool, order.id)).toEqual(expect.arrayContaining(['qualificationHeld:held', 'qualified:inProgress']));
  });

  it('runs a project when the site has no capacity: survey, construction and acceptance in parallel with due dates, the overdue one reminded and escalated, then reserves on the built-out site', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    await stack.control.setFaults({ 'provisioning.reserve': { noCapacityNext: 1 } });
    const order = await capture(leasedLineOrder(account.accountId));
    const [survey, construction, acceptance] = await Promise.all(['survey', 'construction', 'acceptance'].map((node) => openTask(order.processInstanceId, node)));
    for (const task of [survey!, construction!, acceptance!]) expect(task.due_at).not.toBeNull();
    expect((await call(sessions.dispatcher!, 'GET', '/api/tasks/group')).body.items.map((task: any) => task.id)).toEqual(expect.arrayContaining([survey!.id, construction!.id, acceptance!.id]));
    await complete(sessions.dispatcher!, construction!.id, { note: '光缆已布放' });
    await complete(sessions.dispatcher!, acceptance!.id, {});
    // the survey is left to run late: reminded at 2 s, escalated at 4 s
    const notices = await eventually(() => orderNoticesOf(database.pool, order.id), (rows) => rows.some((row) => row.kind === 'order.project.escalation'), 'the escalation', 20_000);
    expect(notices).toEqual(expect.arrayContaining([{ username: staff.dispatcher.username, kind: 'order.project.reminder' }, { username: staff.supervisor.username, kind: 'order.project.escalation' }]));
    const late = await database.pool.anyFirst(sql.type(z.object({ task: z.string() }))`SELECT details->>'task' AS task FROM order_events WHERE order_id = ${order.id} AND event IN ('projectReminder', 'projectEscalated') ORDER BY id`);
    expect(late).toEqual(['survey', 'survey']);
    await complete(sessions.dispatcher!, survey!.id, { note: '已勘察' });
    await reaches(order.id, 'pending');
    expect(await orderEventsOf(database.pool, order.id)).toEqual(expect.arrayContaining(['projectStarted:inProgress', 'projectCompleted:inProgress', 'itemReserved:inProgress']));
    const reservations = await stack.control.requests({ operation: 'provisioning.reserve', idempotencyKeyPrefix: `${order.processInstanceId}/` });
    expect(reservations.entries.map((entry) => entry.outcome)).toEqual(['refused', 'accepted']);
  });

  it('finishes an activation whose callback comes after the timer: ops are asked, then the late callback completes it', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    await stack.control.setFaults({ 'provisioning.activate': { callbackDelayMs: 7_000 } });
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    await signContract(order);
    const check = await openTask(order.processInstanceId, 'ops-activation', 20_000);
    expect((await call(sessions.ops!, 'GET', '/api/tasks/group')).body.items.map((task: any) => task.id)).toContain(check.id);
    await reaches(order.id, 'completed', 20_000);
    expect((await tasksOf(database.pool, order.processInstanceId)).find((task) => task.id === check.id)?.status).toBe('cancelled');
    expect(await orderEventsOf(database.pool, order.id)).toEqual(expect.arrayContaining(['activationUnconfirmed:inProgress', 'itemActivated:inProgress', 'completed:completed']));
    expect((await ledgerOf(order.processInstanceId)).filter((operation) => operation === 'provisioning.activate')).toHaveLength(1);
  });

  it('finds an activation whose callback is lost by asking the network: ops recheck until the network says it is active', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    await stack.control.setFaults({ 'provisioning.activate': { loseCallbackRate: 1, callbackDelayMs: 4_500 } });
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    await signContract(order);
    const rechecked = new Set<string>();
    while ((await stateOf(order.id)) !== 'completed') {
      const tasks = await tasksOf(database.pool, order.processInstanceId);
      const check = tasks.find((task) => task.node_id === 'ops-activation' && task.status === 'open' && !rechecked.has(task.id));
      if (!check) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await complete(sessions.ops!, check.id, { action: 'recheck', opsNote: '网管侧核查' });
      rechecked.add(check.id);
      expect(rechecked.size).toBeLessThan(10);
    }
    expect(rechecked.size).toBeGreaterThanOrEqual(1);
    expect((await stack.control.callbacks({ system: 'provisioning' })).deliveries.filter((delivery) => JSON.stringify(delivery.body).includes(order.processInstanceId))).toEqual([]);
    expect(await orderEventsOf(database.pool, order.id)).toEqual(expect.arrayContaining(['activationUnconfirmed:inProgress', 'itemActivated:inProgress', 'completed:completed']));
  });

  it('cancels an order mid-way: its compensations run in reverse — subscription withdrawn, billing account closed, resources released — and the customer is told', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    await stack.control.setFaults({ 'provisioning.activate': { loseCallbackRate: 1, callbackDelayMs: 60_000 } });
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    await signContract(order);
    const check = await openTask(order.processInstanceId, 'ops-activation', 20_000);

    const asked = await call(sessions.manager!, 'PATCH', `/api/productOrder/${order.id}`, { state: 'cancelled', cancellationReason: '客户项目取消' });
    expect(asked.status).toBe(202);
    await reaches(order.id, 'cancelled');
    await ended(order.processInstanceId);
    expect(await ledgerOf(order.processInstanceId)).toEqual([
      'provisioning.reserve',
      'accounting.openBillingAccount',
      'provisioning.activate',
      'accounting.closeBillingAccount',
      'provisioning.release',
      'notify.sendSms',
    ]);
    const events = await orderEventsOf(database.pool, order.id);
    expect(events.slice(-3)).toEqual(['cancellationRequested:assessingCancellation', 'subscriptionsWithdrawn:assessingCancellation', 'cancelled:cancelled']);
    const withdrawnAt = await database.pool.oneFirst(sql.type(z.object({ at: z.string() }))`SELECT at FROM order_events WHERE order_id = ${order.id} AND event = 'subscriptionsWithdrawn'`);
    const closed = (await stack.control.ledger({ operation: 'accounting.closeBillingAccount', idempotencyKeyPrefix: `${order.processInstanceId}/` })).entries[0]!;
    expect(Date.parse(withdrawnAt)).toBeLessThanOrEqual(Date.parse(closed.at));
    expect(await database.pool.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM subscriptions WHERE order_id = ${order.id}`)).toBe('terminated');
    expect(await database.pool.oneFirst(sql.type(z.object({ status: z.string() }))`SELECT b.status FROM billing_accounts b JOIN orders o ON o.billing_account_id = b.id WHERE o.id = ${order.id}`)).toBe('closed');
    expect((await tasksOf(database.pool, order.processInstanceId)).find((task) => task.id === check.id)?.status).toBe('cancelled');
    expect(await orderRowOf(database.pool, order.id)).toMatchObject({ state_reason: '客户项目取消' });
    // too late now, and through TMF622's task resource alike
    expect((await call(sessions.manager!, 'PATCH', `/api/productOrder/${order.id}`, { state: 'cancelled' })).status).toBe(409);
    expect((await call(sessions.manager!, 'POST', '/api/cancelProductOrder', { productOrder: { id: order.id } })).status).toBe(409);
    await record('order-fulfilment-cancel', order.processInstanceId);
  });

  it('takes a cancellation through TMF622\'s cancelProductOrder while the contract is unsigned, releasing the reservation', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    const asked = await call(sessions.manager!, 'POST', '/api/cancelProductOrder', { productOrder: { id: order.id }, cancellationReason: '改用竞品' });
    expect(asked).toMatchObject({ status: 201, body: { state: 'acknowledged', productOrder: { id: order.id } } });
    await reaches(order.id, 'cancelled');
    await ended(order.processInstanceId);
    expect(await ledgerOf(order.processInstanceId)).toEqual(['provisioning.reserve', 'provisioning.release', 'notify.sendSms']);
  });

  it('fails an order the network cannot activate, and undoes what was done in reverse', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    await stack.control.setFaults({ 'provisioning.activate': { activationFailureRate: 1 } });
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    await signContract(order);
    await reaches(order.id, 'failed');
    await ended(order.processInstanceId);
    expect(await ledgerOf(order.processInstanceId)).toEqual([
      'provisioning.reserve',
      'accounting.openBillingAccount',
      'provisioning.activate',
      'accounting.closeBillingAccount',
      'provisioning.release',
      'notify.sendSms',
    ]);
    expect(await orderRowOf(database.pool, order.id)).toMatchObject({ state_reason: 'the network could not activate the service' });
  });

  it('stops at an incident when provisioning is down during activation, and completes once ops retry it after the outage', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const order = await capture(leasedLineOrder(account.accountId));
    await reaches(order.id, 'pending');
    await stack.control.setFaults({ 'provisioning.activate': { outage: true } });
    await signContract(order);
    const instance = await eventually(
      () => call(sessions.ops!, 'GET', `/api/ops/instances/${encodeURIComponent(order.processInstanceId)}`),
      (answer) => (answer.body?.state?.incidents ?? []).length > 0,
      'the incident',
      30_000,
    );
    const incident = instance.body.state.incidents[0];
    expect(incident).toMatchObject({ nodeId: 'activate', errorType: 'ExternalUnavailable' });
    expect(await stateOf(order.id)).toBe('inProgress');
    await stack.control.clearFaults();
    const retried = await call(sessions.ops!, 'POST', `/api/ops/instances/${encodeURIComponent(order.processInstanceId)}/incidents/${encodeURIComponent(incident.id)}/retry`, { reason: '网管维护结束' });
    expect(retried.status).toBe(200);
    await reaches(order.id, 'completed');
    expect((await ledgerOf(order.processInstanceId)).filter((operation) => operation === 'provisioning.activate')).toHaveLength(1);
  });

  it('modifies a subscription to another plan: the old one ends and the new one takes over its number and billing account from the change', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const tariffA = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM tariffs WHERE product_id = 'TEST-MOBILE-A'`);
    const subscriptionId = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`
      INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, service_number, status, activated_at)
      VALUES (${account.accountId}, ${account.orgUnitId}, 'TEST-MOBILE-A', ${tariffA}, ${account.billingAccountId}, ${`1380013${String(Date.now() % 10_000).padStart(4, '0')}`}, 'active', '2025-01-01T00:00:00Z')
      RETURNING id`);
    const order = await capture({
      externalId: `CRM-MOD-${subscriptionId}`,
      relatedParty: [{ id: account.accountId, role: 'customer' }],
      productOrderItem: [{ id: 'line-1', action: 'modify', productOffering: { id: 'TEST-MOBILE-B' }, product: { id: subscriptionId } }],
    });
    expect(order).toMatchObject({ category: 'change' });
    await reaches(order.id, 'pending');
    await signContract(order);
    await reaches(order.id, 'completed');
    const rows = await database.pool.any(sql.type(z.object({ id: z.string(), product_id: z.string(), status: z.string(), service_number: z.string(), billing_account_id: z.string(), activated_at: z.string().nullable(), terminated_at: z.string().nullable() }))`
      SELECT id, product_id, status, service_number, billing_account_id, activated_at, terminated_at FROM subscriptions WHERE account_id = ${account.accountId} AND product_id LIKE 'TEST-MOBILE-%' ORDER BY id`);
    expect(rows).toHaveLength(2);
    const [old, replacement] = rows;
    expect(old).toMatchObject({ id: subscriptionId, status: 'terminated' });
    expect(replacement).toMatchObject({ product_id: 'TEST-MOBILE-B', status: 'active', service_number: old!.service_number, billing_account_id: account.billingAccountId });
    expect(replacement!.activated_at).toBe(old!.terminated_at);
    // nothing to provision, nothing new to bill: no outside system was called
    expect(await ledgerOf(order.processInstanceId)).toEqual(['notify.sendSms', 'notify.sendSms']);
  });
  it('refuses bad input at every door with a clear 4xx naming the field, and changes nothing', async () => {
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const suspended = await createOrderAccount(database.pool, staff.manager.id, { status: 'suspended' });
    const counts = () =>
      database.pool.one(sql.type(z.object({ orders: z.coerce.number(), items: z.coerce.number(), events: z.coerce.number(), audit: z.coerce.number() }))`
        SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_items) AS items, (SELECT count(*) FROM order_events) AS events,
               (SELECT count(*) FROM audit_log WHERE entity_type = 'order') AS audit`);
    const known = await capture(leasedLineOrder(account.accountId, { externalId: 'CRM-DOORS-1' }));
    await reaches(known.id, 'pending');
    const before = await counts();
    const ledgerBefore = (await stack.control.ledger()).count;
    const good = leasedLineOrder(account.accountId);
    const item = good.productOrderItem[0]!;
    const withItem = (changes: Record<string, unknown>) => ({ ...good, productOrderItem: [{ ...item, ...changes }] });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const cases: [body: unknown, status: number, field: string][] = [
      [{}, 400, 'body.relatedParty'],
      [{ ...good, productOrderItem: [] }, 400, 'body.productOrderItem'],
      [{ ...good, surprise: true }, 400, 'body'],
      [{ ...good, relatedParty: [{ id: account.accountId, role: 'supplier' }] }, 400, 'body.relatedParty.0.role'],
      [{ ...good, relatedParty: [] }, 400, 'body.relatedParty'],
      [withItem({ action: 'explode' }), 400, 'body.productOrderItem.0.action'],
      [withItem({ quantity: 0 }), 400, 'body.productOrderItem.0.quantity'],
      [withItem({ quantity: -3 }), 400, 'body.productOrderItem.0.quantity'],
      [withItem({ quantity: 1.5 }), 400, 'body.productOrderItem.0.quantity'],
      [withItem({ productOffering: {} }), 400, 'body.productOrderItem.0.productOffering.id'],
      [withItem({ productOffering: { id: 'NO-SUCH-PRODUCT' } }), 422, 'body.productOrderItem.0.productOffering.id'],
      [withItem({ productOffering: { id: 'TEST-RETIRED' } }), 422, 'body.productOrderItem.0.productOffering.id'],
      [withItem({ product: { productCharacteristic: [{ name: 'bandwidthMbps', value: 0 }, { name: 'siteAddress', value: '天河' }] } }), 400, 'body.productOrderItem.0.product.productCharacteristic.0.value'],
      [withItem({ product: { productCharacteristic: [{ name: 'colour', value: 'red' }] } }), 400, 'body.productOrderItem.0.product.productCharacteristic.0.name'],
      [withItem({ product: {} }), 422, 'body.productOrderItem.0.product.productCharacteristic'],
      [withItem({ product: { id: account.subscriptionId } }), 400, 'body.productOrderItem.0.product.id'],
      [withItem({ action: 'modify', product: undefined }), 400, 'body.productOrderItem.0.product.id'],
      [withItem({ action: 'modify', product: { id: 'SB99999999' } }), 422, 'body.productOrderItem.0.product.id'],
      [{ ...good, productOrderItem: [item, item] }, 400, 'body.productOrderItem.1.id'],
      [{ ...good, requestedStartDate: yesterday }, 400, 'body.requestedStartDate'],
      [{ ...good, requestedStartDate: 'next tuesday' }, 400, 'body.requestedStartDate'],
      [{ ...good, relatedParty: [{ id: 'KA99999999', role: 'customer' }] }, 404, 'body.relatedParty.0.id'],
      [{ ...good, relatedParty: [{ id: suspended.accountId, role: 'customer' }] }, 422, 'body.relatedParty.0.id'],
    ];
    for (const [body, status, field] of cases) {
      const answer = await call(sessions.manager!, 'POST', '/api/productOrder', body);
      expect({ field, status: answer.status }).toEqual({ field, status });
      expect((answer.body.error.details ?? []).map((detail: { field: string }) => detail.field)).toContain(field);
    }
    // an account outside the caller's scope is not there at all
    const foreign = await call(sessions.szManager!, 'POST', '/api/productOrder', good);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.details).toEqual([{ field: 'body.relatedParty.0.id', message: 'unknown key account' }]);
    // a role that takes no orders, a body that is not JSON
    expect((await call(sessions.dispatcher!, 'POST', '/api/productOrder', good)).status).toBe(403);
    const garbled = await fetch(`${stack.api.url}/api/productOrder`, { method: 'POST', headers: sessions.manager!.headers, body: '{"relatedParty": [' });
    expect(garbled.status).toBe(400);
    // the same externalId again is the order it made, not a second one
    const again = await call(sessions.manager!, 'POST', '/api/productOrder', leasedLineOrder(account.accountId, { externalId: 'CRM-DOORS-1' }));
    expect(again).toMatchObject({ status: 200, body: { id: known.id } });

    // cancellation: only `cancelled` may be asked for, of an order in scope
    const patches: [path: string, body: unknown, status: number, field?: string][] = [
      [`/api/productOrder/${known.id}`, { state: 'completed' }, 400, 'body.state'],
      [`/api/productOrder/${known.id}`, { state: 'cancelled', by: 'me' }, 400, 'body'],
      [`/api/productOrder/${known.id}`, { state: 'cancelled', cancellationReason: '' }, 400, 'body.cancellationReason'],
      ['/api/productOrder/OR99999999', { state: 'cancelled' }, 404],
      ['/api/productOrder/bad id!', { state: 'cancelled' }, 400, 'params.id'],
    ];
    for (const [path, body, status, field] of patches) {
      const answer = await call(sessions.manager!, 'PATCH', path, body);
      expect({ path, status: answer.status }).toEqual({ path, status });
      if (field) expect((answer.body.error.details ?? []).map((detail: { field: string }) => detail.field)).toContain(field);
    }
    expect((await call(sessions.szManager!, 'PATCH', `/api/productOrder/${known.id}`, { state: 'cancelled' })).status).toBe(404);
    expect((await call(sessions.manager!, 'POST', '/api/cancelProductOrder', { productOrder: {} })).status).toBe(400);
    expect((await call(sessions.szManager!, 'POST', '/api/cancelProductOrder', { productOrder: { id: known.id } })).status).toBe(404);

    // the network's callbacks: a bad signature, a replay, an order nobody waits for
    const secret = callbackSecretFor(stack.config, 'provisioning')!;
    const callback = (body: string, headers: Record<string, string>) => fetch(`${stack.api.url}/api/callbacks/provisioning`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const unknownOrder = JSON.stringify({ eventId: 'evt-orders-1', requestId: 'ACT99999999', idempotencyKey: 'order-fulfilment:OR99999999/activate/1', serviceId: 'SVC99999999', status: 'completed', sequence: 2, occurredAt: new Date().toISOString() });
    expect((await callback(unknownOrder, signCallback('not-the-secret-at-all-0000', unknownOrder, new Date()))).status).toBe(401);
    const signed = signCallback(secret, unknownOrder, new Date());
    const first = await callback(unknownOrder, signed);
    expect(first.status).toBe(404);
    expect(((await first.json()) as any).error.details).toMatchObject({ reason: 'UNKNOWN_CORRELATION' });
    const replayed = await callback(unknownOrder, signed);
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as any).error.details).toMatchObject({ reason: 'SIGNATURE_REPLAYED' });
    const malformed = JSON.stringify({ eventId: 'evt-orders-2', idempotencyKey: `${known.processInstanceId}/activate/1`, status: 'done' });
    expect((await callback(malformed, signCallback(secret, malformed, new Date()))).status).toBe(400);

    expect(await counts()).toEqual(before);
    expect((await stack.control.ledger()).count).toBe(ledgerBefore);
    expect(await stateOf(known.id)).toBe('pending');
  });
});
