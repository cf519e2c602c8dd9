import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { OrgScoped } from './scope';

/**
 * Analytics (migration 0950): the monthly rollups per account, product, ticket category and org
 * unit, kept fresh by the steps that change their sources (analytics_refresh, idempotent), and the
 * reports the API reads from them. Months are 'YYYY-MM' here and the first of the month in SQL.
 */

/** One row schema per rollup table: what the refresh writes and the reports read. */
const moneyAndVolumes = {
  bills: z.number(),
  charges_minor: z.coerce.number(),
  discounts_minor: z.coerce.number(),
  revenue_minor: z.coerce.number(),
  tax_minor: z.coerce.number(),
  billed_minor: z.coerce.number(),
  paid_minor: z.coerce.number(),
  outstanding_minor: z.coerce.number(),
  voice_seconds: z.coerce.number(),
  data_bytes: z.coerce.number(),
  sms_messages: z.coerce.number(),
  subscriptions_active: z.number(),
  subscriptions_new: z.number(),
  subscriptions_ended: z.number(),
  orders_created: z.number(),
  orders_completed: z.number(),
  complaints_opened: z.number(),
  faults_opened: z.number(),
  tickets_sla_met: z.number(),
  tickets_sla_breached: z.number(),
  tickets_reopened: z.number(),
};
export const accountMonthRow = z.object({
  month: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  org_path: z.string(),
  customer_manager_id: z.coerce.number().nullable(),
  currency: z.string(),
  ...moneyAndVolumes,
});
export const productMonthRow = z.object({
  month: z.string(),
  account_id: z.string(),
  product_id: z.string(),
  org_path: z.string(),
  revenue_minor: z.coerce.number(),
  voice_seconds: z.coerce.number(),
  data_bytes: z.coerce.number(),
  sms_messages: z.coerce.number(),
  subscriptions_active: z.number(),
});
export const ticketMonthRow = z.object({
  month: z.string(),
  account_id: z.string(),
  kind: z.string(),
  category: z.string(),
  org_path: z.string(),
  opened: z.number(),
  resolved: z.number(),
  sla_met: z.number(),
  sla_breached: z.number(),
  reopened: z.number(),
});
export const unitMonthRow = z.object({ month: z.string(), org_unit_id: z.string(), org_path: z.string(), accounts: z.number(), ...moneyAndVolumes });
export const unitProductMonthRow = z.object({
  month: z.string(),
  org_unit_id: z.string(),
  product_id: z.string(),
  revenue_minor: z.coerce.number(),
  voice_seconds: z.coerce.number(),
  data_bytes: z.coerce.number(),
  sms_messages: z.coerce.number(),
  subscriptions_active: z.number(),
});
export type AccountMonthRow = z.infer<typeof accountMonthRow>;
export type UnitMonthRow = z.infer<typeof unitMonthRow>;

const monthPattern = /^\d{4}-(0[1-9]|1[0-2])$/;
const firstOf = (month: string): string => {
  if (!monthPattern.test(month)) throw new RangeError(`not a month: ${month}`);
  return `${month}-01`;
};

/**
 * Recomputes the rollups of these accounts for these months ('YYYY-MM') and of every unit above
 * them. Idempotent: the figures are recomputed from the sources, never added to.
 * @returns the account-month rows written
 */
export async function refreshRollups(db: CommonQueryMethods, accountIds: readonly string[], months: readonly string[]): Promise<number> {
  if (accountIds.length === 0 || months.length === 0) return 0;
  return db.oneFirst(sql.type(z.object({ written: z.number() }))`
    SELECT analytics_refresh(${sql.array([...new Set(accountIds)], 'text')}, ${sql.array([...new Set(months)].map(firstOf), 'date')}) AS written`);
}

/** The period of a bill run and the key accounts it billed. */
export async function billRunAccounts(db: CommonQueryMethods, billRunId: number): Promise<{ period: string; accountIds: string[] }> {
  const row = await db.one(sql.type(z.object({ period: z.string(), account_ids: z.array(z.string()) }))`
    SELECT r.period, array(SELECT DISTINCT account_id FROM bills WHERE bill_run_id = r.id ORDER BY 1) AS account_ids FROM bill_runs r WHERE r.id = ${billRunId}`);
  return { period: row.period, accountIds: row.account_ids };
}

/** After a payment: the bill's account and period. */
export async function refreshBillRollups(db: CommonQueryMethods, billNo: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ written: z.number() }))`
    SELECT coalesce((SELECT analytics_refresh(ARRAY[account_id], ARRAY[to_date(period, 'YYYY-MM')]) FROM bills WHERE bill_no = ${billNo}), 0) AS written`);
}

