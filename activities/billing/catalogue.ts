import { z } from 'zod';
import { formatMinor, TariffBook, type RatingPlanInput, type TariffVersion } from '../rating';
import type { BulkClient } from './bulk';

export const tariffRow = z.object({
  id: z.string(),
  product_id: z.string(),
  name: z.string(),
  valid_from: z.date(),
  valid_to: z.date().nullable(),
  currency: z.string(),
  monthly_fee_minor: z.coerce.number(),
  plan: z.unknown(),
});
export type TariffRow = z.infer<typeof tariffRow>;

/** Decimal places of a currency's minor unit (CNY 2, JPY 0, KWD 3). */
export function minorDigitsOf(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/**
 * The rating plan of a `tariffs` row. The CRM may create a tariff with an empty plan (a dedicated
 * line has only a monthly fee): that becomes a plan with the fee as its rental and no usage. A plan
 * without recurring charges gets the row's `monthly_fee_minor` as its rental; a plan that lists its
 * own recurring charges is taken as it is (the fee column is then only the catalogue's display).
 */
export function ratingPlanOf(row: TariffRow): unknown {
  const rental = (digits: number) =>
    row.monthly_fee_minor > 0 ? [{ id: 'rental', description: `${row.name} monthly fee`, amount: formatMinor(row.monthly_fee_minor, digits), prorate: true }] : [];
  const plan = row.plan as Partial<RatingPlanInput> | null;
  if (!plan || typeof plan !== 'object' || Object.keys(plan).length === 0) {
    const digits = minorDigitsOf(row.currency);
    return { schemaVersion: 1, currency: row.currency, minorDigits: digits, rounding: { mode: 'halfUp', at: 'call' }, recurring: rental(digits) } satisfies RatingPlanInput;
  }
  if ((plan.recurring === undefined || plan.recurring.length === 0) && typeof plan.minorDigits === 'number') {
    return { ...plan, recurring: rental(plan.minorDigits) };
  }
  return plan;
}

export function tariffVersionOf(row: TariffRow): TariffVersion {
  return { id: row.id, productId: row.product_id, validFrom: row.valid_from.getTime(), validTo: row.valid_to ? row.valid_to.getTime() : null, plan: ratingPlanOf(row) };
}

/** Every tariff version; invalid plans are kept aside (rating under them is refused, not skipped). */
export async function loadTariffBook(client: BulkClient): Promise<TariffBook> {
  const rows = await client.query(tariffRow, 'SELECT id, product_id, name, valid_from, valid_to, currency, monthly_fee_minor, plan FROM tariffs ORDER BY product_id, valid_from');
  return new TariffBook(rows.map(tariffVersionOf), { keepInvalid: true });
}

const cachedBooks = new Map<string, TariffBook>();

/**
 * `loadTariffBook`, compiled once per content of the tariffs table: a bill run's batches (and the
 * raters and band timelines inside the book) share one book until a tariff row changes — the
 * fingerprint covers every column rating reads, so a corrected plan is seen at the next batch.
 */
export async function cachedTariffBook(client: BulkClient): Promise<TariffBook> {
  const [row] = await client.query(
    z.object({ fingerprint: z.string().nullable() }),
    `SELECT md5(string_agg(id || '|' || product_id || '|' || name || '|' || valid_from::text || '|' || coalesce(valid_to::text, '') || '|' || currency || '|' ||
                monthly_fee_minor::text || '|' || plan::text, ',' ORDER BY id)) AS fingerprint FROM tariffs`,
  );
  const key = row?.fingerprint ?? 'none';
  let book = cachedBooks.get(key);
  if (!book) {
    book = await loadTariffBook(client);
    // One live fingerprint at a time is all a worker needs.
    cachedBooks.clear();
    cachedBooks.set(key, book);
  }
  return book;
}
