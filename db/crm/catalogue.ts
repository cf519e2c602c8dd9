import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import { DataError, notFound, staleVersion } from '../errors';
import { minor, noRows } from './common';

export const productCategories = ['internet', 'dedicated_line', 'voice', 'mobile', 'sms', 'cloud', 'idc', 'iot'] as const;

export const tariff = z.object({
  id: z.string(),
  productId: z.string(),
  version: z.number().int(),
  name: z.string(),
  validFrom: z.string(),
  validTo: z.string().nullable(),
  currency: z.string(),
  monthlyFeeMinor: minor,
  oneOffFeeMinor: minor,
  plan: z.record(z.unknown()).describe('rating rules; their shape is defined by activities/rating/'),
  createdAt: z.string(),
});
export type Tariff = z.infer<typeof tariff>;

export const product = z.object({
  id: z.string(),
  name: z.string(),
  category: z.enum(productCategories),
  description: z.string().nullable(),
  status: z.enum(['active', 'retired']),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The tariff in force now, if any. */
  currentTariff: tariff.nullable(),
});
export type Product = z.infer<typeof product>;

const tariffColumns = (alias: string) => {
  const t = (column: string) => sql.identifier([alias, column]);
  return sql.fragment`${t('id')} AS id, ${t('product_id')} AS "productId", ${t('version')} AS version, ${t('name')} AS name,
    ${t('valid_from')} AS "validFrom", ${t('valid_to')} AS "validTo", ${t('currency')} AS currency, ${t('monthly_fee_minor')} AS "monthlyFeeMinor",
    ${t('one_off_fee_minor')} AS "oneOffFeeMinor", ${t('plan')} AS plan, ${t('created_at')} AS "createdAt"`;
};

const productSelect = sql.fragment`
  SELECT p.id, p.name, p.category, p.description, p.status, p.version, p.created_at AS "createdAt", p.updated_at AS "updatedAt",
    (SELECT to_jsonb(c) FROM (SELECT ${tariffColumns('t')} FROM tariffs t
       WHERE t.product_id = p.id AND t.valid_from <= now() AND (t.valid_to IS NULL OR t.valid_to > now())
       ORDER BY t.valid_from DESC LIMIT 1) c) AS "currentTariff"
  FROM products p`;

// The current tariff arrives through to_jsonb, where bigint becomes a JSON number and timestamps
// keep PostgreSQL's text form; normalise them to what the plain columns give.
const productRow = product.extend({
  currentTariff: tariff
    .extend({ validFrom: z.string().transform(iso), validTo: z.string().nullable().transform((v) => (v === null ? null : iso(v))), createdAt: z.string().transform(iso) })
    .nullable(),
});
function iso(value: string): string {
  return new Date(value).toISOString();
}

export async function listProducts(db: CommonQueryMethods, filter: { category?: (typeof productCategories)[number]; status?: 'active' | 'retired' }): Promise<Product[]> {
  const conditions = [sql.fragment`true`];
  if (filter.category) conditions.push(sql.fragment`p.category = ${filter.category}`);
  if (filter.status) conditions.push(sql.fragment`p.status = ${filter.status}`);
  return [...(await db.any(sql.type(productRow)`${productSelect} WHERE ${sql.join(conditions, sql.fragment` AND `)} ORDER BY p.category, p.id`))];
}

export async function getProduct(db: CommonQueryMethods, id: string): Promise<Product | null> {
  return db.maybeOne(sql.type(productRow)`${productSelect} WHERE p.id = ${id}`);
}

/** Every version of a product's price, newest first. */
export async function listTariffs(db: CommonQueryMethods, productId: string): Promise<Tariff[]> {
  return [...(await db.any(sql.type(tariff)`SELECT ${tariffColumns('t')} FROM tariffs t WHERE t.product_id = ${productId} ORDER BY t.version DESC`))];
}

/** The tariff of a product in force at an instant (what an order prices with). */
export async function tariffAt(db: CommonQueryMethods, productId: string, at: Date): Promise<Tariff | null> {
  return db.maybeOne(sql.type(tariff)`
    SELECT ${tariffColumns('t')} FROM tariffs t
    WHERE t.product_id = ${productId} AND t.valid_from <= ${at.toISOString()} AND (t.valid_to IS NULL OR t.valid_to > ${at.toISOString()})
    ORDER BY t.valid_from DESC LIMIT 1`);
}

