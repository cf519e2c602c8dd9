/**
 * Publishing issued bills: the invoice to the accounting system (opening the billing account there
 * on its first bill), the notice to the customer's finance contact by SMS and e-mail, then the bill
 * is `sent`. Every call carries a key derived from the bill number and the step, and its success is
 * written to bill_events under that key, so a retried batch neither posts nor sends twice.
 */

import { z } from 'zod';
import { ExternalCallError } from '../external/http';
import type { AccountingClient } from '../external/accounting';
import type { NotifyClient } from '../external/notify';
import { renderTemplate } from '../external/templates';
import type { BulkClient, BulkDatabase } from './bulk';

export interface PublishClients {
  accounting: AccountingClient;
  notify: NotifyClient;
}

const billToPublish = z.object({
  id: z.coerce.number(),
  bill_no: z.string(),
  billing_account_id: z.string(),
  account_name: z.string(),
  billing_name: z.string(),
  account_id: z.string(),
  currency: z.string(),
  period: z.string(),
  period_start: z.string(),
  period_end: z.string(),
  net_minor: z.coerce.number(),
  tax_minor: z.coerce.number(),
  total_minor: z.coerce.number(),
  due_date: z.string(),
  bill_cycle_day: z.number(),
  accounting_account_id: z.string().nullable(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  done: z.array(z.string()),
});
type BillToPublish = z.infer<typeof billToPublish>;

export interface PublishResult {
  published: number;
  alreadySent: number;
  /** Bills a partner refused for good (left validated, for ops to look at); retryable failures throw instead. */
  failed: { billNo: string; step: string; message: string }[];
}

/**
 * Publishes the validated bills of one batch of a run, at most `parallel` at a time. `keyPrefix`
 * (the calling task's idempotency key) starts every partner call's key, so they are unique to
 * this step of this process instance and the same on every retry of it.
 */
export async function publishBatch(db: BulkDatabase, clients: PublishClients, runId: number, batchNo: number, keyPrefix: string, parallel = 8): Promise<PublishResult> {
  const bills = await db.query(
    billToPublish,
    `SELECT b.id, b.bill_no, b.billing_account_id, k.name AS account_name, ba.name AS billing_name, b.account_id, b.currency, b.period,
            to_char(b.period_start, 'YYYY-MM-DD') AS period_start, to_char(b.period_end - 1, 'YYYY-MM-DD') AS period_end,
            b.net_minor, b.tax_minor, b.total_minor, to_char(b.due_date, 'YYYY-MM-DD') AS due_date, ba.bill_cycle_day, t.accounting_account_id,
            c.phone, c.email, coalesce((SELECT array_agg(e.kind) FROM bill_events e WHERE e.bill_id = b.id), '{}') AS done
       FROM bills b
       JOIN bill_run_batches r ON r.bill_run_id = $1 AND r.batch_no = $2 AND b.billing_account_id = ANY(r.billing_account_ids)
       JOIN key_accounts k ON k.id = b.account_id
       JOIN billing_accounts ba ON ba.id = b.billing_account_id
       LEFT JOIN billing_terms t ON t.billing_account_id = b.billing_account_id
       LEFT JOIN LATERAL (SELECT phone, email FROM contacts WHERE account_id = b.account_id
                           ORDER BY (role = 'finance') DESC, is_key_person DESC, id LIMIT 1) c ON true
      WHERE b.bill_run_id = $1 AND b.status IN ('validated', 'sent', 'partiallyPaid', 'settled')
      ORDER BY b.billing_account_id`,
    [runId, batchNo],
  );
  const result: PublishResult = { published: 0, alreadySent: 0, failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < bills.length) {
      const bill = bills[next++]!;
      if (bill.done.includes('accounting_sync') && bill.done.includes('notice_sms') === Boolean(bill.phone) && bill.done.includes('notice_email') === Boolean(bill.email)) {
        await markSent(db, bill.id);
        result.alreadySent += 1;
        continue;
      }
      const failure = await publishBill(db, clients, bill, keyPrefix);
      if (failure) result.failed.push(failure);
      else result.published += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, bills.length) }, worker));
  return result;
}

