import { sql } from 'slonik';
import { z } from 'zod';
import { refreshRollups } from '../../../db/analytics';
import { createTestStaff, login, seedOrgTree, type Session, testOrg } from '../../support/auth';
import { seedOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan } from '../billing/operator-fixture';

const nothing = z.object({});

/**
 * The customer value score of one account, worked by hand for March 2025 (weights as migrated,
 * except revenue's full marks, which the admin moves to 2 000 yuan first):
 *
 *   bills     2024-01..03: 100.00 net each (the 同比 base of growth); 2024-04..12: charges 120.00,
 *             discount −12.00; 2025-01..03: charges 140.00, discount −14.00; due the 20th of the next
 *             month; of the 11 due by 31 March 2025, 8 settled on their due date, 2 late, 1 open
 *   revenue   9 × 108.00 + 3 × 126.00 = 1 350 yuan            1 350 / 2 000       = 0.675   × 30 = 20.25
 *   margin    (9 × 12 + 3 × 14) / (9 × 120 + 3 × 140) = 0.1   1 − 0.1 / 0.3      = 0.6667  × 20 = 13.334
 *   growth    378.00 / 300.00 − 1 = 0.26                       0.5 + 0.26 / 1.0   = 0.76    × 15 = 11.4
 *   payment   8 / 11                                           0.7273                       × 15 = 10.9095
 *   tenure    1 March 2022 to 1 April 2025: 1 127 days / 365.25 = 3.0856 years / 5 = 0.6171 × 10 = 6.171
 *   breadth   mobile and internet: 2 / 4                       0.5                          × 10 = 5
 *   score     (20.25 + 13.334 + 11.4 + 10.9095 + 6.171 + 5) × 100 / 100 = 67.06 → silver (hand-set: gold)
 */
