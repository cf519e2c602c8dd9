import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { int8, minor, newestFirstPage, type Page } from './common';

export const orderStatuses = ['draft', 'submitted', 'in_progress', 'completed', 'cancelled', 'failed'] as const;
export const orderTypes = ['new', 'change', 'terminate', 'relocate'] as const;

export const orderItem = z.object({
  id: z.string(),
  lineNo: z.number().int(),
  action: z.enum(['add', 'modify', 'remove']),
  productId: z.string(),
  tariffId: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  serviceNumber: z.string().nullable(),
  quantity: z.number().int(),
  oneOffFeeMinor: minor,
  monthlyFeeMinor: minor,
  status: z.enum(['pending', 'provisioning', 'done', 'failed', 'cancelled']),
});

export const order = z.object({
  id: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  orgUnitId: z.string(),
  billingAccountId: z.string().nullable(),
  orderType: z.enum(orderTypes),
  status: z.enum(orderStatuses),
  channel: z.string(),
  requestedBy: int8.nullable(),
  workflowId: z.string().nullable(),
  currency: z.string(),
  oneOffTotalMinor: minor,
  monthlyTotalMinor: minor,
  notes: z.string().nullable(),
  submittedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Order = z.infer<typeof order>;
export const orderWithItems = order.extend({ items: z.array(orderItem) });
export type OrderWithItems = z.infer<typeof orderWithItems>;

const columns = sql.fragment`
  r.id, r.account_id AS "accountId", a.name AS "accountName", r.org_unit_id AS "orgUnitId", r.billing_account_id AS "billingAccountId",
  r.order_type AS "orderType", r.status, r.channel, r.requested_by AS "requestedBy", r.workflow_id AS "workflowId", r.currency,
  r.one_off_total_minor AS "oneOffTotalMinor", r.monthly_total_minor AS "monthlyTotalMinor", r.notes, r.submitted_at AS "submittedAt",
  r.completed_at AS "completedAt", r.version, r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;

/** Orders in the caller's subtree, newest first, keyset-paginated; null for a foreign cursor. */
export async function listOrders(
  db: CommonQueryMethods,
  scope: OrgScoped,
  filter: { accountId?: string; status?: (typeof orderStatuses)[number]; orderType?: (typeof orderTypes)[number]; limit: number; cursor?: string },
): Promise<Page<Order> | null> {
  const conditions = [orgScope(scope, sql.identifier(['r', 'org_unit_id']))];
  if (filter.accountId) conditions.push(sql.fragment`r.account_id = ${filter.accountId}`);
  if (filter.status) conditions.push(sql.fragment`r.status = ${filter.status}`);
  if (filter.orderType) conditions.push(sql.fragment`r.order_type = ${filter.orderType}`);
  return newestFirstPage(db, order, { columns, from: sql.fragment`orders r JOIN key_accounts a ON a.id = r.account_id`, alias: 'r', conditions, limit: filter.limit, cursor: filter.cursor });
}

export async function getOrder(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<OrderWithItems | null> {
  const row = await db.maybeOne(sql.type(order)`
    SELECT ${columns} FROM orders r JOIN key_accounts a ON a.id = r.account_id
    WHERE r.id = ${id} AND ${orgScope(scope, sql.identifier(['r', 'org_unit_id']))}`);
  if (!row) return null;
  const items = await db.any(sql.type(orderItem)`
    SELECT id, line_no AS "lineNo", action, product_id AS "productId", tariff_id AS "tariffId", subscription_id AS "subscriptionId",
           service_number AS "serviceNumber", quantity, one_off_fee_minor AS "oneOffFeeMinor", monthly_fee_minor AS "monthlyFeeMinor", status
    FROM order_items WHERE order_id = ${id} ORDER BY line_no`);
  return { ...row, items: [...items] };
}
