import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';

export const billingAccount = z.object({
  id: z.string(),
  accountId: z.string(),
  orgUnitId: z.string(),
  name: z.string(),
  currency: z.string(),
  billCycleDay: z.number().int(),
  paymentMethod: z.enum(['bank_transfer', 'direct_debit', 'cash', 'prepaid']),
  bankAccount: z.string().nullable(),
  invoiceTitle: z.string().nullable(),
  status: z.enum(['active', 'closed']),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type BillingAccount = z.infer<typeof billingAccount>;

const columns = sql.fragment`
  b.id, b.account_id AS "accountId", b.org_unit_id AS "orgUnitId", b.name, b.currency, b.bill_cycle_day AS "billCycleDay",
  b.payment_method AS "paymentMethod", b.bank_account AS "bankAccount", b.invoice_title AS "invoiceTitle", b.status, b.version,
  b.created_at AS "createdAt", b.updated_at AS "updatedAt"`;

export async function listBillingAccounts(db: CommonQueryMethods, scope: OrgScoped, accountId: string): Promise<BillingAccount[]> {
  return [
    ...(await db.any(sql.type(billingAccount)`
      SELECT ${columns} FROM billing_accounts b
      WHERE b.account_id = ${accountId} AND ${orgScope(scope, sql.identifier(['b', 'org_unit_id']))}
      ORDER BY b.id`)),
  ];
}

export async function getBillingAccount(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<BillingAccount | null> {
  return db.maybeOne(sql.type(billingAccount)`
    SELECT ${columns} FROM billing_accounts b WHERE b.id = ${id} AND ${orgScope(scope, sql.identifier(['b', 'org_unit_id']))}`);
}