describe('the customer value score', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let admin: Session;
  let supervisor: Session;
  let otherCity: Session;
  let accountId: string;

  const call = async (session: Session | null, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${url}`, { method, headers: session?.headers ?? { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const as = async (roles: Parameters<typeof createTestStaff>[1]['roles'], orgUnitId: string) => {
    const staff = await createTestStaff(database.pool, { roles, orgUnitId });
    return login(stack.api.url, staff.username, staff.password);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    const seeded = await seedOperator(database.pool, { accounts: 1, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'V', activatedAt: '2022-03-01T00:00:00+08:00' });
    accountId = seeded.accountIds[0]!;
    const billingAccountId = seeded.billingAccountIds[0]!;
    await database.pool.query(sql.type(nothing)`INSERT INTO products (id, name, category) VALUES ('INTERNET-V', 'Dedicated internet', 'internet')`);
    await database.pool.query(sql.type(nothing)`
      INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, service_number, status, activated_at)
      VALUES (${accountId}, ${testOrg.tianhe}, 'INTERNET-V', ${seeded.tariffId}, ${billingAccountId}, 'CIRCUIT-1', 'active', '2023-01-01T00:00:00+08:00')`);

    const months = [
      ...['2024-01', '2024-02', '2024-03'].map((period) => ({ period, charges: 10_000, discount: 0 })),
      ...['2024-04', '2024-05', '2024-06', '2024-07', '2024-08', '2024-09', '2024-10', '2024-11', '2024-12'].map((period) => ({ period, charges: 12_000, discount: -1_200 })),
      ...['2025-01', '2025-02', '2025-03'].map((period) => ({ period, charges: 14_000, discount: -1_400 })),
    ];
    // Of the bills due by 31 March 2025 (2024-04..2025-02), these were paid late, and this one not at all.
    const late = new Set(['2024-06', '2024-11']);
    const open = '2024-09';
    for (const { period, charges, discount } of months) {
      const net = charges + discount;
      const due = `${period === '2024-12' ? '2025-01' : period.slice(0, 5) + String(Number(period.slice(5)) + 1).padStart(2, '0')}-20`;
      const id = await database.pool.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
        INSERT INTO bills (billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits, status,
                           charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor)
        VALUES (${billingAccountId}, ${accountId}, ${testOrg.tianhe}, ${period}, to_date(${period}, 'YYYY-MM'), (to_date(${period}, 'YYYY-MM') + interval '1 month')::date,
                'Asia/Shanghai', 'CNY', 2, 'new', ${charges}, ${discount}, 0, 0, ${net}, 0, ${net})
        RETURNING id`);
      await database.pool.query(sql.type(nothing)`
        INSERT INTO bill_lines (bill_id, line_no, kind, key, description, product_id, quantity, unit, amount_minor)
        VALUES (${id}, 1, 'recurring', 'recurring.rental', 'Monthly rental', ${seeded.productId}, 1, 'items', ${charges})`);
      if (discount < 0) {
        await database.pool.query(sql.type(nothing)`
          INSERT INTO bill_lines (bill_id, line_no, kind, key, description, quantity, unit, amount_minor) VALUES (${id}, 2, 'discount', 'discount.ka', 'Key-account discount', 1, 'items', ${discount})`);
      }
      await database.pool.query(sql.type(nothing)`
        UPDATE bills SET status = 'validated', bill_no = ${`V-${period}`}, issued_at = (to_date(${period}, 'YYYY-MM') + interval '1 month')::timestamptz, due_date = ${due} WHERE id = ${id}`);
      if (period !== open && period < '2025-03') {
        // On the due date at 10:00, or three days after it.
        await database.pool.query(sql.type(nothing)`
          UPDATE bills SET status = 'settled', paid_minor = total_minor, settled_at = ${`${due}T10:00:00+08:00`}::timestamptz + ${late.has(period) ? '3 days' : '0 days'}::interval WHERE id = ${id}`);
      }
    }
    await refreshRollups(database.pool, [accountId], months.map((month) => month.period));
    admin = await as(['admin'], testOrg.province);
    supervisor = await as(['supervisor'], testOrg.guangzhou);
    otherCity = await as(['supervisor'], testOrg.shenzhen);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it('refuses bad weights, stale versions and weights that add up to nothing, changing nothing', async () => {
    const read = await call(supervisor, 'GET', '/api/reports/value-weights');
    expect(read.body.items.map((item: { factor: string; weight: number }) => [item.factor, item.weight])).toEqual([
      ['breadth', 10], ['growth', 15], ['margin', 20], ['payment', 15], ['revenue', 30], ['tenure', 10],
    ]);
    expect((await call(supervisor, 'PUT', '/api/reports/value-weights', { weights: [{ factor: 'revenue', weight: 1, version: 1 }] })).status).toBe(403);
    const bad = await call(admin, 'PUT', '/api/reports/value-weights', { weights: [{ factor: 'luck', weight: -1, version: 1 }, { factor: 'revenue', weight: 1, fullAt: 0, version: 1 }] });
    expect(bad.status).toBe(400);
    expect((await call(admin, 'PUT', '/api/reports/value-weights', { weights: [{ factor: 'revenue', weight: 1, version: 1 }, { factor: 'revenue', weight: 2, version: 1 }] })).status).toBe(400);
    expect((await call(admin, 'PUT', '/api/reports/value-weights', { weights: [{ factor: 'revenue', weight: 1, version: 7 }] }))).toMatchObject({ status: 409, body: { error: { details: { factor: 'revenue' } } } });
    const zero = await call(admin, 'PUT', '/api/reports/value-weights', { weights: ['revenue', 'margin', 'growth', 'payment', 'tenure', 'breadth'].map((factor) => ({ factor, weight: 0, version: 1 })) });
    expect(zero).toMatchObject({ status: 422, body: { error: { details: { reason: 'NO_WEIGHT' } } } });
    expect((await call(supervisor, 'GET', '/api/reports/value-weights')).body).toEqual(read.body);
    expect((await call(admin, 'POST', '/api/reports/value-scores', { month: '2025-3' })).status).toBe(400);
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM customer_value_scores`)).toBe(0);
  });

  it('matches the hand-worked account, factor by factor', async () => {
    const changed = await call(admin, 'PUT', '/api/reports/value-weights', { weights: [{ factor: 'revenue', weight: 30, fullAt: 2000, version: 1 }] });
    expect(changed.status).toBe(200);
    expect(changed.body.items.find((item: { factor: string }) => item.factor === 'revenue')).toMatchObject({ fullAt: 2000, version: 2 });
    expect((await call(admin, 'POST', '/api/reports/value-scores', { month: '2025-03' })).body).toEqual({ month: '2025-03', scored: 1 });

    const value = await call(supervisor, 'GET', `/api/accounts/${accountId}/value`);
    expect(value.status).toBe(200);
    expect(value.body).toMatchObject({ accountId, month: '2025-03', score: 67.06, tier: 'gold', suggestedTier: 'silver' });
    expect(value.body.factors).toEqual({
      revenue: { value: 1350, score: 0.675, weight: 30, points: 20.25 },
      margin: { value: 0.1, score: 0.6667, weight: 20, points: 13.33 },
      growth: { value: 0.26, score: 0.76, weight: 15, points: 11.4 },
      payment: { value: 0.7273, score: 0.7273, weight: 15, points: 10.91 },
      tenure: { value: 3.0856, score: 0.6171, weight: 10, points: 6.17 },
      breadth: { value: 2, score: 0.5, weight: 10, points: 5 },
    });
    // Another city's supervisor does not see it; a month never scored is not found.
    expect((await call(otherCity, 'GET', `/api/accounts/${accountId}/value`)).status).toBe(404);
    expect((await call(supervisor, 'GET', `/api/accounts/${accountId}/value?month=2024-03`)).status).toBe(404);
  });
});
