/**
 * The steps of dunning one unpaid bill (processes/dunning.bpmn): reminders by SMS, the grey list,
 * suspension of the account's services through the provisioning system with the black list, and
 * restoring everything once the bill is paid. Each step is idempotent per (bill, step): it is
 * recorded in bill_events under `bill:<billNo>:<step>` and a second run finds it done. A step
 * whose bill is paid by then does nothing.
 */

import { z } from 'zod';
import { renderTemplate } from '../external/templates';
import { ExternalCallError } from '../external/http';
import type { NotifyClient } from '../external/notify';
import type { ProvisioningClient } from '../external/provisioning';
import type { BulkClient, BulkDatabase } from './bulk';
import { billBalance, type BillBalance } from './payments';
import { smsNumber } from './publish';

export const dunningSteps = ['reminder_1', 'reminder_2', 'grey_list', 'suspend', 'restore'] as const;
export type DunningStep = (typeof dunningSteps)[number];

export interface DunningClients {
  notify: NotifyClient;
  provisioning: ProvisioningClient;
}

const isoDuration = /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;
export const dunningSchedule = z
  .object({
    reminder1: z.string().regex(isoDuration).default('P1D'),
    reminder2: z.string().regex(isoDuration).default('P8D'),
    greyList: z.string().regex(isoDuration).default('P15D'),
    suspend: z.string().regex(isoDuration).default('P30D'),
  })
  .strict();
export type DunningSchedule = z.infer<typeof dunningSchedule>;

export class DunningError extends Error {
  constructor(
    readonly code: 'BILL_NOT_FOUND' | 'BILL_NOT_OWNED' | 'BILL_NOT_ISSUED',
    message: string,
  ) {
    super(message);
    this.name = 'DunningError';
  }
}

/** Milliseconds of a day-and-time ISO duration (the schedule's offsets). */
export function durationMs(text: string): number {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return (Number(match[1] ?? 0) * 86_400 + Number(match[2] ?? 0) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0)) * 1000;
}

export interface DunningPlan {
  billNo: string;
  outstandingMinor: number;
  settled: boolean;
  reminder1At: string;
  reminder2At: string;
  greyListAt: string;
  suspendAt: string;
}

/**
 * The instants of the dunning steps of a bill: offsets from the end of its due date (local
 * midnight after it, in the bill's zone), or from `now` when dunning should start at once.
 */
export async function openDunning(db: BulkDatabase, billNo: string, schedule: DunningSchedule, anchor: 'dueDate' | 'now', now: Date): Promise<DunningPlan> {
  return db.transaction(async (client) => {
    const bill = await billBalance(client, billNo);
    if (!bill) throw new DunningError('BILL_NOT_FOUND', `no bill ${billNo}`);
    if (!bill.due_date) throw new DunningError('BILL_NOT_ISSUED', `bill ${billNo} is not issued`);
    const [due] = await client.query(z.object({ due_end: z.date() }), `SELECT ((due_date + 1)::timestamp AT TIME ZONE time_zone) AS due_end FROM bills WHERE id = $1`, [bill.id]);
    const base = anchor === 'now' ? now.getTime() : due!.due_end.getTime();
    await recordStep(client, `bill:${billNo}:dunning_opened`, bill.id, 'dunning_opened', { anchor, base: new Date(base).toISOString() });
    const at = (offset: string) => new Date(base + durationMs(offset)).toISOString();
    return {
      billNo,
      outstandingMinor: bill.outstandingMinor,
      settled: bill.outstandingMinor <= 0,
      reminder1At: at(schedule.reminder1),
      reminder2At: at(schedule.reminder2),
      greyListAt: at(schedule.greyList),
      suspendAt: at(schedule.suspend),
    };
  });
}

export interface StepOutcome {
  step: DunningStep;
  /** False when it had been done before, or the bill was paid so there was nothing to do. */
  performed: boolean;
  outstandingMinor: number;
  settled: boolean;
  detail: Record<string, unknown>;
}

const contactRow = z.object({ name: z.string(), phone: z.string().nullable(), credit_list: z.string() });
const subscriptionRow = z.object({ id: z.string(), service_number: z.string(), status: z.string() });

