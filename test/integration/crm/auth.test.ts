import { IncomingMessage } from 'node:http';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { createTestStaff, login, seedOrgTree, testOrg, testPassword } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

describe('logging in and out', () => {
  let database: TestDatabase;
  let api: RunningApi;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database, { KEYFLOW_LOGIN_MAX_FAILURES: '3' }), testLogger, 0);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const me = (headers: Record<string, string>) => fetch(`${api.url}/api/auth/me`, { headers });
  const attempt = (username: string, password: string) =>
    fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

  it('gives a token that identifies the staff member with their unit, scope and roles', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.tianhe });

    const session = await login(api.url, staff.username);
    const response = await me(session.headers);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: staff.id,
      username: staff.username,
      displayName: staff.username,
      orgUnitId: testOrg.tianhe,
      orgPath: '/GD/GD-GZ/GD-GZ-TH/',
      roles: ['customer_manager'],
    });
  });

  it('sets an httpOnly, SameSite=Strict cookie that works instead of the header', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    const response = await attempt(staff.username, staff.password);
    const cookie = response.headers.get('set-cookie')!;

    expect(cookie).toMatch(/^kf_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect((await me({ cookie: cookie.split(';')[0]! })).status).toBe(200);
  });

  it('stores only a hash of the token and of the password', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    const session = await login(api.url, staff.username);

    const stored = await database.pool.one(sql.type(z.object({ password_hash: z.string(), token_hashes: z.array(z.string()) }))`
      SELECT s.password_hash, array_agg(ss.token_hash) AS token_hashes FROM staff s JOIN staff_sessions ss ON ss.staff_id = s.id
      WHERE s.id = ${staff.id} GROUP BY s.password_hash`);
    expect(stored.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored.password_hash).not.toContain(testPassword);
    expect(stored.token_hashes).not.toContain(session.token);
  });

  it('refuses a wrong password and an unknown user alike, with 401', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });

    const wrong = await attempt(staff.username, 'not the password');
    const unknown = await attempt('no-such-user', 'whatever');

    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(((await wrong.json()) as any).error.message).toBe(((await unknown.json()) as any).error.message);
  });

  it('locks a login after repeated wrong passwords, even against the right one, and writes audit rows', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });

    expect((await attempt(staff.username, 'guess-1')).status).toBe(401);
    expect((await attempt(staff.username, 'guess-2')).status).toBe(401);
    const third = await attempt(staff.username, 'guess-3');
    const rightButLocked = await attempt(staff.username, staff.password);

    expect(third.status).toBe(429);
    expect(rightButLocked.status).toBe(429);
    expect(((await rightButLocked.json()) as any).error).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: { lockedUntil: expect.any(String) } });
    const actions = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`
      SELECT action FROM audit_log WHERE entity_type = 'staff' AND entity_id = ${String(staff.id)} AND action LIKE 'auth.%' ORDER BY id`);
    expect(actions).toEqual(['auth.login_failed', 'auth.login_failed', 'auth.locked']);
  });

  it('lets a locked login in again once the lock has passed, and resets the count on success', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    for (const guess of ['a', 'b', 'c']) await attempt(staff.username, guess);
    await database.pool.query(sql.type(z.object({}))`UPDATE login_throttle SET locked_until = now() - interval '1 second' WHERE key = ${`user:${staff.username}`}`);

    expect((await attempt(staff.username, staff.password)).status).toBe(200);
    const state = await database.pool.maybeOne(sql.type(z.object({ failures: z.number() }))`SELECT failures FROM login_throttle WHERE key = ${`user:${staff.username}`}`);
    expect(state).toBeNull();
  });

  it('ends the session on logout: the token stops working', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    const session = await login(api.url, staff.username);

    const logout = await fetch(`${api.url}/api/auth/logout`, { method: 'POST', headers: session.headers });

    expect(logout.status).toBe(204);
    expect((await me(session.headers)).status).toBe(401);
  });

  it('refuses an expired session, a made-up token, a malformed header and a disabled account', async () => {
    const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    const session = await login(api.url, staff.username);
    const disabled = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
    const other = await login(api.url, disabled.username);
    await database.pool.query(sql.type(z.object({}))`UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE staff_id = ${staff.id}`);
    await database.pool.query(sql.type(z.object({}))`UPDATE staff SET active = false WHERE id = ${disabled.id}`);

    expect((await me(session.headers)).status).toBe(401);
    expect((await me({ authorization: `Bearer ${'A'.repeat(43)}` })).status).toBe(401);
    expect((await me({ authorization: "Bearer ' OR 1=1 --" })).status).toBe(401);
    expect((await me({ authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(401);
    expect((await me({})).status).toBe(401);
    expect((await me(other.headers)).status).toBe(401);
  });

  it('needs no session for /health, but does for the OpenAPI document and unknown /api paths', async () => {
    expect((await fetch(`${api.url}/health`)).status).not.toBe(401);
    expect((await fetch(`${api.url}/api/openapi.json`)).status).toBe(401);
    expect((await fetch(`${api.url}/api/anything`)).status).toBe(401);
  });

  it("is served by a server whose requests already carry express's prototypes (runtime/http-server.ts)", async () => {
    // express re-prototyping each request cost a third of the API's CPU; see runtime/http-server.ts.
    const born: unknown[] = [];
    const record = (req: unknown) => born.push(Object.getPrototypeOf(req));
    api.server.prependListener('request', record);
    try {
      await (await me({})).text();
    } finally {
      api.server.removeListener('request', record);
    }
    expect(born).toHaveLength(1);
    // express's per-app request object: it knows its app, and its own prototype has the methods.
    expect(born[0]).not.toBe(IncomingMessage.prototype);
    expect(Object.prototype.hasOwnProperty.call(born[0], 'app')).toBe(true);
    expect(typeof (born[0] as { accepts?: unknown }).accepts).toBe('function');
  });
});
