import fs from 'node:fs/promises';
import path from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { mediationFileText } from '../../../activities/billing/mediation';
import type { RawUsage } from '../../../activities/billing/preprocess';
import type { RatingPlanInput } from '../../../activities/rating';
import type { UsageRecord } from '../../../activities/external/wire';
import { seedOrgTree } from '../../support/auth';
import { seedFinanceContacts, seedOperator, type SeededOperator } from '../../support/billing';

const MB = 1024 * 1024;
const nothing = z.object({});

/**
 * The small operator of the billing-cycle tests: four key accounts in Shenzhen (two mobile lines
 * each, billed in Asia/Shanghai) on one plan, with the agreements, adjustments and usage below,
 * for March 2025. `expectedBills` is worked out by hand from these figures, not by the engine.
 */
export const cyclePlan: RatingPlanInput = {
  schemaVersion: 1,
  currency: 'CNY',
  minorDigits: 2,
  rounding: { mode: 'halfUp', at: 'call' },
  timeBands: {
    schedules: [
      { days: ['mon', 'tue', 'wed', 'thu', 'fri'], band: 'offpeak', intervals: [{ from: '08:00', to: '21:00', band: 'peak' }] },
      { days: ['sat', 'sun'], band: 'weekend' },
    ],
    holidays: [],
  },
  voice: {
    zones: {
      local: { name: 'Local', unitSeconds: 60, price: { byBand: { peak: '0.15', offpeak: '0.08', weekend: '0.06' } } },
      longDistance: { name: 'Long distance', unitSeconds: 6, minimumUnits: 10, price: { flat: '0.012' } },
      international: { name: 'International', unitSeconds: 60, setupFee: '0.50', price: { flat: '2.00' } },
    },
    destinations: [
      { prefix: '86', zone: 'longDistance' },
      { prefix: '852', zone: 'international' },
      { prefix: '44', zone: 'international' },
    ],
    localZone: 'local',
  },
  sms: { zones: { domestic: { name: 'Domestic', price: { flat: '0.10' } } }, destinations: [{ prefix: '86', zone: 'domestic' }] },
  data: { name: 'Data', unitBytes: MB, price: { flat: '0.05' } },
  bundles: [{ id: 'localMinutes', description: '5 local minutes per line', appliesTo: ['voice.local'], measure: 'seconds', allowance: 300 }],
  recurring: [{ id: 'rental', description: 'Monthly rental', amount: '88.00' }],
};

export interface CycleOperator extends SeededOperator {
  /** The adjustment ids of account 3: its installation charge and its compensation credit. */
  installationId: number;
  compensationId: number;
  /** Lines of the mediation file, and of the feed. */
  fileRecords: RawUsage[];
  /** In the usage feed's shape (activities/external/wire.ts `usageRecord`, sim/README.md). */
  feedRecords: UsageRecord[];
}

