import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { roles } from './staff';

/** Sessions never outlive this, however busy. */
export const maxSessionHours = 12;

export async function createSession(
  db: CommonQueryMethods,
  input: { tokenHash: string; staffId: number; minutes: number; ip?: string; userAgent?: string },
): Promise<{ expiresAt: string }> {
  return db.one(sql.type(z.object({ expiresAt: z.string() }))`
    INSERT INTO staff_sessions (token_hash, staff_id, expires_at, max_expires_at, ip, user_agent)
    VALUES (${input.tokenHash}, ${input.staffId}, now() + make_interval(mins => ${input.minutes}),
            now() + make_interval(hours => ${maxSessionHours}), ${input.ip ?? null}, ${input.userAgent?.slice(0, 300) ?? null})
    RETURNING expires_at AS "expiresAt"`);
}

const sessionStaffRow = z.object({
  staff_id: z.coerce.number(),
  username: z.string(),
  display_name: z.string(),
  org_unit_id: z.string(),
  org_path: z.string(),
  roles: z.array(z.enum(roles)),
  renew: z.boolean(),
});
export type SessionStaffRow = z.infer<typeof sessionStaffRow>;

/**
 * The staff member behind a live session, with their current roles and unit (so a change by an
 * admin takes effect on the next request), and whether the session is past half its life.
 */
export async function findSessionStaff(db: CommonQueryMethods, tokenHash: string, minutes: number): Promise<SessionStaffRow | null> {
  return db.maybeOne(sql.type(sessionStaffRow)`
    SELECT s.id AS staff_id, s.username, s.display_name, s.org_unit_id, o.path AS org_path, s.roles,
           ss.expires_at < now() + make_interval(secs => ${minutes * 30}) AS renew
    FROM staff_sessions ss
    JOIN staff s ON s.id = ss.staff_id
    JOIN org_units o ON o.id = s.org_unit_id
    WHERE ss.token_hash = ${tokenHash} AND ss.revoked_at IS NULL AND ss.expires_at > now() AND s.active`);
}

/** Slides the session's end `minutes` past now, capped at its absolute end. */
export async function renewSession(db: CommonQueryMethods, tokenHash: string, minutes: number): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE staff_sessions SET expires_at = least(now() + make_interval(mins => ${minutes}), max_expires_at)
    WHERE token_hash = ${tokenHash} AND revoked_at IS NULL`);
}

export async function revokeSession(db: CommonQueryMethods, tokenHash: string): Promise<void> {
  await db.query(sql.type(z.object({}))`UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = ${tokenHash} AND revoked_at IS NULL`);
}