/** After a ticket's step: its account in the month it was opened (its figures count there). */
export async function refreshTicketRollups(db: CommonQueryMethods, ticketId: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ written: z.number() }))`
    SELECT coalesce((SELECT analytics_refresh(ARRAY[account_id], ARRAY[analytics_month_of(created_at)]) FROM trouble_tickets WHERE id = ${ticketId}), 0) AS written`);
}

/** After an order's step at `at`: its account in the month it was created and the step's month (completion, subscriptions). */
export async function refreshOrderRollups(db: CommonQueryMethods, orderId: string, at: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ written: z.number() }))`
    SELECT coalesce((SELECT analytics_refresh(ARRAY[account_id], ARRAY[analytics_month_of(created_at), analytics_month_of(${at}::timestamptz)]) FROM orders WHERE id = ${orderId}), 0) AS written`);
}

/** One account's rollup rows, oldest first (the account page, tests). */
export async function accountMonths(db: CommonQueryMethods, accountId: string, from: string, to: string): Promise<readonly AccountMonthRow[]> {
  return db.any(sql.type(accountMonthRow)`
    SELECT to_char(month, 'YYYY-MM') AS month, account_id, org_unit_id, org_path, customer_manager_id, currency, bills, charges_minor, discounts_minor, revenue_minor,
           tax_minor, billed_minor, paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active, subscriptions_new,
           subscriptions_ended, orders_created, orders_completed, complaints_opened, faults_opened, tickets_sla_met, tickets_sla_breached, tickets_reopened
      FROM analytics_account_months WHERE account_id = ${accountId} AND month BETWEEN ${firstOf(from)}::date AND ${firstOf(to)}::date ORDER BY month`);
}

/** One unit's rollup rows, oldest first. */
export async function unitMonths(db: CommonQueryMethods, orgUnitId: string, from: string, to: string): Promise<readonly UnitMonthRow[]> {
  return db.any(sql.type(unitMonthRow)`
    SELECT to_char(month, 'YYYY-MM') AS month, org_unit_id, org_path, accounts, bills, charges_minor, discounts_minor, revenue_minor, tax_minor, billed_minor,
           paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active, subscriptions_new, subscriptions_ended, orders_created,
           orders_completed, complaints_opened, faults_opened, tickets_sla_met, tickets_sla_breached, tickets_reopened
      FROM analytics_unit_months WHERE org_unit_id = ${orgUnitId} AND month BETWEEN ${firstOf(from)}::date AND ${firstOf(to)}::date ORDER BY month`);
}

// ---------------------------------------------------------------------------------------------
// Reports

/** What a trend report can measure, and the rollup column it reads. */
export const reportMeasures = {
  revenue: 'revenue_minor',
  billed: 'billed_minor',
  voice: 'voice_seconds',
  data: 'data_bytes',
  sms: 'sms_messages',
  subscriptions: 'subscriptions_active',
} as const;
export type ReportMeasure = keyof typeof reportMeasures;
export const trendGroupings = ['unit', 'product', 'account', 'month'] as const;
export type TrendGrouping = (typeof trendGroupings)[number];

export const reportUnitRow = z.object({ id: z.string(), name: z.string(), level: z.string(), path: z.string() });
export type ReportUnit = z.infer<typeof reportUnitRow>;

/** The unit a report is about, when it lies in the caller's scope (else null: not theirs to see). */
export async function reportUnit(db: CommonQueryMethods, scope: OrgScoped, orgUnitId: string): Promise<ReportUnit | null> {
  return db.maybeOne(sql.type(reportUnitRow)`
    SELECT id, name, level, path FROM org_units WHERE id = ${orgUnitId} AND path LIKE ${`${scope.orgPath}%`}`);
}

export const trendRow = z.object({
  key: z.string(),
  name: z.string(),
  month: z.string(),
  value: z.coerce.number(),
  previous_month: z.coerce.number().nullable(),
  year_ago: z.coerce.number().nullable(),
});
export type TrendRow = z.infer<typeof trendRow>;

export interface TrendQuery {
  unit: ReportUnit;
  from: string;
  to: string;
  measure: ReportMeasure;
  by: TrendGrouping;
  /** With by=account: the accounts with the most of the measure over the range. */
  limit: number;
}

/**
 * A measure per group and month, with the same group's value a month and a year earlier (null
 * where the rollups hold no row: nothing was billed or refreshed then). Groups: the units right
 * below `unit`, its products, its accounts, or the unit itself (by month).
 */
