import { ApplicationFailure } from '@temporalio/common';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { refreshOrderRollups } from '../db/analytics';
import { recordAudit } from '../db/audit';
import { finalOrderStatuses, orderStatuses, type OrderStatus } from '../db/crm/orders';
import type { ActivityDependencies } from './context';
import { endpointFor } from './external/endpoints';
import { ExternalCallError } from './external/http';
import { createNotifyClient } from './external/notify';
import { defineServiceTask, once } from './external/service-task';
import { renderTemplate } from './external/templates';
import { partnerId } from './external/wire';

/**
 * The order's side of processes/order-fulfilment.bpmn. The model decides what happens and calls
 * the network and accounting itself (provisioning.*, accounting.*); these write it down in the CRM
 * store: the TMF622 state with a milestone and an audit row per step (`orders.record`), what each
 * item reserved and activated (`orders.recordItem`), the signed contract, the billing account and
 * subscriptions the rating engine reads, modify and delete of existing subscriptions, withdrawal
 * on compensation, and the notices. Each step is idempotent by its key: a retry finds the event
 * it wrote and changes nothing twice. Times come from the workflow (`at` = FEEL `now()`).
 */

/** Each event the process records, and the state the order is in after it. */
export const orderEvents = {
  validated: 'inProgress',
  creditNoted: 'inProgress',
  creditHeld: 'held',
  creditApproved: 'inProgress',
  qualificationHeld: 'held',
  qualified: 'inProgress',
  rejected: 'rejected',
  feasibilityChecked: 'inProgress',
  projectStarted: 'inProgress',
  projectReminder: 'inProgress',
  projectEscalated: 'inProgress',
  projectCompleted: 'inProgress',
  contractPending: 'pending',
  contractSigned: 'inProgress',
  billingAccountOpened: 'inProgress',
  activationStarted: 'inProgress',
  activationUnconfirmed: 'inProgress',
  completed: 'completed',
  cancellationRequested: 'assessingCancellation',
  cancelled: 'cancelled',
  failed: 'failed',
} as const satisfies Record<string, OrderStatus>;
export type OrderEvent = keyof typeof orderEvents;
const orderEventNames = Object.keys(orderEvents) as [OrderEvent, ...OrderEvent[]];

const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 date-time');
const text = (max: number) => z.string().trim().min(1).max(max);
const none = z.object({});
const idRow = z.object({ id: z.string() });

/** The failure type of an order step that names an order the process does not own (never retried). */
export const orderNotFoundType = 'OrderNotFound';
/** The failure type of a step the order's data does not allow (never retried: ops resolve it). */
export const orderStepInvalidType = 'OrderStepInvalid';

const orderRow = z.object({
  id: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  status: z.enum(orderStatuses),
  workflow_id: z.string().nullable(),
  billing_account_id: z.string().nullable(),
  contract_id: z.string().nullable(),
});
type OrderRow = z.infer<typeof orderRow>;

async function lockOrder(tx: CommonQueryMethods, orderId: string, workflowId: string): Promise<OrderRow> {
  const row = await tx.maybeOne(sql.type(orderRow)`
    SELECT id, account_id, org_unit_id, status, workflow_id, billing_account_id, contract_id FROM orders WHERE id = ${orderId} FOR UPDATE`);
  // The business key names the order; an order of another instance is never this one's to change.
  if (!row || (row.workflow_id !== null && row.workflow_id !== workflowId)) {
    throw ApplicationFailure.nonRetryable(`order ${orderId} is not the order of ${workflowId}`, orderNotFoundType);
  }
  return row;
}

/** The order of a fulfilment instance: its business key (`order-fulfilment:<order id>`). */
export function orderOf(workflowId: string): string {
  return workflowId.slice(workflowId.indexOf(':') + 1);
}

function invalidStep(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, orderStepInvalidType);
}

/**
 * Writes one transition: the order's new state, its milestone (keyed by the step's idempotency
 * key, so a retry writes nothing) and the audit row. A final order changes no more.
 */
