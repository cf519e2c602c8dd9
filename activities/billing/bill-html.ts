import type { BillDetail } from '../../db/billing';
import { formatMinor } from '../rating';

const escape = (text: string) => text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!);

const units: Record<string, (quantity: number) => string> = {
  seconds: (quantity) => `${Math.floor(quantity / 60)} min ${quantity % 60} s`,
  bytes: (quantity) => `${(quantity / 1024 / 1024).toFixed(1)} MB`,
  messages: (quantity) => `${quantity} msg`,
  days: (quantity) => `${quantity} d`,
  items: (quantity) => String(quantity),
};

/**
 * A bill as a printable HTML page (A4, one column, no scripts, every value escaped): header with
 * the bill number, account and period, the lines in bill order, totals, then any credit or debit
 * notes and payments. Browsers print it to PDF as it is.
 */
export function renderBillHtml(bill: BillDetail, operatorName = 'Keyflow Telecom'): string {
  const money = (minor: number) => `${bill.currency} ${formatMinor(minor, bill.minorDigits)}`;
  const row = (cells: string[], className = '') => `<tr${className ? ` class="${className}"` : ''}>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`;
  const lines = bill.lines.map((line) => row([String(line.lineNo), escape(line.description), escape(units[line.unit]?.(line.quantity) ?? String(line.quantity)), money(line.amountMinor)], line.kind));
  const notes = bill.notes.map((note) => row([escape(note.noteNo), escape(`${note.kind === 'credit' ? 'Credit note' : 'Debit note'}: ${note.reason}`), '', money(note.kind === 'credit' ? -note.totalMinor : note.totalMinor)]));
  const payments = bill.payments.map((payment) => row([escape(payment.paymentRef), escape(`Payment (${payment.method})`), escape(payment.receivedAt.slice(0, 10)), money(-payment.amountMinor)]));
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${escape(bill.billNo ?? `Draft ${bill.id}`)}</title>
<style>
@page { size: A4; margin: 18mm; } body { font: 11pt/1.4 "Noto Sans", "PingFang SC", sans-serif; color: #111; }
h1 { font-size: 16pt; margin: 0 0 4mm; } table { width: 100%; border-collapse: collapse; } td { padding: 1.2mm 2mm; border-bottom: 0.2mm solid #ccc; }
td:last-child { text-align: right; white-space: nowrap; } .meta td:last-child { text-align: left; } .discount, .credit { color: #064; } .total td { font-weight: bold; border-top: 0.5mm solid #111; }
.draft { color: #a00; font-weight: bold; }
</style></head><body>
<h1>${escape(operatorName)} — ${bill.billNo ? `Bill ${escape(bill.billNo)}` : '<span class="draft">DRAFT (not issued)</span>'}</h1>
<table class="meta">
${row(['Customer', escape(`${bill.accountName} (${bill.accountId})`)])}
${row(['Billing account', escape(bill.billingAccountId)])}
${row(['Period', escape(`${bill.periodStart} – ${bill.periodEnd} (exclusive), ${bill.timeZone}`)])}
${row(['Issued', escape(bill.issuedAt ? bill.issuedAt.slice(0, 10) : '—')])}
${row(['Due', escape(bill.dueDate ?? '—')])}
</table>
<h2>Charges</h2>
<table>
${lines.join('\n')}
${row(['', 'Total', '', money(bill.totalMinor)], 'total')}
</table>
${notes.length + payments.length > 0 ? `<h2>Since issue</h2><table>${[...notes, ...payments].join('\n')}${row(['', 'Outstanding', '', money(bill.outstandingMinor)], 'total')}</table>` : ''}
</body></html>
`;
}