export async function trendReport(db: CommonQueryMethods, query: TrendQuery): Promise<readonly TrendRow[]> {
  const from = firstOf(query.from);
  const to = firstOf(query.to);
  const measure = sql.identifier([reportMeasures[query.measure]]);
  // Every row the answer needs, read once (a year before `from` to `to`), then looked up three
  // times: the month, a month before, a year before. Bounded by constants, so only those months'
  // partitions are read.
  const window = sql.fragment`month BETWEEN (${from}::date - interval '12 months')::date AND ${to}::date`;
  let groups;
  let rows;
  if (query.by === 'product') {
    groups = sql.fragment`
      SELECT DISTINCT r.product_id AS key, coalesce(pr.name, 'Other (discounts, one-offs, credits)') AS name
        FROM analytics_unit_product_months r LEFT JOIN products pr ON pr.id = r.product_id
       WHERE r.org_unit_id = ${query.unit.id} AND r.${window}`;
    rows = sql.fragment`SELECT product_id AS key, month, ${measure} AS value FROM analytics_unit_product_months WHERE org_unit_id = ${query.unit.id} AND ${window}`;
  } else if (query.by === 'account') {
    groups = sql.fragment`
      SELECT r.account_id AS key, a.name
        FROM analytics_account_months r JOIN key_accounts a ON a.id = r.account_id
       WHERE r.month BETWEEN ${from}::date AND ${to}::date AND r.org_path LIKE ${`${query.unit.path}%`}
       GROUP BY r.account_id, a.name
       ORDER BY sum(r.${measure}) DESC, r.account_id LIMIT ${query.limit}`;
    rows = sql.fragment`
      SELECT account_id AS key, month, ${measure} AS value FROM analytics_account_months
       WHERE ${window} AND org_path LIKE ${`${query.unit.path}%`} AND account_id IN (SELECT key FROM g)`;
  } else {
    groups =
      query.by === 'unit'
        ? sql.fragment`SELECT id AS key, name FROM org_units WHERE parent_id = ${query.unit.id}`
        : sql.fragment`SELECT id AS key, name FROM org_units WHERE id = ${query.unit.id}`;
    rows = sql.fragment`SELECT org_unit_id AS key, month, ${measure} AS value FROM analytics_unit_months WHERE ${window} AND org_unit_id IN (SELECT key FROM g)`;
  }
  return db.any(sql.type(trendRow)`
    WITH g AS (${groups}), r AS MATERIALIZED (${rows}),
         m AS (SELECT generate_series(${from}::date, ${to}::date, interval '1 month')::date AS month)
    SELECT g.key, g.name, to_char(m.month, 'YYYY-MM') AS month, coalesce(c.value, 0) AS value, p.value AS previous_month, y.value AS year_ago
      FROM g CROSS JOIN m
      LEFT JOIN r c ON c.key = g.key AND c.month = m.month
      LEFT JOIN r p ON p.key = g.key AND p.month = (m.month - interval '1 month')::date
      LEFT JOIN r y ON y.key = g.key AND y.month = (m.month - interval '12 months')::date
     ORDER BY g.key, m.month`);
}

export const slaRow = z.object({
  unit_id: z.string(),
  unit_name: z.string(),
  kind: z.string(),
  category: z.string(),
  opened: z.coerce.number(),
  resolved: z.coerce.number(),
  sla_met: z.coerce.number(),
  sla_breached: z.coerce.number(),
  reopened: z.coerce.number(),
});

/**
 * Tickets opened in the months, by the unit right below `unit` they fall in (or `unit` itself for
 * accounts held directly there) and by kind and category.
 */
export async function slaReport(db: CommonQueryMethods, unit: ReportUnit, from: string, to: string) {
  return db.any(sql.type(slaRow)`
    SELECT coalesce(c.id, ${unit.id}) AS unit_id, coalesce(c.name, ${unit.name}) AS unit_name, t.kind, t.category,
           sum(t.opened) AS opened, sum(t.resolved) AS resolved, sum(t.sla_met) AS sla_met, sum(t.sla_breached) AS sla_breached, sum(t.reopened) AS reopened
      FROM analytics_ticket_months t
      LEFT JOIN org_units c ON c.parent_id = ${unit.id} AND t.org_path LIKE c.path || '%'
     WHERE t.month BETWEEN ${firstOf(from)}::date AND ${firstOf(to)}::date AND t.org_path LIKE ${`${unit.path}%`}
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 3, 4`);
}

