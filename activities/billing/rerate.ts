/**
 * Rerating an account or a whole period after a tariff correction. For each issued bill of the
 * period: the account's records are rated again from scratch, in event order, under the tariffs
 * as they are now (so bundles are consumed as they would have been), with the same one-off charges
 * and credits the bill used; the result is compared line by line with what the customer currently
 * owes (the bill plus the notes of earlier reratings). The current ratings are reversed and the new
 * ones stored; the difference goes into the report and, when it is not zero, into one credit or
 * debit note. Idempotent by request key: asked again, it returns the first answer.
 */

import { z } from 'zod';
import { billingPeriod } from '../rating';
import { billAccount, type AccountRow, type AdjustmentRow, type SubscriptionRow } from './account-billing';
import { copyLine, type BulkClient, type BulkDatabase } from './bulk';
import { loadTariffBook } from './catalogue';
import { defaultTimeZone } from './guiding';
import { usageOf } from './bill-run';

export interface RerateInput {
  requestKey: string;
  period: string;
  /** One account, or every account with an issued bill for the period. */
  billingAccountId?: string;
  reason: string;
  requestedBy: string;
}

export interface RerateDifference {
  billingAccountId: string;
  billNo: string;
  key: string;
  description: string;
  beforeMinor: number;
  afterMinor: number;
  differenceMinor: number;
}

export interface RerateSummary {
  rerateId: number;
  period: string;
  accounts: number;
  records: number;
  differenceMinor: number;
  notes: { noteNo: string; kind: 'credit' | 'debit'; billNo: string; totalMinor: number }[];
  differences: RerateDifference[];
  /** True when this request key had been answered before. */
  replayed: boolean;
}

export class RerateError extends Error {
  constructor(
    readonly code: 'NOTHING_TO_RERATE' | 'BILL_NOT_ISSUED' | 'REQUEST_KEY_REUSED' | 'UNRATEABLE' | 'USAGE_ARCHIVED',
    message: string,
  ) {
    super(message);
    this.name = 'RerateError';
  }
}

const billRow = z.object({
  id: z.coerce.number(),
  bill_no: z.string().nullable(),
  status: z.string(),
  billing_account_id: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  currency: z.string(),
  bill_cycle_day: z.number(),
  time_zone: z.string(),
  home_prefix: z.string().nullable(),
  agreement: z.unknown(),
  records: z.number(),
});
const lineRow = z.object({ key: z.string(), description: z.string(), amount_minor: z.coerce.number(), adjustment_id: z.coerce.number().nullable(), kind: z.string() });