export async function seedCycleOperator(pool: DatabasePool, filler = 0): Promise<CycleOperator> {
  const org = await seedOrgTree(pool);
  const operator = await seedOperator(pool, { accounts: 4, subscriptionsPerAccount: 2, orgUnitId: org.shenzhen, plan: cyclePlan, idPrefix: 'C', productId: 'MOBILE-KA', tariffId: 'TF-MOBILE-1' });
  const [, a2, a3] = operator.billingAccountIds as [string, string, string, string];
  await seedFinanceContacts(pool, operator.accountIds, org.shenzhen);
  await pool.query(sql.type(nothing)`
    UPDATE billing_terms SET agreement = ${sql.jsonb({
      discounts: [{ kind: 'percentage', id: 'usage10', description: '10 % off usage (at most 0.50)', percent: '10', appliesTo: ['usage'], cap: '0.50' }],
      taxRatePercent: '6',
    })} WHERE billing_account_id = ${a2}`);
  await pool.query(sql.type(nothing)`
    UPDATE billing_terms SET agreement = ${sql.jsonb({ minimumCommitment: { amount: '300.00', appliesTo: ['usage', 'recurring'] } })} WHERE billing_account_id = ${a3}`);
  // The second line of account 4 started on 17 March (15 of 31 days).
  await pool.query(sql.type(nothing)`UPDATE subscriptions SET activated_at = '2025-03-17T00:00:00+08:00' WHERE id = ${operator.subscriptions[3]![1]!.id}`);
  const adjustment = (key: string, kind: string, description: string, amount: number) =>
    pool.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
      INSERT INTO billing_adjustments (idempotency_key, billing_account_id, org_unit_id, kind, description, amount_minor, currency, created_by)
      VALUES (${key}, ${a3}, ${org.shenzhen}, ${kind}, ${description}, ${amount}, 'CNY', 'test') RETURNING id`);
  const installationId = await adjustment('order:OR-1/install', 'charge', 'Installation', 10_000);
  const compensationId = await adjustment('complaint:TT-7/compensation', 'credit', 'Compensation for complaint TT-7', 2_000);

  const n = (account: number, line: number) => operator.subscriptions[account]![line]!.serviceNumber;
  const call = (recordId: string, serviceNumber: string, startedAt: string, durationSec: string, destination: string): RawUsage => ({
    source: 'MSC-SZ-01',
    recordId,
    usageType: 'voice',
    serviceNumber,
    startedAt,
    durationSec,
    volumeBytes: '',
    messages: '',
    destination,
  });
  const fileRecords: RawUsage[] = [
    call('r1', n(0, 0), '2025-03-04T10:00:00+08:00', '240', '075588001234'),
    call('r2', n(0, 0), '2025-03-04T20:59:00+08:00', '480', '075588001234'),
    { ...call('r3', n(0, 0), '2025-03-05T09:00:00+08:00', '', '13900139000'), usageType: 'sms', messages: '1' },
    { ...call('r4', n(0, 0), '2025-03-06T09:00:00+08:00', '', ''), usageType: 'data', volumeBytes: String(10 * MB) },
    call('r5', n(1, 0), '2025-03-04T11:00:00+08:00', '61', '+85223456789'),
    call('r6', n(1, 0), '2025-03-04T12:00:00+08:00', '125', '01012345678'),
    { ...call('r7', n(1, 0), '2025-03-07T09:00:00+08:00', '', ''), usageType: 'data', volumeBytes: String(100 * MB) },
    call('r8', n(2, 0), '2025-03-08T10:00:00+08:00', '120', '075588001234'),
    call('r9', n(3, 1), '2025-03-18T10:00:00+08:00', '600', '075588001234'),
    // April: accepted, waits for April's run
    call('r10', n(0, 0), '2025-04-02T10:00:00+08:00', '60', '075588001234'),
    call('r11', n(0, 0), '2025-03-09T10:00:00+08:00', '-5', '075588001234'),
    call('r12', '13999999999', '2025-03-09T10:00:00+08:00', '60', '075588001234'),
    // r1 again, and r3's content under another id (same instant, written in UTC)
    call('r1', n(0, 0), '2025-03-04T10:00:00+08:00', '240', '075588001234'),
    { ...call('r13', `+86${n(0, 0)}`, '2025-03-05T01:00:00Z', '', '+8613900139000'), usageType: 'sms', messages: '1' },
  ];
  const feedRecords: UsageRecord[] = [{ recordId: 'f1', source: 'sim-mediation', serviceNumber: n(0, 1), usageType: 'sms', startedAt: '2025-03-10T10:00:00+08:00', messages: 1, destination: '13900139000' }];

  if (filler > 0) {
    // More accounts with generated usage: enough batches that a worker can be killed in the middle.
    const extra = await seedOperator(pool, { accounts: filler, subscriptionsPerAccount: 1, orgUnitId: org.shenzhen, plan: cyclePlan, idPrefix: 'F', productId: 'MOBILE-KA', tariffId: 'TF-MOBILE-1' });
    for (let account = 0; account < filler; account += 1) {
      for (let record = 0; record < 60; record += 1) {
        const day = 1 + ((account + record) % 28);
        const hour = (record * 5) % 24;
        fileRecords.push(
          call(`x${account}-${record}`, extra.subscriptions[account]![0]!.serviceNumber, `2025-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:1${record % 6}:00+08:00`, String(30 + ((account * 7 + record * 13) % 900)), record % 3 === 0 ? '01012345678' : '075588001234'),
        );
      }
    }
  }
  return { ...operator, installationId, compensationId, fileRecords, feedRecords };
}

/** Drops the mediation file and a half-written one into the inbox. */
export async function dropUsageFiles(inbox: string, operator: CycleOperator): Promise<void> {
  await fs.mkdir(inbox, { recursive: true });
  await fs.writeFile(path.join(inbox, 'MSC-SZ-01_20250331_0001.csv'), mediationFileText(operator.fileRecords));
  const unfinished = mediationFileText(operator.fileRecords.slice(0, 3).map((record) => ({ ...record, recordId: `${record.recordId}-late` })));
  await fs.writeFile(path.join(inbox, 'MSC-SZ-01_20250331_0002.csv'), unfinished.slice(0, unfinished.lastIndexOf('#END')));
  // mtimes in the past, so the collector does not wait for the files to settle
  const past = new Date(Date.now() - 60_000);
  for (const name of await fs.readdir(inbox)) await fs.utimes(path.join(inbox, name), past, past);
}

export interface ExpectedBill {
  billingAccountId: string;
  lines: [kind: string, key: string, quantity: number, amountMinor: number][];
  total: number;
}

/** March 2025, worked out by hand (amounts in fen); `withFeed`: the feed's SMS was collected too. */
export function expectedBills(operator: CycleOperator, withFeed = true): ExpectedBill[] {
  const sms = withFeed ? 2 : 1;
  const [a1, a2, a3, a4] = operator.billingAccountIds as [string, string, string, string];
  return [
    {
      // r1: 4 local minutes, free (pool 2 × 300 s = 600 s, 360 s left). r2 at 20:59 for 480 s: 8 units,
      // 20:59 peak then 7 off-peak; the first 6 free (360 s) — 1 peak, 5 off-peak — 2 off-peak
      // charged: 2 × 0.08 = 0.16. SMS r3 and the feed's f1: 2 × 0.10. Data 10 MB × 0.05 = 0.50.
      billingAccountId: a1,
      lines: [
        ['recurring', 'recurring.rental', 2, 17_600],
        ['usage', 'usage.data', 10 * MB, 50],
        ['usage', 'usage.sms.domestic', sms, sms * 10],
        ['usage', 'usage.voice.local', 720, 16],
        ['bundle', 'bundle.localMinutes', 600, 0],
      ],
      total: 17_666 + sms * 10,
    },
    {
      // r5 to Hong Kong 61 s: 0.50 + 2 × 2.00 = 4.50. r6 long distance 125 s: 21 × 0.012 = 0.252
      // → 0.25. Data 100 MB = 5.00. Usage 9.75; 10 % = 0.975 → 0.98, capped at 0.50.
      // Net 176.00 + 9.75 − 0.50 = 185.25; VAT 6 % = 11.115 → 11.12. Total 196.37.
      billingAccountId: a2,
      lines: [
        ['recurring', 'recurring.rental', 2, 17_600],
        ['usage', 'usage.data', 100 * MB, 500],
        ['usage', 'usage.voice.international', 120, 450],
        ['usage', 'usage.voice.longDistance', 126, 25],
        ['bundle', 'bundle.localMinutes', 0, 0],
        ['discount', 'discount.usage10', 1, -50],
        ['tax', 'tax', 1, 1_112],
      ],
      total: 19_637,
    },
    {
      // r8 on Saturday, 2 weekend minutes, both free. Rental 176.00 + usage 0 = 176.00 is below the
      // 300.00 commitment: top-up 124.00. Installation 100.00, compensation credit −20.00.
      billingAccountId: a3,
      lines: [
        ['recurring', 'recurring.rental', 2, 17_600],
        ['usage', 'usage.voice.local', 120, 0],
        ['bundle', 'bundle.localMinutes', 120, 0],
        ['oneOff', `oneOff.adj-${operator.installationId}`, 1, 10_000],
        ['commitment', 'commitment', 1, 12_400],
        ['credit', `credit.adj-${operator.compensationId}`, 1, -2_000],
      ],
      total: 38_000,
    },
    {
      // Line 2 from 17 March: rental 88.00 + 88.00 × 15/31 (42.58) = 130.58; allowance 300 + 145
      // (300 × 15/31, rounded down) = 445 s. r9, 10 peak minutes: 7 free (420 s), 3 × 0.15.
      billingAccountId: a4,
      lines: [
        ['recurring', 'recurring.rental', 2, 13_058],
        ['usage', 'usage.voice.local', 600, 45],
        ['bundle', 'bundle.localMinutes', 420, 0],
      ],
      total: 13_103,
    },
  ];
}

export const billLineRow = z.object({ billing_account_id: z.string(), bill_no: z.string().nullable(), status: z.string(), total_minor: z.coerce.number(), kind: z.string(), key: z.string(), quantity: z.coerce.number(), amount_minor: z.coerce.number() });

/** Every bill with its lines, as [billingAccountId, lines, total], in account order. */
export async function billsOf(pool: DatabasePool, billingAccountIds: readonly string[], period = '2025-03') {
  const rows = await pool.any(sql.type(billLineRow)`
    SELECT b.billing_account_id, b.bill_no, b.status, b.total_minor, l.kind, l.key, l.quantity, l.amount_minor
      FROM bills b JOIN bill_lines l ON l.bill_id = b.id
     WHERE b.period = ${period} AND b.billing_account_id = ANY(${sql.array([...billingAccountIds], 'text')})
     ORDER BY b.billing_account_id, l.line_no`);
  const bills = new Map<string, { billNo: string | null; status: string; total: number; lines: [string, string, number, number][] }>();
  for (const row of rows) {
    const bill = bills.get(row.billing_account_id) ?? { billNo: row.bill_no, status: row.status, total: row.total_minor, lines: [] };
    bill.lines.push([row.kind, row.key, row.quantity, row.amount_minor]);
    bills.set(row.billing_account_id, bill);
  }
  return bills;
}