export const arrearsRow = z.object({
  unit_id: z.string(),
  unit_name: z.string(),
  currency: z.string(),
  bills: z.coerce.number(),
  not_due_minor: z.coerce.number(),
  days_1_30_minor: z.coerce.number(),
  days_31_60_minor: z.coerce.number(),
  days_61_90_minor: z.coerce.number(),
  days_over_90_minor: z.coerce.number(),
  outstanding_minor: z.coerce.number(),
});

/**
 * What issued bills still owe on `asOf` (a date), by the unit right below `unit` and by days past
 * the due date. Read from the bills themselves: arrears are a state, not a month's figure.
 */
export async function arrearsReport(db: CommonQueryMethods, unit: ReportUnit, asOf: string) {
  return db.any(sql.type(arrearsRow)`
    WITH owed AS (
      SELECT b.org_unit_id, b.currency, b.total_minor + b.adjusted_minor - b.paid_minor AS owed, ${asOf}::date - b.due_date AS overdue, o.path
        FROM bills b JOIN org_units o ON o.id = b.org_unit_id
       WHERE o.path LIKE ${`${unit.path}%`} AND b.status IN ('validated', 'sent', 'partiallyPaid') AND b.total_minor + b.adjusted_minor - b.paid_minor > 0
         AND b.issued_at::date <= ${asOf}::date
    )
    SELECT coalesce(c.id, ${unit.id}) AS unit_id, coalesce(c.name, ${unit.name}) AS unit_name, w.currency, count(*) AS bills,
           coalesce(sum(w.owed) FILTER (WHERE w.overdue <= 0), 0) AS not_due_minor,
           coalesce(sum(w.owed) FILTER (WHERE w.overdue BETWEEN 1 AND 30), 0) AS days_1_30_minor,
           coalesce(sum(w.owed) FILTER (WHERE w.overdue BETWEEN 31 AND 60), 0) AS days_31_60_minor,
           coalesce(sum(w.owed) FILTER (WHERE w.overdue BETWEEN 61 AND 90), 0) AS days_61_90_minor,
           coalesce(sum(w.owed) FILTER (WHERE w.overdue > 90), 0) AS days_over_90_minor,
           sum(w.owed) AS outstanding_minor
      FROM owed w LEFT JOIN org_units c ON c.parent_id = ${unit.id} AND w.path LIKE c.path || '%'
     GROUP BY 1, 2, 3
     ORDER BY 1, 3`);
}

export const managerRow = z.object({
  manager_id: z.coerce.number(),
  username: z.string(),
  display_name: z.string(),
  org_unit_id: z.string(),
  accounts: z.coerce.number(),
  revenue_minor: z.coerce.number(),
  previous_month_minor: z.coerce.number().nullable(),
  year_ago_minor: z.coerce.number().nullable(),
  outstanding_minor: z.coerce.number(),
  complaints: z.coerce.number(),
  sla_met: z.coerce.number(),
  sla_breached: z.coerce.number(),
});

/**
 * The customer managers of the accounts under `unit` in `month`, by revenue (most first): their
 * accounts, and the same accounts' revenue a month and a year earlier (like for like: a manager
 * who took over an account is compared on it), what is owed, complaints and SLA.
 */
export async function managerLeague(db: CommonQueryMethods, unit: ReportUnit, month: string) {
  const at = firstOf(month);
  return db.any(sql.type(managerRow)`
    SELECT s.id AS manager_id, s.username, s.display_name, s.org_unit_id, count(*) AS accounts, sum(r.revenue_minor) AS revenue_minor,
           sum(p.revenue_minor) AS previous_month_minor, sum(y.revenue_minor) AS year_ago_minor,
           sum(r.outstanding_minor) AS outstanding_minor, sum(r.complaints_opened) AS complaints,
           sum(r.tickets_sla_met) AS sla_met, sum(r.tickets_sla_breached) AS sla_breached
      FROM analytics_account_months r JOIN staff s ON s.id = r.customer_manager_id
      LEFT JOIN analytics_account_months p ON p.account_id = r.account_id AND p.month = (${at}::date - interval '1 month')::date
      LEFT JOIN analytics_account_months y ON y.account_id = r.account_id AND y.month = (${at}::date - interval '12 months')::date
     WHERE r.month = ${at}::date AND r.org_path LIKE ${`${unit.path}%`}
     GROUP BY s.id, s.username, s.display_name, s.org_unit_id
     ORDER BY sum(r.revenue_minor) DESC, s.username`);
}

/** The month partitions the account rollup has (tests, ops). */
export async function rollupPartitions(db: CommonQueryMethods): Promise<readonly string[]> {
  return db.anyFirst(sql.type(z.object({ name: z.string() }))`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'analytics_account_months' ORDER BY 1`);
}

