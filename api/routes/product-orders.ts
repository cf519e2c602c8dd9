import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { finalOrderStatuses, getOrder, listOrders, orderStatuses, type OrderWithItems } from '../../db/crm/orders';
import { findDefinition } from '../../db/definitions';
import { orgScope, type OrgScoped } from '../../db/scope';
import { processInstanceId, type MessageInput, type Variables } from '../../workflows/contracts';
import type { ApiDependencies } from '../dependencies';
import type { Role } from '../auth';
import { deliverMessage, startInstance } from '../engine/instances';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { badCursor, cursor, entityId, idParams, limit, notFoundError, text } from '../schemas';
import { customerReaders } from './accounts';

/** The process every product order runs (processes/order-fulfilment.bpmn). */
export const orderProcessKey = 'order-fulfilment';
export const orderInstanceId = (orderId: string) => processInstanceId(orderProcessKey, orderId);

/** Who captures and cancels orders: customer managers, their supervisors, admins. */
export const orderTakers: Role[] = ['admin', 'supervisor', 'customer_manager'];

/** The message the process's cancellation event sub-process waits for; one per order (a second ask is the same message). */
export function cancelOrderMessage(orderId: string, variables: Variables): MessageInput {
  return { name: 'order.cancel', messageId: `order.cancel:${orderId}`, variables };
}

const itemRef = z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits and . _ -');
const characteristic = z.discriminatedUnion('name', [
  z.object({ name: z.literal('bandwidthMbps'), value: z.number().int().min(1).max(100_000) }).strict(),
  z.object({ name: z.literal('siteAddress'), value: text(300) }).strict(),
  z.object({ name: z.literal('serviceNumber'), value: z.string().regex(/^[A-Za-z0-9+-]{1,64}$/, 'letters, digits, + and -') }).strict(),
]);

