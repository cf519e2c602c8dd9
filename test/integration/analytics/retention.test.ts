import { sql } from 'slonik';
import { z } from 'zod';
import { deployProcessFiles } from '../../../api/engine/definitions';
import { createTestStaff, login, seedOrgTree, type Session, type TestStaff, testOrg } from '../../support/auth';
import { eventually, seedOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan } from '../billing/operator-fixture';
import { recordReplayHistory } from '../../support/replay-histories';

const nothing = z.object({});

/**
 * Work from numbers: the accounts whose churn risk passed the threshold get one retention process
 * each per period — asking again opens none — and the process takes the customer manager's reason
 * and counter-offer, a supervisor's approval of an offer above the limit, and the outcome, which
 * it feeds back to the case.
 */
describe('the retention process', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let supervisor: Session & { staff: TestStaff };
  let manager: Session & { staff: TestStaff };
  let otherCity: Session;
  let accounts: string[];

  const call = async (session: Session, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${url}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const as = async (roles: TestStaff['roles'], orgUnitId: string) => {
    const staff = await createTestStaff(database.pool, { roles, orgUnitId });
    return { ...(await login(stack.api.url, staff.username, staff.password)), staff };
  };
  const openTask = (workflowId: string, nodeId: string) =>
    eventually(
      () => database.pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM human_tasks WHERE workflow_id = ${workflowId} AND node_id = ${nodeId} AND status = 'open'`),
      60_000,
      `${workflowId} to wait at ${nodeId}`,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    await deployProcessFiles(database.pool);
    accounts = (await seedOperator(database.pool, { accounts: 3, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'R' })).accountIds;
    supervisor = await as(['supervisor'], testOrg.guangzhou);
    manager = await as(['customer_manager'], testOrg.tianhe);
    otherCity = await as(['supervisor'], testOrg.shenzhen);
    await database.pool.query(sql.type(nothing)`UPDATE key_accounts SET customer_manager_id = ${manager.staff.id} WHERE id = ANY(${sql.array(accounts, 'text')})`);
    const modelId = await database.pool.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
      INSERT INTO churn_models (observed_month, horizon_months, model, metrics) VALUES ('2026-08-01', 3, '{}', '{}') RETURNING id`);
    for (const [accountId, probability] of [[accounts[0]!, 0.82], [accounts[1]!, 0.31], [accounts[2]!, 0.6]] as const) {
      await database.pool.query(sql.type(nothing)`
        INSERT INTO churn_scores (month, account_id, org_path, model_id, probability, factors)
        VALUES ('2026-08-01', ${accountId}, '/GD/GD-GZ/GD-GZ-TH/', ${modelId}, ${probability}, ${sql.jsonb([{ feature: 'revenueTrend', value: -0.3, contribution: 1.2 }])})`);
    }
  });

  afterAll(async () => {
    for (const accountId of accounts ?? []) await stack?.api.temporal.workflow.getHandle(`retention:${accountId}-2026-08`).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  it('refuses callers without the role and bad input, opening nothing', async () => {
    expect((await call(manager, 'POST', '/api/reports/retention-runs', { period: '2026-08', threshold: 0.6 })).status).toBe(403);
    const bad = await call(supervisor, 'POST', '/api/reports/retention-runs', { period: '2026-8', threshold: 0, offerLimitMinor: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['body.offerLimitMinor', 'body.period', 'body.threshold']);
    // Another city's supervisor has none of these accounts to work.
    expect((await call(otherCity, 'POST', '/api/reports/retention-runs', { period: '2026-08', threshold: 0.6 })).body).toEqual({ period: '2026-08', cases: 0, opened: [], alreadyOpen: 0 });
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM retention_cases`)).toBe(0);
  });

  it('opens exactly one process per high-risk account and period', async () => {
    const first = await call(supervisor, 'POST', '/api/reports/retention-runs', { period: '2026-08', threshold: 0.6 });
    expect(first).toEqual({ status: 200, body: { period: '2026-08', cases: 2, opened: [`retention:${accounts[0]}-2026-08`, `retention:${accounts[2]}-2026-08`], alreadyOpen: 0 } });
    const again = await call(supervisor, 'POST', '/api/reports/retention-runs', { period: '2026-08', threshold: 0.5 });
    expect(again.body).toEqual({ period: '2026-08', cases: 2, opened: [], alreadyOpen: 2 });
    expect(await database.pool.anyFirst(sql.type(z.object({ account_id: z.string() }))`SELECT account_id FROM retention_cases ORDER BY account_id`)).toEqual([accounts[0], accounts[2]]);
    // The customer manager has the contact task in their inbox.
    const mine = await eventually(async () => {
      const inbox = await call(manager, 'GET', '/api/tasks/mine');
      return inbox.body.items.length >= 2 ? inbox : null;
    }, 60_000, 'the contact tasks in the manager\'s inbox');
    expect(mine.body.items.map((task: { workflowId: string; nodeId: string }) => [task.workflowId, task.nodeId]).sort()).toEqual([
      [`retention:${accounts[0]}-2026-08`, 'contact'],
      [`retention:${accounts[2]}-2026-08`, 'contact'],
    ]);
  });

  it('sends an offer above the limit to a supervisor and feeds the outcome back to the case', async () => {
    const workflowId = `retention:${accounts[0]}-2026-08`;
    const contact = await openTask(workflowId, 'contact');
    // A reason the form does not know is refused.
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(contact)}/complete`, { variables: { reason: 'weather', counterOfferMinor: 1 } })).status).toBe(422);
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(contact)}/complete`, { variables: { reason: 'competitor', counterOfferMinor: 80_000, note: 'offered 15 % by a rival' } })).status).toBe(200);
    const approve = await openTask(workflowId, 'approve');
    expect((await call(supervisor, 'POST', `/api/tasks/${encodeURIComponent(approve)}/complete`, { variables: { offerApproved: true } })).status).toBe(200);
    const outcome = await openTask(workflowId, 'outcome');
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(outcome)}/complete`, { variables: { outcome: 'retained', outcomeNote: 'signed for two more years' } })).status).toBe(200);
    const closed = await eventually(
      () => database.pool.maybeOne(sql.type(z.object({ status: z.string(), reason: z.string().nullable(), counter_offer_minor: z.coerce.number().nullable(), offer_approved: z.boolean().nullable(), approved_by: z.string().nullable(), note: z.string().nullable() }))`
        SELECT status, reason, counter_offer_minor, offer_approved, approved_by, note FROM retention_cases WHERE workflow_id = ${workflowId} AND status <> 'open'`),
      60_000,
      'the case to close',
    );
    expect(closed).toEqual({ status: 'retained', reason: 'competitor', counter_offer_minor: 80_000, offer_approved: true, approved_by: supervisor.staff.username, note: 'offered 15 % by a rival\nsigned for two more years' });
    const handle = stack.api.temporal.workflow.getHandle(workflowId);
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000, 'the instance to complete');
    await recordReplayHistory('retention', handle);
  });

  it('needs no supervisor for an offer within the limit', async () => {
    const workflowId = `retention:${accounts[2]}-2026-08`;
    const contact = await openTask(workflowId, 'contact');
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(contact)}/complete`, { variables: { reason: 'price', counterOfferMinor: 20_000 } })).status).toBe(200);
    const outcome = await openTask(workflowId, 'outcome');
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM human_tasks WHERE workflow_id = ${workflowId} AND node_id = 'approve'`)).toBe(0);
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(outcome)}/complete`, { variables: { outcome: 'lost' } })).status).toBe(200);
    const closed = await eventually(
      () => database.pool.maybeOne(sql.type(z.object({ status: z.string(), offer_approved: z.boolean().nullable(), approved_by: z.string().nullable() }))`
        SELECT status, offer_approved, approved_by FROM retention_cases WHERE workflow_id = ${workflowId} AND status <> 'open'`),
      60_000,
      'the case to close',
    );
    expect(closed).toEqual({ status: 'lost', offer_approved: null, approved_by: null });
  });
});