export interface NewProduct {
  id: string;
  name: string;
  category: (typeof productCategories)[number];
  description?: string | null;
}

export async function createProduct(db: CommonQueryMethods, who: Actor, input: NewProduct): Promise<Product> {
  return db.transaction(async (tx) => {
    await tx.query(sql.type(noRows)`
      INSERT INTO products (id, name, category, description) VALUES (${input.id}, ${input.name}, ${input.category}, ${input.description ?? null})`);
    const row = (await getProduct(tx, input.id))!;
    await recordAudit(tx, who, { action: 'product.create', entityType: 'product', entityId: input.id, after: row });
    return row;
  });
}

/** @throws DataError NOT_FOUND, STALE_VERSION */
export async function updateProduct(
  db: CommonQueryMethods,
  who: Actor,
  id: string,
  version: number,
  changes: { name?: string; description?: string | null; status?: 'active' | 'retired' },
): Promise<Product> {
  return db.transaction(async (tx) => {
    const before = await tx.maybeOne(sql.type(z.object({ version: z.number() }))`SELECT version FROM products WHERE id = ${id} FOR UPDATE`);
    if (!before) throw notFound('product', id);
    if (before.version !== version) throw staleVersion('product', id, version, before.version);
    const old = (await getProduct(tx, id))!;
    const sets = [sql.fragment`version = version + 1`, sql.fragment`updated_at = now()`];
    if (changes.name !== undefined) sets.push(sql.fragment`name = ${changes.name}`);
    if (changes.description !== undefined) sets.push(sql.fragment`description = ${changes.description}`);
    if (changes.status !== undefined) sets.push(sql.fragment`status = ${changes.status}`);
    await tx.query(sql.type(noRows)`UPDATE products SET ${sql.join(sets, sql.fragment`, `)} WHERE id = ${id}`);
    const after = (await getProduct(tx, id))!;
    await recordAudit(tx, who, { action: 'product.update', entityType: 'product', entityId: id, before: old, after });
    return after;
  });
}

export interface NewTariff {
  name: string;
  validFrom: string;
  currency: string;
  monthlyFeeMinor: number;
  oneOffFeeMinor: number;
  plan: Record<string, unknown>;
}

/**
 * A new price for a product from `validFrom` on: the next version number, and the version in force
 * until then ends where this one starts. Prices already in use are never edited, so a bill can
 * always be explained by the tariff its subscription pinned.
 * @throws DataError NOT_FOUND (product); CONFLICT when `validFrom` is not after the latest version's start
 */
export async function addTariff(db: CommonQueryMethods, who: Actor, productId: string, input: NewTariff): Promise<Tariff> {
  return db.transaction(async (tx) => {
    const exists = await tx.exists(sql.type(noRows)`SELECT FROM products WHERE id = ${productId} FOR UPDATE`);
    if (!exists) throw notFound('product', productId);
    const latest = await tx.maybeOne(sql.type(z.object({ version: z.number(), validFrom: z.string() }))`
      SELECT version, valid_from AS "validFrom" FROM tariffs WHERE product_id = ${productId} ORDER BY version DESC LIMIT 1`);
    if (latest && new Date(latest.validFrom) >= new Date(input.validFrom)) {
      throw new DataError('CONFLICT', `a new tariff must start after the latest one (version ${latest.version}, from ${latest.validFrom})`, {
        field: 'validFrom',
      });
    }
    if (latest) {
      await tx.query(sql.type(noRows)`
        UPDATE tariffs SET valid_to = ${input.validFrom} WHERE product_id = ${productId} AND version = ${latest.version} AND (valid_to IS NULL OR valid_to > ${input.validFrom})`);
    }
    const row = await tx.one(sql.type(tariff)`
      INSERT INTO tariffs (product_id, version, name, valid_from, currency, monthly_fee_minor, one_off_fee_minor, plan)
      VALUES (${productId}, ${(latest?.version ?? 0) + 1}, ${input.name}, ${input.validFrom}, ${input.currency}, ${input.monthlyFeeMinor},
              ${input.oneOffFeeMinor}, ${sql.jsonb(input.plan as never)})
      RETURNING ${tariffColumns('tariffs')}`);
    await recordAudit(tx, who, { action: 'tariff.create', entityType: 'tariff', entityId: row.id, after: row, details: { productId } });
    return row;
  });
}
