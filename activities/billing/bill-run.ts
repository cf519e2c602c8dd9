/**
 * The bill run's set-based steps. Each is idempotent: a retry, a resumed worker or a second
 * delivery of the same step finds the work done and returns what it did, and a batch commits all
 * of its work — rated records, bills, lines, its own "done" mark and the run's counters — in one
 * transaction or none of it.
 */

import { z } from 'zod';
import { billingPeriod, previousPeriodId, type TariffBook } from '../rating';
import { adjustmentIdOf, billAccount, type AccountRow, type AdjustmentRow, type SubscriptionRow, type UsageRow } from './account-billing';
import { copyLine, type BulkClient, type BulkDatabase } from './bulk';
import { cachedTariffBook } from './catalogue';
import { defaultTimeZone } from './guiding';
import { analyzeUsagePartition, ensureUsagePartitions, settleUsagePartitions } from './partitions';

export const billRunStatuses = ['created', 'collecting', 'rating', 'awaiting_approval', 'issuing', 'publishing', 'completed', 'rejected', 'failed'] as const;
export type BillRunStatus = (typeof billRunStatuses)[number];

/** A step was asked of a run in a state where it makes no sense (a programming or ordering error). */
export class BillRunError extends Error {
  constructor(
    readonly code: 'RUN_NOT_FOUND' | 'RUN_NOT_OWNED' | 'RUN_STATE' | 'RUN_INCOMPLETE' | 'CONSERVATION_BROKEN',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'BillRunError';
  }
}

const runRow = z.object({
  id: z.coerce.number(),
  period: z.string(),
  cycle_day: z.number(),
  status: z.enum(billRunStatuses),
  workflow_id: z.string().nullable(),
  approval_threshold_percent: z.coerce.number(),
  accounts_total: z.number(),
  accounts_done: z.number(),
  records_total: z.coerce.number(),
  records_done: z.coerce.number(),
  batches_total: z.number(),
  batches_done: z.number(),
  files_collected: z.number(),
  files_quarantined: z.number(),
  records_in: z.coerce.number(),
  records_carried_in: z.coerce.number(),
  records_rated: z.coerce.number(),
  records_rejected: z.coerce.number(),
  records_rejected_at_rating: z.coerce.number(),
  records_duplicate: z.coerce.number(),
  records_deferred: z.coerce.number(),
  bills_total_minor: z.coerce.number().nullable(),
  previous_total_minor: z.coerce.number().nullable(),
  deviation_percent: z.coerce.number().nullable(),
});
export type BillRunRow = z.infer<typeof runRow>;

const runColumns = `id, period, cycle_day, status, workflow_id, approval_threshold_percent, accounts_total, accounts_done, records_total, records_done,
  batches_total, batches_done, files_collected, files_quarantined, records_in, records_carried_in, records_rated, records_rejected, records_rejected_at_rating, records_duplicate,
  records_deferred, bills_total_minor, previous_total_minor, deviation_percent`;