async function recordEvent(
  tx: CommonQueryMethods,
  order: OrderRow,
  step: { event: OrderEvent | 'itemReserved' | 'itemActivated' | 'itemChanged' | 'subscriptionsWithdrawn'; at: string; actor?: string; reason?: string | null; details?: Record<string, unknown> },
  idempotencyKey: string,
  columns: Record<string, string | null> = {},
): Promise<OrderStatus> {
  const done = await tx.maybeOne(sql.type(z.object({ state_after: z.enum(orderStatuses) }))`SELECT state_after FROM order_events WHERE idempotency_key = ${idempotencyKey}`);
  if (done) return done.state_after;
  const target: OrderStatus = step.event in orderEvents ? orderEvents[step.event as OrderEvent] : order.status;
  if (finalOrderStatuses.includes(order.status) && target !== order.status) {
    throw invalidStep(`order ${order.id} is ${order.status}; it cannot become ${target}`);
  }
  const at = new Date(Date.parse(step.at)).toISOString();
  const reason = step.reason ?? null;
  await tx.query(sql.type(none)`
    UPDATE orders SET status = ${target}, version = version + 1, updated_at = now(),
      state_reason = ${target === 'rejected' || target === 'failed' || target === 'cancelled' ? reason : sql.fragment`state_reason`},
      submitted_at = coalesce(submitted_at, ${target === 'inProgress' ? at : null}::timestamptz),
      completed_at = ${target === 'completed' ? at : sql.fragment`completed_at`},
      contract_id = coalesce(${columns.contract_id ?? null}, contract_id),
      billing_account_id = coalesce(${columns.billing_account_id ?? null}, billing_account_id)
    WHERE id = ${order.id}`);
  const actor = step.actor ?? 'system:order-fulfilment';
  await tx.query(sql.type(none)`
    INSERT INTO order_events (order_id, idempotency_key, event, state_before, state_after, actor, details, at)
    VALUES (${order.id}, ${idempotencyKey}, ${step.event}, ${order.status}, ${target}, ${actor}, ${sql.jsonb({ ...(reason ? { reason } : {}), ...(step.details ?? {}) } as never)}, ${at})`);
  await recordAudit(tx, { actor }, {
    action: `order.${step.event}`,
    entityType: 'order',
    entityId: order.id,
    orgUnitId: order.org_unit_id,
    accountId: order.account_id,
    before: { status: order.status },
    after: { status: target },
    details: { workflowId: order.workflow_id, ...(reason ? { reason } : {}), ...(step.details ?? {}) },
  });
  // The order's months in the rollups (orders, subscriptions), in the step's transaction.
  await refreshOrderRollups(tx, order.id, at);
  return target;
}

/** An order item as the process iterates over it (`item` in the multi-instance steps). */
const itemView = z.object({
  itemId: z.string(),
  action: z.enum(['add', 'modify', 'delete']),
  productId: z.string(),
  productCode: z.string().nullable(),
  bandwidthMbps: z.number().int().nullable(),
  siteAddress: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  serviceId: z.string().nullable(),
  reservationId: z.string().nullable(),
});

function itemsOf(db: CommonQueryMethods, orderId: string) {
  return db.any(sql.type(itemView)`
    SELECT i.id AS "itemId", i.action, i.product_id AS "productId", p.network_product_code AS "productCode",
           coalesce(i.bandwidth_mbps, p.default_bandwidth_mbps) AS "bandwidthMbps", i.site_address AS "siteAddress",
           i.subscription_id AS "subscriptionId",
           coalesce(i.network_service_id, s.network_service_id) AS "serviceId", i.reservation_id AS "reservationId"
    FROM order_items i JOIN products p ON p.id = i.product_id LEFT JOIN subscriptions s ON s.id = i.subscription_id
    WHERE i.order_id = ${orderId} ORDER BY i.line_no`);
}

const validation = z.object({
  accountId: z.string(),
  accountName: z.string(),
  accountStatus: z.string(),
  creditList: z.string(),
  currency: z.string(),
  customerManager: z.string().nullable(),
});