export async function rerate(db: BulkDatabase, input: RerateInput): Promise<RerateSummary> {
  return db.transaction(async (client) => {
    // One rerating at a time per period: two would reverse each other's ratings.
    await client.run('SELECT pg_advisory_xact_lock(hashtextextended($1, 727274400))', [`rerate:${input.period}`]);
    const [existing] = await client.query(
      z.object({ id: z.coerce.number(), period: z.string(), billing_account_id: z.string().nullable() }),
      'SELECT id, period, billing_account_id FROM rerate_requests WHERE request_key = $1',
      [input.requestKey],
    );
    if (existing) {
      if (existing.period !== input.period || existing.billing_account_id !== (input.billingAccountId ?? null)) {
        throw new RerateError('REQUEST_KEY_REUSED', `request key ${input.requestKey} was used for another rerating`);
      }
      return { ...(await summaryOf(client, existing.id)), replayed: true };
    }
    const bills = await client.query(
      billRow,
      `SELECT b.id, b.bill_no, b.status, b.billing_account_id, b.account_id, b.org_unit_id, b.currency, ba.bill_cycle_day,
              b.time_zone, t.home_prefix, coalesce(t.agreement, '{}'::jsonb) AS agreement, b.records
         FROM bills b JOIN billing_accounts ba ON ba.id = b.billing_account_id LEFT JOIN billing_terms t ON t.billing_account_id = b.billing_account_id
        WHERE b.period = $1 AND ($2::text IS NULL OR b.billing_account_id = $2) ORDER BY b.billing_account_id`,
      [input.period, input.billingAccountId ?? null],
    );
    if (bills.length === 0) throw new RerateError('NOTHING_TO_RERATE', `no bill for ${input.period}${input.billingAccountId ? ` of ${input.billingAccountId}` : ''}`);
    const draft = bills.find((bill) => bill.status === 'new' || bill.status === 'onHold');
    if (draft) throw new RerateError('BILL_NOT_ISSUED', `the bill of ${draft.billing_account_id} for ${input.period} is still a draft: reject its run and run it again instead`);

    const [request] = await client.query(
      z.object({ id: z.coerce.number() }),
      `INSERT INTO rerate_requests (request_key, period, billing_account_id, reason, requested_by) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [input.requestKey, input.period, input.billingAccountId ?? null, input.reason, input.requestedBy],
    );
    const rerateId = request!.id;
    const book = await loadTariffBook(client);
    const ids = bills.map((bill) => bill.billing_account_id);
    const usage = await usageOf(client, ids, input.period);
    // A period's usage partitions can be detached (archived) or dropped as a unit; rating the
    // bills again without their records would credit every charge back.
    const found = [...usage.values()].reduce((sum, list) => sum + list.length, 0);
    const billed = bills.reduce((sum, bill) => sum + bill.records, 0);
    if (found < billed) throw new RerateError('USAGE_ARCHIVED', `only ${found} of the ${billed} usage records billed for ${input.period} are in usage_records: attach its archived partitions first`);
    const subscriptions = await client.query(
      z.object({ id: z.string(), product_id: z.string(), billing_account_id: z.string(), quantity: z.number(), activated_at: z.date(), terminated_at: z.date().nullable() }),
      'SELECT id, product_id, billing_account_id, quantity, activated_at, terminated_at FROM subscriptions WHERE billing_account_id = ANY($1) AND activated_at IS NOT NULL',
      [ids],
    );
    let records = 0;
    let total = 0;
    for (const bill of bills) {
      const account: AccountRow = {
        billingAccountId: bill.billing_account_id,
        accountId: bill.account_id,
        orgUnitId: bill.org_unit_id,
        currency: bill.currency,
        cycleDay: bill.bill_cycle_day,
        timeZone: bill.time_zone ?? defaultTimeZone,
        homePrefix: bill.home_prefix,
        agreement: bill.agreement,
      };
      const lines = await client.query(lineRow, 'SELECT key, description, amount_minor, adjustment_id, kind FROM bill_lines WHERE bill_id = $1 ORDER BY line_no', [bill.id]);
      // The same one-offs and credits as the bill, in the amounts it used.
      const adjustments: AdjustmentRow[] = lines
        .filter((line) => line.adjustment_id !== null)
        .map((line) => ({ id: line.adjustment_id!, kind: line.kind === 'credit' ? 'credit' : 'charge', description: line.description, remainingMinor: Math.abs(line.amount_minor), currency: bill.currency }));
      const result = billAccount(
        account,
        billingPeriod(input.period, account.timeZone, account.cycleDay),
        book,
        subscriptions
          .filter((row) => row.billing_account_id === bill.billing_account_id)
          .map((row): SubscriptionRow => ({ id: row.id, productId: row.product_id, quantity: row.quantity, activatedMs: row.activated_at.getTime(), terminatedMs: row.terminated_at?.getTime() ?? null })),
        usage.get(bill.billing_account_id) ?? [],
        adjustments,
      );
      if (result.rejected.length > 0) {
        throw new RerateError('UNRATEABLE', `${result.rejected.length} records of ${bill.billing_account_id} cannot be rated under the current tariffs (first: ${result.rejected[0]!.message})`);
      }
      records += result.rated.length;

      // What the customer owes now, per line key: the bill's lines plus earlier reratings' differences.
      const before = new Map<string, { description: string; amount: number }>();
      for (const line of lines) before.set(line.key, { description: line.description, amount: (before.get(line.key)?.amount ?? 0) + line.amount_minor });
      const earlier = await client.query(
        z.object({ key: z.string(), description: z.string(), difference_minor: z.coerce.number() }),
        'SELECT key, description, difference_minor FROM rerate_differences WHERE bill_id = $1',
        [bill.id],
      );
      for (const row of earlier) before.set(row.key, { description: row.description, amount: (before.get(row.key)?.amount ?? 0) + row.difference_minor });
      const after = new Map<string, { description: string; amount: number }>();
      for (const line of result.bill?.lines ?? []) after.set(line.key, { description: line.description, amount: (after.get(line.key)?.amount ?? 0) + line.amount });

      const differences: RerateDifference[] = [];
      for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        const was = before.get(key)?.amount ?? 0;
        const now = after.get(key)?.amount ?? 0;
        if (was === now) continue;
        differences.push({
          billingAccountId: bill.billing_account_id,
          billNo: bill.bill_no!,
          key,
          description: after.get(key)?.description ?? before.get(key)!.description,
          beforeMinor: was,
          afterMinor: now,
          differenceMinor: now - was,
        });
      }

      // Reverse the current ratings and store the new ones (in event order, as rated).
      await client.run(`UPDATE rated_usage SET state = 'reversed' WHERE period = $2 AND bill_id = $1 AND state <> 'reversed'`, [bill.id, input.period]);
      if (result.rated.length > 0) {
        const [next] = await client.query(z.object({ next: z.coerce.number() }), 'SELECT coalesce(max(rating_no), 0) + 1 AS next FROM rated_usage WHERE period = $2 AND bill_id = $1', [bill.id, input.period]);
        await client.copyIn(
          'COPY rated_usage (usage_record_id, rating_no, billing_account_id, period, bill_id, tariff_id, category, units, free_units, bundle_id, charge_sub, state) FROM STDIN',
          result.rated.map((event) =>
            copyLine([event.usageRecordId, next!.next, bill.billing_account_id, input.period, bill.id, event.tariffId, event.category, event.units, event.freeUnits, event.bundleId, event.chargeSub, 'rerated']),
          ),
        );
      }
      if (differences.length === 0) continue;
      for (const difference of differences) {
        await client.run(
          `INSERT INTO rerate_differences (rerate_id, billing_account_id, bill_id, key, description, before_minor, after_minor, difference_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [rerateId, difference.billingAccountId, bill.id, difference.key, difference.description, difference.beforeMinor, difference.afterMinor, difference.differenceMinor],
        );
      }
      const sum = differences.reduce((acc, difference) => acc + difference.differenceMinor, 0);
      total += sum;
      if (sum !== 0) await issueNote(client, { rerateId, billId: bill.id, billingAccountId: bill.billing_account_id, orgUnitId: bill.org_unit_id, period: input.period, differences, reason: input.reason, by: input.requestedBy });
    }
    await client.run(`UPDATE rerate_requests SET status = 'completed', accounts = $2, records = $3, difference_minor = $4, finished_at = now() WHERE id = $1`, [rerateId, bills.length, records, total]);
    return { ...(await summaryOf(client, rerateId)), replayed: false };
  });
}

