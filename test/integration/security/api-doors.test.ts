import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { roles, type Role } from '../../../db/staff';
import { createTestStaff, login, loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createAccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

/** The doors of the API itself: login lock-out, roles before bodies, and the answers to hostile input. */
describe('the API refuses what it must, the same way at every door', () => {
  let database: TestDatabase;
  let api: RunningApi;
  const sessions = new Map<Role, Session>();

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database, { KEYFLOW_LOGIN_MAX_FAILURES: '5', KEYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS: '60' }), testLogger, 0);
    for (const role of roles) sessions.set(role, await loginAs(api.url, database.pool, [role], testOrg.province));
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const attempt = (username: string, password: string) =>
    fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });

  describe('logging in', () => {
    it('holds the lock-out against 20 parallel attempts: at most 5 are checked, and a locked login refuses the right password', async () => {
      const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });

      // when 19 wrong passwords and the right one race
      const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => attempt(staff.username, index === 19 ? staff.password : `wrong-${index}`)));

      // then only five got past the count; the rest were refused unhashed
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status !== 429).length).toBeLessThanOrEqual(5);
      if (!statuses.includes(200)) {
        expect((await attempt(staff.username, staff.password)).status).toBe(429);
      }
    });

    it('answers an unknown username like a known one: 401, then the same 429 after as many attempts, in about the same time', async () => {
      const staff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
      const timed = async (username: string) => {
        const started = performance.now();
        const response = await attempt(username, 'nope');
        return { status: response.status, body: (await response.json()) as any, ms: performance.now() - started };
      };
      const known: Awaited<ReturnType<typeof timed>>[] = [];
      const unknown: Awaited<ReturnType<typeof timed>>[] = [];
      for (let index = 0; index < 6; index++) {
        known.push(await timed(staff.username));
        unknown.push(await timed(`nobody-${staff.username}`));
      }

      expect(known.map((answer) => answer.status)).toEqual([401, 401, 401, 401, 429, 429]);
      expect(unknown.map((answer) => answer.status)).toEqual(known.map((answer) => answer.status));
      expect(unknown.map((answer) => answer.body.error.message)).toEqual(known.map((answer) => answer.body.error.message));
      const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
      const [knownMs, unknownMs] = [median(known.slice(0, 4).map((a) => a.ms)), median(unknown.slice(0, 4).map((a) => a.ms))];
      expect(Math.abs(knownMs - unknownMs)).toBeLessThan(Math.max(knownMs, unknownMs) * 0.5);
    });

    it('throttles a client address that fails across many usernames, whoever the next username is', async () => {
      const victim = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
      let last = 0;
      for (let index = 0; index < 60 && last !== 429; index++) last = (await attempt(`spray-${index}`, 'Summer2025!')).status;

      expect(last).toBe(429);
      const right = await attempt(victim.username, victim.password);
      expect(right.status).toBe(429);
      expect(((await right.json()) as any).error.message).toMatch(/this address/);
      // X-Forwarded-For is no way out: no proxy is trusted unless KEYFLOW_TRUST_PROXY names it.
      expect((await fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify({ username: victim.username, password: victim.password }) })).status).toBe(429);
      await database.pool.query(sql.type(z.object({}))`DELETE FROM login_throttle WHERE key LIKE 'addr:%'`);
      await expect(login(api.url, victim.username, victim.password)).resolves.toHaveProperty('token');
    });
  });

  it('checks every role-restricted route of the OpenAPI document before reading its body: each other role gets 403', async () => {
    const document = (await (await fetch(`${api.url}/api/openapi.json`, { headers: sessions.get('admin')!.headers })).json()) as {
      paths: Record<string, Record<string, { 'x-roles'?: Role[] }>>;
    };
    const checked: string[] = [];
    const leaks: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const allowed = operation['x-roles'];
        if (!allowed) continue;
        const url = path.replace(/\{[^}]+\}/g, 'X1');
        for (const role of roles.filter((candidate) => !allowed.includes(candidate))) {
          // A body no route takes (broken JSON; not XML either): the role check must come first.
          const response = await fetch(`${api.url}${url}`, { method: method.toUpperCase(), headers: sessions.get(role)!.headers, body: method === 'get' ? undefined : '{' });
          await response.arrayBuffer();
          checked.push(`${method} ${path} as ${role}`);
          if (response.status !== 403) leaks.push(`${method.toUpperCase()} ${path} as ${role}: ${response.status}`);
        }
      }
    }

    expect(leaks).toEqual([]);
    expect(checked.length).toBeGreaterThan(100);
  });

  it('refuses deeply nested JSON with 400, even on the unauthenticated login route', async () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const response = await fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"username":"a","password":${deep}}` });

    expect(response.status).toBe(400);
  });

  it('answers malformed percent-encoding in a path and a junk pageToken with 400 at once', async () => {
    const manager = sessions.get('customer_manager')!;
    const encoded = await fetch(`${api.url}/api/accounts/%FF%FE`, { headers: manager.headers });
    const started = Date.now();
    const token = await fetch(`${api.url}/api/process-instances?pageToken=${Buffer.from('junk').toString('base64url')}`, { headers: manager.headers });

    expect(encoded.status).toBe(400);
    expect(token.status).toBe(400);
    expect(((await token.json()) as any).error.details).toEqual([{ field: 'query.pageToken', message: 'not a token this API handed out' }]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('shows /health as up or down only without a session, and marks every answer nosniff and no-store', async () => {
    const anonymous = await fetch(`${api.url}/health`);
    const withSession = await fetch(`${api.url}/health`, { headers: sessions.get('ops')!.headers });

    expect(await anonymous.json()).toEqual({ status: 'up', postgres: { status: 'up' }, temporal: { status: 'up' } });
    expect(((await withSession.json()) as any).postgres.version).toEqual(expect.any(String));
    expect(anonymous.headers.get('x-content-type-options')).toBe('nosniff');
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['a bidi override', '恒通\u202Egnp.exe'],
    ['a control character', 'Acme\u0007 Ltd'],
  ])('refuses an account name with %s', async (_what, name) => {
    const manager = sessions.get('customer_manager')!;
    const response = await fetch(`${api.url}/api/accounts`, { method: 'POST', headers: manager.headers, body: JSON.stringify({ name, industry: 'logistics', tier: 'gold' }) });

    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.details).toEqual([expect.objectContaining({ field: 'body.name' })]);
  });

  it('refuses a contact name with a bidi override', async () => {
    const account = await createAccountFixture(database.pool, testOrg.province);
    const response = await fetch(`${api.url}/api/accounts/${account.accountId}/contacts`, {
      method: 'POST',
      headers: sessions.get('customer_manager')!.headers,
      body: JSON.stringify({ name: '张\u202E伟', role: 'decision_maker', isKeyPerson: false }),
    });

    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.details).toEqual([expect.objectContaining({ field: 'body.name' })]);
  });

  it('caps the problem list of a model with thousands of bad attributes', async () => {
    const tasks = Array.from({ length: 3_000 }, (_, index) => `<bpmn:task id="t${index}" kf:nonsense="x" />`).join('');
    const xml = `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true">${tasks}</bpmn:process></bpmn:definitions>`;
    const response = await fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { ...sessions.get('designer')!.headers, 'content-type': 'application/xml' }, body: xml });
    const body = (await response.json()) as any;

    expect(response.status).toBe(400);
    expect(body.error.details).toHaveLength(200);
    expect(body.error.message).toMatch(/has \d{4,} problems \(the first 200 are listed\)/);
  });
});
