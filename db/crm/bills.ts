import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { int8, minor } from './common';

/** A bill as the account view shows it; bills themselves belong to the billing cycle (0400_billing.sql). */
export const billSummary = z.object({
  id: int8,
  billNo: z.string().nullable(),
  billingAccountId: z.string(),
  period: z.string(),
  currency: z.string(),
  status: z.string(),
  totalMinor: minor,
  paidMinor: minor,
  dueDate: z.string().nullable(),
  issuedAt: z.string().nullable(),
});
export type BillSummary = z.infer<typeof billSummary>;

/**
 * An account's latest bills, newest period first. Reached through its billing accounts, whose
 * (billing_account_id, period) key indexes the bills.
 */
export async function listRecentBills(db: CommonQueryMethods, scope: OrgScoped, accountId: string, limit = 12): Promise<BillSummary[]> {
  return [
    ...(await db.any(sql.type(billSummary)`
      SELECT b.id, b.bill_no AS "billNo", b.billing_account_id AS "billingAccountId", b.period, b.currency, b.status,
             b.total_minor AS "totalMinor", b.paid_minor AS "paidMinor", b.due_date AS "dueDate", b.issued_at AS "issuedAt"
      FROM bills b
      WHERE b.billing_account_id IN (SELECT id FROM billing_accounts WHERE account_id = ${accountId})
        AND ${orgScope(scope, sql.identifier(['b', 'org_unit_id']))}
      ORDER BY b.period DESC, b.id DESC
      LIMIT ${limit}`)),
  ];
}
