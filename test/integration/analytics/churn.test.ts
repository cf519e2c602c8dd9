import { sql } from 'slonik';
import { z } from 'zod';
import { fitChurnModel } from '../../../activities/analytics/churn-model';
import { churnRows, saveChurnModel, saveChurnScores, vectorOf } from '../../../db/churn';
import { seedChurnHistory } from '../../../db/seed/churn';
import { createTestStaff, login, seedOrgTree, type Session, testOrg } from '../../support/auth';
import { seedOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan } from '../billing/operator-fixture';

const nothing = z.object({});

/**
 * Churn features as db/churn.ts reads them, worked by hand for one account at August 2026, and the
 * risk the API shows from a model fitted on the synthetic history — only within the caller's scope.
 */
describe('churn risk', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let countyManager: Session;
  let cityManager: Session;
  let tianhe: string[];
  let nanshan: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    tianhe = (await seedOperator(database.pool, { accounts: 60, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'H' })).accountIds;
    nanshan = (await seedOperator(database.pool, { accounts: 60, subscriptionsPerAccount: 1, orgUnitId: testOrg.nanshan, plan: cyclePlan, idPrefix: 'N' })).accountIds;
    const as = async (orgUnitId: string) => {
      const staff = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId });
      return login(stack.api.url, staff.username, staff.password);
    };
    countyManager = await as(testOrg.tianhe);
    cityManager = await as(testOrg.shenzhen);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it('reads the features of a month from the rollups, contracts and contacts, and labels a departure within the horizon', async () => {
    const accountId = tianhe[0]!;
    const months = ['2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08'];
    await database.pool.query(sql.type(nothing)`SELECT analytics_ensure_partitions(${sql.array(months.map((month) => `${month}-01`), 'date')})`);
    const revenue = [1000, 1000, 1000, 900, 800, 700];
    const voiceSeconds = [6000, 6000, 6000, 3600, 3600, 3600];
    const complaints = [0, 0, 1, 0, 0, 2];
    for (const [index, month] of months.entries()) {
      await database.pool.query(sql.type(nothing)`
        INSERT INTO analytics_account_months (month, account_id, org_unit_id, org_path, currency, bills, charges_minor, discounts_minor, revenue_minor, tax_minor, billed_minor,
               paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active, subscriptions_new, subscriptions_ended, orders_created,
               orders_completed, complaints_opened, faults_opened, tickets_sla_met, tickets_sla_breached, tickets_reopened)
        VALUES (${`${month}-01`}, ${accountId}, ${testOrg.tianhe}, '/GD/GD-GZ/GD-GZ-TH/', 'CNY', 1, ${revenue[index]!}, 0, ${revenue[index]!}, 0, 1000,
                ${month === '2026-08' ? 500 : 1000}, ${month === '2026-08' ? 500 : 0}, ${voiceSeconds[index]!}, 0, 0, 1, 0, 0, 0, 0, ${complaints[index]!}, 0, 0, 0, ${month === '2026-08' ? 1 : 0})`);
    }
    await database.pool.query(sql.type(nothing)`
      INSERT INTO contracts (account_id, org_unit_id, contract_no, title, status, starts_on, ends_on) VALUES (${accountId}, ${testOrg.tianhe}, 'CN-CHURN-1', 'Frame agreement', 'active', '2024-11-16', '2026-11-15')`);
    await database.pool.query(sql.type(nothing)`
      INSERT INTO contacts (account_id, org_unit_id, name, created_at, updated_at) VALUES
        (${accountId}, ${testOrg.tianhe}, 'New CIO', '2026-07-01T10:00:00+08:00', '2026-07-01T10:00:00+08:00'),
        (${accountId}, ${testOrg.tianhe}, 'New buyer', '2026-07-02T10:00:00+08:00', '2026-07-02T10:00:00+08:00'),
        (${accountId}, ${testOrg.tianhe}, 'Old friend', '2025-01-02T10:00:00+08:00', '2025-01-02T10:00:00+08:00')`);
    await database.pool.query(sql.type(nothing)`INSERT INTO account_departures (account_id, left_on, source) VALUES (${accountId}, '2026-10-10', 'manual')`);

    const [row] = await churnRows(database.pool, '2026-08', 3, [accountId]);
    // usage 3 × 60 min against 3 × 100: −0.4; revenue 2 400 against 3 000: −0.2; three complaints,
    // one re-open; 500 owed on an average bill of 1 000; 1 September to 15 November: 2 months; two
    // contacts new in the six months; left on 10 October, within three months.
    expect(row).toEqual({
      account_id: accountId,
      org_path: '/GD/GD-GZ/GD-GZ-TH/',
      usage_trend: -0.4,
      revenue_trend: -0.2,
      complaints: 3,
      reopens: 1,
      arrears_ratio: 0.5,
      contract_months_left: 2,
      contact_changes: 2,
      left_within: true,
    });
    // A horizon of one month does not reach 10 October; gone by the month's end, it is not scored at all.
    expect((await churnRows(database.pool, '2026-08', 1, [accountId]))[0]!.left_within).toBe(false);
    expect(await churnRows(database.pool, '2026-11', 3, [accountId])).toEqual([]);
  });

  it("shows an account's risk and top factors from a model fitted on the synthetic history, in the caller's scope only", async () => {
    // The history replaces the first test's rows; its departures are the only ones.
    await database.pool.query(sql.type(nothing)`DELETE FROM account_departures`);
    const history = await seedChurnHistory(database.pool, { seed: 11, observedMonth: '2026-08', leaverShare: 0.3 });
    expect(history.accounts).toBe(120);
    expect(history.leavers).toBeGreaterThan(20);
    expect(history.leavers).toBe(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM account_departures WHERE source = 'seed'`));
    const rows = await churnRows(database.pool, '2026-08', 3);
    expect(rows.filter((row) => row.left_within)).toHaveLength(history.leavers);
    const model = fitChurnModel(rows.map(vectorOf), rows.map((row) => (row.left_within ? 1 : 0)));
    const modelId = await saveChurnModel(database.pool, '2026-08', 3, model, { auc: 0 });
    expect(await saveChurnScores(database.pool, '2026-08', modelId, model, rows)).toBe(rows.length);

    const own = tianhe.find((id) => rows.some((row) => row.account_id === id))!;
    const response = await fetch(`${stack.api.url}/api/accounts/${own}/churn`, { headers: countyManager.headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { month: string; probability: number; factors: { feature: string; contribution: number }[] };
    expect(body.month).toBe('2026-08');
    expect(body.probability).toBeGreaterThanOrEqual(0);
    expect(body.probability).toBeLessThanOrEqual(1);
    expect(body.factors).toHaveLength(7);
    expect(body.factors.map((factor) => factor.contribution)).toEqual([...body.factors.map((factor) => factor.contribution)].sort((a, b) => b - a));
    // Another city's manager finds neither this account's risk nor the other county's from here.
    expect((await fetch(`${stack.api.url}/api/accounts/${own}/churn`, { headers: cityManager.headers })).status).toBe(404);
    expect((await fetch(`${stack.api.url}/api/accounts/${nanshan[0]}/churn`, { headers: countyManager.headers })).status).toBe(404);
    expect((await fetch(`${stack.api.url}/api/accounts/not-an-id!/churn`, { headers: countyManager.headers })).status).toBe(400);
  });
});
