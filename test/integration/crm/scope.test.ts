import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createAccountFixture, type AccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

describe('org scope: staff see and change only what lies in their subtree', () => {
  let database: TestDatabase;
  let api: RunningApi;
  /** A county (Tianhe) staff member with every customer-facing role. */
  let county: Session;
  let area: Session;
  let city: Session;
  let province: Session;
  let inside: AccountFixture;
  let sibling: AccountFixture;
  let elsewhere: AccountFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    county = await loginAs(api.url, database.pool, ['customer_manager', 'dispatcher', 'supervisor'], testOrg.tianhe);
    area = await loginAs(api.url, database.pool, ['supervisor'], testOrg.tianheArea);
    city = await loginAs(api.url, database.pool, ['supervisor'], testOrg.guangzhou);
    province = await loginAs(api.url, database.pool, ['supervisor'], testOrg.province);
    inside = await createAccountFixture(database.pool, testOrg.tianheArea);
    sibling = await createAccountFixture(database.pool, testOrg.yuexiu);
    elsewhere = await createAccountFixture(database.pool, testOrg.nanshan);
    await createTestStaff(database.pool, { roles: ['dispatcher'], orgUnitId: testOrg.nanshan, username: 'ns-dispatcher' });
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const get = async (session: Session, path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: session.headers });
    return { status: response.status, body: (await response.json()) as any };
  };
  const send = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: response.status === 204 ? null : ((await response.json()) as any) };
  };
  const ids = (page: { items: { id: string }[] }) => page.items.map((item) => item.id);
  const auditCount = () => database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) AS count FROM audit_log`);

  it.each([
    ['accounts', '/api/accounts', 'accountId'],
    ['orders', '/api/orders', 'orderId'],
    ['trouble tickets', '/api/tickets', 'troubleTicketId'],
    ['supervision tickets', '/api/supervision-tickets', 'supervisionTicketId'],
  ] as const)('lists %s of the own subtree only', async (_name, path, key) => {
    const areaList = ids((await get(area, path)).body);
    const countyList = ids((await get(county, path)).body);
    const cityList = ids((await get(city, path)).body);
    const provinceList = ids((await get(province, path)).body);

    expect(areaList).toEqual([inside[key]]);
    expect(countyList).toEqual([inside[key]]);
    expect(cityList.sort()).toEqual([inside[key], sibling[key]].sort());
    expect(provinceList.sort()).toEqual([inside[key], sibling[key], elsewhere[key]].sort());
  });

  it.each([
    ['an account', (f: AccountFixture) => `/api/accounts/${f.accountId}`],
    ["an account's contacts", (f: AccountFixture) => `/api/accounts/${f.accountId}/contacts`],
    ["an account's audit trail", (f: AccountFixture) => `/api/accounts/${f.accountId}/audit`],
    ['an order', (f: AccountFixture) => `/api/orders/${f.orderId}`],
    ['a trouble ticket', (f: AccountFixture) => `/api/tickets/${f.troubleTicketId}`],
    ['a supervision ticket', (f: AccountFixture) => `/api/supervision-tickets/${f.supervisionTicketId}`],
  ])('answers 404 for %s outside the subtree, as if it did not exist', async (_name, path) => {
    expect((await get(county, path(inside))).status).toBe(200);
    for (const outside of [sibling, elsewhere]) {
      const response = await get(county, path(outside));
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
    }
  });

  it('shows no account of another unit through the orgUnitId filter, the search, or the accounts filter of other lists', async () => {
    expect(ids((await get(county, `/api/accounts?orgUnitId=${testOrg.nanshan}`)).body)).toEqual([]);
    expect(ids((await get(county, `/api/accounts?q=${elsewhere.accountId}`)).body)).toEqual([]);
    expect(ids((await get(county, `/api/orders?accountId=${elsewhere.accountId}`)).body)).toEqual([]);
    expect(ids((await get(county, `/api/tickets?accountId=${elsewhere.accountId}`)).body)).toEqual([]);
  });

  it('refuses every write to a customer outside the subtree with 404, changing nothing', async () => {
    const before = await auditCount();
    const account = (await get(province, `/api/accounts/${elsewhere.accountId}`)).body;
    const contact = account.contacts[0];

    const attempts = [
      await send(county, 'PATCH', `/api/accounts/${elsewhere.accountId}`, { version: account.version, name: '改名' }),
      await send(county, 'PUT', `/api/accounts/${elsewhere.accountId}/credit-list`, { version: account.version, creditList: 'black', reason: '越权' }),
      await send(county, 'POST', `/api/accounts/${elsewhere.accountId}/contacts`, { name: '王五' }),
      await send(county, 'PATCH', `/api/contacts/${contact.id}`, { version: contact.version, name: '王五' }),
      await send(county, 'DELETE', `/api/contacts/${contact.id}?version=${contact.version}`),
    ];

    expect(attempts.map((attempt) => attempt.status)).toEqual([404, 404, 404, 404, 404]);
    expect(await auditCount()).toBe(before);
    expect((await get(province, `/api/accounts/${elsewhere.accountId}`)).body).toEqual(account);
  });

  it('refuses to create an account in, or move one to, a unit outside the subtree with 403', async () => {
    const before = await auditCount();
    const account = (await get(county, `/api/accounts/${inside.accountId}`)).body;

    const create = await send(county, 'POST', '/api/accounts', { name: '越权客户', industry: 'retail', tier: 'bronze', orgUnitId: testOrg.nanshan });
    const move = await send(county, 'PATCH', `/api/accounts/${inside.accountId}`, { version: account.version, orgUnitId: testOrg.shenzhen });

    expect([create.status, move.status]).toEqual([403, 403]);
    expect(create.body.error.details).toEqual({ field: 'body.orgUnitId' });
    expect(await auditCount()).toBe(before);
  });

  it('moves the rows of an account along when the account moves within the subtree', async () => {
    const account = (await get(city, `/api/accounts/${sibling.accountId}`)).body;

    const moved = await send(city, 'PATCH', `/api/accounts/${sibling.accountId}`, { version: account.version, orgUnitId: testOrg.tianhe });

    expect(moved.status).toBe(200);
    expect((await get(county, `/api/orders/${sibling.orderId}`)).status).toBe(200);
    expect((await get(county, `/api/tickets/${sibling.troubleTicketId}`)).status).toBe(200);
    const units = await database.pool.anyFirst(sql.type(z.object({ org_unit_id: z.string() }))`
      SELECT DISTINCT org_unit_id FROM (
        SELECT org_unit_id FROM contacts WHERE account_id = ${sibling.accountId}
        UNION ALL SELECT org_unit_id FROM subscriptions WHERE account_id = ${sibling.accountId}
        UNION ALL SELECT org_unit_id FROM billing_accounts WHERE account_id = ${sibling.accountId}
        UNION ALL SELECT org_unit_id FROM order_items WHERE order_id = ${sibling.orderId}) rows`);
    expect(units).toEqual([testOrg.tianhe]);
    expect(ids((await get(county, '/api/accounts')).body).sort()).toEqual([inside.accountId, sibling.accountId].sort());
    // put it back for the other tests
    await send(city, 'PATCH', `/api/accounts/${sibling.accountId}`, { version: moved.body.version, orgUnitId: testOrg.yuexiu });
    expect(ids((await get(county, '/api/accounts')).body)).toEqual([inside.accountId]);
  });

  it('limits the org tree and the staff list to the subtree', async () => {
    const units = (await get(county, '/api/org-units')).body.items.map((unit: any) => unit.id);
    const staff = (await get(county, '/api/staff')).body.items.map((member: any) => member.username);
    const foreign = await database.pool.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`SELECT id FROM staff WHERE username = 'ns-dispatcher'`);

    expect(units).toEqual([testOrg.tianhe, testOrg.tianheArea]);
    expect(staff).not.toContain('ns-dispatcher');
    expect((await get(county, `/api/staff/${foreign}`)).status).toBe(404);
    expect((await get(province, `/api/staff/${foreign}`)).status).toBe(200);
  });
});
