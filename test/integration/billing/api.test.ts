import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { simulatorUrl } from '../../../activities/external';
import { loginAs, type Session, type TestStaff } from '../../support/auth';
import { completeOpenTask, eventually } from '../../support/billing';
import { simControlHeaders } from '../../support/external';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan, dropUsageFiles, seedCycleOperator, type CycleOperator } from './operator-fixture';

/**
 * The billing API as a billing clerk uses it: start a run and follow its progress, read and print
 * bills, take payments, correct rejected usage, rerate after a tariff correction — each behind the
 * clerk's role and org scope, each bad input refused with a clear error and no change.
 */
describe('the billing API', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let operator: CycleOperator;
  let clerk: Session & { staff: TestStaff };
  let cityClerk: Session;
  let manager: Session;
  let dir: string;
  let runId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-billing-api-'));
    stack = await startTestStack(testConfig(database, { KEYFLOW_USAGE_INBOX: path.join(dir, 'inbox') }), database);
    operator = await seedCycleOperator(database.pool);
    await dropUsageFiles(path.join(dir, 'inbox'), operator);
    // The simulator's feed is shared with other test files: this one starts reading after its end.
    const marker = await fetch(`${simulatorUrl(stack.config)}/sim/usage`, {
      method: 'POST',
      headers: { ...simControlHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ recordId: `marker-${Date.now()}`, source: 'test', serviceNumber: 'none', usageType: 'sms', startedAt: '2025-01-01T00:00:00Z' }] }),
    });
    const { lastCursor } = (await marker.json()) as { lastCursor: string };
    await database.pool.query(sql.type(z.object({}))`INSERT INTO usage_feed_cursors (feed, cursor) VALUES ('usage', ${lastCursor})`);
    await deployBillingProcesses(database.pool, 'test');
    clerk = await loginAs(stack.api.url, database.pool, ['billing_clerk'], 'GD');
    cityClerk = await loginAs(stack.api.url, database.pool, ['billing_clerk'], 'GD-GZ');
    manager = await loginAs(stack.api.url, database.pool, ['customer_manager'], 'GD');
  });

  afterAll(async () => {
    // The instance waits for its bills' due date; other test files share this Temporal.
    await stack?.api.temporal.workflow.getHandle('billing-cycle:2025-03-c1-1').terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const call = async (session: Session | null, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${url}`, { method, headers: session?.headers ?? { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as any };
  };

  it('refuses callers without a session, without the role, and bad input, changing nothing', async () => {
    expect((await call(null, 'GET', '/api/billing/runs')).status).toBe(401);
    const forbidden = await call(manager, 'POST', '/api/billing/runs', { period: '2025-03' });
    expect(forbidden.status).toBe(403);
    const invalid = await call(clerk, 'POST', '/api/billing/runs', { period: '2025-13', cycleDay: 40, extra: true });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['body', 'body.cycleDay', 'body.period']);
    // a city's clerk does not run the whole operator's cycle
    expect((await call(cityClerk, 'POST', '/api/billing/runs', { period: '2025-03' })).status).toBe(403);
    expect(await database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM bill_runs`)).toBe(0);
  });

  it('starts a run once, and shows its progress and ledger until it completes', async () => {
    const started = await call(clerk, 'POST', '/api/billing/runs', { period: '2025-03', accountsPerBatch: 1, dueDays: 10 });
    expect(started).toMatchObject({ status: 202, body: { processInstanceId: 'billing-cycle:2025-03-c1-1', businessKey: '2025-03-c1-1' } });
    expect((await call(clerk, 'POST', '/api/billing/runs', { period: '2025-03' })).status).toBe(409);

    const waiting = await eventually(async () => {
      const list = await call(clerk, 'GET', '/api/billing/runs?period=2025-03');
      return list.body.items[0]?.status === 'awaiting_approval' ? list.body.items[0] : null;
    }, 90_000, 'the run to await approval');
    runId = waiting.id;
    expect(waiting).toMatchObject({
      progress: { accounts: { done: 4, total: 4 }, records: { done: 9, total: 9 }, batches: { done: 4, total: 4 }, percent: 100 },
      ledger: { recordsIn: 14, rated: 9, rejected: 2, duplicates: 2, deferred: 1, carriedIn: 0, filesQuarantined: 1, balanced: true },
    });
    await completeOpenTask(stack.api.temporal, database.pool, 'billing-cycle:2025-03-c1-1', { approved: true }, clerk.staff.username);
    const done = await eventually(async () => {
      const run = await call(clerk, 'GET', `/api/billing/runs/${runId}`);
      return run.body.status === 'completed' ? run.body : null;
    }, 60_000, 'the run to complete');
    expect(done.decision.by).toBe(clerk.staff.username);
    expect((await call(clerk, 'GET', '/api/billing/runs/999999')).status).toBe(404);
  });

  it('lists the run\'s bills and shows one with its lines, as JSON and as a printable page', async () => {
    const bills = await call(clerk, 'GET', `/api/billing/runs/${runId}/bills?limit=2`);
    expect(bills.body.items).toHaveLength(2);
    const next = await call(clerk, 'GET', `/api/billing/runs/${runId}/bills?limit=2&cursor=${bills.body.nextCursor}`);
    expect(next.body.nextCursor).toBeNull();
    const all = [...bills.body.items, ...next.body.items].sort((a: { billNo: string }, b: { billNo: string }) => (a.billNo < b.billNo ? -1 : 1));
    expect(all.map((bill: { billNo: string; billingAccountId: string }) => [bill.billNo, bill.billingAccountId])).toEqual(
      operator.billingAccountIds.map((id, index) => [`BL-2025-0000000${index + 1}`, id]),
    );

    const second = all[1];
    const detail = await call(clerk, 'GET', `/api/billing/bills/${second.id}`);
    expect(detail.body).toMatchObject({ billNo: 'BL-2025-00000002', status: 'sent', totalMinor: 19_637, outstandingMinor: 19_637 });
    expect(detail.body.lines.map((line: { key: string; amountMinor: number }) => [line.key, line.amountMinor])).toContainEqual(['tax', 1_112]);

    const printed = await fetch(`${stack.api.url}/api/billing/bills/${second.id}/print`, { headers: clerk.headers });
    expect(printed.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const page = await call(clerk, 'GET', `/api/billing/bills/${second.id}/print`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Bill BL-2025-00000002');
    expect(page.body).toContain('CNY 196.37');
    expect(page.body).not.toContain('<script');
    // another city's clerk sees none of these Shenzhen bills
    expect((await call(cityClerk, 'GET', `/api/billing/bills/${second.id}`)).status).toBe(404);
    expect((await call(cityClerk, 'GET', `/api/billing/runs/${runId}/bills`)).body.items).toEqual([]);
    // the run's totals are operator-wide: not a city clerk's to read
    expect((await call(cityClerk, 'GET', `/api/billing/runs/${runId}`)).status).toBe(403);
    expect((await call(cityClerk, 'GET', '/api/billing/runs')).status).toBe(403);
  });

  it('lets only province-level clerks change prices, as for bill runs and rerates', async () => {
    const tariff = { name: 'city try', validFrom: '2030-01-01T00:00:00+08:00', monthlyFeeMinor: 1 };
    const refused = await call(cityClerk, 'POST', '/api/products/MOBILE/tariffs', tariff);

    expect(refused).toMatchObject({ status: 403, body: { error: { details: { reason: 'OPERATOR_SCOPE' } } } });
  });

  it('records a payment once, refuses a reused reference, and settles the bill', async () => {
    const payment = { billNo: 'BL-2025-00000004', paymentRef: 'CMB-20250420-001', amountMinor: 10_000, currency: 'CNY', method: 'bank_transfer' };
    const first = await call(clerk, 'POST', '/api/billing/payments', payment);
    expect(first).toMatchObject({ status: 201, body: { recorded: true, bill: { status: 'partiallyPaid', paidMinor: 10_000, outstandingMinor: 3_103 } } });
    const again = await call(clerk, 'POST', '/api/billing/payments', payment);
    expect(again).toMatchObject({ status: 201, body: { recorded: false, bill: { paidMinor: 10_000 } } });
    expect((await call(clerk, 'POST', '/api/billing/payments', { ...payment, amountMinor: 1 })).status).toBe(409);
    expect((await call(clerk, 'POST', '/api/billing/payments', { ...payment, paymentRef: 'X-2', currency: 'USD' })).status).toBe(422);
    expect((await call(clerk, 'POST', '/api/billing/payments', { ...payment, billNo: 'BL-2025-00000099' })).status).toBe(404);
    expect((await call(cityClerk, 'POST', '/api/billing/payments', { ...payment, paymentRef: 'X-3' })).status).toBe(404);
    // more than is owed, up to 2^53 − 1: refused, the balance never goes negative
    const huge = await call(clerk, 'POST', '/api/billing/payments', { ...payment, paymentRef: 'X-4', amountMinor: Number.MAX_SAFE_INTEGER });
    expect(huge).toMatchObject({ status: 422, body: { error: { details: { reason: 'OVERPAYMENT' } } } });
    expect((await call(clerk, 'POST', '/api/billing/payments', { ...payment, paymentRef: 'X-5', amountMinor: 3_104 })).status).toBe(422);
    const rest = await call(clerk, 'POST', '/api/billing/payments', { ...payment, paymentRef: 'CMB-20250425-007', amountMinor: 3_103 });
    expect(rest.body.bill).toMatchObject({ status: 'settled', outstandingMinor: 0 });
  });

  it('lets a clerk correct and resubmit a rejected record, or discard one', async () => {
    const open = await call(clerk, 'GET', '/api/billing/rejections?status=open');
    expect(open.body.items.map((item: { recordId: string; reasonCode: string }) => [item.recordId, item.reasonCode])).toEqual([
      ['r11', 'NEGATIVE_QUANTITY'],
      ['r12', 'UNKNOWN_SUBSCRIBER'],
    ]);
    const [negative, unknown] = open.body.items;
    // still wrong: refused, nothing changes
    const stillBad = await call(clerk, 'POST', `/api/billing/rejections/${negative.id}/resubmit`, { corrections: { durationSec: '-1' } });
    expect(stillBad).toMatchObject({ status: 422, body: { error: { details: { reasonCode: 'NEGATIVE_QUANTITY' } } } });
    // March is billed: a late record for it cannot go in (it would need a rerating of its own)
    const late = await call(clerk, 'POST', `/api/billing/rejections/${negative.id}/resubmit`, { corrections: { durationSec: '30' } });
    expect(late).toMatchObject({ status: 422, body: { error: { details: { reasonCode: 'PERIOD_CLOSED' } } } });
    const fixed = await call(clerk, 'POST', `/api/billing/rejections/${negative.id}/resubmit`, { corrections: { durationSec: '30', startedAt: '2025-04-09T10:00:00+08:00' } });
    expect(fixed).toMatchObject({ status: 200, body: { period: '2025-04', billingAccountId: operator.billingAccountIds[0] } });
    expect((await call(clerk, 'POST', `/api/billing/rejections/${negative.id}/resubmit`, {})).status).toBe(409);
    const state = await database.pool.oneFirst(sql.type(z.object({ state: z.string() }))`SELECT state FROM usage_record_states WHERE usage_record_id = ${fixed.body.usageRecordId}`);
    expect(state).toBe('recycled');

    expect((await call(clerk, 'POST', `/api/billing/rejections/${unknown.id}/discard`)).status).toBe(204);
    expect((await call(clerk, 'GET', '/api/billing/rejections?status=open')).body.items).toEqual([]);
    expect((await call(clerk, 'POST', '/api/billing/rejections/abc/discard')).status).toBe(400);
  });

  it('rerates a period after a tariff correction: a difference report and one credit note, idempotently', async () => {
    // The long-distance price was wrong: 0.012 per 6 s should have been 0.006.
    const corrected = { ...cyclePlan, voice: { ...cyclePlan.voice!, zones: { ...cyclePlan.voice!.zones, longDistance: { name: 'Long distance', unitSeconds: 6, minimumUnits: 10, price: { flat: '0.006' } } } } };
    await database.pool.query(sql.type(z.object({}))`UPDATE tariffs SET plan = ${sql.jsonb(corrected as never)} WHERE id = 'TF-MOBILE-1'`);
    const request = { requestKey: 'TF-MOBILE-1-fix-2025-03', period: '2025-03', reason: 'long-distance price corrected to 0.006 per 6 s' };

    const report = await call(clerk, 'POST', '/api/billing/rerates', request);
    // only account 2 called long distance: 21 units × 0.006 = 0.126 → 0.13 instead of 0.25; usage
    // 9.63, discount still capped at 0.50, net 185.13, VAT 11.1078 → 11.11: 0.12 + 0.01 less
    expect(report).toMatchObject({ status: 200, body: { accounts: 4, records: 9, differenceMinor: -13, replayed: false } });
    expect(report.body.differences).toEqual([
      { billingAccountId: operator.billingAccountIds[1], billNo: 'BL-2025-00000002', key: 'tax', description: 'VAT 6%', beforeMinor: 1_112, afterMinor: 1_111, differenceMinor: -1 },
      { billingAccountId: operator.billingAccountIds[1], billNo: 'BL-2025-00000002', key: 'usage.voice.longDistance', description: 'Voice — Long distance', beforeMinor: 25, afterMinor: 13, differenceMinor: -12 },
    ]);
    expect(report.body.notes).toEqual([{ noteNo: 'CN-2025-00000001', kind: 'credit', billNo: 'BL-2025-00000002', totalMinor: 13 }]);

    const replay = await call(clerk, 'POST', '/api/billing/rerates', request);
    expect(replay.body).toMatchObject({ replayed: true, notes: report.body.notes, differenceMinor: -13 });
    // nothing changed since: a new rerating finds no difference and issues no note
    const again = await call(clerk, 'POST', '/api/billing/rerates', { ...request, requestKey: 'TF-MOBILE-1-check' });
    expect(again.body).toMatchObject({ differenceMinor: 0, notes: [], differences: [] });

    const bill = await call(clerk, 'GET', `/api/billing/bills?billingAccountId=${operator.billingAccountIds[1]}`);
    const detail = await call(clerk, 'GET', `/api/billing/bills/${bill.body.items[0].id}`);
    expect(detail.body).toMatchObject({ totalMinor: 19_637, adjustedMinor: -13, outstandingMinor: 19_624 });
    expect(detail.body.notes[0]).toMatchObject({ noteNo: 'CN-2025-00000001', kind: 'credit', netMinor: 12, taxMinor: 1, totalMinor: 13 });
    // the reversed ratings stay for the record; the new ones are current
    const ratings = await database.pool.any(sql.type(z.object({ state: z.string(), count: z.coerce.number() }))`SELECT state, count(*) FROM rated_usage GROUP BY state ORDER BY state`);
    expect(ratings).toEqual([
      { state: 'rerated', count: 9 },
      { state: 'reversed', count: 18 },
    ]);
    expect((await call(cityClerk, 'POST', '/api/billing/rerates', { ...request, requestKey: 'city' })).status).toBe(403);
    expect((await call(clerk, 'POST', '/api/billing/rerates', { ...request, requestKey: 'p2', period: '2024-01' })).status).toBe(404);

    // an archived month (its usage partition detached) is not rated again as if it had no usage
    await database.pool.query(sql.type(z.object({}))`ALTER TABLE usage_records DETACH PARTITION usage_records_2025_03`);
    const archived = await call(clerk, 'POST', '/api/billing/rerates', { ...request, requestKey: 'archived' });
    expect(archived).toMatchObject({ status: 409, body: { error: { message: expect.stringContaining('attach its archived partitions') } } });
    await database.pool.query(sql.type(z.object({}))`ALTER TABLE usage_records ATTACH PARTITION usage_records_2025_03 FOR VALUES IN ('2025-03')`);
    expect((await call(clerk, 'POST', '/api/billing/rerates', { ...request, requestKey: 'reattached' })).body).toMatchObject({ differenceMinor: 0, notes: [] });
  });
});