/** Why the catalogue or the account refuses an order today (null: it may go on). */
async function refusal(db: CommonQueryMethods, order: OrderRow, at: string): Promise<string | null> {
  const account = await db.one(sql.type(z.object({ status: z.string() }))`SELECT status FROM key_accounts WHERE id = ${order.account_id}`);
  if (account.status === 'suspended' || account.status === 'churned') return `account ${order.account_id} is ${account.status}`;
  const problems = await db.anyFirst(sql.type(z.object({ problem: z.string().nullable() }))`
    SELECT CASE
             WHEN p.status <> 'active' THEN 'product ' || p.id || ' is retired'
             WHEN NOT EXISTS (SELECT 1 FROM tariffs t WHERE t.product_id = p.id AND t.valid_from <= ${at}::timestamptz AND (t.valid_to IS NULL OR t.valid_to > ${at}::timestamptz))
               THEN 'product ' || p.id || ' has no tariff today'
             WHEN i.action <> 'add' AND (s.id IS NULL OR s.account_id <> ${order.account_id} OR s.status = 'terminated')
               THEN 'item ' || coalesce(i.item_ref, i.id) || ' names no live subscription of the account'
           END AS problem
    FROM order_items i JOIN products p ON p.id = i.product_id LEFT JOIN subscriptions s ON s.id = i.subscription_id
    WHERE i.order_id = ${order.id} ORDER BY i.line_no`);
  const first = problems.find((problem) => problem !== null);
  return first ?? null;
}

const recordInput = z.object({ event: z.enum(orderEventNames), at: instant, reason: text(1000).nullish(), actor: text(100).nullish() });
const itemInput = z.object({
  event: z.enum(['reserved', 'activated', 'failed']),
  at: instant,
  itemId: z.string().min(1).max(64),
  serviceId: partnerId.nullish(),
  reservationId: partnerId.nullish(),
});
const changeInput = z.object({ at: instant, itemId: z.string().min(1).max(64) });
const contractInput = z.object({ at: instant, contractNo: text(64), signedOn: z.string().date(), signedBy: text(100).nullish() });
const billingInput = z.object({ at: instant, accountingAccountId: partnerId });
const notifyInput = z.object({ at: instant, audience: z.enum(['customer', 'manager']), template: z.enum(['order.completed', 'order.cancelled', 'order.managerNotice']), state: text(40).nullish() });
const projectNoticeInput = z.object({ at: instant, kind: z.enum(['reminder', 'escalation']), task: text(100) });

/** Phone numbers as the SMS gateway takes them (`+86 138-0000 0000` → `+8613800000000`). */
function dialable(phone: string | null): string | null {
  if (!phone) return null;
  const digits = phone.replace(/[\s-]/g, '');
  return /^\+?[0-9]{6,15}$/.test(digits) ? digits : null;
}