export async function getRun(client: BulkClient, runId: number, lock = false): Promise<BillRunRow> {
  const [run] = await client.query(runRow, `SELECT ${runColumns} FROM bill_runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [runId]);
  if (!run) throw new BillRunError('RUN_NOT_FOUND', `bill run ${runId} does not exist`);
  return run;
}

export interface OpenRunInput {
  period: string;
  cycleDay: number;
  requestedBy: string;
  thresholdPercent: number;
  /** The process instance running it: opening again from the same instance finds the same run. */
  workflowId: string;
}

/** Opens (or finds, for the same process instance) the run of a period and cycle day. */
export async function openRun(db: BulkDatabase, input: OpenRunInput): Promise<BillRunRow> {
  billingPeriod(input.period, defaultTimeZone, input.cycleDay);
  return db.transaction(async (client) => {
    const [existing] = await client.query(runRow, `SELECT ${runColumns} FROM bill_runs WHERE workflow_id = $1`, [input.workflowId]);
    if (existing) return existing;
    const [created] = await client.query(
      runRow,
      `INSERT INTO bill_runs (period, cycle_day, workflow_id, requested_by, approval_threshold_percent, status, started_at)
       VALUES ($1, $2, $3, $4, $5, 'collecting', now()) RETURNING ${runColumns}`,
      [input.period, input.cycleDay, input.workflowId, input.requestedBy, input.thresholdPercent],
    );
    return created!;
  });
}

export async function setRunStatus(client: BulkClient, runId: number, status: BillRunStatus, from: readonly BillRunStatus[]): Promise<void> {
  const run = await getRun(client, runId, true);
  if (run.status === status) return;
  if (!from.includes(run.status)) throw new BillRunError('RUN_STATE', `bill run ${runId} is ${run.status}, not ${from.join(' or ')}`);
  await client.run(`UPDATE bill_runs SET status = $2, updated_at = now()${status === 'completed' || status === 'rejected' ? ', finished_at = now()' : ''} WHERE id = $1`, [runId, status]);
}

export interface RunPlan {
  batches: number[];
  accountsTotal: number;
  recordsTotal: number;
}

/**
 * Fixes the accounts of a run and cuts them into batches: at most `accountsPerBatch` accounts and
 * (unless one account alone has more) `maxRecordsPerBatch` records each. Planned once; asked
 * again, it returns the same plan.
 */
export async function planRun(db: BulkDatabase, runId: number, accountsPerBatch: number, maxRecordsPerBatch: number): Promise<RunPlan> {
  // Rating reads the run's period from its own partition: records still in the default partition
  // (a resubmission, a period collected outside the expected months) are moved there first.
  const { period, status } = await db.transaction((client) => getRun(client, runId));
  if (status === 'collecting') {
    await settleUsagePartitions(db);
    await ensureUsagePartitions(db, [period]);
    // The month was loaded moments ago: every batch's read is planned on these statistics.
    await analyzeUsagePartition(db, 'usage_records', period);
  }
  return db.transaction(async (client) => {
    const run = await getRun(client, runId, true);
    if (run.batches_total > 0 || run.status !== 'collecting') {
      const batches = await client.query(z.object({ batch_no: z.number() }), 'SELECT batch_no FROM bill_run_batches WHERE bill_run_id = $1 ORDER BY batch_no', [runId]);
      return { batches: batches.map((row) => row.batch_no), accountsTotal: run.accounts_total, recordsTotal: run.records_total };
    }
    const [year, month] = run.period.split('-').map(Number);
    // A lenient bound (zones differ by a day at most): billAccount decides per account what falls in its period.
    const periodStartApprox = new Date(Date.UTC(year!, month! - 1, run.cycle_day) - 2 * 86_400_000);
    const accounts = await client.query(
      z.object({ id: z.string(), records: z.coerce.number() }),
      `SELECT b.id, coalesce(u.records, 0) AS records
         FROM billing_accounts b
         LEFT JOIN (SELECT billing_account_id, count(*) AS records FROM usage_records WHERE period = $1 GROUP BY billing_account_id) u ON u.billing_account_id = b.id
        WHERE b.bill_cycle_day = $2 AND b.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM bills x WHERE x.billing_account_id = b.id AND x.period = $1)
          AND (u.records IS NOT NULL
               OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.billing_account_id = b.id AND s.activated_at IS NOT NULL
                            AND (s.terminated_at IS NULL OR s.terminated_at > $3))
               OR EXISTS (SELECT 1 FROM billing_adjustments a WHERE a.billing_account_id = b.id AND a.cancelled_at IS NULL))
        ORDER BY b.id`,
      [run.period, run.cycle_day, periodStartApprox],
    );
    const batches: { no: number; ids: string[]; records: number }[] = [];
    let current: { no: number; ids: string[]; records: number } | null = null;
    for (const account of accounts) {
      if (!current || current.ids.length >= accountsPerBatch || (current.ids.length > 0 && current.records + account.records > maxRecordsPerBatch)) {
        current = { no: batches.length, ids: [], records: 0 };
        batches.push(current);
      }
      current.ids.push(account.id);
      current.records += account.records;
    }
    const recordsTotal = batches.reduce((sum, batch) => sum + batch.records, 0);
    if (batches.length > 0) {
      await client.run(
        `INSERT INTO bill_run_batches (bill_run_id, batch_no, billing_account_ids, records_planned)
         SELECT $1, (e->>'no')::int, ARRAY(SELECT jsonb_array_elements_text(e->'ids')), (e->>'records')::bigint FROM jsonb_array_elements($2::jsonb) e`,
        [runId, JSON.stringify(batches)],
      );
    }
    await client.run(
      `UPDATE bill_runs SET status = 'rating', accounts_total = $2, records_total = $3, batches_total = $4, updated_at = now() WHERE id = $1`,
      [runId, accounts.length, recordsTotal, batches.length],
    );
    return { batches: batches.map((batch) => batch.no), accountsTotal: accounts.length, recordsTotal };
  });
}

export interface BatchResult {
  batchNo: number;
  accounts: number;
  bills: number;
  recordsRated: number;
  recordsRejected: number;
  /** True when an earlier attempt had already done it. */
  alreadyDone: boolean;
}

const batchRow = z.object({ billing_account_ids: z.array(z.string()), done_at: z.date().nullable(), records_rated: z.coerce.number().nullable(), records_rejected: z.coerce.number().nullable(), bills: z.number().nullable() });

const accountRow = z.object({
  id: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  currency: z.string(),
  bill_cycle_day: z.number(),
  time_zone: z.string(),
  home_prefix: z.string().nullable(),
  agreement: z.unknown(),
});
const subscriptionRow = z.object({
  id: z.string(),
  product_id: z.string(),
  billing_account_id: z.string(),
  quantity: z.number(),
  activated_at: z.date(),
  terminated_at: z.date().nullable(),
});
const adjustmentRow = z.object({
  id: z.coerce.number(),
  billing_account_id: z.string(),
  kind: z.enum(['charge', 'credit']),
  description: z.string(),
  remaining: z.coerce.number(),
  currency: z.string(),
});

/**
 * Rates and bills one batch of accounts in one transaction: reads the batch's usage, rates it
 * (first and second rating), drafts one bill per account with its lines, writes one rated_usage
 * row per record, moves records that can no longer be rated to the error table, and marks the
 * batch done with the run's counters. The batch row is locked first, so two attempts never
 * overlap; a committed batch is never done twice.
 */
export async function rateAndBillBatch(db: BulkDatabase, runId: number, batchNo: number, books: { load(client: BulkClient): Promise<TariffBook> } = { load: cachedTariffBook }): Promise<BatchResult> {
  return db.transaction(async (client) => {
    const [batch] = await client.query(batchRow, 'SELECT billing_account_ids, done_at, records_rated, records_rejected, bills FROM bill_run_batches WHERE bill_run_id = $1 AND batch_no = $2 FOR UPDATE', [runId, batchNo]);
    if (!batch) throw new BillRunError('RUN_STATE', `bill run ${runId} has no batch ${batchNo}`);
    if (batch.done_at) {
      return { batchNo, accounts: batch.billing_account_ids.length, bills: batch.bills ?? 0, recordsRated: batch.records_rated ?? 0, recordsRejected: batch.records_rejected ?? 0, alreadyDone: true };
    }
    const run = await getRun(client, runId);
    if (run.status !== 'rating') throw new BillRunError('RUN_STATE', `bill run ${runId} is ${run.status}, not rating`);
    const ids = batch.billing_account_ids;
    const book = await books.load(client);

    const accounts = await client.query(
      accountRow,
      `SELECT b.id, b.account_id, b.org_unit_id, b.currency, b.bill_cycle_day, coalesce(t.time_zone, $2) AS time_zone, t.home_prefix, coalesce(t.agreement, '{}'::jsonb) AS agreement
         FROM billing_accounts b LEFT JOIN billing_terms t ON t.billing_account_id = b.id WHERE b.id = ANY($1) ORDER BY b.id`,
      [ids, defaultTimeZone],
    );
    const subscriptions = group(
      await client.query(subscriptionRow, 'SELECT id, product_id, billing_account_id, quantity, activated_at, terminated_at FROM subscriptions WHERE billing_account_id = ANY($1) AND activated_at IS NOT NULL', [ids]),
      (row) => row.billing_account_id,
    );
    const adjustments = group(await pendingAdjustments(client, ids), (row) => row.billing_account_id);
    const usage = await usageOf(client, ids, run.period);

    const ratedRecords: { accountId: string; event: ReturnType<typeof billAccount>['rated'][number] }[] = [];
    const billRows: Record<string, unknown>[] = [];
    const linesOf = new Map<string, { bill: NonNullable<ReturnType<typeof billAccount>['bill']>; records: number[] }>();
    const rejected: { id: number; reason: string; message: string }[] = [];
    let recordsRated = 0;
    const periods = new Map<string, ReturnType<typeof billingPeriod>>();
    for (const account of accounts) {
      const accountInfo: AccountRow = {
        billingAccountId: account.id,
        accountId: account.account_id,
        orgUnitId: account.org_unit_id,
        currency: account.currency,
        cycleDay: account.bill_cycle_day,
        timeZone: account.time_zone,
        homePrefix: account.home_prefix,
        agreement: account.agreement,
      };
      const periodKey = `${account.time_zone}|${account.bill_cycle_day}`;
      let period = periods.get(periodKey);
      if (!period) {
        period = billingPeriod(run.period, account.time_zone, account.bill_cycle_day);
        periods.set(periodKey, period);
      }
      const result = billAccount(
        accountInfo,
        period,
        book,
        (subscriptions.get(account.id) ?? []).map(
          (row): SubscriptionRow => ({ id: row.id, productId: row.product_id, quantity: row.quantity, activatedMs: row.activated_at.getTime(), terminatedMs: row.terminated_at?.getTime() ?? null }),
        ),
        usage.get(account.id) ?? [],
        (adjustments.get(account.id) ?? []).map((row): AdjustmentRow => ({ id: row.id, kind: row.kind, description: row.description, remainingMinor: row.remaining, currency: row.currency })),
      );
      for (const entry of result.rejected) rejected.push({ id: entry.usageRecordId, reason: entry.reason, message: entry.message });
      if (!result.bill) continue;
      const totals = result.bill.totals;
      billRows.push({
        billing_account_id: account.id,
        account_id: account.account_id,
        org_unit_id: account.org_unit_id,
        period: run.period,
        period_start: period.startDate,
        period_end: period.endDate,
        time_zone: account.time_zone,
        currency: account.currency,
        minor_digits: result.minorDigits,
        charges_minor: totals.charges,
        discounts_minor: totals.discounts,
        commitment_minor: totals.commitmentTopUp,
        credits_minor: totals.credits,
        net_minor: totals.net,
        tax_minor: totals.tax,
        total_minor: totals.total,
        records: result.rated.length,
      });
      linesOf.set(account.id, { bill: result.bill, records: [] });
      recordsRated += result.rated.length;
      // rated_usage rows need the bill id: they are written once the bills exist.
      for (const event of result.rated) ratedRecords.push({ accountId: account.id, event });
    }

    const billIds = new Map<string, number>();
    if (billRows.length > 0) {
      const inserted = await client.query(
        z.object({ id: z.coerce.number(), billing_account_id: z.string() }),
        `INSERT INTO bills (billing_account_id, account_id, org_unit_id, bill_run_id, period, period_start, period_end, time_zone, currency, minor_digits, status,
                            charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor, records)
         SELECT x.billing_account_id, x.account_id, x.org_unit_id, $2, x.period, x.period_start, x.period_end, x.time_zone, x.currency, x.minor_digits, 'new',
                x.charges_minor, x.discounts_minor, x.commitment_minor, x.credits_minor, x.net_minor, x.tax_minor, x.total_minor, x.records
           FROM jsonb_to_recordset($1::jsonb) AS x(billing_account_id text, account_id text, org_unit_id text, period text, period_start date, period_end date,
                time_zone text, currency text, minor_digits smallint, charges_minor bigint, discounts_minor bigint, commitment_minor bigint, credits_minor bigint,
                net_minor bigint, tax_minor bigint, total_minor bigint, records integer)
         RETURNING id, billing_account_id`,
        [JSON.stringify(billRows), runId],
      );
      for (const row of inserted) billIds.set(row.billing_account_id, row.id);
      await client.copyIn(
        'COPY bill_lines (bill_id, line_no, kind, key, description, tariff_id, product_id, adjustment_id, quantity, unit, amount_minor, detail) FROM STDIN',
        (function* () {
          for (const [accountId, { bill }] of linesOf) {
            const billId = billIds.get(accountId)!;
            for (const line of bill.lines) {
              yield copyLine([billId, line.lineNo, line.kind, line.key, line.description, line.tariffId, line.productId, adjustmentIdOf(line.key), line.quantity, line.unit, line.amount, JSON.stringify(line.detail)]);
            }
          }
        })(),
      );
      await client.copyIn(
        'COPY rated_usage (usage_record_id, rating_no, billing_account_id, period, bill_id, tariff_id, category, units, free_units, bundle_id, charge_sub, state) FROM STDIN',
        (function* () {
          for (const { accountId, event } of ratedRecords) {
            yield copyLine([event.usageRecordId, 1, accountId, run.period, billIds.get(accountId)!, event.tariffId, event.category, event.units, event.freeUnits, event.bundleId, event.chargeSub, 'rated']);
          }
        })(),
      );
    }
    if (rejected.length > 0) await rejectRecords(client, runId, run.period, rejected);
    await client.run('UPDATE bill_run_batches SET done_at = now(), records_rated = $3, records_rejected = $4, bills = $5 WHERE bill_run_id = $1 AND batch_no = $2', [
      runId,
      batchNo,
      recordsRated,
      rejected.length,
      billRows.length,
    ]);
    await client.run(
      `UPDATE bill_runs SET batches_done = batches_done + 1, accounts_done = accounts_done + $2, records_done = records_done + $3, records_rated = records_rated + $4,
              records_rejected = records_rejected + $5, records_rejected_at_rating = records_rejected_at_rating + $5, updated_at = now() WHERE id = $1`,
      [runId, ids.length, recordsRated + rejected.length, recordsRated, rejected.length],
    );
    return { batchNo, accounts: ids.length, bills: billRows.length, recordsRated, recordsRejected: rejected.length, alreadyDone: false };
  });
}

/** Pending one-off charges and credits of accounts, with what is left of each. */
export async function pendingAdjustments(client: BulkClient, billingAccountIds: readonly string[]) {
  return client.query(
    adjustmentRow,
    `SELECT a.id, a.billing_account_id, a.kind, a.description, a.amount_minor - coalesce(used.amount, 0) AS remaining, a.currency
       FROM billing_adjustments a
       LEFT JOIN (SELECT adjustment_id, sum(abs(amount_minor)) AS amount FROM bill_lines WHERE adjustment_id IS NOT NULL GROUP BY adjustment_id) used ON used.adjustment_id = a.id
      WHERE a.billing_account_id = ANY($1) AND a.cancelled_at IS NULL AND a.amount_minor - coalesce(used.amount, 0) > 0
      ORDER BY a.id`,
    [billingAccountIds],
  );
}

/**
 * The usage of accounts in a period, grouped by account. The hot read of a batch (10⁵ rows): rows
 * come as arrays of the columns selected here, whose types the table's own constraints fix, so they
 * skip the per-row zod check the other queries get.
 */
export async function usageOf(client: BulkClient, billingAccountIds: readonly string[], period: string): Promise<Map<string, UsageRow[]>> {
  const result = await client.connection.query({
    text: `SELECT billing_account_id, id, source || '/' || record_id, subscription_id, (extract(epoch FROM started_at) * 1000)::float8, usage_type,
                  duration_sec, volume_bytes::float8, messages, destination
             FROM usage_records WHERE billing_account_id = ANY($1) AND period = $2`,
    values: [billingAccountIds, period],
    rowMode: 'array',
  });
  const byAccount = new Map<string, UsageRow[]>();
  for (const row of result.rows as unknown[][]) {
    const accountId = row[0] as string;
    let list = byAccount.get(accountId);
    if (!list) {
      list = [];
      byAccount.set(accountId, list);
    }
    list.push({
      id: Number(row[1]),
      key: row[2] as string,
      subscriptionId: row[3] as string,
      startMs: row[4] as number,
      usageType: row[5] as UsageRow['usageType'],
      durationSec: row[6] as number,
      volumeBytes: row[7] as number,
      messages: row[8] as number,
      destination: row[9] as string,
    });
  }
  return byAccount;
}

/** Moves records that can no longer be rated from usage_records to the error table, with their reason. */
async function rejectRecords(client: BulkClient, runId: number, period: string, rejected: { id: number; reason: string; message: string }[]): Promise<void> {
  await client.run(
    `WITH gone AS (DELETE FROM usage_records WHERE period = $3 AND id IN (SELECT (r->>'id')::bigint FROM jsonb_array_elements($1::jsonb) r) RETURNING *)
     INSERT INTO usage_rejections (source, record_id, file_id, line_no, bill_run_id, raw, reason_code, reason, billing_account_id, org_unit_id)
     SELECT g.source, g.record_id, g.file_id, g.line_no, $2, to_jsonb(g) - 'id', r.reason, r.message, g.billing_account_id, g.org_unit_id
       FROM gone g JOIN jsonb_to_recordset($1::jsonb) AS r(id bigint, reason text, message text) ON r.id = g.id`,
    [JSON.stringify(rejected), runId, period],
  );
}

export interface RatingOutcome {
  run: BillRunRow;
  needsApproval: boolean;
  ledger: Ledger;
}

export interface Ledger {
  recordsIn: number;
  carriedIn: number;
  rated: number;
  rejected: number;
  duplicates: number;
  deferred: number;
  unrated: number;
  balanced: boolean;
}

/**
 * After the last batch: checks that every record of the run's accounts and period was rated once
 * or rejected (the conservation check), totals the drafts and compares them with the previous
 * period's bills of the same accounts. Approval is needed when there is nothing to compare with,
 * or when the totals deviate by more than the run's threshold.
 * @throws BillRunError RUN_INCOMPLETE when a batch is not done, CONSERVATION_BROKEN when records were left unrated.
 */
export async function finishRating(db: BulkDatabase, runId: number): Promise<RatingOutcome> {
  return db.transaction(async (client) => {
    let run = await getRun(client, runId, true);
    if (run.status !== 'rating') {
      return { run, needsApproval: run.status === 'awaiting_approval', ledger: ledgerOf(run, 0) };
    }
    if (run.batches_done < run.batches_total) throw new BillRunError('RUN_INCOMPLETE', `bill run ${runId} has ${run.batches_total - run.batches_done} batches not done`);
    // The check reads a whole month of records and of ratings: only hash joins make that one pass
    // each. On a partition loaded moments ago the planner's row estimates are far off, and its
    // nested loop ran for minutes at a million records; JIT only adds its compile time here.
    await client.run('SET LOCAL enable_nestloop = off');
    await client.run('SET LOCAL jit = off');
    const [check] = await client.query(
      z.object({ records: z.coerce.number(), rated: z.coerce.number() }),
      `SELECT count(*) AS records, count(r.usage_record_id) AS rated
         FROM usage_records u
         LEFT JOIN rated_usage r ON r.usage_record_id = u.id AND r.period = $2 AND r.state <> 'reversed'
        WHERE u.period = $2 AND u.billing_account_id IN (SELECT unnest(billing_account_ids) FROM bill_run_batches WHERE bill_run_id = $1)`,
      [runId, run.period],
    );
    await client.run('SET LOCAL enable_nestloop TO DEFAULT');
    await client.run('SET LOCAL jit TO DEFAULT');
    // Unrated: records of the run's accounts and period without a current rating, or rated but not
    // counted by a batch (both would break the books).
    const unrated = check!.records - check!.rated + Math.abs(check!.rated - run.records_rated);
    // What this run's collections accepted for its own period; every other record of it was carried in.
    const acceptedForRun = run.records_in - (run.records_rejected - run.records_rejected_at_rating) - run.records_duplicate - run.records_deferred;
    const carriedIn = check!.records + run.records_rejected_at_rating - acceptedForRun;
    const [totals] = await client.query(
      z.object({ current: z.coerce.number(), previous: z.coerce.number().nullable() }),
      `SELECT (SELECT coalesce(sum(total_minor), 0) FROM bills WHERE bill_run_id = $1) AS current,
              (SELECT sum(p.total_minor) FROM bills p JOIN bills c ON c.billing_account_id = p.billing_account_id AND c.bill_run_id = $1
                WHERE p.period = $2 AND p.status NOT IN ('new', 'onHold')) AS previous`,
      [runId, previousPeriodId(run.period)],
    );
    const previous = totals!.previous;
    const deviation = previous === null || previous === 0 ? null : Math.round(((totals!.current - previous) / previous) * 10_000) / 100;
    const needsApproval = deviation === null || Math.abs(deviation) > run.approval_threshold_percent;
    await client.run(
      `UPDATE bill_runs SET records_carried_in = $2, bills_total_minor = $3, previous_total_minor = $4, deviation_percent = $5, status = $6, updated_at = now() WHERE id = $1`,
      [runId, carriedIn, totals!.current, previous, deviation, needsApproval ? 'awaiting_approval' : 'issuing'],
    );
    run = await getRun(client, runId);
    const ledger = ledgerOf(run, unrated);
    if (!ledger.balanced) {
      throw new BillRunError('CONSERVATION_BROKEN', `bill run ${runId}: ${unrated} records of ${run.period} were left unrated`, ledger);
    }
    return { run, needsApproval, ledger };
  });
}

export function ledgerOf(run: BillRunRow, unrated: number): Ledger {
  const ledger = {
    recordsIn: run.records_in,
    carriedIn: run.records_carried_in,
    rated: run.records_rated,
    rejected: run.records_rejected,
    duplicates: run.records_duplicate,
    deferred: run.records_deferred,
    unrated,
    balanced: false,
  };
  ledger.balanced = unrated === 0 && ledger.recordsIn + ledger.carriedIn === ledger.rated + ledger.rejected + ledger.duplicates + ledger.deferred;
  return ledger;
}

/** Records a billing clerk's decision on a run awaiting approval. */
export async function decideRun(db: BulkDatabase, runId: number, decision: { approved: boolean; by: string; comment?: string }): Promise<BillRunRow> {
  return db.transaction(async (client) => {
    const run = await getRun(client, runId, true);
    if (run.status === 'awaiting_approval') {
      await client.run(`UPDATE bill_runs SET status = $2, decided_by = $3, decided_at = now(), decision_comment = $4, updated_at = now() WHERE id = $1`, [
        runId,
        decision.approved ? 'issuing' : 'rejected',
        decision.by,
        decision.comment ?? null,
      ]);
      if (!decision.approved) await discardDrafts(client, runId, run.period);
    }
    return getRun(client, runId);
  });
}

/** A rejected run leaves nothing behind but its record: drafts and their ratings go. */
async function discardDrafts(client: BulkClient, runId: number, period: string): Promise<void> {
  await client.run(`DELETE FROM rated_usage WHERE period = $2 AND bill_id IN (SELECT id FROM bills WHERE bill_run_id = $1 AND status IN ('new', 'onHold'))`, [runId, period]);
  await client.run(`DELETE FROM bills WHERE bill_run_id = $1 AND status IN ('new', 'onHold')`, [runId]);
  await client.run(`UPDATE bill_runs SET finished_at = now() WHERE id = $1`, [runId]);
}

/**
 * Issues the run's drafts: numbers from the gap-free series of the period's year (in account order),
 * state validated, due `dueDays` after issue. Numbers and states commit together, so a failed issue
 * burns no number; issuing again finds nothing left to issue.
 */
export async function issueBills(db: BulkDatabase, runId: number, issuedAt: Date, dueDays: number): Promise<{ issued: number; firstNo: string | null; lastNo: string | null }> {
  return db.transaction(async (client) => {
    const run = await getRun(client, runId, true);
    if (run.status !== 'issuing' && run.status !== 'publishing' && run.status !== 'completed') {
      throw new BillRunError('RUN_STATE', `bill run ${runId} is ${run.status}; bills are issued after approval`);
    }
    const series = `BL-${run.period.slice(0, 4)}`;
    const issued = await client.query(
      z.object({ bill_no: z.string() }),
      `WITH todo AS (
         SELECT id, row_number() OVER (ORDER BY billing_account_id) AS n, count(*) OVER () AS total
           FROM bills WHERE bill_run_id = $1 AND status IN ('new', 'onHold')
       ), counter AS (
         INSERT INTO number_series (series, last_value) SELECT $2, coalesce(max(total), 0) FROM todo
         ON CONFLICT (series) DO UPDATE SET last_value = number_series.last_value + excluded.last_value
         RETURNING last_value
       )
       UPDATE bills b SET bill_no = $2 || '-' || lpad((c.last_value - t.total + t.n)::text, 8, '0'), status = 'validated', issued_at = $3,
              due_date = ($3::timestamptz AT TIME ZONE b.time_zone)::date + $4::int
         FROM todo t, counter c WHERE b.id = t.id
       RETURNING b.bill_no`,
      [runId, series, issuedAt, dueDays],
    );
    if (run.status === 'issuing') await client.run(`UPDATE bill_runs SET status = 'publishing', updated_at = now() WHERE id = $1`, [runId]);
    const numbers = issued.map((row) => row.bill_no).sort();
    return { issued: issued.length, firstNo: numbers[0] ?? null, lastNo: numbers[numbers.length - 1] ?? null };
  });
}

function group<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = map.get(key);
    if (list) list.push(row);
    else map.set(key, [row]);
  }
  return map;
}
