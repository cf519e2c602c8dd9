import { createHash, randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { DatabasePool } from 'slonik';
import { inOrgScope, orgScope } from '../db/scope';
import { findSessionStaff, renewSession } from '../db/sessions';
import { roles, type Role } from '../db/staff';
import type { Config } from '../runtime/config';
import { ApiError } from './errors';
import { eventStreamPaths } from './event-stream';

export { orgScope, inOrgScope, roles, type Role };

/** Who is calling: set by `authenticate` on every request it lets through. */
export interface AuthenticatedStaff {
  id: number;
  username: string;
  displayName: string;
  orgUnitId: string;
  /** Materialised path of the caller's unit ('/GD/GD-GZ/'): their org scope is everything under it. */
  orgPath: string;
  roles: Role[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `authenticate`; absent only on the public routes (login, callbacks, health). */
      staff?: AuthenticatedStaff;
      /** sha256 of the bearer token this request came with (for logout). */
      sessionTokenHash?: string;
    }
  }
}

export const sessionCookieName = 'kf_session';

/** Paths under /api reached without a session: login, and callbacks (they carry an HMAC instead). */
export function isPublicApiPath(method: string, path: string): boolean {
  return (method === 'POST' && path === '/api/auth/login') || path.startsWith('/api/callbacks/');
}

const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function tokenFrom(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1] ?? '';
  }
  const cookies = req.headers.cookie;
  if (!cookies) return undefined;
  for (const part of cookies.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === sessionCookieName) return value.join('=');
  }
  return undefined;
}

/**
 * Live sessions seen in the last moments, so a busy client costs one query per window instead of
 * one per request. The price: a logout or a deactivation made through another API process takes
 * effect there up to `KEYFLOW_SESSION_CACHE_MS` later (this process forgets at once).
 */
const recentSessions = new Map<string, { staff: AuthenticatedStaff; until: number }>();
const recentSessionsLimit = 10_000;

/** Forgets cached sessions: one token's, or every one of a staff member's. */
export function forgetSessions(which: { tokenHash?: string; staffId?: number }): void {
  if (which.tokenHash) recentSessions.delete(which.tokenHash);
  if (which.staffId !== undefined) {
    for (const [hash, entry] of recentSessions) if (entry.staff.id === which.staffId) recentSessions.delete(hash);
  }
}

/**
 * Lets a request through only with a live session (Bearer token or the httpOnly cookie), and sets
 * `req.staff` from the staff row as it is now. Public paths (`isPublicApiPath`) pass untouched.
 * @throws ApiError UNAUTHENTICATED (401) for a missing, malformed, expired or revoked token
 */
export function authenticate({ pool, config }: { pool: DatabasePool; config: Config }): RequestHandler {
  const minutes = config.KEYFLOW_SESSION_MINUTES;
  const cacheMs = config.KEYFLOW_SESSION_CACHE_MS;
  return async (req, _res, next) => {
    if (isPublicApiPath(req.method, req.originalUrl.split('?')[0]!)) return next();
    const token = tokenFrom(req);
    if (token === undefined) throw new ApiError('UNAUTHENTICATED', 'log in first: POST /api/auth/login, then send Authorization: Bearer <token>');
    if (!tokenPattern.test(token)) throw new ApiError('UNAUTHENTICATED', 'the session token is malformed');
    const tokenHash = hashToken(token);
    const now = Date.now();
    const cached = recentSessions.get(tokenHash);
    if (cached && cached.until > now) {
      req.staff = cached.staff;
    } else {
      const row = await findSessionStaff(pool, tokenHash, minutes);
      if (!row) {
        recentSessions.delete(tokenHash);
        throw new ApiError('UNAUTHENTICATED', 'the session has expired or was ended; log in again');
      }
      // Listening is not using: a pushed stream's reconnect leaves the session's end where it is.
      if (row.renew && !(req.method === 'GET' && eventStreamPaths.has(req.originalUrl.split('?')[0]!))) await renewSession(pool, tokenHash, minutes);
      req.staff = {
        id: row.staff_id,
        username: row.username,
        displayName: row.display_name,
        orgUnitId: row.org_unit_id,
        orgPath: row.org_path,
        roles: row.roles,
      };
      if (cacheMs > 0) {
        if (recentSessions.size >= recentSessionsLimit) recentSessions.clear();
        recentSessions.set(tokenHash, { staff: req.staff, until: now + cacheMs });
      }
    }
    req.sessionTokenHash = tokenHash;
    next();
  };
}

/**
 * Admits the request when the caller holds at least one of `allowed`; no role implies another
 * (an admin is not a customer manager unless given that role too).
 * @throws ApiError FORBIDDEN (403) naming the roles that would do
 */
export function requireRoles(...allowed: Role[]): RequestHandler {
  return (req, _res, next) => {
    const staff = requireStaff(req);
    if (!staff.roles.some((role) => allowed.includes(role))) {
      throw new ApiError('FORBIDDEN', `this needs one of the roles: ${allowed.join(', ')}`, { requiredRoles: allowed });
    }
    next();
  };
}

/** The authenticated caller; throws 401 if a public route asks by mistake. */
export function requireStaff(req: Request): AuthenticatedStaff {
  if (!req.staff) throw new ApiError('UNAUTHENTICATED', 'log in first');
  return req.staff;
}

/** Whether the caller may see rows of the unit with this path. */
export function canSee(staff: AuthenticatedStaff, orgPath: string): boolean {
  return inOrgScope(staff, orgPath);
}

export function setSessionCookie(res: Response, token: string, secure: boolean): void {
  // SameSite=Strict keeps the cookie off cross-site requests, which is what protects the cookie
  // path from CSRF; API clients use the Bearer header and are unaffected. No expiry on the cookie:
  // the server decides when the session ends (it slides while used).
  res.cookie(sessionCookieName, token, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
}

export function clearSessionCookie(res: Response, secure: boolean): void {
  res.clearCookie(sessionCookieName, { httpOnly: true, sameSite: 'strict', secure, path: '/' });
}

/**
 * Whole-operator data and actions (bill runs and their totals, rerating, price changes) belong to
 * staff of a province-level unit: a city's clerk works on the city's bills, not the operator's.
 * @throws ApiError FORBIDDEN for staff below the top of the org tree
 */
export function requireOperatorScope(staff: AuthenticatedStaff, what: string): void {
  if (staff.orgPath.split('/').filter(Boolean).length !== 1) {
    throw new ApiError('FORBIDDEN', `${what} are operator-wide: only staff of a province-level unit have them`, { reason: 'OPERATOR_SCOPE' });
  }
}
