import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { createSession, revokeSession } from '../../db/sessions';
import { countLoginAttempt, findLogin, forgetLoginAttempts, getStaff, loginThrottleKeys, roles } from '../../db/staff';
import type { ApiDependencies } from '../dependencies';
import { clearSessionCookie, forgetSessions, newSessionToken, setSessionCookie } from '../auth';
import { ApiError } from '../errors';
import { decoyHash, verifyPassword } from '../password';
import { ApiRoutes } from '../routing';

const loginBody = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(1024),
  })
  .strict();

export const staffView = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  orgUnitId: z.string(),
  orgPath: z.string(),
  roles: z.array(z.enum(roles)),
});

const loginResponse = z.object({
  token: z.string().describe('send as `Authorization: Bearer <token>`; the same token is set as the httpOnly `kf_session` cookie'),
  expiresAt: z.string().datetime(),
  staff: staffView,
});

const wrongCredentials = () => new ApiError('UNAUTHENTICATED', 'wrong username or password');

/** Login, logout and "who am I". */
export function createAuthRoutes({ pool, config }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/auth/login',
        summary: 'Log in with username and password',
        description: `After ${config.KEYFLOW_LOGIN_MAX_FAILURES} wrong passwords in a row the login is locked for ${config.KEYFLOW_LOGIN_LOCK_MINUTES} minutes (429, even with the right password), and after ${config.KEYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS} failed logins from one client address that address is (429). Unknown usernames are answered, counted and timed like known ones.`,
        tags: ['auth'],
        access: 'public',
        body: loginBody,
        response: { status: 200, description: 'logged in', schema: loginResponse },
        errors: ['UNAUTHENTICATED', 'TOO_MANY_REQUESTS'],
      },
      async ({ req, res, body }) => {
        const who = { actor: body.username.slice(0, 64), requestId: String(req.id) };
        const max = config.KEYFLOW_LOGIN_MAX_FAILURES;
        const minutes = config.KEYFLOW_LOGIN_LOCK_MINUTES;
        const userKey = loginThrottleKeys.user(body.username);
        const addressKey = loginThrottleKeys.address(req.ip ?? 'unknown');
        // Counted before any hashing, known username or not: parallel guesses each get their own
        // count, and an unknown username is answered (and timed) like a known one.
        const byAddress = await countLoginAttempt(pool, addressKey, config.KEYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS, minutes);
        if (!byAddress.allowed) throw new ApiError('TOO_MANY_REQUESTS', 'too many failed logins from this address: try again later', { lockedUntil: byAddress.locked_until });
        const byUser = await countLoginAttempt(pool, userKey, max, minutes);
        if (!byUser.allowed) throw new ApiError('TOO_MANY_REQUESTS', 'too many wrong passwords: this login is locked for a while', { lockedUntil: byUser.locked_until });
        const login = await findLogin(pool, body.username);
        const valid = await verifyPassword(body.password, login?.password_hash ?? (await decoyHash()));
        if (!login || !valid) {
          if (login) await recordAudit(pool, who, { action: byUser.locked ? 'auth.locked' : 'auth.login_failed', entityType: 'staff', entityId: String(login.id) });
          if (byUser.locked) throw new ApiError('TOO_MANY_REQUESTS', 'too many wrong passwords: this login is locked for a while', { lockedUntil: byUser.locked_until });
          throw wrongCredentials();
        }
        if (!login.active) throw new ApiError('UNAUTHENTICATED', 'this login is disabled');
        await forgetLoginAttempts(pool, userKey, addressKey);
        const { token, tokenHash } = newSessionToken();
        const { expiresAt } = await createSession(pool, {
          tokenHash,
          staffId: login.id,
          minutes: config.KEYFLOW_SESSION_MINUTES,
          ip: req.ip,
          userAgent: req.headers['user-agent'],
        });
        await recordAudit(pool, who, { action: 'auth.login', entityType: 'staff', entityId: String(login.id) });
        const row = (await getStaff(pool, login.id))!;
        setSessionCookie(res, token, req.secure);
        return {
          token,
          expiresAt,
          staff: { id: row.id, username: row.username, displayName: row.display_name, orgUnitId: row.org_unit_id, orgPath: row.org_path, roles: row.roles },
        };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/auth/logout',
        summary: 'End the current session',
        tags: ['auth'],
        access: 'authenticated',
        response: { status: 204, description: 'the session is ended; its token no longer works' },
      },
      async ({ req, res, staff }) => {
        if (req.sessionTokenHash) {
          await revokeSession(pool, req.sessionTokenHash);
          forgetSessions({ tokenHash: req.sessionTokenHash });
        }
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, { action: 'auth.logout', entityType: 'staff', entityId: String(staff.id) });
        clearSessionCookie(res, req.secure);
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/auth/me',
        summary: 'Who the session belongs to: roles, unit and org scope',
        tags: ['auth'],
        access: 'authenticated',
        response: { status: 200, description: 'the caller', schema: staffView },
      },
      ({ staff }) => staff,
    );
}