/**
 * Performs one dunning step for a bill (see the module comment). `keyPrefix` (the calling task's
 * idempotency key) starts the keys of the partner calls it makes.
 */
export async function dunningStep(db: BulkDatabase, clients: DunningClients, billNo: string, step: DunningStep, keyPrefix: string): Promise<StepOutcome> {
  const key = `bill:${billNo}:${step}`;
  const bill = await db.transaction((client) => billBalance(client, billNo));
  if (!bill) throw new DunningError('BILL_NOT_FOUND', `no bill ${billNo}`);
  const outcome = (performed: boolean, detail: Record<string, unknown> = {}): StepOutcome => ({
    step,
    performed,
    outstandingMinor: bill.outstandingMinor,
    settled: bill.outstandingMinor <= 0,
    detail,
  });
  const [done] = await db.query(z.object({ detail: z.record(z.unknown()) }), 'SELECT detail FROM bill_events WHERE idempotency_key = $1', [key]);
  if (done) return outcome(false, done.detail);
  if (step !== 'restore' && bill.outstandingMinor <= 0) return outcome(false, { reason: 'paid' });

  switch (step) {
    case 'reminder_1':
    case 'reminder_2':
      return outcome(true, await remind(db, clients, bill, key, step, keyPrefix));
    case 'grey_list':
      return outcome(true, await setCreditList(db, bill, key, 'grey_list', 'grey'));
    case 'suspend':
      return outcome(true, await suspend(db, clients, bill, key, keyPrefix));
    case 'restore':
      return outcome(true, await restore(db, clients, bill, key, keyPrefix));
  }
}

async function remind(db: BulkDatabase, clients: DunningClients, bill: BillBalance, key: string, step: DunningStep, keyPrefix: string): Promise<Record<string, unknown>> {
  const [contact] = await db.query(
    contactRow,
    `SELECT k.name, c.phone, k.credit_list FROM key_accounts k
       LEFT JOIN LATERAL (SELECT phone FROM contacts WHERE account_id = k.id ORDER BY (role = 'finance') DESC, is_key_person DESC, id LIMIT 1) c ON true
      WHERE k.id = $1`,
    [bill.account_id],
  );
  const phone = contact?.phone ? smsNumber(contact.phone) : null;
  let detail: Record<string, unknown> = { sent: false, reason: 'no mobile number on file' };
  if (phone) {
    const { text } = renderTemplate('payment.reminder', 'zh-CN', { customerName: contact!.name, billNumber: bill.bill_no, amountMinor: bill.outstandingMinor, dueDate: bill.due_date ?? '' });
    const { body } = await clients.notify.sendSms({ to: phone, text }, { idempotencyKey: `${keyPrefix}/sms` });
    detail = { sent: true, messageId: body.messageId, outstandingMinor: bill.outstandingMinor };
  }
  await db.transaction((client) => recordStep(client, key, bill.id, step, detail));
  return detail;
}

/** Grey or black list the key account, remembering what it was; a red (protected) account stays red. */
async function setCreditList(db: BulkDatabase, bill: BillBalance, key: string, kind: 'grey_list' | 'black_list', to: 'grey' | 'black'): Promise<Record<string, unknown>> {
  return db.transaction(async (client) => {
    const [account] = await client.query(z.object({ credit_list: z.string() }), 'SELECT credit_list FROM key_accounts WHERE id = $1 FOR UPDATE', [bill.account_id]);
    const before = account?.credit_list ?? 'none';
    const rank = { none: 0, grey: 1, black: 2, red: 3 } as Record<string, number>;
    const changed = before !== 'red' && (rank[before] ?? 0) < (rank[to] ?? 0);
    if (changed) await client.run('UPDATE key_accounts SET credit_list = $2, version = version + 1, updated_at = now() WHERE id = $1', [bill.account_id, to]);
    const detail = { before, after: changed ? to : before };
    await recordStep(client, key, bill.id, kind, detail);
    return detail;
  });
}

/**
 * Suspends the account's active subscriptions through the provisioning system and black-lists
 * the account. A protected (red-list) account is not suspended. A service the provisioning system
 * does not know is noted, not retried forever.
 */
