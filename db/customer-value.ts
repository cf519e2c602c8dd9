import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import type { OrgScoped } from './scope';

/**
 * Customer value (migration 0951): six factors per key account and month, each scored 0..1
 * against its `full_at`, weighted by the admin-editable weights.
 *
 *   revenue  v = net billed revenue of the 12 months up to M, in major units   s = v / full_at
 *   margin   v = −discounts / charges over those 12 months (what discounts took) s = 1 − v / full_at
 *   growth   v = revenue of M−2..M / revenue of M−14..M−12 − 1                 s = 0.5 + v / (2·full_at)
 *   payment  v = bills of those 12 months due by M's end settled by their due date, of all due   s = v / full_at
 *   tenure   v = years from the first subscription's activation to M's end     s = v / full_at
 *   breadth  v = product categories with a subscription active at M's end     s = v / full_at
 *
 * Each s is clamped to 0..1; a factor without a value (no charges, no revenue a year ago, no bill
 * due yet) scores 0.5 for growth and payment (nothing known either way) and 0 for margin.
 * score = 100 × Σ weight·s / Σ weight, two decimals; suggested tier gold ≥ 70, silver ≥ 40, else bronze.
 */

export const valueFactors = ['revenue', 'margin', 'growth', 'payment', 'tenure', 'breadth'] as const;
export type ValueFactor = (typeof valueFactors)[number];

export const valueWeightRow = z.object({
  factor: z.enum(valueFactors),
  weight: z.coerce.number(),
  full_at: z.coerce.number(),
  description: z.string(),
  version: z.number(),
  updated_by: z.string(),
  updated_at: z.coerce.date(),
});
export type ValueWeight = z.infer<typeof valueWeightRow>;

export const valueInputRow = z.object({
  account_id: z.string(),
  org_path: z.string(),
  revenue: z.coerce.number(),
  margin: z.coerce.number().nullable(),
  growth: z.coerce.number().nullable(),
  payment: z.coerce.number().nullable(),
  tenure: z.coerce.number(),
  breadth: z.coerce.number(),
});
export type ValueInput = z.infer<typeof valueInputRow>;

export const factorDetail = z.object({ value: z.number().nullable(), score: z.number(), weight: z.number(), points: z.number() });
export type FactorDetail = z.infer<typeof factorDetail>;

export const valueScoreRow = z.object({
  month: z.string(),
  account_id: z.string(),
  score: z.coerce.number(),
  tier: z.string(),
  suggested_tier: z.enum(['gold', 'silver', 'bronze']),
  factors: z.record(z.enum(valueFactors), factorDetail),
  computed_at: z.coerce.date(),
});
export type ValueScoreRow = z.infer<typeof valueScoreRow>;

const clamp = (value: number) => Math.min(1, Math.max(0, value));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A factor's 0..1 score from its value (see the module comment). */
export function factorScore(factor: ValueFactor, value: number | null, fullAt: number): number {
  if (value === null) return factor === 'growth' || factor === 'payment' ? 0.5 : 0;
  switch (factor) {
    case 'margin':
      return clamp(1 - value / fullAt);
    case 'growth':
      return clamp(0.5 + value / (2 * fullAt));
    default:
      return clamp(value / fullAt);
  }
}

export function suggestedTier(score: number): 'gold' | 'silver' | 'bronze' {
  return score >= 70 ? 'gold' : score >= 40 ? 'silver' : 'bronze';
}

/** One account's score and its factors, from its factor values and the weights. */
export function scoreAccount(input: ValueInput, weights: readonly Pick<ValueWeight, 'factor' | 'weight' | 'full_at'>[]) {
  const total = weights.reduce((sum, weight) => sum + weight.weight, 0);
  if (total <= 0) throw new RangeError('the value weights add up to nothing');
  const factors = {} as Record<ValueFactor, FactorDetail>;
  let score = 0;
  for (const weight of weights) {
    const value = input[weight.factor];
    const s = round(factorScore(weight.factor, value, weight.full_at), 4);
    const points = (100 * weight.weight * s) / total;
    score += points;
    factors[weight.factor] = { value: value === null ? null : round(value, 4), score: s, weight: weight.weight, points: round(points, 2) };
  }
  const rounded = round(score, 2);
  return { score: rounded, suggestedTier: suggestedTier(rounded), factors };
}

