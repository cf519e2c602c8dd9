import { z } from 'zod';
import type { BulkClient, BulkDatabase } from './bulk';

export const paymentMethods = ['bank_transfer', 'direct_debit', 'cash', 'card', 'other'] as const;

export interface PaymentInput {
  billNo: string;
  /** The payer's (bank's) reference: a second report of the same payment changes nothing. */
  paymentRef: string;
  amountMinor: number;
  currency: string;
  method: (typeof paymentMethods)[number];
  receivedAt: Date;
  recordedBy: string;
}

export const billBalanceRow = z.object({
  id: z.coerce.number(),
  bill_no: z.string(),
  billing_account_id: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  status: z.string(),
  currency: z.string(),
  total_minor: z.coerce.number(),
  adjusted_minor: z.coerce.number(),
  paid_minor: z.coerce.number(),
  due_date: z.string().nullable(),
});
export type BillBalance = z.infer<typeof billBalanceRow> & { outstandingMinor: number };

export class PaymentError extends Error {
  constructor(
    readonly code: 'BILL_NOT_FOUND' | 'BILL_NOT_ISSUED' | 'CURRENCY_MISMATCH' | 'REFERENCE_REUSED' | 'OVERPAYMENT',
    message: string,
  ) {
    super(message);
    this.name = 'PaymentError';
  }
}

const balanceColumns = `id, bill_no, billing_account_id, account_id, org_unit_id, status, currency, total_minor, adjusted_minor, paid_minor, to_char(due_date, 'YYYY-MM-DD') AS due_date`;

export async function billBalance(client: BulkClient, billNo: string, lock = false): Promise<BillBalance | null> {
  const [row] = await client.query(billBalanceRow, `SELECT ${balanceColumns} FROM bills WHERE bill_no = $1${lock ? ' FOR UPDATE' : ''}`, [billNo]);
  return row ? { ...row, outstandingMinor: row.total_minor + row.adjusted_minor - row.paid_minor } : null;
}

/**
 * Records a payment against an issued bill and moves the bill to partiallyPaid or settled.
 * Idempotent by the payment reference: reporting the same payment again returns the bill as it is
 * (and says so), a different payment under a used reference is refused.
 * @throws PaymentError BILL_NOT_FOUND, BILL_NOT_ISSUED, CURRENCY_MISMATCH, REFERENCE_REUSED, OVERPAYMENT (more than is outstanding)
 */
export async function recordPayment(db: BulkDatabase, input: PaymentInput): Promise<{ bill: BillBalance; recorded: boolean }> {
  return db.transaction(async (client) => {
    const bill = await billBalance(client, input.billNo, true);
    if (!bill) throw new PaymentError('BILL_NOT_FOUND', `no bill ${input.billNo}`);
    const [previous] = await client.query(z.object({ bill_id: z.coerce.number(), amount_minor: z.coerce.number() }), 'SELECT bill_id, amount_minor FROM payments WHERE payment_ref = $1', [input.paymentRef]);
    if (previous) {
      if (previous.bill_id !== bill.id || previous.amount_minor !== input.amountMinor) {
        throw new PaymentError('REFERENCE_REUSED', `payment reference ${input.paymentRef} was used for another payment`);
      }
      return { bill, recorded: false };
    }
    if (bill.status === 'new' || bill.status === 'onHold') throw new PaymentError('BILL_NOT_ISSUED', `bill ${input.billNo} is not issued yet`);
    if (bill.currency !== input.currency) throw new PaymentError('CURRENCY_MISMATCH', `bill ${input.billNo} is in ${bill.currency}, the payment in ${input.currency}`);
    // A payment settles at most what is owed: more would leave a negative balance no rule accounts
    // for (and totals near 2^53 lose precision). A surplus is refunded or booked as a credit note.
    if (input.amountMinor > bill.outstandingMinor) {
      throw new PaymentError('OVERPAYMENT', `bill ${input.billNo} has ${Math.max(bill.outstandingMinor, 0)} outstanding; a payment of ${input.amountMinor} is more than that`);
    }
    await client.run(
      `INSERT INTO payments (payment_ref, bill_id, billing_account_id, org_unit_id, amount_minor, currency, method, received_at, recorded_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [input.paymentRef, bill.id, bill.billing_account_id, bill.org_unit_id, input.amountMinor, input.currency, input.method, input.receivedAt, input.recordedBy],
    );
    const paid = bill.paid_minor + input.amountMinor;
    const settled = paid >= bill.total_minor + bill.adjusted_minor;
    await client.run(
      `UPDATE bills SET paid_minor = $2, status = $3, settled_at = CASE WHEN $3 = 'settled' THEN coalesce(settled_at, $4) ELSE settled_at END WHERE id = $1`,
      [bill.id, paid, settled ? 'settled' : 'partiallyPaid', input.receivedAt],
    );
    return { bill: (await billBalance(client, input.billNo))!, recorded: true };
  });
}
