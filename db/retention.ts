import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import type { OrgScoped } from './scope';

/**
 * Retention cases (migration 0953): one per key account and period whose churn risk passed the
 * threshold, each worked by one `retention` instance (processes/retention.bpmn) whose id is the
 * case's workflow_id, `retention:<account>-<period>`: Temporal refuses a second instance of it.
 */

export const retentionProcessKey = 'retention';
export const retentionReasons = ['price', 'service', 'competitor', 'relocation', 'closure', 'other'] as const;

export const retentionCaseRow = z.object({
  id: z.coerce.number(),
  account_id: z.string(),
  org_unit_id: z.string(),
  period: z.string(),
  probability: z.coerce.number(),
  workflow_id: z.string(),
  customer_manager: z.string().nullable(),
  status: z.enum(['open', 'retained', 'lost']),
  reason: z.string().nullable(),
  counter_offer_minor: z.coerce.number().nullable(),
  offer_approved: z.boolean().nullable(),
  approved_by: z.string().nullable(),
});
export type RetentionCase = z.infer<typeof retentionCaseRow>;
const columns = sql.fragment`id, account_id, org_unit_id, period, probability, workflow_id, customer_manager, status, reason, counter_offer_minor, offer_approved, approved_by`;

/**
 * Writes the cases of `period` for the accounts in the caller's scope whose churn score of that
 * month is at least `threshold`, once per account and period, and returns every open case of the
 * period in scope (new and old), so the caller starts any instance not started yet.
 */
export async function openRetentionCases(
  db: CommonQueryMethods,
  scope: OrgScoped,
  input: { period: string; threshold: number; openedBy: string },
): Promise<{ cases: readonly RetentionCase[]; created: number }> {
  return db.transaction(async (tx) => {
    const created = await tx.anyFirst(sql.type(z.object({ id: z.coerce.number() }))`
      INSERT INTO retention_cases (account_id, org_unit_id, period, probability, threshold, factors, workflow_id, customer_manager, opened_by)
      SELECT s.account_id, a.org_unit_id, ${input.period}, s.probability, ${input.threshold}, s.factors,
             'retention:' || s.account_id || '-' || ${input.period}, m.username, ${input.openedBy}
        FROM churn_scores s JOIN key_accounts a ON a.id = s.account_id LEFT JOIN staff m ON m.id = a.customer_manager_id AND m.active
       WHERE s.month = ${`${input.period}-01`}::date AND s.probability >= ${input.threshold} AND a.org_path LIKE ${`${scope.orgPath}%`}
         AND a.status <> 'churned'
      ON CONFLICT (account_id, period) DO NOTHING
      RETURNING id`);
    const cases = await tx.any(sql.type(retentionCaseRow)`
      SELECT ${columns} FROM retention_cases
       WHERE period = ${input.period} AND status = 'open' AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE ${`${scope.orgPath}%`})
       ORDER BY account_id`);
    return { cases, created: created.length };
  });
}

/** The case an instance works, by its workflow id. */
export async function retentionCaseOf(db: CommonQueryMethods, workflowId: string): Promise<RetentionCase | null> {
  return db.maybeOne(sql.type(retentionCaseRow)`SELECT ${columns} FROM retention_cases WHERE workflow_id = ${workflowId}`);
}

export interface RetentionOutcome {
  reason: string;
  counterOfferMinor: number;
  offerApproved: boolean | null;
  approvedBy: string | null;
  outcome: 'retained' | 'lost';
  note: string | null;
}

/** Records the outcome of a case once (a repeat finds it closed and changes nothing). */
export async function closeRetentionCase(db: CommonQueryMethods, actor: Actor, workflowId: string, outcome: RetentionOutcome): Promise<RetentionCase | null> {
  return db.transaction(async (tx) => {
    const current = await tx.maybeOne(sql.type(retentionCaseRow)`SELECT ${columns} FROM retention_cases WHERE workflow_id = ${workflowId} FOR UPDATE`);
    if (!current || current.status !== 'open') return current;
    const after = await tx.one(sql.type(retentionCaseRow)`
      UPDATE retention_cases SET status = ${outcome.outcome}, reason = ${outcome.reason}, counter_offer_minor = ${outcome.counterOfferMinor},
             offer_approved = ${outcome.offerApproved}, approved_by = ${outcome.approvedBy}, note = ${outcome.note}, closed_at = now()
       WHERE id = ${current.id}
      RETURNING ${columns}`);
    await recordAudit(tx, actor, {
      action: 'retention.close',
      entityType: 'retention_case',
      entityId: String(current.id),
      orgUnitId: current.org_unit_id,
      accountId: current.account_id,
      before: { status: current.status },
      after: { status: after.status, reason: after.reason, counterOfferMinor: after.counter_offer_minor, offerApproved: after.offer_approved },
    });
    return after;
  });
}
