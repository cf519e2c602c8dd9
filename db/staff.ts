import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import { notFound, staleVersion } from './errors';
import { orgScope, type OrgScoped } from './scope';

/** The roles a staff member may hold; each API route names the ones it admits. */
export const roles = ['admin', 'designer', 'ops', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk'] as const;
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
  s.locked_until, s.version, s.created_at, s.updated_at`;

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
    if (changes.unlock) sets.push(sql.fragment`locked_until = NULL`, sql.fragment`failed_logins = 0`);
    await tx.query(sql.type(z.object({}))`UPDATE staff SET ${sql.join(sets, sql.fragment`, `)} WHERE id = ${id}`);
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
  locked_until: z.string().nullable(),
  locked: z.boolean(),
});

/** What a login checks: the hash, whether the account may log in, and whether it is locked now. */
export async function findLogin(db: CommonQueryMethods, username: string) {
  return db.maybeOne(sql.type(loginRow)`
    SELECT id, password_hash, active, locked_until, coalesce(locked_until > now(), false) AS locked FROM staff WHERE username = ${username}`);
}

/**
 * Counts a wrong password; the `maxFailures`-th in a row locks the login for `lockMinutes`.
 * One statement, so concurrent guesses cannot slip past the count.
 */
export async function recordLoginFailure(db: CommonQueryMethods, id: number, maxFailures: number, lockMinutes: number): Promise<{ locked: boolean }> {
  const row = await db.one(sql.type(z.object({ locked: z.boolean() }))`
    UPDATE staff SET
      failed_logins = CASE WHEN failed_logins + 1 >= ${maxFailures} THEN 0 ELSE failed_logins + 1 END,
      locked_until = CASE WHEN failed_logins + 1 >= ${maxFailures} THEN now() + make_interval(mins => ${lockMinutes}) ELSE locked_until END
    WHERE id = ${id}
    RETURNING coalesce(locked_until > now(), false) AS locked`);
  return row;
}

export async function recordLoginSuccess(db: CommonQueryMethods, id: number): Promise<void> {
  await db.query(sql.type(z.object({}))`UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = ${id} AND (failed_logins <> 0 OR locked_until IS NOT NULL)`);
}

