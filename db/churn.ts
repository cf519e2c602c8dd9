import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { churnProbability, contributions, type ChurnModel, type FeatureVector } from '../activities/analytics/churn-model';
import type { OrgScoped } from './scope';

/**
 * Churn risk (migration 0952): the features of each account alive at the end of a month, read from
 * the rollups, its contracts and contacts; the label (did it leave within the horizon); the models
 * and scores. Features at month M (the last six months M−5..M of the rollups):
 *
 *   usageTrend          usage (voice minutes + data MB + SMS) of M−2..M over M−5..M−3, minus 1
 *   revenueTrend        net billed revenue of M−2..M over M−5..M−3, minus 1
 *   complaints          complaints opened in M−5..M
 *   reopens             re-opens of the tickets opened in M−5..M
 *   arrearsRatio        what is owed on M's bills over the average monthly bill of M−5..M
 *   contractMonthsLeft  months from M's end to the end of its latest active contract (24 without one; −6..36)
 *   contactChanges      contacts added or changed in M−5..M (a new decision maker, a left one)
 */

export const churnRow = z.object({
  account_id: z.string(),
  org_path: z.string(),
  usage_trend: z.coerce.number(),
  revenue_trend: z.coerce.number(),
  complaints: z.coerce.number(),
  reopens: z.coerce.number(),
  arrears_ratio: z.coerce.number(),
  contract_months_left: z.coerce.number(),
  contact_changes: z.coerce.number(),
  left_within: z.boolean(),
});
export type ChurnRow = z.infer<typeof churnRow>;

export const vectorOf = (row: ChurnRow): FeatureVector => ({
  usageTrend: row.usage_trend,
  revenueTrend: row.revenue_trend,
  complaints: row.complaints,
  reopens: row.reopens,
  arrearsRatio: row.arrears_ratio,
  contractMonthsLeft: row.contract_months_left,
  contactChanges: row.contact_changes,
});

/** The features at month 'YYYY-MM' of every account with a rollup row then and not gone by its end, and whether it left within `horizonMonths` after. */
export async function churnRows(db: CommonQueryMethods, month: string, horizonMonths: number, accountIds: readonly string[] | null = null): Promise<readonly ChurnRow[]> {
  const at = `${month}-01`;
  const only = accountIds === null ? sql.fragment`TRUE` : sql.fragment`r.account_id = ANY(${sql.array([...accountIds], 'text')})`;
  return db.any(sql.type(churnRow)`
    WITH b AS (
      SELECT ${at}::date AS m, (${at}::date + interval '1 month')::date AS next, ((${at}::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai') AS month_end
    ), h AS (
      SELECT r.account_id, r.org_path AS path,
             sum(r.voice_seconds / 60.0 + r.data_bytes / 1048576.0 + r.sms_messages) FILTER (WHERE r.month > b.m - interval '3 months') AS u_now,
             sum(r.voice_seconds / 60.0 + r.data_bytes / 1048576.0 + r.sms_messages) FILTER (WHERE r.month <= b.m - interval '3 months') AS u_before,
             sum(r.revenue_minor) FILTER (WHERE r.month > b.m - interval '3 months') AS r_now,
             sum(r.revenue_minor) FILTER (WHERE r.month <= b.m - interval '3 months') AS r_before,
             sum(r.complaints_opened) AS complaints, sum(r.tickets_reopened) AS reopens,
             sum(r.outstanding_minor) FILTER (WHERE r.month = b.m) AS owed, avg(r.billed_minor) AS billed_avg,
             bool_or(r.month = b.m) AS alive
        FROM analytics_account_months r CROSS JOIN b
       WHERE r.month BETWEEN (b.m - interval '5 months')::date AND b.m AND ${only}
       GROUP BY r.account_id, r.org_path
    )
    SELECT h.account_id, h.path AS org_path,
           CASE WHEN h.u_before > 0 THEN h.u_now / h.u_before - 1 ELSE 0 END AS usage_trend,
           CASE WHEN h.r_before > 0 THEN h.r_now::numeric / h.r_before - 1 ELSE 0 END AS revenue_trend,
           h.complaints, h.reopens,
           CASE WHEN h.billed_avg > 0 THEN coalesce(h.owed, 0) / h.billed_avg ELSE 0 END AS arrears_ratio,
           coalesce((SELECT least(36, greatest(-6, (extract(year FROM age(max(c.ends_on), b.next)) * 12 + extract(month FROM age(max(c.ends_on), b.next)))))
                       FROM contracts c WHERE c.account_id = h.account_id AND c.status = 'active' AND c.ends_on IS NOT NULL), 24) AS contract_months_left,
           (SELECT count(*) FROM contacts t WHERE t.account_id = h.account_id
              AND greatest(t.created_at, t.updated_at) > b.month_end - interval '6 months' AND greatest(t.created_at, t.updated_at) <= b.month_end) AS contact_changes,
           EXISTS (SELECT 1 FROM account_departures d WHERE d.account_id = h.account_id AND d.left_on >= b.next AND d.left_on < b.next + make_interval(months => ${horizonMonths})) AS left_within
      FROM h CROSS JOIN b
     WHERE h.alive AND NOT EXISTS (SELECT 1 FROM account_departures d WHERE d.account_id = h.account_id AND d.left_on < b.next)
     ORDER BY h.account_id`);
}