async function suspend(db: BulkDatabase, clients: DunningClients, bill: BillBalance, key: string, keyPrefix: string): Promise<Record<string, unknown>> {
  const [account] = await db.query(z.object({ credit_list: z.string() }), 'SELECT credit_list FROM key_accounts WHERE id = $1', [bill.account_id]);
  if (account?.credit_list === 'red') {
    const detail = { suspended: [], skipped: 'the account is on the red list (protected)' };
    await db.transaction((client) => recordStep(client, key, bill.id, 'suspend', detail));
    return detail;
  }
  const subscriptions = await db.query(subscriptionRow, `SELECT id, service_number, status FROM subscriptions WHERE billing_account_id = $1 AND status = 'active' ORDER BY id`, [bill.billing_account_id]);
  const suspended: string[] = [];
  const refused: { id: string; message: string }[] = [];
  for (const subscription of subscriptions) {
    try {
      await clients.provisioning.change('suspend', subscription.service_number, { reason: `unpaid bill ${bill.bill_no}` }, { idempotencyKey: `${keyPrefix}/${subscription.id}` });
    } catch (error) {
      if (error instanceof ExternalCallError && !error.info.retryable) {
        refused.push({ id: subscription.id, message: error.message });
        continue;
      }
      throw error;
    }
    await db.transaction((client) => client.run(`UPDATE subscriptions SET status = 'suspended', version = version + 1, updated_at = now() WHERE id = $1 AND status = 'active'`, [subscription.id]));
    suspended.push(subscription.id);
  }
  const blackList = await setCreditList(db, bill, `bill:${bill.bill_no}:black_list`, 'black_list', 'black');
  const detail = { suspended, refused, creditList: blackList };
  await db.transaction((client) => recordStep(client, key, bill.id, 'suspend', detail));
  return detail;
}

/** Resumes what dunning suspended and lifts the grey or black listing it set. */
async function restore(db: BulkDatabase, clients: DunningClients, bill: BillBalance, key: string, keyPrefix: string): Promise<Record<string, unknown>> {
  const events = await db.query(z.object({ kind: z.string(), detail: z.record(z.unknown()) }), `SELECT kind, detail FROM bill_events WHERE bill_id = $1 AND kind IN ('suspend', 'grey_list', 'black_list')`, [bill.id]);
  const suspended = (events.find((event) => event.kind === 'suspend')?.detail.suspended as string[] | undefined) ?? [];
  const resumed: string[] = [];
  for (const subscriptionId of suspended) {
    const [subscription] = await db.query(subscriptionRow, 'SELECT id, service_number, status FROM subscriptions WHERE id = $1', [subscriptionId]);
    if (!subscription || subscription.status !== 'suspended') continue;
    try {
      await clients.provisioning.change('resume', subscription.service_number, { reason: `bill ${bill.bill_no} paid` }, { idempotencyKey: `${keyPrefix}/${subscription.id}` });
    } catch (error) {
      if (!(error instanceof ExternalCallError) || error.info.retryable) throw error;
    }
    await db.transaction((client) => client.run(`UPDATE subscriptions SET status = 'active', version = version + 1, updated_at = now() WHERE id = $1 AND status = 'suspended'`, [subscription.id]));
    resumed.push(subscription.id);
  }
  const grey = events.find((event) => event.kind === 'grey_list')?.detail;
  const original = (grey?.before as string | undefined) ?? null;
  let creditList: string | null = null;
  if (original !== null) {
    await db.transaction(async (client) => {
      // Only undo what dunning did: a list set by someone else since then stays.
      const changed = await client.run(`UPDATE key_accounts SET credit_list = $2, version = version + 1, updated_at = now() WHERE id = $1 AND credit_list IN ('grey', 'black')`, [bill.account_id, original]);
      creditList = changed > 0 ? original : null;
    });
  }
  const detail = { resumed, creditList };
  await db.transaction((client) => recordStep(client, key, bill.id, 'restore', detail));
  return detail;
}

async function recordStep(client: BulkClient, key: string, billId: number, kind: string, detail: unknown): Promise<void> {
  await client.run('INSERT INTO bill_events (idempotency_key, bill_id, kind, detail) VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING', [key, billId, kind, JSON.stringify(detail)]);
}
