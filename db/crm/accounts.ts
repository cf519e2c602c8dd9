import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import type { Directory } from '../directory';
import { DataError } from '../errors';
import type { PlainReads, PlainStatement } from '../plain-reads';
import { inOrgScope, orgPathScope, type OrgScoped } from '../scope';
import { likePattern } from '../staff';
import {
  accountStatuses,
  accountTiers,
  creditLists,
  decodeCursor,
  encodeCursor,
  industries,
  int8,
  minor,
  noRows,
  updateVersioned,
} from './common';

export const keyAccount = z.object({
  id: z.string(),
  name: z.string(),
  registrationNo: z.string().nullable(),
  industry: z.enum(industries),
  tier: z.enum(accountTiers),
  creditList: z.enum(creditLists),
  creditLimitMinor: minor,
  currency: z.string(),
  status: z.enum(accountStatuses),
  customerManagerId: int8.nullable(),
  customerManagerName: z.string().nullable(),
  orgUnitId: z.string(),
  orgUnitName: z.string(),
  address: z.string().nullable(),
  notes: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type KeyAccount = z.infer<typeof keyAccount>;

const columns = sql.fragment`
  a.id, a.name, a.registration_no AS "registrationNo", a.industry, a.tier, a.credit_list AS "creditList",
  a.credit_limit_minor AS "creditLimitMinor", a.currency, a.status, a.customer_manager_id AS "customerManagerId",
  m.display_name AS "customerManagerName", a.org_unit_id AS "orgUnitId", o.name AS "orgUnitName", a.address, a.notes,
  a.version, a.created_at AS "createdAt", a.updated_at AS "updatedAt"`;
const from = sql.fragment`key_accounts a JOIN org_units o ON o.id = a.org_unit_id LEFT JOIN staff m ON m.id = a.customer_manager_id`;

export interface AccountFilter {
  /** Name contains (case-insensitive), or the exact id or registration number. */
  q?: string;
  tier?: (typeof accountTiers)[number];
  status?: (typeof accountStatuses)[number];
  creditList?: (typeof creditLists)[number];
  industry?: (typeof industries)[number];
  /** Accounts in this unit and below it. */
  orgUnitId?: string;
  customerManagerId?: number;
  limit: number;
  cursor?: string;
}

const accountCursor = z.tuple([z.string().max(200), z.string().max(64)]);

/**
 * One line of the account list: what a list view shows and filters on. The free text (address,
 * notes), the credit limit and the creation time are on the account itself (`getAccount`).
 */
export const keyAccountSummary = keyAccount.pick({
  id: true,
  name: true,
  registrationNo: true,
  industry: true,
  tier: true,
  creditList: true,
  status: true,
  customerManagerId: true,
  customerManagerName: true,
  orgUnitId: true,
  orgUnitName: true,
  version: true,
  updatedAt: true,
});
export type KeyAccountSummary = z.infer<typeof keyAccountSummary>;

/** A page of summaries, already JSON, and how many rows were found (see listAccounts). */
const summaryPage = z.object({ items: z.string(), found: z.number().int() });

/** A page of summaries already written as JSON, to send as they are. */
export interface SummaryPage {
  /** The items' JSON objects, comma-separated, without the array's brackets. */
  items: string;
  nextCursor: string | null;
}

/**
 * The account list's one statement: every filter is a parameter that is null when unused. The
 * text is fixed, and PostgreSQL plans each run with its values (db/plain-reads.ts), so an unused
 * filter folds away and the scope's unit picks its index (migration 0101: the province walks the
 * name index, a city, county or area its own).
 */
const listAccountsStatement: PlainStatement = {
  name: 'keyflow_list_accounts',
  text: `
  SELECT coalesce(string_agg(p.summary_json, ','), '') AS items, count(*)::int AS found
  FROM (
    SELECT a.summary_json
    FROM key_accounts a
    WHERE ($1::text IS NULL OR a.org_path LIKE $1)
      AND ($2::text IS NULL OR a.city_unit_id = $2)
      AND ($3::text IS NULL OR a.county_unit_id = $3)
      AND ($4::text IS NULL OR a.area_unit_id = $4)
      AND ($5::text IS NULL OR a.name_folded LIKE lower($5) OR a.id = $6 OR a.registration_no = $6)
      AND ($7::text IS NULL OR a.tier = $7)
      AND ($8::text IS NULL OR a.status = $8)
      AND ($9::text IS NULL OR a.credit_list = $9)
      AND ($10::text IS NULL OR a.industry = $10)
      AND ($11::bigint IS NULL OR a.customer_manager_id = $11)
      AND ($12::text IS NULL OR (a.name, a.id) > ($12, $13::text))
    ORDER BY a.name, a.id
    LIMIT $14
  ) p`,
};

/**
 * Key accounts in the caller's subtree, by name, keyset-paginated on (name, id) so page 500 costs
 * what page 1 does. Returns null when the cursor is not one this function wrote.
 *
 * The busiest read of the CRM, shaped by what bench:api measured:
 * - it reads one index and nothing else (migrations 0102-0104): each account keeps its summary as
 *   JSON, names included, and the index carries it, so PostgreSQL composes nothing and Node sends
 *   the page as it comes; the path of an `orgUnitId` filter comes from the process's directory, as
 *   planning a join to org_units cost more than running the list;
 * - it runs on the plain pool (db/plain-reads.ts), not slonik's;
 * - the items' shape is the summary's, held to `keyAccountSummary` by the list's tests rather than
 *   row by row here: the driver parsing 50 rows and zod checking each cost Node more than the query.
 */
export async function listAccounts(
  db: CommonQueryMethods,
  reads: PlainReads,
  directory: Directory,
  scope: OrgScoped,
  filter: AccountFilter,
): Promise<SummaryPage | null> {
  let orgPath: string | null = scope.orgPath;
  if (filter.orgUnitId) {
    const unit = await directory.unit(db, filter.orgUnitId);
    orgPath = unit === null ? null : narrower(orgPath, unit.path);
  }
  let after: [string, string] | null = null;
  if (filter.cursor !== undefined) {
    after = decodeCursor(filter.cursor, accountCursor);
    if (!after) return null;
  }
  if (orgPath === null) return { items: '', nextCursor: null };

  // The unit at each depth below the province has its own column (migration 0101); unit ids are
  // unique, so matching the unit's own column is exact. The province (or the root) by path prefix.
  const units = orgPath.split('/').filter(Boolean);
  const unitAt = (depth: number) => (units.length === depth ? units[depth - 1]! : null);
  const page = await reads.one(summaryPage, listAccountsStatement, [
    units.length >= 2 && units.length <= 4 ? null : `${orgPath}%`,
    unitAt(2),
    unitAt(3),
    unitAt(4),
    // name_folded is lower(name) (migration 0103): the same test as ILIKE, without folding each row.
    filter.q ? likePattern(filter.q) : null,
    filter.q ? filter.q.toUpperCase() : null,
    filter.tier ?? null,
    filter.status ?? null,
    filter.creditList ?? null,
    filter.industry ?? null,
    filter.customerManagerId ?? null,
    after?.[0] ?? null,
    after?.[1] ?? null,
    // One row more than the page tells whether another follows.
    filter.limit + 1,
  ]);
  // The aggregate takes the rows in the order the subquery sorted them (a plain aggregate over
  // one sorted scan; the cursor test walks every page to hold it to that).
  if (page.found <= filter.limit) return { items: page.items, nextCursor: null };
  const items = page.items.slice(0, page.items.lastIndexOf(summaryStart));
  const last = JSON.parse(items.slice(items.lastIndexOf(summaryStart) + 1)) as { name: string; id: string };
  return { items, nextCursor: encodeCursor([last.name, last.id]) };
}

/** Of two units' paths, the one inside the other; null when neither is (no account is in both). */
function narrower(path: string, other: string): string | null {
  if (inOrgScope({ orgPath: path }, other)) return other;
  if (inOrgScope({ orgPath: other }, path)) return path;
  return null;
}

/**
 * Where each summary after the first begins in a page's text. Every summary starts with its id
 * (migration 0104's type), and a quote inside a JSON string is always escaped, so this occurs
 * nowhere else.
 */
const summaryStart = ',{"id":"';

/** One account, or null when it does not exist or lies outside the caller's subtree. */
export async function getAccount(db: CommonQueryMethods, scope: OrgScoped, id: string, lock = false): Promise<KeyAccount | null> {
  return db.maybeOne(sql.type(keyAccount)`
    SELECT ${columns} FROM ${from}
    WHERE a.id = ${id} AND ${orgPathScope(scope, sql.identifier(['o', 'path']))}
    ${lock ? sql.fragment`FOR UPDATE OF a` : sql.fragment``}`);
}

export interface NewAccount {
  name: string;
  registrationNo?: string | null;
  industry: (typeof industries)[number];
  tier: (typeof accountTiers)[number];
  status?: (typeof accountStatuses)[number];
  creditLimitMinor?: number;
  currency?: string;
  customerManagerId?: number | null;
  orgUnitId: string;
  address?: string | null;
  notes?: string | null;
}

/**
 * A customer manager may look after accounts of their own unit and the units below it.
 * @throws DataError INVALID_REFERENCE otherwise
 */
async function checkCustomerManager(db: CommonQueryMethods, managerId: number, orgUnitId: string): Promise<void> {
  const fits = await db.exists(sql.type(noRows)`
    SELECT FROM staff s JOIN org_units mo ON mo.id = s.org_unit_id, org_units ao
    WHERE s.id = ${managerId} AND s.active AND 'customer_manager' = ANY (s.roles)
      AND ao.id = ${orgUnitId} AND ao.path LIKE mo.path || '%'`);
  if (!fits) {
    throw new DataError('INVALID_REFERENCE', `staff ${managerId} is not an active customer manager of unit ${orgUnitId} or above it`, {
      field: 'customerManagerId',
    });
  }
}

/** Creates an account (the caller has checked the unit is in their scope). */
export async function createAccount(db: CommonQueryMethods, who: Actor, scope: OrgScoped, input: NewAccount): Promise<KeyAccount> {
  return db.transaction(async (tx) => {
    if (input.customerManagerId != null) await checkCustomerManager(tx, input.customerManagerId, input.orgUnitId);
    const id = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
      INSERT INTO key_accounts (name, registration_no, industry, tier, status, credit_limit_minor, currency, customer_manager_id, org_unit_id, address, notes)
      VALUES (${input.name}, ${input.registrationNo ?? null}, ${input.industry}, ${input.tier}, ${input.status ?? 'prospect'},
              ${input.creditLimitMinor ?? 0}, ${input.currency ?? 'CNY'}, ${input.customerManagerId ?? null}, ${input.orgUnitId},
              ${input.address ?? null}, ${input.notes ?? null})
      RETURNING id`);
    const row = (await getAccount(tx, scope, id))!;
    await recordAudit(tx, who, { action: 'account.create', entityType: 'key_account', entityId: id, orgUnitId: row.orgUnitId, accountId: id, after: row });
    return row;
  });
}

export interface AccountChanges {
  name?: string;
  registrationNo?: string | null;
  industry?: (typeof industries)[number];
  tier?: (typeof accountTiers)[number];
  status?: (typeof accountStatuses)[number];
  creditLimitMinor?: number;
  customerManagerId?: number | null;
  orgUnitId?: string;
  address?: string | null;
  notes?: string | null;
}

/**
 * Changes an account that is still at `version`. Moving it to another unit moves the rows that
 * hang off it too, so they stay in the same scope as their account.
 * @throws DataError NOT_FOUND (also outside the caller's subtree), STALE_VERSION, INVALID_REFERENCE
 */
export async function updateAccount(
  db: CommonQueryMethods,
  who: Actor,
  scope: OrgScoped,
  id: string,
  version: number,
  changes: AccountChanges,
): Promise<KeyAccount> {
  return db.transaction(async (tx) => {
    const current = await getAccount(tx, scope, id);
    const managerId = changes.customerManagerId !== undefined ? changes.customerManagerId : current?.customerManagerId;
    const orgUnitId = changes.orgUnitId ?? current?.orgUnitId;
    if (current && managerId != null && orgUnitId && (changes.customerManagerId !== undefined || changes.orgUnitId !== undefined)) {
      await checkCustomerManager(tx, managerId, orgUnitId);
    }
    const sets = [];
    if (changes.name !== undefined) sets.push(sql.fragment`name = ${changes.name}`);
    if (changes.registrationNo !== undefined) sets.push(sql.fragment`registration_no = ${changes.registrationNo}`);
    if (changes.industry !== undefined) sets.push(sql.fragment`industry = ${changes.industry}`);
    if (changes.tier !== undefined) sets.push(sql.fragment`tier = ${changes.tier}`);
    if (changes.status !== undefined) sets.push(sql.fragment`status = ${changes.status}`);
    if (changes.creditLimitMinor !== undefined) sets.push(sql.fragment`credit_limit_minor = ${changes.creditLimitMinor}`);
    if (changes.customerManagerId !== undefined) sets.push(sql.fragment`customer_manager_id = ${changes.customerManagerId}`);
    if (changes.orgUnitId !== undefined) sets.push(sql.fragment`org_unit_id = ${changes.orgUnitId}`);
    if (changes.address !== undefined) sets.push(sql.fragment`address = ${changes.address}`);
    if (changes.notes !== undefined) sets.push(sql.fragment`notes = ${changes.notes}`);
    const after = await updateVersioned(tx, who, {
      table: 'key_accounts',
      entity: 'key account',
      id,
      version,
      sets,
      read: (reader, lock) => getAccount(reader, scope, id, lock),
      audit: () => ({ action: 'account.update', entityType: 'key_account', accountId: id }),
    });
    if (changes.orgUnitId !== undefined && current && changes.orgUnitId !== current.orgUnitId) {
      for (const table of ['contacts', 'contracts', 'billing_accounts', 'subscriptions', 'orders', 'trouble_tickets']) {
        await tx.query(sql.type(noRows)`UPDATE ${sql.identifier([table])} SET org_unit_id = ${changes.orgUnitId} WHERE account_id = ${id}`);
      }
      await tx.query(sql.type(noRows)`
        UPDATE order_items SET org_unit_id = ${changes.orgUnitId} WHERE order_id IN (SELECT id FROM orders WHERE account_id = ${id})`);
    }
    return after;
  });
}

/**
 * Puts an account on a credit list (or takes it off), with the reason in the audit trail.
 * @throws DataError NOT_FOUND, STALE_VERSION
 */
export async function changeCreditList(
  db: CommonQueryMethods,
  who: Actor,
  scope: OrgScoped,
  id: string,
  version: number,
  change: { creditList: (typeof creditLists)[number]; reason: string },
): Promise<KeyAccount> {
  return updateVersioned(db, who, {
    table: 'key_accounts',
    entity: 'key account',
    id,
    version,
    sets: [sql.fragment`credit_list = ${change.creditList}`],
    read: (reader, lock) => getAccount(reader, scope, id, lock),
    audit: (before) => ({
      action: 'account.credit_list',
      entityType: 'key_account',
      accountId: id,
      details: { from: before.creditList, to: change.creditList, reason: change.reason },
    }),
  });
}
