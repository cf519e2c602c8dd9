import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from './scope';

/** Typed reads of bill runs, bills and the usage error table for the API (writes go through activities/billing). */

export const billRun = z.object({
  id: z.coerce.number(),
  period: z.string(),
  cycleDay: z.number(),
  status: z.string(),
  workflowId: z.string().nullable(),
  requestedBy: z.string(),
  thresholdPercent: z.coerce.number(),
  progress: z.object({
    accounts: z.object({ done: z.number(), total: z.number() }),
    records: z.object({ done: z.coerce.number(), total: z.coerce.number() }),
    batches: z.object({ done: z.number(), total: z.number() }),
    /** 0–100, for a progress bar: records done of total (accounts when there are no records). */
    percent: z.number(),
  }),
  ledger: z.object({
    filesCollected: z.number(),
    filesQuarantined: z.number(),
    recordsIn: z.coerce.number(),
    carriedIn: z.coerce.number(),
    rated: z.coerce.number(),
    rejected: z.coerce.number(),
    duplicates: z.coerce.number(),
    deferred: z.coerce.number(),
    balanced: z.boolean().describe('in + carried in = rated + rejected + duplicates + deferred'),
  }),
  totals: z.object({ billsTotalMinor: z.coerce.number().nullable(), previousTotalMinor: z.coerce.number().nullable(), deviationPercent: z.coerce.number().nullable() }),
  decision: z.object({ by: z.string().nullable(), at: z.string().nullable(), comment: z.string().nullable() }),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type BillRun = z.infer<typeof billRun>;

const runRow = z.object({
  id: z.coerce.number(),
  period: z.string(),
  cycle_day: z.number(),
  status: z.string(),
  workflow_id: z.string().nullable(),
  requested_by: z.string(),
  approval_threshold_percent: z.string(),
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
  records_duplicate: z.coerce.number(),
  records_deferred: z.coerce.number(),
  bills_total_minor: z.coerce.number().nullable(),
  previous_total_minor: z.coerce.number().nullable(),
  deviation_percent: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  decision_comment: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});

const runColumns = sql.fragment`id, period, cycle_day, status, workflow_id, requested_by, approval_threshold_percent, accounts_total, accounts_done,
  records_total, records_done, batches_total, batches_done, files_collected, files_quarantined, records_in, records_carried_in, records_rated,
  records_rejected, records_duplicate, records_deferred, bills_total_minor, previous_total_minor, deviation_percent, decided_by, decided_at,
  decision_comment, created_at, finished_at`;

function toRun(row: z.infer<typeof runRow>): BillRun {
  const percent = row.records_total > 0 ? (row.records_done / row.records_total) * 100 : row.accounts_total > 0 ? (row.accounts_done / row.accounts_total) * 100 : 0;
  const out = row.records_in + row.records_carried_in;
  return {
    id: row.id,
    period: row.period,
    cycleDay: row.cycle_day,
    status: row.status,
    workflowId: row.workflow_id,
    requestedBy: row.requested_by,
    thresholdPercent: Number(row.approval_threshold_percent),
    progress: {
      accounts: { done: row.accounts_done, total: row.accounts_total },
      records: { done: row.records_done, total: row.records_total },
      batches: { done: row.batches_done, total: row.batches_total },
      percent: Math.round(percent * 10) / 10,
    },
    ledger: {
      filesCollected: row.files_collected,
      filesQuarantined: row.files_quarantined,
      recordsIn: row.records_in,
      carriedIn: row.records_carried_in,
      rated: row.records_rated,
      rejected: row.records_rejected,
      duplicates: row.records_duplicate,
      deferred: row.records_deferred,
      balanced: out === row.records_rated + row.records_rejected + row.records_duplicate + row.records_deferred,
    },
    totals: { billsTotalMinor: row.bills_total_minor, previousTotalMinor: row.previous_total_minor, deviationPercent: row.deviation_percent === null ? null : Number(row.deviation_percent) },
    decision: { by: row.decided_by, at: row.decided_at, comment: row.decision_comment },
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export async function getBillRun(db: CommonQueryMethods, id: number): Promise<BillRun | null> {
  const row = await db.maybeOne(sql.type(runRow)`SELECT ${runColumns} FROM bill_runs WHERE id = ${id}`);
  return row ? toRun(row) : null;
}

export async function listBillRuns(db: CommonQueryMethods, filter: { period?: string; limit: number; before?: number }): Promise<{ items: BillRun[]; nextCursor: string | null }> {
  const conditions = [sql.fragment`true`];
  if (filter.period) conditions.push(sql.fragment`period = ${filter.period}`);
  if (filter.before) conditions.push(sql.fragment`id < ${filter.before}`);
  const rows = await db.any(sql.type(runRow)`
    SELECT ${runColumns} FROM bill_runs WHERE ${sql.join(conditions, sql.fragment` AND `)} ORDER BY id DESC LIMIT ${filter.limit + 1}`);
  const items = rows.slice(0, filter.limit).map(toRun);
  return { items, nextCursor: rows.length > filter.limit ? String(items[items.length - 1]!.id) : null };
}

/** How many runs of a period and cycle day there were: the next one's business key counts on. */
export async function countBillRuns(db: CommonQueryMethods, period: string, cycleDay: number): Promise<{ total: number; live: number }> {
  return db.one(sql.type(z.object({ total: z.coerce.number(), live: z.coerce.number() }))`
    SELECT count(*) AS total, count(*) FILTER (WHERE status NOT IN ('rejected', 'failed')) AS live FROM bill_runs WHERE period = ${period} AND cycle_day = ${cycleDay}`);
}

export const billSummary = z.object({
  id: z.coerce.number(),
  billNo: z.string().nullable(),
  billingAccountId: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  orgUnitId: z.string(),
  billRunId: z.coerce.number().nullable(),
  period: z.string(),
  periodStart: z.string(),
  periodEnd: z.string().describe('first day after the period'),
  timeZone: z.string(),
  currency: z.string(),
  minorDigits: z.number(),
  status: z.enum(['new', 'onHold', 'validated', 'sent', 'partiallyPaid', 'settled']),
  chargesMinor: z.coerce.number(),
  discountsMinor: z.coerce.number(),
  commitmentMinor: z.coerce.number(),
  creditsMinor: z.coerce.number(),
  netMinor: z.coerce.number(),
  taxMinor: z.coerce.number(),
  totalMinor: z.coerce.number(),
  adjustedMinor: z.coerce.number().describe('credit (−) and debit (+) notes issued against the bill'),
  paidMinor: z.coerce.number(),
  outstandingMinor: z.coerce.number(),
  records: z.number(),
  issuedAt: z.string().nullable(),
  dueDate: z.string().nullable(),
  sentAt: z.string().nullable(),
  settledAt: z.string().nullable(),
});
export type BillSummary = z.infer<typeof billSummary>;

const billColumns = sql.fragment`b.id, b.bill_no AS "billNo", b.billing_account_id AS "billingAccountId", b.account_id AS "accountId", k.name AS "accountName",
  b.org_unit_id AS "orgUnitId", b.bill_run_id AS "billRunId", b.period, to_char(b.period_start, 'YYYY-MM-DD') AS "periodStart",
  to_char(b.period_end, 'YYYY-MM-DD') AS "periodEnd", b.time_zone AS "timeZone", b.currency, b.minor_digits AS "minorDigits", b.status,
  b.charges_minor AS "chargesMinor", b.discounts_minor AS "discountsMinor", b.commitment_minor AS "commitmentMinor", b.credits_minor AS "creditsMinor",
  b.net_minor AS "netMinor", b.tax_minor AS "taxMinor", b.total_minor AS "totalMinor", b.adjusted_minor AS "adjustedMinor", b.paid_minor AS "paidMinor",
  b.total_minor + b.adjusted_minor - b.paid_minor AS "outstandingMinor", b.records, b.issued_at AS "issuedAt",
  to_char(b.due_date, 'YYYY-MM-DD') AS "dueDate", b.sent_at AS "sentAt", b.settled_at AS "settledAt"`;

export const billLine = z.object({
  lineNo: z.number(),
  kind: z.string(),
  key: z.string(),
  description: z.string(),
  tariffId: z.string().nullable(),
  productId: z.string().nullable(),
  quantity: z.coerce.number(),
  unit: z.string(),
  amountMinor: z.coerce.number(),
  detail: z.record(z.unknown()),
});
export const billNote = z.object({
  noteNo: z.string(),
  kind: z.enum(['credit', 'debit']),
  reason: z.string(),
  netMinor: z.coerce.number(),
  taxMinor: z.coerce.number(),
  totalMinor: z.coerce.number(),
  createdAt: z.string(),
  lines: z.array(z.object({ key: z.string(), description: z.string(), amountMinor: z.coerce.number() })),
});
export const billPayment = z.object({ paymentRef: z.string(), amountMinor: z.coerce.number(), currency: z.string(), method: z.string(), receivedAt: z.string() });
export const billDetail = billSummary.extend({ lines: z.array(billLine), notes: z.array(billNote), payments: z.array(billPayment) });
export type BillDetail = z.infer<typeof billDetail>;

/** Bills of a run (or of a billing account) within the caller's org subtree, by bill number / account. */
export async function listBills(
  db: CommonQueryMethods,
  scope: OrgScoped,
  filter: { billRunId?: number; billingAccountId?: string; period?: string; status?: string; limit: number; after?: number },
): Promise<{ items: BillSummary[]; nextCursor: string | null }> {
  const conditions = [orgScope(scope, sql.identifier(['b', 'org_unit_id']))];
  if (filter.billRunId !== undefined) conditions.push(sql.fragment`b.bill_run_id = ${filter.billRunId}`);
  if (filter.billingAccountId) conditions.push(sql.fragment`b.billing_account_id = ${filter.billingAccountId}`);
  if (filter.period) conditions.push(sql.fragment`b.period = ${filter.period}`);
  if (filter.status) conditions.push(sql.fragment`b.status = ${filter.status}`);
  if (filter.after !== undefined) conditions.push(sql.fragment`b.id > ${filter.after}`);
  const rows = await db.any(sql.type(billSummary)`
    SELECT ${billColumns} FROM bills b JOIN key_accounts k ON k.id = b.account_id
     WHERE ${sql.join(conditions, sql.fragment` AND `)} ORDER BY b.id LIMIT ${filter.limit + 1}`);
  const items = rows.slice(0, filter.limit);
  return { items: [...items], nextCursor: rows.length > filter.limit ? String(items[items.length - 1]!.id) : null };
}

/** One bill (by number, or by id for a draft) with its lines, notes and payments; null outside the caller's scope. */
export async function getBill(db: CommonQueryMethods, scope: OrgScoped, reference: { billNo: string } | { id: number }): Promise<BillDetail | null> {
  const where = 'billNo' in reference ? sql.fragment`b.bill_no = ${reference.billNo}` : sql.fragment`b.id = ${reference.id}`;
  const bill = await db.maybeOne(sql.type(billSummary)`
    SELECT ${billColumns} FROM bills b JOIN key_accounts k ON k.id = b.account_id
     WHERE ${where} AND ${orgScope(scope, sql.identifier(['b', 'org_unit_id']))}`);
  if (!bill) return null;
  const lines = await db.any(sql.type(billLine)`
    SELECT line_no AS "lineNo", kind, key, description, tariff_id AS "tariffId", product_id AS "productId", quantity, unit, amount_minor AS "amountMinor", detail
      FROM bill_lines WHERE bill_id = ${bill.id} ORDER BY line_no`);
  const notes = await db.any(sql.type(billNote)`
    SELECT n.note_no AS "noteNo", n.kind, n.reason, n.net_minor AS "netMinor", n.tax_minor AS "taxMinor", n.total_minor AS "totalMinor", n.created_at AS "createdAt",
           coalesce((SELECT json_agg(json_build_object('key', l.key, 'description', l.description, 'amountMinor', l.amount_minor) ORDER BY l.line_no)
                       FROM bill_note_lines l WHERE l.note_id = n.id), '[]') AS lines
      FROM bill_notes n WHERE n.bill_id = ${bill.id} ORDER BY n.id`);
  const payments = await db.any(sql.type(billPayment)`
    SELECT payment_ref AS "paymentRef", amount_minor AS "amountMinor", currency, method, received_at AS "receivedAt" FROM payments WHERE bill_id = ${bill.id} ORDER BY received_at, id`);
  return { ...bill, lines: [...lines], notes: [...notes], payments: [...payments] };
}

export const usageRejection = z.object({
  id: z.coerce.number(),
  source: z.string().nullable(),
  recordId: z.string().nullable(),
  fileId: z.coerce.number().nullable(),
  lineNo: z.number().nullable(),
  billRunId: z.coerce.number().nullable(),
  reasonCode: z.string(),
  reason: z.string(),
  raw: z.record(z.unknown()),
  billingAccountId: z.string().nullable(),
  orgUnitId: z.string().nullable(),
  status: z.enum(['open', 'resubmitted', 'discarded']),
  resubmittedAs: z.coerce.number().nullable(),
  resolvedBy: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  rejectedAt: z.string(),
});
export type UsageRejection = z.infer<typeof usageRejection>;

const rejectionColumns = sql.fragment`id, source, record_id AS "recordId", file_id AS "fileId", line_no AS "lineNo", bill_run_id AS "billRunId",
  reason_code AS "reasonCode", reason, raw, billing_account_id AS "billingAccountId", org_unit_id AS "orgUnitId", status,
  resubmitted_as AS "resubmittedAs", resolved_by AS "resolvedBy", resolved_at AS "resolvedAt", rejected_at AS "rejectedAt"`;

/**
 * Rejected usage in the caller's scope. A record refused before it found its subscriber belongs to
 * no unit yet: those are shown to the clerks of the top of the tree (a root-level scope) only.
 */
export async function listRejections(
  db: CommonQueryMethods,
  scope: OrgScoped & { orgUnitId: string },
  filter: { status?: string; reasonCode?: string; billRunId?: number; limit: number; after?: number },
): Promise<{ items: UsageRejection[]; nextCursor: string | null }> {
  const root = scope.orgPath.split('/').filter(Boolean).length === 1;
  const conditions = [root ? sql.fragment`(org_unit_id IS NULL OR ${orgScope(scope)})` : orgScope(scope)];
  if (filter.status) conditions.push(sql.fragment`status = ${filter.status}`);
  if (filter.reasonCode) conditions.push(sql.fragment`reason_code = ${filter.reasonCode}`);
  if (filter.billRunId !== undefined) conditions.push(sql.fragment`bill_run_id = ${filter.billRunId}`);
  if (filter.after !== undefined) conditions.push(sql.fragment`id > ${filter.after}`);
  const rows = await db.any(sql.type(usageRejection)`
    SELECT ${rejectionColumns} FROM usage_rejections WHERE ${sql.join(conditions, sql.fragment` AND `)} ORDER BY id LIMIT ${filter.limit + 1}`);
  const items = rows.slice(0, filter.limit);
  return { items: [...items], nextCursor: rows.length > filter.limit ? String(items[items.length - 1]!.id) : null };
}

export async function getRejection(db: CommonQueryMethods, scope: OrgScoped, id: number): Promise<UsageRejection | null> {
  const root = scope.orgPath.split('/').filter(Boolean).length === 1;
  return db.maybeOne(sql.type(usageRejection)`
    SELECT ${rejectionColumns} FROM usage_rejections WHERE id = ${id} AND ${root ? sql.fragment`(org_unit_id IS NULL OR ${orgScope(scope)})` : orgScope(scope)}`);
}