/** Stores a fitted model with its held-out figures. */
export async function saveChurnModel(db: CommonQueryMethods, month: string, horizonMonths: number, model: ChurnModel, metrics: Record<string, number>): Promise<number> {
  return db.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
    INSERT INTO churn_models (observed_month, horizon_months, model, metrics)
    VALUES (${`${month}-01`}::date, ${horizonMonths}, ${sql.jsonb(model as never)}, ${sql.jsonb(metrics)}) RETURNING id`);
}

/** Scores these rows with the model and stores each account's risk and top factors for the month. */
export async function saveChurnScores(db: CommonQueryMethods, month: string, modelId: number, model: ChurnModel, rows: readonly ChurnRow[]): Promise<number> {
  const scored = rows.map((row) => {
    const vector = vectorOf(row);
    return {
      account_id: row.account_id,
      org_path: row.org_path,
      probability: Math.round(churnProbability(model, vector) * 100_000) / 100_000,
      factors: contributions(model, vector).map((item) => ({ ...item, value: Math.round(item.value * 10_000) / 10_000, contribution: Math.round(item.contribution * 1000) / 1000 })),
    };
  });
  for (let start = 0; start < scored.length; start += 2_000) {
    await db.query(sql.type(z.object({}))`
      INSERT INTO churn_scores (month, account_id, org_path, model_id, probability, factors)
      SELECT ${`${month}-01`}::date, x.account_id, x.org_path, ${modelId}, x.probability, x.factors
        FROM jsonb_to_recordset(${sql.jsonb(scored.slice(start, start + 2_000) as never)}) AS x (account_id text, org_path text, probability numeric, factors jsonb)
      ON CONFLICT (account_id, month) DO UPDATE SET model_id = excluded.model_id, probability = excluded.probability, factors = excluded.factors, org_path = excluded.org_path, computed_at = now()`);
  }
  return scored.length;
}

export const churnScoreRow = z.object({
  month: z.string(),
  account_id: z.string(),
  probability: z.coerce.number(),
  factors: z.array(z.object({ feature: z.string(), value: z.number(), contribution: z.number() })),
  model_id: z.coerce.number(),
});

/** An account's latest churn score, if in the caller's scope. */
export async function accountChurn(db: CommonQueryMethods, scope: OrgScoped, accountId: string) {
  return db.maybeOne(sql.type(churnScoreRow)`
    SELECT to_char(s.month, 'YYYY-MM') AS month, s.account_id, s.probability, s.factors, s.model_id
      FROM churn_scores s JOIN key_accounts a ON a.id = s.account_id
     WHERE s.account_id = ${accountId} AND a.org_path LIKE ${`${scope.orgPath}%`}
     ORDER BY s.month DESC LIMIT 1`);
}
