import { sql, type CommonQueryMethods, type FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor, type AuditEntry } from '../audit';
import { notFound, staleVersion } from '../errors';

/** bigint columns arrive as BigInt; ids and money stay well inside 2^53, so they travel as numbers. */
export const int8 = z.coerce.number().int();
/** Money: integer minor units (fen for CNY). */
export const minor = z.coerce.number().int().describe('integer minor units (e.g. fen)');

export const accountTiers = ['gold', 'silver', 'bronze'] as const;
export const creditLists = ['none', 'red', 'grey', 'black'] as const;
export const accountStatuses = ['prospect', 'active', 'suspended', 'churned'] as const;
export const industries = [
  'government',
  'finance',
  'education',
  'healthcare',
  'manufacturing',
  'retail',
  'logistics',
  'energy',
  'media',
  'hospitality',
  'technology',
  'other',
] as const;
export const severities = ['critical', 'major', 'minor', 'low'] as const;

export const noRows = z.object({});

/** The rows of a keyset page and the cursor of the next (null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Opaque cursor: the sort key of the last row of a page, base64url JSON. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Reads a cursor back; null when it is not one this API wrote (the route answers 400). */
export function decodeCursor<T extends z.ZodTypeAny>(cursor: string, schema: T): z.infer<T> | null {
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Takes `limit + 1` rows and turns them into a page. */
export function toPage<T>(rows: readonly T[], limit: number, keyOf: (row: T) => readonly (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

const newestFirstCursor = z.tuple([z.string().datetime(), z.string().max(64)]);

/**
 * The lists read newest first (orders, tickets): rows of `from` (whose table goes by `alias`)
 * matching `conditions`, keyset-paginated on (created_at, id) descending. Null for a cursor this
 * API did not write.
 */
export async function newestFirstPage<T extends z.ZodType<{ createdAt: string; id: string }>>(
  db: CommonQueryMethods,
  row: T,
  query: { columns: FragmentSqlToken; from: FragmentSqlToken; alias: string; conditions: FragmentSqlToken[]; limit: number; cursor?: string },
): Promise<Page<z.infer<T>> | null> {
  const conditions = [...query.conditions];
  if (query.cursor !== undefined) {
    const before = decodeCursor(query.cursor, newestFirstCursor);
    if (!before) return null;
    conditions.push(sql.fragment`(${sql.identifier([query.alias, 'created_at'])}, ${sql.identifier([query.alias, 'id'])}) < (${before[0]}::timestamptz, ${before[1]})`);
  }
  const order = sql.fragment`${sql.identifier([query.alias, 'created_at'])} DESC, ${sql.identifier([query.alias, 'id'])} DESC`;
  const rows = await db.any(sql.type(row)`
    SELECT ${query.columns} FROM ${query.from}
    WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY ${order} LIMIT ${query.limit + 1}`);
  return toPage(rows as readonly z.infer<T>[], query.limit, (item: z.infer<T>) => [item.createdAt, item.id]);
}

/**
 * The shape of every optimistic update: lock the row, refuse a stale `version`, apply `sets`,
 * bump the version, write the audit row with before and after, all in one transaction.
 * @throws DataError NOT_FOUND, STALE_VERSION
 */
export async function updateVersioned<R extends { id: string; version: number; orgUnitId: string }>(
  db: CommonQueryMethods,
  who: Actor,
  options: {
    table: string;
    entity: string;
    id: string;
    version: number;
    sets: ReturnType<typeof sql.fragment>[];
    read: (tx: CommonQueryMethods, lock: boolean) => Promise<R | null>;
    audit: (before: R, after: R) => Omit<AuditEntry, 'before' | 'after' | 'entityId' | 'orgUnitId'>;
  },
): Promise<R> {
  return db.transaction(async (tx) => {
    const before = await options.read(tx, true);
    if (!before) throw notFound(options.entity, options.id);
    if (before.version !== options.version) throw staleVersion(options.entity, options.id, options.version, before.version);
    await tx.query(sql.type(noRows)`
      UPDATE ${sql.identifier([options.table])}
      SET ${sql.join([...options.sets, sql.fragment`version = version + 1`, sql.fragment`updated_at = now()`], sql.fragment`, `)}
      WHERE id = ${options.id}`);
    const after = (await options.read(tx, false))!;
    await recordAudit(tx, who, { ...options.audit(before, after), entityId: options.id, orgUnitId: after.orgUnitId, before, after });
    return after;
  });
}
