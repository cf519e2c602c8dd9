import fs from 'node:fs';
import path from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { deployBpmn } from '../../api/engine/definitions';
import { processInstanceId } from '../../workflows/contracts';
import type { ProcessModel } from '../../workflows/model';
import { createAccountFixture, type AccountFixture } from './crm';
import { createMobileStaff } from './complaint';
import { testOrg } from './auth';

const processes = path.join(__dirname, '..', '..', 'processes');
const none = z.object({});

/**
 * The shipped order fulfilment process, deployed into this database. Test databases share one
 * Temporal, where an order's instance id is `order-fulfilment:<order id>`: each database's order
 * numbers start at a random block, so two test files never number an order alike.
 */
export async function deployOrderFulfilment(pool: DatabasePool): Promise<ProcessModel> {
  const block = 1_000_000 + Math.floor(Math.random() * 98_000) * 1_000;
  await pool.query(sql.type(z.object({ setval: z.coerce.number() }))`SELECT setval('orders_seq', greatest(${block}, (SELECT last_value FROM orders_seq)))`);
  const { definition } = await deployBpmn(pool, fs.readFileSync(path.join(processes, 'order-fulfilment.bpmn'), 'utf8'), 'test');
  return { ...definition.model, version: definition.version };
}

export function orderInstanceId(orderId: string): string {
  return processInstanceId('order-fulfilment', orderId);
}

/**
 * The catalogue the order tests sell: a leased line the simulated network provisions (DIA), and
 * two mobile plans it does not (billed only), each with a tariff valid today.
 */
export async function ensureOrderCatalogue(pool: DatabasePool): Promise<{ leasedLine: string; planA: string; planB: string; retired: string }> {
  const products: [id: string, name: string, category: string, network: string | null, bandwidth: number | null, status: string, monthly: number, oneOff: number][] = [
    ['TEST-DIA-200M', '互联网专线 200M', 'internet', 'DIA', 200, 'active', 450_000, 200_000],
    ['TEST-MOBILE-A', '集团手机套餐 A', 'mobile', null, null, 'active', 8_800, 0],
    ['TEST-MOBILE-B', '集团手机套餐 B', 'mobile', null, null, 'active', 12_800, 0],
    ['TEST-RETIRED', '已下架产品', 'internet', 'DIA', 100, 'retired', 100_000, 0],
  ];
  for (const [id, name, category, network, bandwidth, status, monthly, oneOff] of products) {
    await pool.query(sql.type(none)`
      INSERT INTO products (id, name, category, status, network_product_code, default_bandwidth_mbps) VALUES (${id}, ${name}, ${category}, ${status}, ${network}, ${bandwidth})
      ON CONFLICT (id) DO NOTHING`);
    await pool.query(sql.type(none)`
      INSERT INTO tariffs (product_id, version, name, valid_from, monthly_fee_minor, one_off_fee_minor) VALUES (${id}, 1, ${`${name} 标准资费`}, '2024-01-01T00:00:00Z', ${monthly}, ${oneOff})
      ON CONFLICT (product_id, version) DO NOTHING`);
  }
  return { leasedLine: 'TEST-DIA-200M', planA: 'TEST-MOBILE-A', planB: 'TEST-MOBILE-B', retired: 'TEST-RETIRED' };
}

/** The people of the order tests: a Tianhe customer manager, Guangzhou's supervisor and dispatcher, ops, and a Shenzhen manager. */
export async function createOrderStaff(pool: DatabasePool, tag: string) {
  const n = (i: number) => `137${tag.padStart(4, '0').slice(-4)}${String(i).padStart(4, '0')}`;
  return {
    manager: await createMobileStaff(pool, ['customer_manager'], testOrg.tianhe, n(1)),
    supervisor: await createMobileStaff(pool, ['supervisor'], testOrg.guangzhou, n(2)),
    dispatcher: await createMobileStaff(pool, ['dispatcher'], testOrg.guangzhou, n(3)),
    ops: await createMobileStaff(pool, ['ops'], testOrg.province, n(4)),
    szManager: await createMobileStaff(pool, ['customer_manager'], testOrg.shenzhen, n(5)),
  };
}

/** A Tianhe key account managed by `managerId`, on a credit list and in a state of its own. */
export async function createOrderAccount(
  pool: DatabasePool,
  managerId: number,
  options: { creditList?: 'none' | 'red' | 'grey' | 'black'; status?: 'prospect' | 'active' | 'suspended' } = {},
): Promise<AccountFixture> {
  const account = await createAccountFixture(pool, testOrg.tianhe, { tier: 'gold', customerManagerId: managerId });
  await pool.query(sql.type(none)`
    UPDATE key_accounts SET credit_list = ${options.creditList ?? 'none'}, status = ${options.status ?? 'active'} WHERE id = ${account.accountId}`);
  // The fixture's contact number ends in 0000, which the simulated gateway cannot reach.
  await pool.query(sql.type(none)`UPDATE contacts SET phone = '+86 138-0013-8001' WHERE id = ${account.contactId}`);
  return account;
}

/** A TMF622 order adding one leased line at a site, for `accountId`. */
export function leasedLineOrder(accountId: string, overrides: Record<string, unknown> = {}) {
  return {
    externalId: `CRM-${Math.random().toString(36).slice(2, 10)}`,
    description: '总部互联网专线',
    relatedParty: [{ id: accountId, role: 'customer', '@referredType': 'KeyAccount' }],
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        quantity: 1,
        productOffering: { id: 'TEST-DIA-200M' },
        product: { productCharacteristic: [{ name: 'siteAddress', value: '广州市天河区体育西路 1 号' }, { name: 'bandwidthMbps', value: 200 }] },
      },
    ],
    ...overrides,
  };
}

const orderRow = z.object({ status: z.string(), state_reason: z.string().nullable(), contract_id: z.string().nullable(), billing_account_id: z.string().nullable(), completed_at: z.string().nullable() });

export function orderRowOf(pool: DatabasePool, id: string) {
  return pool.one(sql.type(orderRow)`SELECT status, state_reason, contract_id, billing_account_id, completed_at FROM orders WHERE id = ${id}`);
}

export function orderEventsOf(pool: DatabasePool, orderId: string) {
  return pool.anyFirst(sql.type(z.object({ event: z.string() }))`SELECT event || ':' || state_after AS event FROM order_events WHERE order_id = ${orderId} ORDER BY id`);
}

export function orderNoticesOf(pool: DatabasePool, orderId: string) {
  return pool.any(sql.type(z.object({ username: z.string(), kind: z.string() }))`SELECT username, kind FROM staff_notices WHERE order_id = ${orderId} ORDER BY id`);
}