export function createOrderActivities(deps: ActivityDependencies) {
  const { pool } = deps;
  const notify = once(() => createNotifyClient(endpointFor(deps.config, 'notify'), deps.logger));

  return {
    /**
     * Validation against the catalogue and the account, at the time the process gets there: the
     * account's state, credit list and whether it is new, the items to fulfil (with the network's
     * product codes). An order the catalogue or account refuses is recorded `rejected` here.
     */
    'orders.validate': defineServiceTask('orders.validate', z.object({ at: instant }), deps, async ({ at }, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const facts = await tx.one(sql.type(validation)`
          SELECT a.id AS "accountId", a.name AS "accountName", a.status AS "accountStatus", a.credit_list AS "creditList", a.currency,
                 (SELECT s.username FROM staff s WHERE s.id = a.customer_manager_id) AS "customerManager"
          FROM key_accounts a WHERE a.id = ${order.account_id}`);
        const problem = await refusal(tx, order, at);
        const items = await itemsOf(tx, orderId);
        const state = await recordEvent(tx, order, problem ? { event: 'rejected', at, reason: problem } : { event: 'validated', at }, call.idempotencyKey);
        return {
          ...facts,
          orderState: state,
          valid: problem === null,
          rejectionReason: problem,
          accountIsNew: facts.accountStatus === 'prospect',
          items: [...items],
          hasNetworkItems: items.some((item) => item.action === 'add' && item.productCode !== null),
          hasAddItems: items.some((item) => item.action === 'add'),
        };
      });
    }),

    /** One step of the order's life: its TMF622 state, milestone and audit row (once per step). */
    'orders.record': defineServiceTask('orders.record', recordInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        if (input.event === 'qualified') {
          await tx.query(sql.type(none)`UPDATE key_accounts SET status = 'active', version = version + 1, updated_at = now() WHERE id = ${order.account_id} AND status = 'prospect'`);
        }
        if (input.event === 'cancelled' || input.event === 'failed') {
          await tx.query(sql.type(none)`UPDATE order_items SET status = ${input.event === 'cancelled' ? 'cancelled' : 'failed'}, updated_at = now() WHERE order_id = ${orderId} AND status <> 'done'`);
        }
        if (input.event === 'completed') {
          await tx.query(sql.type(none)`UPDATE order_items SET status = 'done', updated_at = now() WHERE order_id = ${orderId}`);
        }
        const state = await recordEvent(tx, order, { event: input.event, at: input.at, reason: input.reason, actor: input.actor ?? undefined }, call.idempotencyKey);
        const result: Record<string, unknown> = { orderState: state };
        // After the network had its say, the items carry what it reserved: the activation steps read them.
        if (input.event === 'feasibilityChecked' || input.event === 'activationStarted') result.items = [...(await itemsOf(tx, orderId))];
        return result;
      });
    }),

    /** What the network did for one item: reserved (service and reservation ids), activated, failed. */
    'orders.recordItem': defineServiceTask('orders.recordItem', itemInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const at = new Date(Date.parse(input.at)).toISOString();
        const item = await tx.maybeOne(sql.type(z.object({ id: z.string(), subscription_id: z.string().nullable() }))`
          SELECT id, subscription_id FROM order_items WHERE id = ${input.itemId} AND order_id = ${orderId} FOR UPDATE`);
        if (!item) throw invalidStep(`order ${orderId} has no item ${input.itemId}`);
        if (input.event === 'reserved') {
          await tx.query(sql.type(none)`
            UPDATE order_items SET network_service_id = ${input.serviceId ?? null}, reservation_id = ${input.reservationId ?? null}, status = 'provisioning', updated_at = now()
            WHERE id = ${item.id}`);
          await recordEvent(tx, order, { event: 'itemReserved', at: input.at, details: { itemId: item.id, serviceId: input.serviceId, reservationId: input.reservationId } }, call.idempotencyKey);
        } else if (input.event === 'activated') {
          await tx.query(sql.type(none)`UPDATE order_items SET activated_at = coalesce(activated_at, ${at}::timestamptz), updated_at = now() WHERE id = ${item.id}`);
          // The subscription (recorded with the billing account) starts billing from the activation.
          await tx.query(sql.type(none)`
            UPDATE subscriptions SET status = 'active', activated_at = coalesce(activated_at, ${at}::timestamptz), version = version + 1, updated_at = now()
            WHERE id = (SELECT subscription_id FROM order_items WHERE id = ${item.id}) AND status = 'pending'`);
          await recordEvent(tx, order, { event: 'itemActivated', at: input.at, details: { itemId: item.id, serviceId: input.serviceId } }, call.idempotencyKey);
        } else {
          await tx.query(sql.type(none)`UPDATE order_items SET status = 'failed', updated_at = now() WHERE id = ${item.id}`);
        }
        return { itemState: input.event };
      });
    }),

    /** The signed contract (a user task recorded its reference): the contract row, linked to the order. */
    'orders.signContract': defineServiceTask('orders.signContract', contractInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const existing = await tx.maybeOne(sql.type(z.object({ id: z.string(), account_id: z.string() }))`SELECT id, account_id FROM contracts WHERE contract_no = ${input.contractNo}`);
        if (existing && existing.account_id !== order.account_id) throw invalidStep(`contract number ${input.contractNo} belongs to another account`);
        const totals = await tx.one(sql.type(z.object({ value: z.coerce.number(), currency: z.string() }))`
          SELECT (o.one_off_total_minor + 12 * o.monthly_total_minor) AS value, o.currency FROM orders o WHERE o.id = ${orderId}`);
        const contractId =
          existing?.id ??
          (await tx.oneFirst(sql.type(idRow)`
            INSERT INTO contracts (account_id, org_unit_id, contract_no, title, status, signed_on, starts_on, value_minor, currency)
            VALUES (${order.account_id}, ${order.org_unit_id}, ${input.contractNo}, ${`订单 ${orderId} 业务合同`}, 'active', ${input.signedOn}, ${input.signedOn}, ${totals.value}, ${totals.currency})
            RETURNING id`));
        const state = await recordEvent(tx, order, { event: 'contractSigned', at: input.at, actor: input.signedBy ?? undefined, details: { contractId, contractNo: input.contractNo } }, call.idempotencyKey, { contract_id: contractId });
        return { contractId, orderState: state };
      });
    }),

    /**
     * The billing account the accounting system opened, kept in the CRM with its accounting id,
     * and a pending subscription per added item at today's tariff: the rating engine bills them
     * from their activation.
     */
    'orders.recordBilling': defineServiceTask('orders.recordBilling', billingInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const account = await tx.one(sql.type(z.object({ name: z.string(), currency: z.string() }))`SELECT name, currency FROM key_accounts WHERE id = ${order.account_id}`);
        const billingAccountId =
          (await tx.maybeOneFirst(sql.type(idRow)`SELECT id FROM billing_accounts WHERE accounting_id = ${input.accountingAccountId}`)) ??
          (await tx.oneFirst(sql.type(idRow)`
            INSERT INTO billing_accounts (account_id, org_unit_id, name, currency, accounting_id)
            VALUES (${order.account_id}, ${order.org_unit_id}, ${`${account.name} · ${orderId}`.slice(0, 200)}, ${account.currency}, ${input.accountingAccountId})
            RETURNING id`));
        const items = await tx.any(sql.type(z.object({ id: z.string(), product_id: z.string(), quantity: z.number(), service_number: z.string().nullable(), network_service_id: z.string().nullable(), subscription_id: z.string().nullable() }))`
          SELECT id, product_id, quantity, service_number, network_service_id, subscription_id FROM order_items WHERE order_id = ${orderId} AND action = 'add' ORDER BY line_no FOR UPDATE`);
        for (const item of items) {
          if (item.subscription_id) continue;
          const tariff = await tx.maybeOne(sql.type(z.object({ id: z.string(), monthly_fee_minor: z.coerce.number() }))`
            SELECT id, monthly_fee_minor FROM tariffs WHERE product_id = ${item.product_id} AND valid_from <= ${input.at}::timestamptz AND (valid_to IS NULL OR valid_to > ${input.at}::timestamptz)
            ORDER BY valid_from DESC LIMIT 1`);
          if (!tariff) throw invalidStep(`product ${item.product_id} has no tariff at ${input.at}`);
          const subscriptionId = await tx.oneFirst(sql.type(idRow)`
            INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, order_id, service_number, quantity, status, network_service_id)
            VALUES (${order.account_id}, ${order.org_unit_id}, ${item.product_id}, ${tariff.id}, ${billingAccountId}, ${orderId},
                    ${item.service_number ?? item.network_service_id ?? item.id}, ${item.quantity}, 'pending', ${item.network_service_id})
            RETURNING id`);
          await tx.query(sql.type(none)`UPDATE order_items SET subscription_id = ${subscriptionId}, tariff_id = ${tariff.id}, updated_at = now() WHERE id = ${item.id}`);
        }
        const state = await recordEvent(tx, order, { event: 'billingAccountOpened', at: input.at, details: { billingAccountId, accountingId: input.accountingAccountId } }, call.idempotencyKey, { billing_account_id: billingAccountId });
        return { localBillingAccountId: billingAccountId, orderState: state };
      });
    }),

    /**
     * A modify item: the subscription it names ends now and a new one on the ordered product (its
     * tariff today) takes over the same service number and billing account — the rating engine
     * rates usage before the change at the old tariff and after it at the new one, and prorates the
     * monthly fees. A delete item ends the subscription.
     */
    'orders.changeSubscription': defineServiceTask('orders.changeSubscription', changeInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const at = new Date(Date.parse(input.at)).toISOString();
        const item = await tx.maybeOne(sql.type(z.object({ id: z.string(), action: z.string(), product_id: z.string(), subscription_id: z.string().nullable(), status: z.string() }))`
          SELECT id, action, product_id, subscription_id, status FROM order_items WHERE id = ${input.itemId} AND order_id = ${orderId} FOR UPDATE`);
        if (!item || item.action === 'add' || !item.subscription_id) throw invalidStep(`item ${input.itemId} of order ${orderId} changes no subscription`);
        if (item.status === 'done') return { itemState: 'done' };
        const old = await tx.one(sql.type(z.object({ id: z.string(), product_id: z.string(), billing_account_id: z.string(), service_number: z.string(), quantity: z.number(), network_service_id: z.string().nullable(), status: z.string() }))`
          SELECT id, product_id, billing_account_id, service_number, quantity, network_service_id, status FROM subscriptions WHERE id = ${item.subscription_id} FOR UPDATE`);
        await tx.query(sql.type(none)`
          UPDATE subscriptions SET status = 'terminated', terminated_at = ${at}, version = version + 1, updated_at = now() WHERE id = ${old.id} AND status <> 'terminated'`);
        let replacement: string | null = null;
        if (item.action === 'modify') {
          const tariff = await tx.maybeOneFirst(sql.type(idRow)`
            SELECT id FROM tariffs WHERE product_id = ${item.product_id} AND valid_from <= ${at}::timestamptz AND (valid_to IS NULL OR valid_to > ${at}::timestamptz) ORDER BY valid_from DESC LIMIT 1`);
          if (!tariff) throw invalidStep(`product ${item.product_id} has no tariff at ${at}`);
          replacement = await tx.oneFirst(sql.type(idRow)`
            INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, order_id, service_number, quantity, status, activated_at, network_service_id)
            VALUES (${order.account_id}, ${order.org_unit_id}, ${item.product_id}, ${tariff}, ${old.billing_account_id}, ${orderId}, ${old.service_number}, ${old.quantity}, 'active', ${at}, ${old.network_service_id})
            RETURNING id`);
          await tx.query(sql.type(none)`UPDATE order_items SET tariff_id = ${tariff} WHERE id = ${item.id}`);
        }
        await tx.query(sql.type(none)`UPDATE order_items SET status = 'done', activated_at = ${at}, updated_at = now() WHERE id = ${item.id}`);
        await recordEvent(tx, order, { event: 'itemChanged', at: input.at, details: { itemId: item.id, action: item.action, endedSubscriptionId: old.id, newSubscriptionId: replacement } }, call.idempotencyKey);
        return { itemState: 'done', newSubscriptionId: replacement };
      });
    }),

    /** Compensation: the order's pending or new subscriptions end, the CRM's billing account of the order closes. */
    'orders.withdraw': defineServiceTask('orders.withdraw', z.object({ at: instant }), deps, async ({ at }, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const iso = new Date(Date.parse(at)).toISOString();
        const withdrawn = await tx.anyFirst(sql.type(idRow)`
          UPDATE subscriptions SET status = 'terminated', terminated_at = ${iso}, version = version + 1, updated_at = now()
          WHERE order_id = ${orderId} AND status <> 'terminated' AND id IN (SELECT subscription_id FROM order_items WHERE order_id = ${orderId} AND action = 'add')
          RETURNING id`);
        if (order.billing_account_id) {
          await tx.query(sql.type(none)`UPDATE billing_accounts SET status = 'closed', version = version + 1, updated_at = now() WHERE id = ${order.billing_account_id} AND accounting_id IS NOT NULL`);
        }
        await recordEvent(tx, order, { event: 'subscriptionsWithdrawn', at, details: { subscriptionIds: [...withdrawn] } }, call.idempotencyKey);
        return { withdrawnSubscriptions: [...withdrawn] };
      });
    }),

    /**
     * A notice by SMS: to the account's key contact (`customer`), or to its customer manager
     * (`manager`, also an inbox notice). Nobody to reach is not an error: the step says so.
     */
    'orders.notify': defineServiceTask('orders.notify', notifyInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      const target = await pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const facts = await tx.one(sql.type(z.object({ name: z.string(), contact_phone: z.string().nullable(), manager: z.string().nullable(), manager_mobile: z.string().nullable() }))`
          SELECT a.name,
                 (SELECT c.phone FROM contacts c WHERE c.account_id = a.id AND c.phone IS NOT NULL ORDER BY c.is_key_person DESC, c.id LIMIT 1) AS contact_phone,
                 s.username AS manager, s.mobile AS manager_mobile
          FROM key_accounts a LEFT JOIN staff s ON s.id = a.customer_manager_id WHERE a.id = ${order.account_id}`);
        const state = input.state ?? order.status;
        const { text: message } = renderTemplate(input.template, 'zh-CN', { orderId, customerName: facts.name, state });
        if (input.audience === 'manager' && facts.manager) {
          await tx.query(sql.type(none)`
            INSERT INTO staff_notices (username, kind, order_id, text, dedupe_key) VALUES (${facts.manager}, 'order.notice', ${orderId}, ${message}, ${call.idempotencyKey})
            ON CONFLICT (dedupe_key) DO NOTHING`);
        }
        return { to: dialable(input.audience === 'customer' ? facts.contact_phone : facts.manager_mobile), message };
      });
      if (!target.to) return { notified: false, notReachedBecause: 'NO_NUMBER' };
      try {
        const { body } = await notify().sendSms({ to: target.to, text: target.message }, call);
        return { notified: true, messageId: body.messageId };
      } catch (error) {
        // A number that cannot take messages does not hold the order up; the step says so.
        if (error instanceof ExternalCallError && error.info.code === 'RECIPIENT_UNREACHABLE') return { notified: false, notReachedBecause: 'RECIPIENT_UNREACHABLE' };
        throw error;
      }
    }),

    /**
     * A project task ran late: a reminder to the task's group in the order's unit and above, or
     * an escalation to the supervisors of the order's unit (inbox notices), and a milestone.
     */
    'orders.projectNotice': defineServiceTask('orders.projectNotice', projectNoticeInput, deps, async (input, call) => {
      const orderId = orderOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const order = await lockOrder(tx, orderId, call.workflowId);
        const role = input.kind === 'reminder' ? 'dispatcher' : 'supervisor';
        const people = await tx.anyFirst(sql.type(z.object({ username: z.string() }))`
          SELECT s.username FROM staff s JOIN org_units so ON so.id = s.org_unit_id, org_units o
          WHERE o.id = ${order.org_unit_id} AND s.active AND ${role} = ANY (s.roles) AND o.path LIKE so.path || '%'
          ORDER BY length(so.path) DESC, s.username LIMIT 20`);
        const message =
          input.kind === 'reminder'
            ? `订单 ${orderId} 的工程任务「${input.task}」已超期，请尽快完成 / Project task "${input.task}" of order ${orderId} is overdue`
            : `订单 ${orderId} 的工程任务「${input.task}」超期未完成，已升级 / Project task "${input.task}" of order ${orderId} is escalated`;
        for (const username of people) {
          await tx.query(sql.type(none)`
            INSERT INTO staff_notices (username, kind, order_id, text, dedupe_key) VALUES (${username}, ${`order.project.${input.kind}`}, ${orderId}, ${message}, ${`${call.idempotencyKey}/${username}`})
            ON CONFLICT (dedupe_key) DO NOTHING`);
        }
        await recordEvent(tx, order, { event: input.kind === 'reminder' ? 'projectReminder' : 'projectEscalated', at: input.at, details: { task: input.task, notified: [...people] } }, call.idempotencyKey);
        return { [`project${input.kind === 'reminder' ? 'Reminded' : 'Escalated'}`]: [...people] };
      });
    }),
  };
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
