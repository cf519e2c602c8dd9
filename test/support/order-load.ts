import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Session } from './auth';
import { leasedLineOrder } from './orders';
import type { SimControl } from './external';

/** What the simulator is made to do while the orders run: 20% errors and 500 ms more on every call. */
export const chaosFaults = {
  '*': { latencyMs: 500, errorRate: 0.2, errorStatuses: [500, 502, 503, 429] as (500 | 502 | 503 | 429)[] },
  'provisioning.activate': { latencyMs: 500, errorRate: 0.2, errorStatuses: [500, 502, 503, 429] as (500 | 502 | 503 | 429)[], duplicateCallbackRate: 0.1, outOfOrderCallbackRate: 0.1 },
};

/** The side effects one completed leased-line order makes, each exactly once. */
export const sideEffectsPerOrder: Record<string, number> = {
  'provisioning.reserve': 1,
  'accounting.openBillingAccount': 1,
  'provisioning.activate': 1,
  'notify.sendSms': 2,
};

export interface OrderLoadResult {
  orders: number;
  states: Record<string, number>;
  /** Orders whose ledger entries differ from `sideEffectsPerOrder` (an order that did not complete is listed too). */
  duplicates: { orderId: string; operations: Record<string, number> }[];
  ledgerEntries: number;
  injectedErrors: number;
  contractsSigned: number;
  seconds: number;
  ordersPerMinute: number;
  /** Capture → completed, from the order row (workflow time), in ms. */
  leadTimesMs: number[];
}

const rowState = z.object({ id: z.string(), status: z.string(), lead_ms: z.coerce.number().nullable() });
const openSigning = z.object({ id: z.string() });
const finals = ['completed', 'cancelled', 'failed', 'rejected', 'partial'];

/**
 * Captures `count` leased-line orders through the API (`inFlight` requests at a time, spread over
 * `accounts`), signs each contract through the task API as its customer manager would once the
 * order waits for it, and waits until every order is final. Then reads the simulator's ledger:
 * each completed order must have made each side effect exactly once.
 */
export async function runOrderLoad(options: {
  apiUrl: string;
  pool: DatabasePool;
  control: SimControl;
  manager: Session;
  accounts: string[];
  count: number;
  inFlight?: number;
  timeoutMs: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<OrderLoadResult> {
  const { apiUrl, pool, control, manager, accounts, count } = options;
  const inFlight = options.inFlight ?? 20;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${apiUrl}${path}`, { method: 'POST', headers: manager.headers, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const started = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        const index = next++;
        const answer = await post('/api/productOrder', leasedLineOrder(accounts[index % accounts.length]!, { externalId: `LOAD-${Date.now()}-${index}` }));
        if (answer.status !== 201) throw new Error(`capture ${index}: ${answer.status} ${JSON.stringify(answer.body)}`);
        ids.push(answer.body.id as string);
      }
    }),
  );

  const signed = new Set<string>();
  const deadline = Date.now() + options.timeoutMs;
  let rows: readonly z.infer<typeof rowState>[] = [];
  for (;;) {
    rows = await pool.any(sql.type(rowState)`
      SELECT id, status, (extract(epoch FROM completed_at - created_at) * 1000)::bigint AS lead_ms FROM orders WHERE id = ANY (${sql.array(ids, 'text')})`);
    const done = rows.filter((row) => finals.includes(row.status)).length;
    options.onProgress?.(done, ids.length);
    if (done === ids.length) break;
    if (Date.now() > deadline) throw new Error(`orders not final after ${options.timeoutMs} ms: ${JSON.stringify(countStates(rows))}`);
    const tasks = await pool.any(sql.type(openSigning)`
      SELECT id FROM human_tasks WHERE node_id = 'sign-contract' AND status = 'open' AND business_key = ANY (${sql.array(ids, 'text')})`);
    const due = tasks.filter((task) => !signed.has(task.id));
    for (let offset = 0; offset < due.length; offset += inFlight) {
      await Promise.all(
        due.slice(offset, offset + inFlight).map(async (task) => {
          const answer = await post(`/api/tasks/${encodeURIComponent(task.id)}/complete`, { variables: { contractNo: `HT-${task.id.split(':')[1]!.split('/')[0]}`, signedOn: new Date().toISOString().slice(0, 10) } });
          // 409 TASK_NOT_OPEN: the instance does not take it yet; the next round tries again.
          if (answer.status === 200) signed.add(task.id);
          else if (answer.status !== 409) throw new Error(`signing ${task.id}: ${answer.status} ${JSON.stringify(answer.body)}`);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const seconds = (performance.now() - started) / 1000;

  const ledger = await control.ledger({ idempotencyKeyPrefix: 'order-fulfilment:', limit: 100_000 });
  const byOrder = new Map<string, Record<string, number>>();
  for (const entry of ledger.entries) {
    const orderId = entry.idempotencyKey.slice('order-fulfilment:'.length).split('/')[0]!;
    const operations = byOrder.get(orderId) ?? {};
    operations[entry.operation] = (operations[entry.operation] ?? 0) + 1;
    byOrder.set(orderId, operations);
  }
  const duplicates = ids
    .map((orderId) => ({ orderId, operations: byOrder.get(orderId) ?? {} }))
    .filter(({ operations }) => Object.keys(sideEffectsPerOrder).some((operation) => operations[operation] !== sideEffectsPerOrder[operation]) || Object.keys(operations).length !== Object.keys(sideEffectsPerOrder).length);
  const requests = await control.requests({ idempotencyKeyPrefix: 'order-fulfilment:', limit: 100_000 });
  return {
    orders: ids.length,
    states: countStates(rows),
    duplicates,
    ledgerEntries: ids.reduce((sum, id) => sum + Object.values(byOrder.get(id) ?? {}).reduce((a, b) => a + b, 0), 0),
    injectedErrors: requests.entries.filter((entry) => entry.outcome === 'fault').length,
    contractsSigned: signed.size,
    seconds,
    ordersPerMinute: (ids.length / seconds) * 60,
    leadTimesMs: rows.map((row) => row.lead_ms ?? Number.NaN).filter((value) => Number.isFinite(value)).sort((a, b) => a - b),
  };
}

function countStates(rows: readonly { status: string }[]): Record<string, number> {
  const states: Record<string, number> = {};
  for (const row of rows) states[row.status] = (states[row.status] ?? 0) + 1;
  return states;
}

/** The q-quantile of sorted values (0 when there are none). */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