/** One credit (the customer owes less) or debit note with the differences as its lines, numbered gap-free. */
async function issueNote(
  client: BulkClient,
  note: { rerateId: number; billId: number; billingAccountId: string; orgUnitId: string; period: string; differences: RerateDifference[]; reason: string; by: string },
): Promise<void> {
  const sum = note.differences.reduce((acc, difference) => acc + difference.differenceMinor, 0);
  const tax = note.differences.filter((difference) => difference.key === 'tax').reduce((acc, difference) => acc + difference.differenceMinor, 0);
  const kind = sum < 0 ? 'credit' : 'debit';
  const sign = sum < 0 ? -1 : 1;
  const series = `${kind === 'credit' ? 'CN' : 'DN'}-${note.period.slice(0, 4)}`;
  const [counter] = await client.query(
    z.object({ last_value: z.coerce.number() }),
    `INSERT INTO number_series (series, last_value) VALUES ($1, 1) ON CONFLICT (series) DO UPDATE SET last_value = number_series.last_value + 1 RETURNING last_value`,
    [series],
  );
  const [created] = await client.query(
    z.object({ id: z.coerce.number() }),
    `INSERT INTO bill_notes (note_no, kind, bill_id, billing_account_id, org_unit_id, rerate_id, reason, net_minor, tax_minor, total_minor, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [`${series}-${String(counter!.last_value).padStart(8, '0')}`, kind, note.billId, note.billingAccountId, note.orgUnitId, note.rerateId, note.reason, sign * (sum - tax), sign * tax, sign * sum, note.by],
  );
  let lineNo = 0;
  for (const difference of note.differences) {
    lineNo += 1;
    await client.run('INSERT INTO bill_note_lines (note_id, line_no, key, description, amount_minor) VALUES ($1, $2, $3, $4, $5)', [created!.id, lineNo, difference.key, difference.description, difference.differenceMinor]);
  }
  await client.run('UPDATE bills SET adjusted_minor = adjusted_minor + $2 WHERE id = $1', [note.billId, sum]);
}

async function summaryOf(client: BulkClient, rerateId: number): Promise<Omit<RerateSummary, 'replayed'>> {
  const [request] = await client.query(
    z.object({ id: z.coerce.number(), period: z.string(), accounts: z.number(), records: z.coerce.number(), difference_minor: z.coerce.number() }),
    'SELECT id, period, accounts, records, difference_minor FROM rerate_requests WHERE id = $1',
    [rerateId],
  );
  const differences = await client.query(
    z.object({ billing_account_id: z.string(), bill_no: z.string(), key: z.string(), description: z.string(), before_minor: z.coerce.number(), after_minor: z.coerce.number(), difference_minor: z.coerce.number() }),
    `SELECT d.billing_account_id, b.bill_no, d.key, d.description, d.before_minor, d.after_minor, d.difference_minor
       FROM rerate_differences d JOIN bills b ON b.id = d.bill_id WHERE d.rerate_id = $1 ORDER BY d.billing_account_id, d.key`,
    [rerateId],
  );
  const notes = await client.query(
    z.object({ note_no: z.string(), kind: z.enum(['credit', 'debit']), bill_no: z.string(), total_minor: z.coerce.number() }),
    'SELECT n.note_no, n.kind, b.bill_no, n.total_minor FROM bill_notes n JOIN bills b ON b.id = n.bill_id WHERE n.rerate_id = $1 ORDER BY n.id',
    [rerateId],
  );
  return {
    rerateId,
    period: request!.period,
    accounts: request!.accounts,
    records: request!.records,
    differenceMinor: request!.difference_minor,
    notes: notes.map((note) => ({ noteNo: note.note_no, kind: note.kind, billNo: note.bill_no, totalMinor: note.total_minor })),
    differences: differences.map((row) => ({
      billingAccountId: row.billing_account_id,
      billNo: row.bill_no,
      key: row.key,
      description: row.description,
      beforeMinor: row.before_minor,
      afterMinor: row.after_minor,
      differenceMinor: row.difference_minor,
    })),
  };
}
