import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import type { RatingPlanInput } from '../../../activities/rating';
import { login, loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { eventually, tasksOf } from '../../support/complaint';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { simControlHeaders, startExternalStack, type ExternalStack } from '../../support/external';
import { createOrderAccount, createOrderStaff, deployOrderFulfilment, orderRowOf } from '../../support/orders';
import { cyclePlan } from '../billing/operator-fixture';

const none = z.object({});

/** Two mobile plans that differ in what a call costs: a third on plan B of what it is on plan A. */
const plan = (factor: number): RatingPlanInput => ({
  ...cyclePlan,
  voice: {
    ...cyclePlan.voice!,
    zones: {
      ...cyclePlan.voice!.zones,
      local: { name: 'Local', unitSeconds: 60, price: { flat: (0.15 * factor).toFixed(2) } },
      longDistance: { name: 'Long distance', unitSeconds: 6, price: { flat: (0.012 * factor).toFixed(3) } },
    },
  },
  bundles: [],
});

/**
 * A modify order moves a mobile line from plan A to plan B; the next bill run rates the line's
 * calls before the change at plan A's tariff and after it at plan B's — the rating engine reads
 * the subscriptions the order left behind, nothing else tells it.
 */
describe('an order that changes a tariff, and the bill run after it', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let inbox: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    inbox = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-order-billing-'));
    await seedOrgTree(database.pool);
    stack = await startExternalStack(database, { KEYFLOW_USAGE_INBOX: inbox });
    await deployOrderFulfilment(database.pool);
    await deployBillingProcesses(database.pool, 'test');
    for (const [id, factor] of [['BILL-PLAN-A', 3], ['BILL-PLAN-B', 1]] as const) {
      await database.pool.query(sql.type(none)`INSERT INTO products (id, name, category) VALUES (${id}, ${`Mobile ${id}`}, 'mobile')`);
      await database.pool.query(sql.type(none)`
        INSERT INTO tariffs (id, product_id, version, name, valid_from, currency, monthly_fee_minor, plan)
        VALUES (${`TF-${id}`}, ${id}, 1, ${`${id} v1`}, '2024-01-01T00:00:00Z', 'CNY', 0, ${sql.jsonb(plan(factor) as never)})`);
    }
  }, 120_000);

  afterAll(async () => {
    const running = await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`
      SELECT workflow_id FROM orders WHERE workflow_id IS NOT NULL UNION SELECT DISTINCT workflow_id FROM human_tasks`);
    for (const id of running) await stack.workflows.getHandle(id).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
    if (inbox) await fs.rm(inbox, { recursive: true, force: true });
  });

  it('rates the calls before the change at the old tariff and after it at the new one', async () => {
    const staff = await createOrderStaff(database.pool, String(Date.now() % 10_000));
    const account = await createOrderAccount(database.pool, staff.manager.id);
    const number = '13800138123';
    const line = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`
      INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, service_number, status, activated_at)
      VALUES (${account.accountId}, ${account.orgUnitId}, 'BILL-PLAN-A', 'TF-BILL-PLAN-A', ${account.billingAccountId}, ${number}, 'active', '2025-01-01T00:00:00Z')
      RETURNING id`);
    const manager = await login(stack.api.url, staff.manager.username, staff.manager.password);
    const post = async (url: string, body: unknown, session = manager) => {
      const response = await fetch(`${stack.api.url}${url}`, { method: 'POST', headers: session.headers, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as any };
    };

    // when the line moves to plan B
    const captured = await post('/api/productOrder', { relatedParty: [{ id: account.accountId, role: 'customer' }], productOrderItem: [{ id: '1', action: 'modify', productOffering: { id: 'BILL-PLAN-B' }, product: { id: line } }] });
    expect(captured.status).toBe(201);
    const order = captured.body as { id: string; processInstanceId: string };
    const signing = await eventually(() => tasksOf(database.pool, order.processInstanceId), (tasks) => tasks.some((task) => task.node_id === 'sign-contract' && task.status === 'open'), 'the contract task');
    const task = signing.find((row) => row.node_id === 'sign-contract')!;
    let signed = await post(`/api/tasks/${encodeURIComponent(task.id)}/complete`, { variables: { contractNo: `HT-${order.id}`, signedOn: new Date().toISOString().slice(0, 10) } });
    for (let attempt = 0; signed.status === 409 && attempt < 20; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      signed = await post(`/api/tasks/${encodeURIComponent(task.id)}/complete`, { variables: { contractNo: `HT-${order.id}`, signedOn: new Date().toISOString().slice(0, 10) } });
    }
    expect(signed.status).toBe(200);
    await eventually(() => orderRowOf(database.pool, order.id), (row) => row.status === 'completed', 'the order completes');
    const changedAt = await database.pool.oneFirst(sql.type(z.object({ terminated_at: z.string() }))`SELECT terminated_at FROM subscriptions WHERE id = ${line}`);

    // and the network reports a call before the change and one after it
    const changeMs = Date.parse(changedAt);
    const calls = [
      { recordId: 'CALL-BEFORE', startedAt: new Date(changeMs - 30 * 60_000).toISOString() },
      { recordId: 'CALL-AFTER', startedAt: new Date(changeMs + 2_000).toISOString() },
    ].map((call) => ({ source: 'sim-mediation', usageType: 'voice', serviceNumber: `86${number}`, durationSec: 120, destination: '02087654321', ...call }));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, changeMs + 3_000 - Date.now())));
    const fed = await fetch(`${stack.control.url}/sim/usage`, { method: 'POST', headers: { ...simControlHeaders(), 'content-type': 'application/json' }, body: JSON.stringify({ records: calls }) });
    expect(fed.status).toBe(201);

    // then the bill run of the month rates them, each at the tariff its subscription had then
    const clerk = await loginAs(stack.api.url, database.pool, ['billing_clerk'], testOrg.province);
    const period = changedAt.slice(0, 7);
    const run = await post('/api/billing/runs', { period, accountsPerBatch: 10 }, clerk);
    expect(run.status).toBe(202);
    expect(run.body.processInstanceId).toMatch(/^billing-cycle:/);
    await eventually(
      () => database.pool.maybeOneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM bill_runs ORDER BY id DESC LIMIT 1`),
      (status) => status === 'awaiting_approval' || status === 'completed',
      'the bill run rates',
      90_000,
    );
    const rated = await database.pool.any(sql.type(z.object({ record_id: z.string(), subscription_id: z.string(), tariff_id: z.string(), charge_sub: z.coerce.number() }))`
      SELECT u.record_id, u.subscription_id, r.tariff_id, r.charge_sub FROM rated_usage r JOIN usage_records u ON u.id = r.usage_record_id ORDER BY u.record_id DESC`);
    const replacement = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM subscriptions WHERE order_id = ${order.id}`);
    expect(rated.map(({ record_id, subscription_id, tariff_id }) => ({ record_id, subscription_id, tariff_id }))).toEqual([
      { record_id: 'CALL-BEFORE', subscription_id: line, tariff_id: 'TF-BILL-PLAN-A' },
      { record_id: 'CALL-AFTER', subscription_id: replacement, tariff_id: 'TF-BILL-PLAN-B' },
    ]);
    // the same two minutes cost a third on the new plan
    expect(rated[0]!.charge_sub).toBe(3 * rated[1]!.charge_sub);
  }, 150_000);
});
