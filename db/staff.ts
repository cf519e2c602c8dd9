import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import { notFound, staleVersion } from './errors';
import { orgScope, type OrgScoped } from './scope';
import { staffRoles } from '../workflows/model';

/** The roles a staff member may hold; each API route names the ones it admits. */
export const roles = staffRoles;
export type Role = (typeof roles)[number];

export const staffRow = z.object({
  id: z.coerce.number(),
  username: z.string(),
  display_name: z.string(),
  org_unit_id: z.string(),
  org_path: z.string(),
  roles: z.array(z.enum(roles)),
  email: z.string().nullable(),
  mobile: z.string().nullable(),
  active: z.boolean(),
  locked_until: z.string().nullable(),
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type StaffRow = z.infer<typeof staffRow>;

const columns = sql.fragment`s.id, s.username, s.display_name, s.org_unit_id, o.path AS org_path, s.roles, s.email, s.mobile, s.active,
  (SELECT t.locked_until FROM login_throttle t WHERE t.key = 'user:' || s.username AND t.locked_until > now()) AS locked_until,
  s.version, s.created_at, s.updated_at`;

export async function getStaff(db: CommonQueryMethods, id: number): Promise<StaffRow | null> {
  return db.maybeOne(sql.type(staffRow)`SELECT ${columns} FROM staff s JOIN org_units o ON o.id = s.org_unit_id WHERE s.id = ${id}`);
}

export async function getStaffByUsername(db: CommonQueryMethods, username: string): Promise<StaffRow | null> {
  return db.maybeOne(sql.type(staffRow)`SELECT ${columns} FROM staff s JOIN org_units o ON o.id = s.org_unit_id WHERE s.username = ${username}`);
}

export interface StaffFilter {
  role?: Role;
  orgUnitId?: string;
  q?: string;
  limit: number;
  after?: string;
}

/** Staff within the caller's subtree, by username, keyset-paginated. */
export async function listStaff(db: CommonQueryMethods, scope: OrgScoped, filter: StaffFilter): Promise<StaffRow[]> {
  const conditions = [orgScope(scope, sql.identifier(['s', 'org_unit_id']))];
  if (filter.role) conditions.push(sql.fragment`${filter.role} = ANY (s.roles)`);
  if (filter.orgUnitId) conditions.push(sql.fragment`s.org_unit_id = ${filter.orgUnitId}`);
  if (filter.q) conditions.push(sql.fragment`(s.username ILIKE ${likePattern(filter.q)} OR s.display_name ILIKE ${likePattern(filter.q)})`);
  if (filter.after) conditions.push(sql.fragment`s.username > ${filter.after}`);
  return [
    ...(await db.any(sql.type(staffRow)`
      SELECT ${columns} FROM staff s JOIN org_units o ON o.id = s.org_unit_id
      WHERE ${sql.join(conditions, sql.fragment` AND `)}
      ORDER BY s.username LIMIT ${filter.limit}`)),
  ];
}

/** `%text%` with LIKE's own wildcards taken literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

export interface NewStaff {
  username: string;
  displayName: string;
  orgUnitId: string;
  roles: Role[];
  passwordHash: string;
  email?: string | null;
  mobile?: string | null;
}

export async function createStaff(db: CommonQueryMethods, who: Actor, input: NewStaff): Promise<StaffRow> {
  return db.transaction(async (tx) => {
    const id = await tx.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
      INSERT INTO staff (username, display_name, org_unit_id, roles, password_hash, email, mobile)
      VALUES (${input.username}, ${input.displayName}, ${input.orgUnitId}, ${sql.array(input.roles, 'text')}, ${input.passwordHash},
              ${input.email ?? null}, ${input.mobile ?? null})
      RETURNING id`);
    const row = (await getStaff(tx, id))!;
    await recordAudit(tx, who, { action: 'staff.create', entityType: 'staff', entityId: String(id), orgUnitId: row.org_unit_id, after: publicStaff(row) });
    return row;
  });
}

export interface StaffChanges {
  displayName?: string;
  orgUnitId?: string;
  roles?: Role[];
  email?: string | null;
  mobile?: string | null;
  active?: boolean;
  passwordHash?: string;
  /** Lifts a login lock-out. */
  unlock?: boolean;
}

/**
 * Changes a staff member if it is still at `version`. Deactivating or a new password ends their
 * sessions.
 * @throws DataError NOT_FOUND, STALE_VERSION
 */
export async function updateStaff(db: CommonQueryMethods, who: Actor, id: number, version: number, changes: StaffChanges): Promise<StaffRow> {
  return db.transaction(async (tx) => {
    const before = await tx.maybeOne(sql.type(staffRow)`SELECT ${columns} FROM staff s JOIN org_units o ON o.id = s.org_unit_id WHERE s.id = ${id} FOR UPDATE OF s`);
    if (!before) throw notFound('staff', String(id));
    if (before.version !== version) throw staleVersion('staff', String(id), version, before.version);
    const sets = [sql.fragment`version = version + 1`, sql.fragment`updated_at = now()`];
    if (changes.displayName !== undefined) sets.push(sql.fragment`display_name = ${changes.displayName}`);
    if (changes.orgUnitId !== undefined) sets.push(sql.fragment`org_unit_id = ${changes.orgUnitId}`);
    if (changes.roles !== undefined) sets.push(sql.fragment`roles = ${sql.array(changes.roles, 'text')}`);
    if (changes.email !== undefined) sets.push(sql.fragment`email = ${changes.email}`);
    if (changes.mobile !== undefined) sets.push(sql.fragment`mobile = ${changes.mobile}`);
    if (changes.active !== undefined) sets.push(sql.fragment`active = ${changes.active}`);
    if (changes.passwordHash !== undefined) sets.push(sql.fragment`password_hash = ${changes.passwordHash}`);
    await tx.query(sql.type(z.object({}))`UPDATE staff SET ${sql.join(sets, sql.fragment`, `)} WHERE id = ${id}`);
    if (changes.unlock) await tx.query(sql.type(z.object({}))`DELETE FROM login_throttle WHERE key = ${loginThrottleKeys.user(before.username)}`);
    if (changes.active === false || changes.passwordHash !== undefined) {
      await tx.query(sql.type(z.object({}))`UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = ${id} AND revoked_at IS NULL`);
    }
    const after = (await getStaff(tx, id))!;
    await recordAudit(tx, who, {
      action: 'staff.update',
      entityType: 'staff',
      entityId: String(id),
      orgUnitId: after.org_unit_id,
      before: publicStaff(before),
      after: publicStaff(after),
      details: changes.passwordHash !== undefined ? { passwordChanged: true } : undefined,
    });
    return after;
  });
}

/** A staff row as the API and the audit log show it (no hash; the hash is never selected anyway). */
export function publicStaff(row: StaffRow) {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    orgUnitId: row.org_unit_id,
    orgPath: row.org_path,
    roles: row.roles,
    email: row.email,
    mobile: row.mobile,
    active: row.active,
    lockedUntil: row.locked_until,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// --- logins -----------------------------------------------------------------------------------

const loginRow = z.object({
  id: z.coerce.number(),
  password_hash: z.string(),
  active: z.boolean(),
});

/** What a login checks: the hash and whether the account may log in (lock-out is `countLoginAttempt`'s). */
export async function findLogin(db: CommonQueryMethods, username: string) {
  return db.maybeOne(sql.type(loginRow)`SELECT id, password_hash, active FROM staff WHERE username = ${username}`);
}

/** The keys logins are throttled by: a username (known or not) and a client address. */
export const loginThrottleKeys = {
  user: (username: string) => `user:${username}`,
  address: (address: string) => `addr:${address}`,
};

const attemptRow = z.object({ failures: z.number(), locked_until: z.string().nullable(), locked: z.boolean() });
export type LoginAttempt = z.infer<typeof attemptRow> & { allowed: boolean };

/**
 * Counts one attempt against `key` before its password is checked, in one statement (the row is
 * locked by the upsert), so parallel attempts each see their own count: the first `maxFailures`
 * may check a password, the `maxFailures`-th locks the key for `lockMinutes`, and every later one
 * is refused without hashing until the lock passes. Counts older than the lock period, or behind an
 * expired lock, start again from one. A success forgets the count (`forgetLoginAttempts`).
 */
export async function countLoginAttempt(db: CommonQueryMethods, key: string, maxFailures: number, lockMinutes: number): Promise<LoginAttempt> {
  const lock = sql.fragment`now() + make_interval(mins => ${lockMinutes})`;
  const row = await db.one(sql.type(attemptRow)`
    INSERT INTO login_throttle AS t (key, failures, locked_until, updated_at)
    VALUES (${key}, 1, CASE WHEN 1 >= ${maxFailures} THEN ${lock} END, now())
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN t.locked_until <= now() OR (t.locked_until IS NULL AND t.updated_at < now() - make_interval(mins => ${lockMinutes})) THEN 1 ELSE t.failures + 1 END,
      locked_until = CASE
        WHEN t.locked_until > now() THEN t.locked_until
        WHEN t.locked_until <= now() OR (t.locked_until IS NULL AND t.updated_at < now() - make_interval(mins => ${lockMinutes})) THEN CASE WHEN 1 >= ${maxFailures} THEN ${lock} END
        WHEN t.failures + 1 >= ${maxFailures} THEN ${lock}
        ELSE NULL END,
      updated_at = now()
    RETURNING failures, locked_until, coalesce(locked_until > now(), false) AS locked`);
  return { ...row, allowed: row.failures <= maxFailures };
}

/** A right password: the username's count is forgotten, and this attempt no longer counts against the address. */
export async function forgetLoginAttempts(db: CommonQueryMethods, userKey: string, addressKey: string): Promise<void> {
  await db.query(sql.type(z.object({}))`DELETE FROM login_throttle WHERE key = ${userKey}`);
  await db.query(sql.type(z.object({}))`UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = ${addressKey} AND locked_until IS NULL`);
}
