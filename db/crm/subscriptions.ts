import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { minor } from './common';

export const subscriptionStatuses = ['pending', 'active', 'suspended', 'terminated'] as const;

export const subscription = z.object({
  id: z.string(),
  accountId: z.string(),
  orgUnitId: z.string(),
  productId: z.string(),
  productName: z.string(),
  tariffId: z.string(),
  monthlyFeeMinor: minor,
  billingAccountId: z.string(),
  orderId: z.string().nullable(),
  serviceNumber: z.string(),
  quantity: z.number().int(),
  status: z.enum(subscriptionStatuses),
  activatedAt: z.string().nullable(),
  terminatedAt: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Subscription = z.infer<typeof subscription>;

const columns = sql.fragment`
  s.id, s.account_id AS "accountId", s.org_unit_id AS "orgUnitId", s.product_id AS "productId", p.name AS "productName",
  s.tariff_id AS "tariffId", t.monthly_fee_minor AS "monthlyFeeMinor", s.billing_account_id AS "billingAccountId", s.order_id AS "orderId",
  s.service_number AS "serviceNumber", s.quantity, s.status, s.activated_at AS "activatedAt", s.terminated_at AS "terminatedAt",
  s.version, s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;
const from = sql.fragment`subscriptions s JOIN products p ON p.id = s.product_id JOIN tariffs t ON t.id = s.tariff_id`;

/** An account's subscriptions, live ones first. */
export async function listSubscriptions(db: CommonQueryMethods, scope: OrgScoped, accountId: string): Promise<Subscription[]> {
  return [
    ...(await db.any(sql.type(subscription)`
      SELECT ${columns} FROM ${from}
      WHERE s.account_id = ${accountId} AND ${orgScope(scope, sql.identifier(['s', 'org_unit_id']))}
      ORDER BY s.status = 'terminated', s.id`)),
  ];
}

export async function getSubscription(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<Subscription | null> {
  return db.maybeOne(sql.type(subscription)`
    SELECT ${columns} FROM ${from} WHERE s.id = ${id} AND ${orgScope(scope, sql.identifier(['s', 'org_unit_id']))}`);
}