/** A TMF622 ProductOrder create (the subset Keyflow keeps). */
export const productOrderCreate = z
  .object({
    externalId: text(100).optional().describe("the channel's own id of the order: a second capture with it answers the order it made"),
    description: text(4000).optional(),
    requestedStartDate: z.string().datetime({ offset: true }).optional().describe('not in the past'),
    channel: z.array(z.object({ name: z.enum(['account_manager', 'hall', 'web', 'phone', 'api']) }).strict()).max(1).optional(),
    relatedParty: z
      .array(z.object({ id: entityId, role: z.literal('customer'), '@referredType': z.literal('KeyAccount').optional(), name: z.string().max(200).optional() }).strict())
      .length(1)
      .describe('the key account ordering (role customer)'),
    productOrderItem: z
      .array(
        z
          .object({
            id: itemRef.describe("the caller's id of the item, unique in the order"),
            action: z.enum(['add', 'modify', 'delete']),
            quantity: z.number().int().min(1).max(10_000).default(1),
            productOffering: z.object({ id: entityId, name: z.string().max(200).optional() }).strict().describe('the catalogue product (GET /api/products)'),
            product: z
              .object({
                id: entityId.optional().describe('modify and delete: the subscription the item changes or ends'),
                productCharacteristic: z.array(characteristic).max(5).optional().describe('bandwidthMbps, siteAddress (required for a network product), serviceNumber'),
              })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .min(1)
      .max(50),
  })
  .strict();
export type ProductOrderCreate = z.infer<typeof productOrderCreate>;

const milestoneView = z.object({ id: z.string(), name: z.string(), milestoneDate: z.string(), status: z.enum(orderStatuses), changedBy: z.string(), description: z.string().optional() });
const productOrderView = z.object({
  id: z.string(),
  href: z.string(),
  externalId: z.string().nullable(),
  description: z.string().nullable(),
  state: z.enum(orderStatuses),
  stateReason: z.string().nullable(),
  category: z.string(),
  channel: z.array(z.object({ name: z.string() })),
  requestedStartDate: z.string().nullable(),
  orderDate: z.string(),
  completionDate: z.string().nullable(),
  relatedParty: z.array(z.object({ id: z.string(), role: z.string(), '@referredType': z.string(), name: z.string() })),
  productOrderItem: z.array(
    z.object({
      id: z.string(),
      action: z.string(),
      quantity: z.number().int(),
      state: z.string(),
      productOffering: z.object({ id: z.string() }),
      product: z.object({ id: z.string().nullable(), networkServiceId: z.string().nullable() }),
    }),
  ),
  orderMilestone: z.array(milestoneView),
  processInstanceId: z.string().nullable(),
  contractId: z.string().nullable(),
  billingAccount: z.object({ id: z.string() }).nullable(),
  orderTotalPrice: z.object({ oneOffMinor: z.number(), monthlyMinor: z.number(), currency: z.string() }),
});
type ProductOrderView = z.infer<typeof productOrderView>;

const itemStates: Record<string, string> = { pending: 'acknowledged', provisioning: 'inProgress', done: 'completed', failed: 'failed', cancelled: 'cancelled' };

/** An order as TMF622 shows it, with its milestones and the process instance that drives it. */
export function tmfOrderView(order: OrderWithItems): ProductOrderView {
  return {
    id: order.id,
    href: `/api/productOrder/${order.id}`,
    externalId: order.externalId,
    description: order.description,
    state: order.status,
    stateReason: order.stateReason,
    category: order.orderType,
    channel: [{ name: order.channel }],
    requestedStartDate: order.requestedStartDate,
    orderDate: order.createdAt,
    completionDate: order.completedAt,
    relatedParty: [{ id: order.accountId, role: 'customer', '@referredType': 'KeyAccount', name: order.accountName }],
    productOrderItem: order.items.map((item) => ({
      id: item.itemRef ?? item.id,
      action: item.action,
      quantity: item.quantity,
      state: itemStates[item.status] ?? item.status,
      productOffering: { id: item.productId },
      product: { id: item.subscriptionId, networkServiceId: item.networkServiceId },
    })),
    orderMilestone: order.milestones.map((milestone) => ({
      id: milestone.id,
      name: milestone.name,
      milestoneDate: milestone.date,
      status: milestone.state,
      changedBy: milestone.actor,
      ...(typeof milestone.details.reason === 'string' ? { description: milestone.details.reason } : {}),
    })),
    processInstanceId: order.workflowId,
    contractId: order.contractId,
    billingAccount: order.billingAccountId ? { id: order.billingAccountId } : null,
    orderTotalPrice: { oneOffMinor: order.oneOffTotalMinor, monthlyMinor: order.monthlyTotalMinor, currency: order.currency },
  };
}

async function visibleOrder(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<OrderWithItems> {
  return (await getOrder(db, scope, id)) ?? Promise.reject(notFoundError('product order', id));
}

const field = (path: string, message: string) => [{ field: path, message }];
const offeringRow = z.object({ id: z.string(), status: z.string(), network: z.string().nullable(), one_off: z.coerce.number().nullable(), monthly: z.coerce.number().nullable() });
const subscriptionRow = z.object({ id: z.string(), account_id: z.string(), status: z.string(), product_id: z.string(), service_number: z.string() });

/** The order's timings, from the deployment's configuration: the model's timers read them. */
function timings(config: ApiDependencies['config']): Variables {
  return {
    activationTimeout: config.KEYFLOW_ORDER_ACTIVATION_TIMEOUT,
    projectTaskDue: config.KEYFLOW_ORDER_PROJECT_TASK_DUE,
    projectReminderAfter: config.KEYFLOW_ORDER_PROJECT_REMINDER_AFTER,
    projectEscalateAfter: config.KEYFLOW_ORDER_PROJECT_ESCALATE_AFTER,
  };
}

/**
 * `/api/productOrder`: the TM Forum TMF622-shaped door for orders. A capture checks the order
 * against the catalogue, the account and the caller's scope, writes the order row
 * (`acknowledged`) and starts its fulfilment process; from then on only the process moves its
 * state. A cancellation is a message to the process, which compensates what was done.
 */
export function createProductOrderRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  const requestCancellation = async (staff: OrgScoped & { username: string }, id: string, reason: string | undefined, requestId: string | undefined) => {
    const order = await visibleOrder(pool, staff, id);
    if (finalOrderStatuses.includes(order.status)) {
      throw new ApiError('CONFLICT', `order ${order.id} is ${order.status}; it can no longer be cancelled`, { state: order.status });
    }
    if (!order.workflowId) throw new ApiError('CONFLICT', `order ${order.id} has no process`);
    await deliverMessage(temporal, order.workflowId, cancelOrderMessage(order.id, { cancellationReason: reason ?? '客户取消 Cancelled by the customer', cancelledBy: staff.username }));
    await pool.query(sql.type(z.object({}))`
      UPDATE orders SET cancellation_requested_at = coalesce(cancellation_requested_at, now()), cancellation_reason = coalesce(cancellation_reason, ${reason ?? null}) WHERE id = ${order.id}`);
    await recordAudit(pool, { actor: staff.username, requestId }, { action: 'order.cancellationAsked', entityType: 'order', entityId: order.id, orgUnitId: order.orgUnitId, accountId: order.accountId, details: { reason: reason ?? null } });
    return order;
  };

  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/productOrder',
        summary: "Capture a key account's order (TMF622 ProductOrder create) and start its fulfilment",
        description:
          'The account (relatedParty role customer) must lie in your org scope (404) and be neither suspended nor churned (422); every productOffering must be an active catalogue product with a tariff today (422); ' +
          'modify and delete name a live subscription of the account in product.id (422); an added network product needs a siteAddress characteristic (422). requestedStartDate must not be in the past (400). ' +
          'A capture with the externalId of an order of the account answers that order (200).',
        tags: ['orders'],
        access: orderTakers,
        body: productOrderCreate,
        response: { status: 201, description: 'the order, acknowledged (200: the order this externalId made before)', schema: productOrderView },
        errors: ['NOT_FOUND', 'UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ staff, body, res, req }) => {
        const requestId = String(req.id);
        const now = Date.now();
        if (body.requestedStartDate && Date.parse(body.requestedStartDate) < now - 60_000) {
          throw new ApiError('VALIDATION_FAILED', 'invalid request body', field('body.requestedStartDate', 'must not be in the past'));
        }
        const seen = new Set<string>();
        body.productOrderItem.forEach((item, index) => {
          if (seen.has(item.id)) throw new ApiError('VALIDATION_FAILED', 'invalid request body', field(`body.productOrderItem.${index}.id`, 'item ids must be unique in the order'));
          seen.add(item.id);
          if (item.action === 'add' && item.product?.id) throw new ApiError('VALIDATION_FAILED', 'invalid request body', field(`body.productOrderItem.${index}.product.id`, 'an added item names no existing subscription'));
          if (item.action !== 'add' && !item.product?.id) throw new ApiError('VALIDATION_FAILED', 'invalid request body', field(`body.productOrderItem.${index}.product.id`, `${item.action} names the subscription it changes`));
          const names = (item.product?.productCharacteristic ?? []).map((entry) => entry.name);
          if (new Set(names).size !== names.length) throw new ApiError('VALIDATION_FAILED', 'invalid request body', field(`body.productOrderItem.${index}.product.productCharacteristic`, 'each characteristic once'));
        });
        const party = body.relatedParty[0]!;
        const account = await pool.maybeOne(sql.type(z.object({ id: z.string(), org_unit_id: z.string(), status: z.string(), currency: z.string() }))`
          SELECT id, org_unit_id, status, currency FROM key_accounts WHERE id = ${party.id} AND ${orgScope(staff, sql.identifier(['org_unit_id']))}`);
        if (!account) throw new ApiError('NOT_FOUND', `no key account ${party.id} in your scope`, field('body.relatedParty.0.id', 'unknown key account'));
        if (account.status === 'suspended' || account.status === 'churned') {
          throw new ApiError('UNPROCESSABLE', `account ${account.id} is ${account.status}`, field('body.relatedParty.0.id', `the account is ${account.status}`));
        }
        if (body.externalId) {
          const known = await pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM orders WHERE account_id = ${account.id} AND external_id = ${body.externalId}`);
          if (known) {
            const view = tmfOrderView(await visibleOrder(pool, staff, known));
            res.status(200).json(view);
            return view;
          }
        }
        const lines: { item: (typeof body.productOrderItem)[number]; offering: z.infer<typeof offeringRow>; subscription: z.infer<typeof subscriptionRow> | null }[] = [];
        for (const [index, item] of body.productOrderItem.entries()) {
          const offering = await pool.maybeOne(sql.type(offeringRow)`
            SELECT p.id, p.status, p.network_product_code AS network,
                   (SELECT t.one_off_fee_minor FROM tariffs t WHERE t.product_id = p.id AND t.valid_from <= now() AND (t.valid_to IS NULL OR t.valid_to > now()) ORDER BY t.valid_from DESC LIMIT 1) AS one_off,
                   (SELECT t.monthly_fee_minor FROM tariffs t WHERE t.product_id = p.id AND t.valid_from <= now() AND (t.valid_to IS NULL OR t.valid_to > now()) ORDER BY t.valid_from DESC LIMIT 1) AS monthly
            FROM products p WHERE p.id = ${item.productOffering.id}`);
          const where = `body.productOrderItem.${index}`;
          if (!offering) throw new ApiError('UNPROCESSABLE', `no product offering ${item.productOffering.id}`, field(`${where}.productOffering.id`, 'unknown product offering'));
          if (offering.status !== 'active' || offering.monthly === null) {
            throw new ApiError('UNPROCESSABLE', `product offering ${offering.id} cannot be ordered`, field(`${where}.productOffering.id`, offering.status !== 'active' ? 'the offering is retired' : 'the offering has no tariff today'));
          }
          let subscription: z.infer<typeof subscriptionRow> | null = null;
          if (item.product?.id) {
            subscription = await pool.maybeOne(sql.type(subscriptionRow)`SELECT id, account_id, status, product_id, service_number FROM subscriptions WHERE id = ${item.product.id}`);
            if (!subscription || subscription.account_id !== account.id || subscription.status === 'terminated') {
              throw new ApiError('UNPROCESSABLE', `subscription ${item.product.id} is no live subscription of account ${account.id}`, field(`${where}.product.id`, 'no live subscription of this account'));
            }
            if (item.action === 'delete' && subscription.product_id !== offering.id) {
              throw new ApiError('UNPROCESSABLE', `subscription ${subscription.id} is of product ${subscription.product_id}`, field(`${where}.productOffering.id`, 'a delete names the subscription\'s own product'));
            }
          }
          const site = item.product?.productCharacteristic?.find((entry) => entry.name === 'siteAddress');
          if (item.action === 'add' && offering.network !== null && !site) {
            throw new ApiError('UNPROCESSABLE', `product ${offering.id} is installed at a site`, field(`${where}.product.productCharacteristic`, 'a siteAddress is required for a network product'));
          }
          lines.push({ item, offering, subscription });
        }
        const definition = await findDefinition(pool, orderProcessKey);
        if (!definition) throw new ApiError('UNAVAILABLE', 'the order fulfilment process is not deployed');

        const actions = new Set(body.productOrderItem.map((item) => item.action));
        const orderType = actions.size === 1 && actions.has('add') ? 'new' : actions.size === 1 && actions.has('delete') ? 'terminate' : 'change';
        const channel = body.channel?.[0]?.name ?? (staff.roles.includes('customer_manager') ? 'account_manager' : 'api');
        const charged = lines.filter((line) => line.item.action !== 'delete');
        const oneOff = charged.reduce((sum, line) => sum + (line.item.action === 'add' ? (line.offering.one_off ?? 0) * line.item.quantity : 0), 0);
        const monthly = charged.reduce((sum, line) => sum + (line.offering.monthly ?? 0) * line.item.quantity, 0);
        const orderId = await pool.transaction(async (tx) => {
          const id = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
            INSERT INTO orders (account_id, org_unit_id, order_type, status, channel, requested_by, currency, one_off_total_minor, monthly_total_minor,
                                external_id, description, requested_start_date, created_by)
            VALUES (${account.id}, ${account.org_unit_id}, ${orderType}, 'acknowledged', ${channel}, ${staff.id}, ${account.currency}, ${oneOff}, ${monthly},
                    ${body.externalId ?? null}, ${body.description ?? null}, ${body.requestedStartDate ?? null}, ${staff.username})
            RETURNING id`);
          await tx.query(sql.type(z.object({}))`UPDATE orders SET workflow_id = ${orderInstanceId(id)} WHERE id = ${id}`);
          for (const [index, { item, offering, subscription }] of lines.entries()) {
            const value = <N extends 'bandwidthMbps' | 'siteAddress' | 'serviceNumber'>(name: N) => item.product?.productCharacteristic?.find((entry) => entry.name === name)?.value ?? null;
            await tx.query(sql.type(z.object({}))`
              INSERT INTO order_items (order_id, org_unit_id, line_no, action, product_id, subscription_id, service_number, quantity, one_off_fee_minor, monthly_fee_minor,
                                       item_ref, bandwidth_mbps, site_address)
              VALUES (${id}, ${account.org_unit_id}, ${index + 1}, ${item.action}, ${offering.id}, ${subscription?.id ?? null},
                      ${(value('serviceNumber') as string | null) ?? subscription?.service_number ?? null}, ${item.quantity},
                      ${item.action === 'add' ? (offering.one_off ?? 0) : 0}, ${item.action === 'delete' ? 0 : (offering.monthly ?? 0)},
                      ${item.id}, ${value('bandwidthMbps') as number | null}, ${value('siteAddress') as string | null})`);
          }
          await tx.query(sql.type(z.object({}))`
            INSERT INTO order_events (order_id, idempotency_key, event, state_before, state_after, actor, details, at)
            VALUES (${id}, ${`${orderInstanceId(id)}/captured`}, 'captured', NULL, 'acknowledged', ${staff.username}, ${sql.jsonb({ channel, externalId: body.externalId ?? null })}, now())`);
          await recordAudit(tx, { actor: staff.username, requestId }, {
            action: 'order.captured',
            entityType: 'order',
            entityId: id,
            orgUnitId: account.org_unit_id,
            accountId: account.id,
            after: { status: 'acknowledged', items: body.productOrderItem.length },
          });
          return id;
        });
        try {
          await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
            definition: { ...definition.model, version: definition.version },
            businessKey: orderId,
            variables: { orderId, accountId: account.id, ...timings(config) },
            customerId: account.id,
            orgUnitId: account.org_unit_id,
            startedBy: staff.username,
          });
        } catch (error) {
          // No process, no order: the capture changes nothing when the engine refuses it.
          await pool.transaction(async (tx) => {
            await tx.query(sql.type(z.object({}))`DELETE FROM order_events WHERE order_id = ${orderId}`);
            await tx.query(sql.type(z.object({}))`DELETE FROM orders WHERE id = ${orderId}`);
          });
          throw error;
        }
        return tmfOrderView(await visibleOrder(pool, staff, orderId));
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/productOrder',
        summary: 'Product orders in your org scope as TMF622 shows them, newest first',
        tags: ['orders'],
        access: customerReaders,
        query: z.object({ accountId: entityId.optional(), state: z.enum(orderStatuses).optional(), limit, cursor: cursor.optional() }).strict(),
        response: { status: 200, description: 'a page of orders', schema: z.object({ items: z.array(productOrderView), nextCursor: z.string().nullable() }) },
      },
      async ({ staff, query }) => {
        const page = await listOrders(pool, staff, { accountId: query.accountId, status: query.state, limit: query.limit, cursor: query.cursor });
        if (!page) throw badCursor();
        const items = await Promise.all(page.items.map(async (row) => tmfOrderView(await visibleOrder(pool, staff, row.id))));
        return { items, nextCursor: page.nextCursor };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/productOrder/:id',
        summary: 'A product order with its items, milestones and process instance (TMF622)',
        tags: ['orders'],
        access: customerReaders,
        params: idParams,
        response: { status: 200, description: 'the order', schema: productOrderView },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => tmfOrderView(await visibleOrder(pool, staff, params.id)),
    )
    .add(
      {
        method: 'patch',
        path: '/api/productOrder/:id',
        summary: 'Ask the order\'s process to cancel it (state: cancelled)',
        description:
          'Only `state: cancelled` may be asked for; the process moves the order through assessingCancellation to cancelled and compensates what was done. A final order (completed, cancelled, rejected, failed) is 409.',
        tags: ['orders'],
        access: orderTakers,
        params: idParams,
        body: z.object({ state: z.literal('cancelled'), cancellationReason: text(1000).optional() }).strict(),
        response: { status: 202, description: 'handed to the process', schema: productOrderView },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ staff, params, body, req }) => {
        await requestCancellation(staff, params.id, body.cancellationReason, String(req.id));
        return tmfOrderView(await visibleOrder(pool, staff, params.id));
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/cancelProductOrder',
        summary: 'TMF622 CancelProductOrder: ask the order\'s process to cancel it',
        tags: ['orders'],
        access: orderTakers,
        body: z.object({ productOrder: z.object({ id: entityId }).strict(), cancellationReason: text(1000).optional() }).strict(),
        response: {
          status: 201,
          description: 'the cancellation request, handed to the process',
          schema: z.object({ id: z.string(), state: z.literal('acknowledged'), productOrder: z.object({ id: z.string(), href: z.string() }), cancellationReason: z.string().nullable() }),
        },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ staff, body, req }) => {
        const order = await requestCancellation(staff, body.productOrder.id, body.cancellationReason, String(req.id));
        return { id: `cancel-${order.id}`, state: 'acknowledged' as const, productOrder: { id: order.id, href: `/api/productOrder/${order.id}` }, cancellationReason: body.cancellationReason ?? null };
      },
    );
}
