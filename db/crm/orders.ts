import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { int8, minor, newestFirstPage, type Page } from './common';

/** TMF622's order states; only the order fulfilment process moves an order between them. */
export const orderStatuses = ['acknowledged', 'inProgress', 'pending', 'held', 'assessingCancellation', 'cancelled', 'completed', 'failed', 'partial', 'rejected'] as const;
export type OrderStatus = (typeof orderStatuses)[number];
/** The states an order never leaves. */
export const finalOrderStatuses: readonly OrderStatus[] = ['cancelled', 'completed', 'failed', 'partial', 'rejected'];
export const orderItemActions = ['add', 'modify', 'delete'] as const;
export const orderTypes = ['new', 'change', 'terminate', 'relocate'] as const;

export const orderItem = z.object({
  id: z.string(),
  lineNo: z.number().int(),
  action: z.enum(orderItemActions),
  itemRef: z.string().nullable(),
  bandwidthMbps: z.number().int().nullable(),
  siteAddress: z.string().nullable(),
  networkServiceId: z.string().nullable(),
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
  externalId: z.string().nullable(),
  description: z.string().nullable(),
  requestedStartDate: z.string().nullable(),
  stateReason: z.string().nullable(),
  contractId: z.string().nullable(),
  submittedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Order = z.infer<typeof order>;
/** A step the order reached (TMF622 orderMilestone): one per transition the process recorded. */
export const orderMilestone = z.object({ id: z.string(), name: z.string(), state: z.enum(orderStatuses), actor: z.string(), date: z.string(), details: z.record(z.unknown()) });
export type OrderMilestone = z.infer<typeof orderMilestone>;
export const orderWithItems = order.extend({ items: z.array(orderItem), milestones: z.array(orderMilestone) });
export type OrderWithItems = z.infer<typeof orderWithItems>;

const columns = sql.fragment`
  r.id, r.account_id AS "accountId", a.name AS "accountName", r.org_unit_id AS "orgUnitId", r.billing_account_id AS "billingAccountId",
  r.order_type AS "orderType", r.status, r.channel, r.requested_by AS "requestedBy", r.workflow_id AS "workflowId", r.currency,
  r.one_off_total_minor AS "oneOffTotalMinor", r.monthly_total_minor AS "monthlyTotalMinor", r.notes, r.external_id AS "externalId",
  r.description, r.requested_start_date AS "requestedStartDate", r.state_reason AS "stateReason", r.contract_id AS "contractId", r.submitted_at AS "submittedAt",
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
           service_number AS "serviceNumber", quantity, one_off_fee_minor AS "oneOffFeeMinor", monthly_fee_minor AS "monthlyFeeMinor", status,
           item_ref AS "itemRef", bandwidth_mbps AS "bandwidthMbps", site_address AS "siteAddress", network_service_id AS "networkServiceId"
    FROM order_items WHERE order_id = ${id} ORDER BY line_no`);
  return { ...row, items: [...items], milestones: [...(await orderMilestones(db, id))] };
}

/** The transitions the process recorded for an order, oldest first. */
export function orderMilestones(db: CommonQueryMethods, orderId: string) {
  return db.any(sql.type(orderMilestone)`
    SELECT id::text, event AS name, state_after AS state, actor, at AS date, details FROM order_events e WHERE e.order_id = ${orderId} ORDER BY e.id`);
}
