import { randomBytes } from 'node:crypto';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { createAccount } from '../../db/crm/accounts';
import { systemScope } from '../../db/scope';

const id = z.object({ id: z.string() });
const none = z.object({});

/** One key account with one of everything that hangs off it, all in `orgUnitId`. */
export interface AccountFixture {
  accountId: string;
  contactId: string;
  contractId: string;
  billingAccountId: string;
  subscriptionId: string;
  orderId: string;
  troubleTicketId: string;
  supervisionTicketId: string;
  orgUnitId: string;
}

/** The catalogue product every fixture subscribes to (created once per database). */
export async function ensureTestProduct(pool: DatabasePool): Promise<{ productId: string; tariffId: string }> {
  await pool.query(sql.type(none)`
    INSERT INTO products (id, name, category) VALUES ('TEST-DIA-100M', '互联网专线 100M', 'internet') ON CONFLICT (id) DO NOTHING`);
  await pool.query(sql.type(none)`
    INSERT INTO tariffs (product_id, version, name, valid_from, monthly_fee_minor) VALUES ('TEST-DIA-100M', 1, '标准资费', '2024-01-01T00:00:00Z', 300000)
    ON CONFLICT (product_id, version) DO NOTHING`);
  const tariffId = await pool.oneFirst(sql.type(id)`SELECT id FROM tariffs WHERE product_id = 'TEST-DIA-100M' AND version = 1`);
  return { productId: 'TEST-DIA-100M', tariffId };
}

export async function createAccountFixture(
  pool: DatabasePool,
  orgUnitId: string,
  overrides: { name?: string; tier?: 'gold' | 'silver' | 'bronze'; customerManagerId?: number } = {},
): Promise<AccountFixture> {
  const { productId, tariffId } = await ensureTestProduct(pool);
  const account = await createAccount(pool, { actor: 'test' }, systemScope, {
    name: overrides.name ?? `测试客户 ${randomBytes(3).toString('hex')}`,
    industry: 'logistics',
    tier: overrides.tier ?? 'silver',
    status: 'active',
    orgUnitId,
    customerManagerId: overrides.customerManagerId ?? null,
  });
  const accountId = account.id;
  const contactId = await pool.oneFirst(sql.type(id)`
    INSERT INTO contacts (account_id, org_unit_id, name, role, is_key_person, phone) VALUES (${accountId}, ${orgUnitId}, '张伟', 'decision_maker', true, '13800000000')
    RETURNING id`);
  const contractId = await pool.oneFirst(sql.type(id)`
    INSERT INTO contracts (account_id, org_unit_id, contract_no, title, status, starts_on) VALUES (${accountId}, ${orgUnitId}, ${`HT-${accountId}`}, '综合信息服务协议', 'active', '2024-01-01')
    RETURNING id`);
  const billingAccountId = await pool.oneFirst(sql.type(id)`
    INSERT INTO billing_accounts (account_id, org_unit_id, name) VALUES (${accountId}, ${orgUnitId}, '主账户') RETURNING id`);
  const orderId = await pool.oneFirst(sql.type(id)`
    INSERT INTO orders (account_id, org_unit_id, billing_account_id, order_type, status) VALUES (${accountId}, ${orgUnitId}, ${billingAccountId}, 'new', 'inProgress')
    RETURNING id`);
  const subscriptionId = await pool.oneFirst(sql.type(id)`
    INSERT INTO subscriptions (account_id, org_unit_id, product_id, tariff_id, billing_account_id, order_id, service_number, status)
    VALUES (${accountId}, ${orgUnitId}, ${productId}, ${tariffId}, ${billingAccountId}, ${orderId}, ${`SN-${accountId}`}, 'active')
    RETURNING id`);
  await pool.query(sql.type(none)`
    INSERT INTO order_items (order_id, org_unit_id, line_no, action, product_id, tariff_id, subscription_id, monthly_fee_minor)
    VALUES (${orderId}, ${orgUnitId}, 1, 'add', ${productId}, ${tariffId}, ${subscriptionId}, 300000)`);
  const troubleTicketId = await pool.oneFirst(sql.type(id)`
    INSERT INTO trouble_tickets (account_id, org_unit_id, kind, channel, category, severity, title, subscription_id, contact_id, sla_due_at)
    VALUES (${accountId}, ${orgUnitId}, 'fault', 'phone', '线路中断', 'major', '专线中断', ${subscriptionId}, ${contactId}, now() + interval '4 hours')
    RETURNING id`);
  const issuer = await pool.oneFirst(sql.type(z.object({ parent_id: z.string().nullable() }))`SELECT parent_id FROM org_units WHERE id = ${orgUnitId}`);
  const supervisionTicketId = await pool.oneFirst(sql.type(id)`
    INSERT INTO supervision_tickets (org_unit_id, issued_by_unit_id, account_id, trouble_ticket_id, title, severity, due_at)
    VALUES (${orgUnitId}, ${issuer ?? orgUnitId}, ${accountId}, ${troubleTicketId}, '督办：专线中断', 'major', now() + interval '2 days')
    RETURNING id`);
  return { accountId, contactId, contractId, billingAccountId, subscriptionId, orderId, troubleTicketId, supervisionTicketId, orgUnitId };
}

/** An inbox row as the engine's user-task activity writes it. */
/** The form of every task `insertTask` makes: a completion may carry these fields only. */
const approvalForm = [
  { id: 'approved', type: 'boolean' },
  { id: 'comment', type: 'string' },
  { id: 'text', type: 'string' },
];

export async function insertTask(
  pool: DatabasePool,
  task: { id?: string; workflowId?: string; candidateGroups: string[]; candidateUsers?: string[]; assignee?: string | null; orgUnitId: string | null; customerId?: string | null; status?: 'open' | 'completed' | 'cancelled' },
): Promise<string> {
  const workflowId = task.workflowId ?? `test:${randomBytes(4).toString('hex')}`;
  const taskId = task.id ?? `${workflowId}/approve/0`;
  const status = task.status ?? 'open';
  await pool.query(sql.type(none)`
    INSERT INTO human_tasks (id, workflow_id, process_key, process_version, business_key, node_id, name, candidate_groups, candidate_users, assignee,
                             org_unit_id, customer_id, status, closed_at, form_schema)
    VALUES (${taskId}, ${workflowId}, 'test', 1, ${workflowId.split(':')[1] ?? workflowId}, 'approve', '审批', ${sql.array(task.candidateGroups, 'text')},
            ${sql.array(task.candidateUsers ?? [], 'text')}, ${task.assignee ?? null}, ${task.orgUnitId}, ${task.customerId ?? null}, ${status},
            ${status === 'open' ? null : new Date().toISOString()}, ${sql.jsonb(approvalForm as never)})`);
  return taskId;
}