async function publishBill(db: BulkDatabase, clients: PublishClients, bill: BillToPublish, keyPrefix: string): Promise<PublishResult['failed'][number] | null> {
  // bill_events dedupes by bill and step within this database; partners dedupe by the call's key.
  const key = (step: string) => `bill:${bill.bill_no}:${step}`;
  const callKey = (step: string) => `${keyPrefix}/${bill.bill_no}/${step}`;
  let step = 'accounting_account';
  try {
    let accountingId = bill.accounting_account_id;
    if (!accountingId) {
      const { body } = await clients.accounting.openBillingAccount(
        { customerId: bill.account_id, name: bill.billing_name, currency: bill.currency, billingCycleDay: bill.bill_cycle_day, ...(bill.email ? { contactEmail: bill.email } : {}) },
        { idempotencyKey: callKey(`open-account-${bill.billing_account_id}`) },
      );
      accountingId = body.billingAccountId;
      await db.transaction(async (client) => {
        await client.run(
          `INSERT INTO billing_terms (billing_account_id, accounting_account_id) VALUES ($1, $2)
           ON CONFLICT (billing_account_id) DO UPDATE SET accounting_account_id = coalesce(billing_terms.accounting_account_id, excluded.accounting_account_id)`,
          [bill.billing_account_id, accountingId],
        );
        await recordEvent(client, key('accounting_account'), bill.id, 'accounting_account', accountingId);
      });
    }
    step = 'accounting_sync';
    if (!bill.done.includes('accounting_sync')) {
      const { body } = await clients.accounting.postInvoice(
        accountingId,
        { invoiceNumber: bill.bill_no, periodStart: bill.period_start, periodEnd: bill.period_end, amountMinor: Math.max(0, bill.net_minor), taxMinor: Math.max(0, bill.tax_minor), currency: bill.currency, dueDate: bill.due_date },
        { idempotencyKey: callKey('accounting_sync') },
      );
      await db.transaction((client) => recordEvent(client, key('accounting_sync'), bill.id, 'accounting_sync', body.invoiceId));
    }
    const params = { customerName: bill.account_name, period: bill.period, billNumber: bill.bill_no, amountMinor: bill.total_minor, dueDate: bill.due_date };
    step = 'notice_sms';
    const phone = bill.phone ? smsNumber(bill.phone) : null;
    if (phone && !bill.done.includes('notice_sms')) {
      const { text } = renderTemplate('bill.issued', 'zh-CN', params);
      const { body } = await clients.notify.sendSms({ to: phone, text }, { idempotencyKey: callKey('notice_sms') });
      await db.transaction((client) => recordEvent(client, key('notice_sms'), bill.id, 'notice_sms', body.messageId));
    }
    step = 'notice_email';
    if (bill.email && !bill.done.includes('notice_email')) {
      const { subject, text } = renderTemplate('bill.issued', 'zh-CN', params);
      const { body } = await clients.notify.sendEmail({ to: bill.email, subject, text }, { idempotencyKey: callKey('notice_email') });
      await db.transaction((client) => recordEvent(client, key('notice_email'), bill.id, 'notice_email', body.messageId));
    }
    await markSent(db, bill.id);
    return null;
  } catch (error) {
    if (error instanceof ExternalCallError && !error.info.retryable) {
      await db.transaction((client) => recordEvent(client, key(`publish_failed:${step}`), bill.id, 'publish_failed', null, { step, message: error.message }));
      return { billNo: bill.bill_no, step, message: error.message };
    }
    throw error;
  }
}

async function recordEvent(client: BulkClient, key: string, billId: number, kind: string, externalRef: string | null, detail: unknown = {}): Promise<void> {
  await client.run('INSERT INTO bill_events (idempotency_key, bill_id, kind, external_ref, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING', [
    key,
    billId,
    kind,
    externalRef,
    JSON.stringify(detail),
  ]);
}

async function markSent(db: BulkDatabase, billId: number): Promise<void> {
  await db.transaction((client) => client.run(`UPDATE bills SET status = 'sent', sent_at = coalesce(sent_at, now()) WHERE id = $1 AND status = 'validated'`, [billId]));
}

/** A contact's phone as the SMS gateway wants it: +<E.164>, or null when it is not a mobile number. */
export function smsNumber(phone: string): string | null {
  const digits = phone.replace(/[\s-]/g, '');
  if (/^\+\d{6,15}$/.test(digits)) return digits;
  if (/^1[3-9]\d{9}$/.test(digits)) return `+86${digits}`;
  if (/^86\d{11}$/.test(digits)) return `+${digits}`;
  return null;
}