export async function valueWeights(db: CommonQueryMethods): Promise<readonly ValueWeight[]> {
  return db.any(sql.type(valueWeightRow)`SELECT factor, weight, full_at, description, version, updated_by, updated_at FROM customer_value_weights ORDER BY factor`);
}

/**
 * Changes weights (and, if given, `full_at`) of the named factors, each from the version read; the
 * weights must still add up to more than zero.
 * @returns the weights after the change, or a conflict naming the factor whose version moved on
 */
export async function updateValueWeights(
  db: CommonQueryMethods,
  actor: Actor,
  changes: readonly { factor: ValueFactor; weight: number; fullAt?: number; version: number }[],
): Promise<{ ok: true; weights: readonly ValueWeight[] } | { ok: false; reason: 'VERSION_CONFLICT'; factor: string } | { ok: false; reason: 'NO_WEIGHT' }> {
  return db.transaction(async (tx) => {
    const before = await tx.any(sql.type(valueWeightRow)`SELECT factor, weight, full_at, description, version, updated_by, updated_at FROM customer_value_weights ORDER BY factor FOR UPDATE`);
    for (const change of changes) {
      const current = before.find((row) => row.factor === change.factor)!;
      if (current.version !== change.version) return { ok: false as const, reason: 'VERSION_CONFLICT' as const, factor: change.factor };
    }
    for (const change of changes) {
      await tx.query(sql.type(z.object({}))`
        UPDATE customer_value_weights SET weight = ${change.weight}, full_at = coalesce(${change.fullAt ?? null}::numeric, full_at), version = version + 1,
               updated_by = ${actor.actor}, updated_at = now()
         WHERE factor = ${change.factor}`);
    }
    const after = await tx.any(sql.type(valueWeightRow)`SELECT factor, weight, full_at, description, version, updated_by, updated_at FROM customer_value_weights ORDER BY factor`);
    if (after.reduce((sum, row) => sum + row.weight, 0) <= 0) {
      // Nothing was changed that matters: the transaction's changes go with the refusal.
      throw new NoWeightLeft();
    }
    await recordAudit(tx, actor, {
      action: 'customerValue.weights',
      entityType: 'customer_value_weights',
      entityId: 'weights',
      before: Object.fromEntries(before.map((row) => [row.factor, { weight: row.weight, fullAt: row.full_at }])),
      after: Object.fromEntries(after.map((row) => [row.factor, { weight: row.weight, fullAt: row.full_at }])),
    });
    return { ok: true as const, weights: after };
  }).catch((error: unknown) => {
    if (error instanceof NoWeightLeft) return { ok: false as const, reason: 'NO_WEIGHT' as const };
    throw error;
  });
}

class NoWeightLeft extends Error {}

