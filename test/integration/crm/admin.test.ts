import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { createTestStaff, login, loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

describe('catalogue, org tree and staff administration', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let admin: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database, { KEYFLOW_SESSION_CACHE_MS: '0' }), testLogger, 0);
    admin = await loginAs(api.url, database.pool, ['admin'], testOrg.province);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  let requestNo = 0;
  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...session.headers, 'x-request-id': `admin-test-${++requestNo}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // Audit rows carry the API's own request id, not the caller's.
    const requestId = response.headers.get('x-request-id')!;
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as any) : null, requestId };
  };
  const auditOf = (requestId: string) =>
    database.pool.any(sql.type(z.object({ action: z.string(), entity_type: z.string(), entity_id: z.string(), before: z.any(), after: z.any() }))`
      SELECT action, entity_type, entity_id, before, after FROM audit_log WHERE request_id = ${requestId} ORDER BY id`);

  describe('the product catalogue', () => {
    it('adds a product and a first tariff, each with an audit row', async () => {
      const product = await call(admin, 'POST', '/api/products', { id: 'DIA-500M', name: '互联网专线 500M', category: 'internet' });
      const tariff = await call(admin, 'POST', '/api/products/DIA-500M/tariffs', { name: '标准资费', validFrom: '2024-01-01T00:00:00Z', monthlyFeeMinor: 800_000, plan: { kind: 'flat' } });

      expect(product.status).toBe(201);
      expect(tariff.status).toBe(201);
      expect(tariff.body).toMatchObject({ productId: 'DIA-500M', version: 1, validTo: null, monthlyFeeMinor: 800_000, currency: 'CNY', plan: { kind: 'flat' } });
      expect(await auditOf(product.requestId)).toEqual([expect.objectContaining({ action: 'product.create', entity_id: 'DIA-500M' })]);
      expect(await auditOf(tariff.requestId)).toEqual([expect.objectContaining({ action: 'tariff.create', entity_id: tariff.body.id })]);
    });

    it('versions prices: a new tariff ends the one before it, and cannot start before it', async () => {
      const second = await call(admin, 'POST', '/api/products/DIA-500M/tariffs', { name: '2025 调价', validFrom: '2025-01-01T00:00:00+08:00', monthlyFeeMinor: 700_000 });
      const backdated = await call(admin, 'POST', '/api/products/DIA-500M/tariffs', { name: '倒签', validFrom: '2024-06-01T00:00:00Z', monthlyFeeMinor: 1 });
      const product = await call(admin, 'GET', '/api/products/DIA-500M');

      expect(second.body.version).toBe(2);
      expect(backdated.status).toBe(409);
      expect(product.body.tariffs.map((t: any) => [t.version, t.validFrom, t.validTo])).toEqual([
        [2, '2024-12-31T16:00:00.000Z', null],
        [1, '2024-01-01T00:00:00.000Z', '2024-12-31T16:00:00.000Z'],
      ]);
      expect(product.body.currentTariff).toMatchObject({ version: 2, monthlyFeeMinor: 700_000 });
    });

    it('refuses a duplicate product id with 409, a tariff for a missing product with 404, and negative or fractional money with 400', async () => {
      expect((await call(admin, 'POST', '/api/products', { id: 'DIA-500M', name: '重复', category: 'internet' })).status).toBe(409);
      expect((await call(admin, 'POST', '/api/products/NOPE/tariffs', { name: 'x', validFrom: '2024-01-01T00:00:00Z', monthlyFeeMinor: 1 })).status).toBe(404);
      expect((await call(admin, 'POST', '/api/products/DIA-500M/tariffs', { name: 'x', validFrom: '2030-01-01T00:00:00Z', monthlyFeeMinor: -1 })).status).toBe(400);
      expect((await call(admin, 'POST', '/api/products/DIA-500M/tariffs', { name: 'x', validFrom: '2030-01-01T00:00:00Z', monthlyFeeMinor: 9.99 })).status).toBe(400);
    });

    it('refuses a stale product version with 409', async () => {
      const current = (await call(admin, 'GET', '/api/products/DIA-500M')).body;
      expect((await call(admin, 'PATCH', '/api/products/DIA-500M', { version: current.version, status: 'retired' })).status).toBe(200);
      const stale = await call(admin, 'PATCH', '/api/products/DIA-500M', { version: current.version, status: 'active' });
      expect(stale.status).toBe(409);
      expect(stale.body.error.details.reason).toBe('STALE_VERSION');
    });
  });

  describe('the org tree', () => {
    it('adds a unit one level below its parent, with an audit row', async () => {
      const unit = await call(admin, 'POST', '/api/org-units', { id: 'GD-GZ-TH-A2', parentId: testOrg.tianhe, name: '天河南片区' });
      expect(unit.status).toBe(201);
      expect(unit.body).toMatchObject({ level: 'area', path: '/GD/GD-GZ/GD-GZ-TH/GD-GZ-TH-A2/' });
      expect(await auditOf(unit.requestId)).toEqual([expect.objectContaining({ action: 'org_unit.create', entity_id: 'GD-GZ-TH-A2' })]);
    });

    it('refuses a unit below an area (422), a missing parent (422), a duplicate id (409) and a lower-case id (400)', async () => {
      expect((await call(admin, 'POST', '/api/org-units', { id: 'GD-X', parentId: testOrg.tianheArea, name: 'x' })).status).toBe(422);
      expect((await call(admin, 'POST', '/api/org-units', { id: 'GD-Y', parentId: 'NOWHERE', name: 'x' })).status).toBe(422);
      expect((await call(admin, 'POST', '/api/org-units', { id: 'GD-GZ-TH-A2', parentId: testOrg.tianhe, name: 'x' })).status).toBe(409);
      expect((await call(admin, 'POST', '/api/org-units', { id: 'gd-z', parentId: testOrg.tianhe, name: 'x' })).status).toBe(400);
    });

    it('lets a city admin add units only under its own city (403 elsewhere)', async () => {
      const cityAdmin = await loginAs(api.url, database.pool, ['admin'], testOrg.guangzhou);
      expect((await call(cityAdmin, 'POST', '/api/org-units', { id: 'GD-SZ-X', parentId: testOrg.shenzhen, name: 'x' })).status).toBe(403);
    });
  });

  describe('staff', () => {
    it('creates a staff member who can log in, with an audit row that holds no password', async () => {
      const created = await call(admin, 'POST', '/api/staff', {
        username: 'th.dispatcher',
        displayName: '天河调度',
        orgUnitId: testOrg.tianhe,
        roles: ['dispatcher'],
        password: 'a sufficiently long one',
      });

      expect(created.status).toBe(201);
      expect(created.body).not.toHaveProperty('passwordHash');
      await expect(login(api.url, 'th.dispatcher', 'a sufficiently long one')).resolves.toHaveProperty('token');
      const audit = await auditOf(created.requestId);
      expect(audit).toEqual([expect.objectContaining({ action: 'staff.create' })]);
      expect(JSON.stringify(audit)).not.toMatch(/scrypt|sufficiently/);
    });

    it('refuses a duplicate username (409), a short password, an unknown role and a repeated role (400)', async () => {
      const base = { displayName: 'x', orgUnitId: testOrg.tianhe, roles: ['dispatcher'], password: 'a sufficiently long one' };
      expect((await call(admin, 'POST', '/api/staff', { ...base, username: 'th.dispatcher' })).status).toBe(409);
      expect((await call(admin, 'POST', '/api/staff', { ...base, username: 'short.pw', password: 'short' })).status).toBe(400);
      expect((await call(admin, 'POST', '/api/staff', { ...base, username: 'bad.role', roles: ['root'] })).status).toBe(400);
      expect((await call(admin, 'POST', '/api/staff', { ...base, username: 'twice', roles: ['ops', 'ops'] })).status).toBe(400);
    });

    it('applies role changes from the next request, and ends the sessions of a deactivated member', async () => {
      const member = await createTestStaff(database.pool, { roles: ['dispatcher'], orgUnitId: testOrg.tianhe });
      const session = await login(api.url, member.username);
      expect((await call(session, 'GET', '/api/accounts')).status).toBe(200);

      const demoted = await call(admin, 'PATCH', `/api/staff/${member.id}`, { version: 1, roles: ['designer'] });
      expect(demoted.status).toBe(200);
      expect((await call(session, 'GET', '/api/accounts')).status).toBe(403);

      const stale = await call(admin, 'PATCH', `/api/staff/${member.id}`, { version: 1, active: false });
      const disabled = await call(admin, 'PATCH', `/api/staff/${member.id}`, { version: 2, active: false });
      expect([stale.status, disabled.status]).toEqual([409, 200]);
      expect((await call(session, 'GET', '/api/auth/me')).status).toBe(401);
      expect((await auditOf(disabled.requestId))[0]).toMatchObject({ action: 'staff.update', before: expect.objectContaining({ active: true }), after: expect.objectContaining({ active: false }) });
    });

    it('lifts a lock-out on request', async () => {
      const member = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province });
      await database.pool.query(sql.type(z.object({}))`
        INSERT INTO login_throttle (key, failures, locked_until) VALUES (${`user:${member.username}`}, 99, now() + interval '1 hour')`);
      await expect(login(api.url, member.username)).rejects.toThrow(/429/);

      expect((await call(admin, 'PATCH', `/api/staff/${member.id}`, { version: 1, unlock: true })).status).toBe(200);
      await expect(login(api.url, member.username)).resolves.toHaveProperty('token');
    });

    it('will not let an admin disable themselves or drop their own admin role', async () => {
      const me = (await call(admin, 'GET', '/api/auth/me')).body;
      const self = (await call(admin, 'GET', `/api/staff/${me.id}`)).body;
      expect((await call(admin, 'PATCH', `/api/staff/${me.id}`, { version: self.version, active: false })).status).toBe(422);
      expect((await call(admin, 'PATCH', `/api/staff/${me.id}`, { version: self.version, roles: ['ops'] })).status).toBe(422);
    });
  });

  it('keeps the audit log append-only', async () => {
    await expect(database.pool.query(sql.type(z.object({}))`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/immutable/);
    await expect(database.pool.query(sql.type(z.object({}))`DELETE FROM audit_log`)).rejects.toThrow(/immutable/);
  });
});
