import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { DateTime } from 'luxon';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { simulatorUrl } from '../../../activities/external';
import { accountMonths, refreshRollups, refreshTicketRollups, rollupPartitions } from '../../../db/analytics';
import { createTestStaff, login, type Session, type TestStaff, testOrg } from '../../support/auth';
import { completeOpenTask, eventually, seedOperator } from '../../support/billing';
import { simControlHeaders } from '../../support/external';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan, dropUsageFiles, seedCycleOperator, type CycleOperator } from '../billing/operator-fixture';

const nothing = z.object({});
const runInstance = 'billing-cycle:2025-03-c1-5';

/**
 * An issued bill of one line (a month's rental of the product) for a month before the tested one:
 * the history a report compares March 2025 with. `settled`: paid in full.
 */
async function historicBill(pool: DatabasePool, billingAccountId: string, period: string, amountMinor: number, dueDate: string, settled = false): Promise<void> {
  const id = await pool.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
    INSERT INTO bills (billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits, status,
                       charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor)
    SELECT b.id, b.account_id, b.org_unit_id, ${period}, to_date(${period}, 'YYYY-MM'), (to_date(${period}, 'YYYY-MM') + interval '1 month')::date, 'Asia/Shanghai', 'CNY', 2, 'new',
           ${amountMinor}, 0, 0, 0, ${amountMinor}, 0, ${amountMinor}
      FROM billing_accounts b WHERE b.id = ${billingAccountId}
    RETURNING id`);
  await pool.query(sql.type(nothing)`
    INSERT INTO bill_lines (bill_id, line_no, kind, key, description, product_id, quantity, unit, amount_minor)
    VALUES (${id}, 1, 'recurring', 'recurring.rental', 'Monthly rental', 'MOBILE-KA', 1, 'items', ${amountMinor})`);
  await pool.query(sql.type(nothing)`
    UPDATE bills SET status = 'validated', bill_no = ${`HIST-${period}-${billingAccountId}`}, issued_at = (to_date(${period}, 'YYYY-MM') + interval '1 month')::timestamptz, due_date = ${dueDate}
     WHERE id = ${id}`);
  if (settled) await pool.query(sql.type(nothing)`UPDATE bills SET status = 'settled', paid_minor = total_minor, settled_at = issued_at WHERE id = ${id}`);
}

/** Parses the report CSV (RFC 4180 as toCsv writes it) into records keyed by the header. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  const body = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i]!;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && body[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  const [header, ...data] = rows;
  return data.map((values) => Object.fromEntries(header!.map((key, index) => [key, values[index]!])));
}

/** The JSON rows as the CSV writes them: numbers as their decimal text, null as an empty field. */
const asText = (rows: Record<string, unknown>[]) => rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === null ? '' : String(value)])));

/**
 * The reports as managers read them: a bill run for March 2025 refreshes the rollups by itself, and
 * the revenue report then shows March against February (环比) and March 2024 (同比) as worked out
 * by hand below; a county's customer manager sees only the county; the CSV and XLSX downloads
 * hold what the JSON holds; bad requests are refused and change nothing.
 *
 * Shenzhen (GD-SZ) holds accounts 1 and 2 of the billing-cycle fixture; its county Nanshan
 * (GD-SZ-NS) holds accounts 3 and 4. Guangzhou's Tianhe holds one more account (billed on day 15,
 * outside the run). Net revenue in fen, by account:
 *
 *              2024-03   2025-02   2025-03 (the run: the fixture's hand-worked bills, before tax)
 *   account 1   15 000    16 000   17 676   (176.00 rental + 0.50 data + 0.10 SMS + 0.16 voice)
 *   account 2   15 000    20 000   18 525   (total 196.37 less 11.12 VAT)
 *   account 3   30 000    40 000   38 000
 *   account 4        —    10 000   13 103
 *   Tianhe       3 000     5 000    7 000
 */
describe('the reports', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let operator: CycleOperator;
  let tianheAccount: string;
  let clerk: Session & { staff: TestStaff };
  let provinceSupervisor: Session;
  let countyManager: Session & { staff: TestStaff };
  let dispatcher: Session;
  let dir: string;
  const today = DateTime.now().setZone('Asia/Shanghai');

  const call = async (session: Session | null, url: string) => {
    const response = await fetch(`${stack.api.url}${url}`, { headers: session?.headers ?? {} });
    const type = response.headers.get('content-type') ?? '';
    const body = type.includes('json') ? await response.json() : type.includes('spreadsheet') ? Buffer.from(await response.arrayBuffer()) : await response.text();
    return { status: response.status, type, disposition: response.headers.get('content-disposition'), body: body as any };
  };
  const session = async (roles: TestStaff['roles'], orgUnitId: string) => {
    const staff = await createTestStaff(database.pool, { roles, orgUnitId });
    return { ...(await login(stack.api.url, staff.username, staff.password)), staff };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-reports-'));
    stack = await startTestStack(testConfig(database, { KEYFLOW_USAGE_INBOX: path.join(dir, 'inbox') }), database);
    operator = await seedCycleOperator(database.pool);
    const [, , a3, a4] = operator.accountIds as [string, string, string, string];
    // Accounts 3 and 4 belong to Nanshan county, with everything that hangs off them.
    for (const table of ['key_accounts', 'billing_accounts', 'subscriptions', 'contacts'] as const) {
      const column = table === 'key_accounts' ? 'id' : 'account_id';
      await database.pool.query(sql.type(nothing)`
        UPDATE ${sql.identifier([table])} SET org_unit_id = ${testOrg.nanshan} WHERE ${sql.identifier([column])} = ANY(${sql.array([a3, a4], 'text')})`);
    }
    const tianhe = await seedOperator(database.pool, { accounts: 1, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'G', productId: 'MOBILE-KA', tariffId: 'TF-MOBILE-1', cycleDay: 15 });
    tianheAccount = tianhe.accountIds[0]!;
    await dropUsageFiles(path.join(dir, 'inbox'), operator);
    const marker = await fetch(`${simulatorUrl(stack.config)}/sim/usage`, {
      method: 'POST',
      headers: { ...simControlHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ recordId: `marker-${Date.now()}`, source: 'test', serviceNumber: 'none', usageType: 'sms', startedAt: '2025-01-01T00:00:00Z' }] }),
    });
    const { lastCursor } = (await marker.json()) as { lastCursor: string };
    await database.pool.query(sql.type(nothing)`INSERT INTO usage_feed_cursors (feed, cursor) VALUES ('usage', ${lastCursor})`);
    await deployBillingProcesses(database.pool, 'test');

    // The history, as earlier bill runs would have left it (and refreshed it).
    const [b1, b2, b3, b4] = operator.billingAccountIds as [string, string, string, string];
    for (const [account, amount] of [[b1, 15_000], [b2, 15_000], [b3, 30_000]] as const) await historicBill(database.pool, account, '2024-03', amount, '2024-04-20', true);
    for (const [account, amount] of [[b1, 16_000], [b2, 20_000], [b3, 40_000], [b4, 10_000]] as const) await historicBill(database.pool, account, '2025-02', amount, '2025-03-20');
    await historicBill(database.pool, tianhe.billingAccountIds[0]!, '2024-03', 3_000, '2024-04-20', true);
    await historicBill(database.pool, tianhe.billingAccountIds[0]!, '2025-02', 5_000, '2025-03-20', true);
    await historicBill(database.pool, tianhe.billingAccountIds[0]!, '2025-03', 7_000, '2025-04-20', true);
    await refreshRollups(database.pool, [...operator.accountIds, tianheAccount], ['2024-03', '2025-02']);
    await refreshRollups(database.pool, [tianheAccount], ['2025-03']);

    clerk = await session(['billing_clerk'], testOrg.province);
    provinceSupervisor = await session(['supervisor'], testOrg.province);
    countyManager = await session(['customer_manager'], testOrg.nanshan);
    dispatcher = await session(['dispatcher'], testOrg.province);
    await database.pool.query(sql.type(nothing)`UPDATE key_accounts SET customer_manager_id = ${countyManager.staff.id} WHERE id = ANY(${sql.array([a3, a4], 'text')})`);
  });

  afterAll(async () => {
    await stack?.api.temporal.workflow.getHandle(runInstance).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses callers without a session or the role, and bad queries, changing nothing', async () => {
    const before = await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM analytics_account_months`);
    expect((await call(null, '/api/reports/revenue')).status).toBe(401);
    expect((await call(dispatcher, '/api/reports/revenue')).status).toBe(403);
    const bad = await call(provinceSupervisor, '/api/reports/revenue?from=2025-13&measure=profit&by=galaxy&format=pdf&extra=1');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['query', 'query.by', 'query.format', 'query.from', 'query.measure']);
    expect((await call(provinceSupervisor, '/api/reports/revenue?from=2025-03&to=2025-01')).body.error.details).toEqual([{ field: 'query.from', message: 'must not be after `to`' }]);
    expect((await call(provinceSupervisor, '/api/reports/revenue?from=2020-01&to=2025-03')).status).toBe(400);
    expect((await call(provinceSupervisor, '/api/reports/revenue?by=product&measure=billed')).status).toBe(400);
    expect((await call(provinceSupervisor, '/api/reports/arrears?asOf=2025-02-30')).status).toBe(400);
    expect((await call(provinceSupervisor, '/api/reports/revenue?unit=NOWHERE')).status).toBe(404);
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM analytics_account_months`)).toBe(before);
  });

  it('shows the new month once the bill run issued it, with 环比 and 同比 against the hand-worked figures', async () => {
    const march = '/api/reports/revenue?unit=GD-SZ&from=2025-03&to=2025-03';
    // Before the run, March holds nothing for Shenzhen.
    expect((await call(provinceSupervisor, `${march}&by=month`)).body.rows).toEqual([
      { key: 'GD-SZ', name: '深圳市', month: '2025-03', value: 0, previousMonth: 86_000, yearAgo: 60_000, momPercent: -100, yoyPercent: -100 },
    ]);

    // Test files share one Temporal namespace, where a run's instance id is its period, cycle day and
    // attempt: four failed attempts before this one keep it clear of the billing API test's run.
    await database.pool.query(sql.type(nothing)`
      INSERT INTO bill_runs (period, cycle_day, status, requested_by, error) SELECT '2025-03', 1, 'failed', 'test', 'making room' FROM generate_series(1, 4)`);
    const started = await fetch(`${stack.api.url}/api/billing/runs`, { method: 'POST', headers: clerk.headers, body: JSON.stringify({ period: '2025-03', accountsPerBatch: 2, dueDays: 10 }) });
    expect(started.status).toBe(202);
    expect(((await started.json()) as { processInstanceId: string }).processInstanceId).toBe(runInstance);
    await eventually(async () => {
      const status = await database.pool.maybeOneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM bill_runs WHERE period = '2025-03' AND status <> 'failed'`);
      if (status === 'awaiting_approval') {
        await completeOpenTask(stack.api.temporal, database.pool, runInstance, { approved: true }, clerk.staff.username);
        return false;
      }
      return status === 'completed' || status === 'publishing';
    }, 120_000, 'the bill run to issue its bills');
    expect(await rollupPartitions(database.pool)).toEqual(['analytics_account_months_202403', 'analytics_account_months_202502', 'analytics_account_months_202503']);

    // Shenzhen: 17 676 + 18 525 + 38 000 + 13 103 = 87 304 against 86 000 in February (+1.52 %)
    // and 60 000 a year before (+45.51 %).
    const city = await call(provinceSupervisor, `${march}&by=unit`);
    expect(city.status).toBe(200);
    expect(city.body.totals).toEqual([{ key: 'GD-SZ', name: '深圳市', month: '2025-03', value: 87_304, previousMonth: 86_000, yearAgo: 60_000, momPercent: 1.52, yoyPercent: 45.51 }]);
    // Nanshan: 38 000 + 13 103 = 51 103 against 50 000 (+2.21 %) and 30 000 (+70.34 %).
    expect(city.body.rows).toEqual([{ key: 'GD-SZ-NS', name: '南山区', month: '2025-03', value: 51_103, previousMonth: 50_000, yearAgo: 30_000, momPercent: 2.21, yoyPercent: 70.34 }]);
    // The province: both cities; Guangzhou 7 000 against 5 000 (+40 %) and 3 000 (+133.33 %).
    const province = await call(provinceSupervisor, '/api/reports/revenue?from=2025-02&to=2025-03');
    expect(province.body.unit).toEqual({ id: 'GD', name: '广东省', level: 'province' });
    expect(province.body.rows.filter((row: { month: string }) => row.month === '2025-03')).toEqual([
      { key: 'GD-GZ', name: '广州市', month: '2025-03', value: 7_000, previousMonth: 5_000, yearAgo: 3_000, momPercent: 40, yoyPercent: 133.33 },
      { key: 'GD-SZ', name: '深圳市', month: '2025-03', value: 87_304, previousMonth: 86_000, yearAgo: 60_000, momPercent: 1.52, yoyPercent: 45.51 },
    ]);
    expect(province.body.totals.map((row: { month: string; value: number }) => [row.month, row.value])).toEqual([['2025-02', 91_000], ['2025-03', 94_304]]);

    // By product: the rental and usage lines are MOBILE-KA's; the discount, one-off, commitment and
    // credit lines (account 2's −50, account 3's +10 000 + 12 400 − 2 000) are no product's.
    const products = await call(provinceSupervisor, `${march}&by=product`);
    expect(products.body.rows.map((row: { key: string; value: number }) => [row.key, row.value])).toEqual([['-', 20_350], ['MOBILE-KA', 66_954]]);
    // Volume: voice seconds accepted for March (r1 240 + r2 480 + r5 61 + r6 125 + r8 120 + r9 600).
    const voice = await call(provinceSupervisor, `${march}&by=month&measure=voice`);
    expect(voice.body.rows[0]).toMatchObject({ value: 1_626, previousMonth: 0, momPercent: null });
    expect((await accountMonths(database.pool, operator.accountIds[2]!, '2025-03', '2025-03'))[0]).toMatchObject({ revenue_minor: 38_000, bills: 1, subscriptions_active: 2 });
  });

  it("covers only a county customer manager's county", async () => {
    const own = await call(countyManager, '/api/reports/revenue?from=2025-03&to=2025-03&by=account');
    expect(own.body.unit.id).toBe(testOrg.nanshan);
    expect(own.body.rows.map((row: { key: string; value: number }) => [row.key, row.value])).toEqual([[operator.accountIds[2], 38_000], [operator.accountIds[3], 13_103]]);
    expect(own.body.totals[0].value).toBe(51_103);
    // Not the city above, not the other city, not the other city's account rows.
    expect((await call(countyManager, '/api/reports/revenue?unit=GD-SZ')).status).toBe(404);
    expect((await call(countyManager, '/api/reports/sla?unit=GD-GZ')).status).toBe(404);
    expect((await call(countyManager, '/api/reports/arrears?unit=GD')).status).toBe(404);
    const league = await call(countyManager, '/api/reports/managers?month=2025-03');
    expect(league.body.rows).toEqual([
      expect.objectContaining({ rank: 1, username: countyManager.staff.username, accounts: 2, revenueMinor: 51_103, previousMonthMinor: 50_000, yearAgoMinor: 30_000, momPercent: 2.21, yoyPercent: 70.34 }),
    ]);
  });

  it('ages the arrears by days past due, and a payment moves them at once', async () => {
    // As of 20 days after the run: March's bills (due 10 days after issue) are 1–30 days overdue,
    // February's (due 20 March 2025) more than 90; March 2024's were paid.
    const asOf = today.plus({ days: 20 }).toISODate();
    const before = await call(provinceSupervisor, `/api/reports/arrears?unit=GD-SZ&asOf=${asOf}`);
    // Shenzhen itself: accounts 1 and 2, 17 676 + 19 637 (with tax) = 37 313 and 16 000 + 20 000.
    expect(before.body.rows).toEqual([
      { unitId: 'GD-SZ', unitName: '深圳市', currency: 'CNY', bills: 4, notDueMinor: 0, days1To30Minor: 37_313, days31To60Minor: 0, days61To90Minor: 0, daysOver90Minor: 36_000, outstandingMinor: 73_313 },
      { unitId: 'GD-SZ-NS', unitName: '南山区', currency: 'CNY', bills: 4, notDueMinor: 0, days1To30Minor: 51_103, days31To60Minor: 0, days61To90Minor: 0, daysOver90Minor: 50_000, outstandingMinor: 101_103 },
    ]);
    const paid = await fetch(`${stack.api.url}/api/billing/payments`, {
      method: 'POST',
      headers: clerk.headers,
      body: JSON.stringify({ billNo: 'BL-2025-00000002', paymentRef: 'RPT-PAY-1', amountMinor: 10_000, currency: 'CNY', method: 'bank_transfer' }),
    });
    expect(paid.status).toBe(201);
    const after = await call(provinceSupervisor, `/api/reports/arrears?unit=GD-SZ&asOf=${asOf}`);
    expect(after.body.rows[0]).toMatchObject({ unitId: 'GD-SZ', days1To30Minor: 27_313, outstandingMinor: 63_313 });
    // The payment refreshed account 2's March rollup too.
    expect((await accountMonths(database.pool, operator.accountIds[1]!, '2025-03', '2025-03'))[0]).toMatchObject({ billed_minor: 19_637, paid_minor: 10_000, outstanding_minor: 9_637 });
    // Today nothing of March is overdue yet.
    const now = await call(provinceSupervisor, `/api/reports/arrears?unit=GD-SZ-NS&asOf=${today.toISODate()}`);
    expect(now.body.rows[0]).toMatchObject({ notDueMinor: 51_103, daysOver90Minor: 50_000 });
  });

  it('reports SLA compliance by unit and category from the tickets of the month', async () => {
    const [a1, , a3] = operator.accountIds as [string, string, string];
    const ticket = async (accountId: string, orgUnitId: string, category: string, status: string, resolvedAfterHours: number | null, breached: boolean) => {
      const id = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`
        INSERT INTO trouble_tickets (account_id, org_unit_id, kind, channel, category, severity, title, status, sla_due_at, resolved_at, sla_breached_at, created_at)
        VALUES (${accountId}, ${orgUnitId}, 'complaint', 'phone', ${category}, 'major', 'test', ${status}, '2025-03-10T12:00:00+08:00',
                ${resolvedAfterHours === null ? null : `2025-03-10T${String(resolvedAfterHours).padStart(2, '0')}:00:00+08:00`},
                ${breached ? '2025-03-10T12:00:00+08:00' : null}, '2025-03-10T08:00:00+08:00')
        RETURNING id`);
      await refreshTicketRollups(database.pool, id);
    };
    await ticket(a1, testOrg.shenzhen, 'billing', 'resolved', 10, false);
    await ticket(a1, testOrg.shenzhen, 'billing', 'closed', 14, false);
    await ticket(a1, testOrg.shenzhen, 'billing', 'inProgress', null, true);
    await ticket(a3, testOrg.nanshan, 'network', 'resolved', 11, false);
    await ticket(a3, testOrg.nanshan, 'network', 'acknowledged', null, false);
    const sla = await call(provinceSupervisor, '/api/reports/sla?unit=GD-SZ&from=2025-03&to=2025-03');
    // Shenzhen: one met in time, one resolved at 14:00 after its 12:00 due, one breached open: 1 of 3.
    // Nanshan: one met, one open within its SLA (not counted yet): 1 of 1.
    expect(sla.body.rows).toEqual([
      { unitId: 'GD-SZ', unitName: '深圳市', kind: 'complaint', category: 'billing', opened: 3, resolved: 2, slaMet: 1, slaBreached: 2, reopened: 0, compliancePercent: 33.33 },
      { unitId: 'GD-SZ-NS', unitName: '南山区', kind: 'complaint', category: 'network', opened: 2, resolved: 1, slaMet: 1, slaBreached: 0, reopened: 0, compliancePercent: 100 },
    ]);
    expect((await call(countyManager, '/api/reports/sla?from=2025-03&to=2025-03')).body.rows).toEqual([sla.body.rows[1]]);
  });

  it('downloads CSV and XLSX holding the same rows and numbers as the JSON', async () => {
    for (const report of ['/api/reports/revenue?unit=GD&from=2025-02&to=2025-03&by=unit', '/api/reports/managers?month=2025-03', `/api/reports/arrears?unit=GD-SZ&asOf=${today.toISODate()}`, '/api/reports/sla?unit=GD&from=2025-03&to=2025-03']) {
      const json = await call(provinceSupervisor, report);
      expect(json.body.rows.length).toBeGreaterThan(0);
      const csv = await call(provinceSupervisor, `${report}&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.type).toMatch(/^text\/csv/);
      expect(csv.disposition).toMatch(/^attachment; filename=".+\.csv"$/);
      expect(parseCsv(csv.body)).toEqual(asText(json.body.rows));

      const xlsx = await call(provinceSupervisor, `${report}&format=xlsx`);
      expect(xlsx.status).toBe(200);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(xlsx.body);
      const sheet = workbook.worksheets[0]!;
      const header = (sheet.getRow(1).values as unknown[]).slice(1);
      expect(header).toEqual(Object.keys(json.body.rows[0]));
      const records: Record<string, unknown>[] = [];
      sheet.eachRow((row, number) => {
        if (number === 1) return;
        const values = (row.values as unknown[]).slice(1);
        records.push(Object.fromEntries(header.map((key, index) => [key as string, values[index] ?? null])));
      });
      expect(records).toEqual(json.body.rows);
    }
  });
});