/** The factor values of these accounts (all when null) for month 'YYYY-MM', from the rollups, bills and subscriptions. */
export async function valueInputs(db: CommonQueryMethods, month: string, accountIds: readonly string[] | null): Promise<readonly ValueInput[]> {
  const at = `${month}-01`;
  const accounts = accountIds === null ? sql.fragment`TRUE` : sql.fragment`a.id = ANY(${sql.array([...accountIds], 'text')})`;
  return db.any(sql.type(valueInputRow)`
    WITH acc AS (
      SELECT a.id, a.org_path, a.created_at FROM key_accounts a WHERE ${accounts}
    ), bounds AS (
      SELECT ${at}::date AS m, ((${at}::date + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai') AS month_end
    ), roll AS (
      SELECT r.account_id,
             sum(r.revenue_minor) FILTER (WHERE r.month > (b.m - interval '12 months')) AS rev12,
             sum(r.charges_minor) FILTER (WHERE r.month > (b.m - interval '12 months')) AS charges12,
             sum(-r.discounts_minor) FILTER (WHERE r.month > (b.m - interval '12 months')) AS discounts12,
             sum(r.revenue_minor) FILTER (WHERE r.month > (b.m - interval '3 months')) AS rev3,
             sum(r.revenue_minor) FILTER (WHERE r.month BETWEEN (b.m - interval '14 months') AND (b.m - interval '12 months')) AS rev3_ago
        FROM analytics_account_months r CROSS JOIN bounds b
       WHERE r.month BETWEEN (b.m - interval '14 months')::date AND b.m AND r.account_id IN (SELECT id FROM acc)
       GROUP BY r.account_id
    ), pay AS (
      SELECT l.account_id, count(*) AS due,
             count(*) FILTER (WHERE l.status = 'settled' AND l.settled_at < (l.due_date + 1)::timestamp AT TIME ZONE l.time_zone) AS on_time
        FROM bills l CROSS JOIN bounds b
       WHERE l.account_id IN (SELECT id FROM acc) AND l.status NOT IN ('new', 'onHold')
         AND l.period BETWEEN to_char(b.m - interval '11 months', 'YYYY-MM') AND to_char(b.m, 'YYYY-MM')
         AND (l.due_date + 1)::timestamp AT TIME ZONE l.time_zone <= b.month_end
       GROUP BY l.account_id
    ), subs AS (
      SELECT s.account_id, min(s.activated_at) AS first_at,
             count(DISTINCT p.category) FILTER (WHERE s.activated_at < b.month_end AND (s.terminated_at IS NULL OR s.terminated_at >= b.month_end)) AS categories
        FROM subscriptions s JOIN products p ON p.id = s.product_id CROSS JOIN bounds b
       WHERE s.account_id IN (SELECT id FROM acc) AND s.activated_at IS NOT NULL
       GROUP BY s.account_id
    )
    SELECT a.id AS account_id, a.org_path,
           coalesce(r.rev12, 0) / 100.0 AS revenue,
           CASE WHEN r.charges12 > 0 THEN r.discounts12::numeric / r.charges12 END AS margin,
           CASE WHEN r.rev3_ago > 0 THEN r.rev3::numeric / r.rev3_ago - 1 END AS growth,
           CASE WHEN p.due > 0 THEN p.on_time::numeric / p.due END AS payment,
           greatest(extract(epoch FROM (b.month_end - coalesce(s.first_at, a.created_at))), 0) / (365.25 * 86400) AS tenure,
           coalesce(s.categories, 0) AS breadth
      FROM acc a CROSS JOIN bounds b
      LEFT JOIN roll r ON r.account_id = a.id
      LEFT JOIN pay p ON p.account_id = a.id
      LEFT JOIN subs s ON s.account_id = a.id
     ORDER BY a.id`);
}

/**
 * Computes and stores the month's scores of these accounts (all when null) with today's weights.
 * Idempotent: a second run for the same month and weights writes the same scores.
 * @returns how many accounts were scored
 */
export async function computeValueScores(db: CommonQueryMethods, month: string, accountIds: readonly string[] | null): Promise<number> {
  const [weights, inputs] = await Promise.all([valueWeights(db), valueInputs(db, month, accountIds)]);
  // Weights that add up to nothing (the API refuses them; a hand edit could leave them) score no one,
  // rather than failing the bill run that asks.
  if (inputs.length === 0 || weights.reduce((sum, weight) => sum + weight.weight, 0) <= 0) return 0;
  const scored = inputs.map((input) => ({ input, ...scoreAccount(input, weights) }));
  await db.query(sql.type(z.object({}))`
    INSERT INTO customer_value_scores (month, account_id, org_path, score, suggested_tier, factors)
    SELECT ${`${month}-01`}::date, x.account_id, x.org_path, x.score, x.suggested_tier, x.factors
      FROM jsonb_to_recordset(${sql.jsonb(scored.map((row) => ({ account_id: row.input.account_id, org_path: row.input.org_path, score: row.score, suggested_tier: row.suggestedTier, factors: row.factors })) as never)})
           AS x (account_id text, org_path text, score numeric, suggested_tier text, factors jsonb)
    ON CONFLICT (account_id, month) DO UPDATE SET org_path = excluded.org_path, score = excluded.score, suggested_tier = excluded.suggested_tier,
      factors = excluded.factors, computed_at = now()`);
  return scored.length;
}

/** An account's score for a month (the latest when null), if it is in the caller's scope and scored. */
export async function accountValue(db: CommonQueryMethods, scope: OrgScoped, accountId: string, month: string | null): Promise<ValueScoreRow | null> {
  return db.maybeOne(sql.type(valueScoreRow)`
    SELECT to_char(v.month, 'YYYY-MM') AS month, v.account_id, v.score, a.tier, v.suggested_tier, v.factors, v.computed_at
      FROM customer_value_scores v JOIN key_accounts a ON a.id = v.account_id
     WHERE v.account_id = ${accountId} AND a.org_path LIKE ${`${scope.orgPath}%`}
       ${month === null ? sql.fragment`` : sql.fragment`AND v.month = ${`${month}-01`}::date`}
     ORDER BY v.month DESC LIMIT 1`);
}
