import { sql } from 'slonik';
import { z } from 'zod';
import { pageOf } from '../../../api/schemas';
import { startApi, type RunningApi } from '../../../api/server';
import { keyAccountSummary } from '../../../db/crm/accounts';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session, type TestStaff } from '../../support/auth';
import { createAccountFixture, ensureTestProduct } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

describe('key accounts through the API', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let manager: Session & { staff: TestStaff };
  let admin: Session;
  let managerId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    await ensureTestProduct(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    manager = await loginAs(api.url, database.pool, ['customer_manager', 'supervisor'], testOrg.guangzhou);
    managerId = manager.staff.id;
    admin = await loginAs(api.url, database.pool, ['admin'], testOrg.province);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const call = async (session: Session | null, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: session?.headers ?? { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as any) : null };
  };
  const audit = (entityId: string) =>
    database.pool.any(sql.type(z.object({ action: z.string(), actor: z.string(), request_id: z.string().nullable(), before: z.any(), after: z.any(), details: z.any() }))`
      SELECT action, actor, request_id, before, after, details FROM audit_log WHERE entity_id = ${entityId} ORDER BY id`);
  const count = (table: 'key_accounts' | 'contacts' | 'audit_log') =>
    database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) AS count FROM ${sql.identifier([table])}`);

  describe('creating and changing', () => {
    it("creates an account in the caller’s unit by default, with an audit row carrying the API's request id", async () => {
      const response = await fetch(`${api.url}/api/accounts`, {
        method: 'POST',
        headers: { ...manager.headers, 'x-request-id': 'create-account-1' },
        body: JSON.stringify({ name: '广州恒通物流有限公司', industry: 'logistics', tier: 'gold', registrationNo: '91440101MA5ABCDE1X', customerManagerId: managerId }),
      });
      const account = (await response.json()) as any;

      expect(response.status).toBe(201);
      expect(account).toMatchObject({
        id: expect.stringMatching(/^KA\d{8}$/),
        orgUnitId: testOrg.guangzhou,
        status: 'prospect',
        creditList: 'none',
        customerManagerId: managerId,
        version: 1,
      });
      expect(await audit(account.id)).toEqual([
        { action: 'account.create', actor: manager.staff.username, request_id: response.headers.get('x-request-id'), before: null, after: expect.objectContaining({ name: '广州恒通物流有限公司' }), details: null },
      ]);
    });

    it('refuses a malformed account with 400 naming every failing field, creating nothing', async () => {
      const before = await count('key_accounts');

      const response = await call(manager, 'POST', '/api/accounts', { name: '', industry: 'mining', tier: 'platinum', creditLimitMinor: 1.5, extra: true });

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.map((detail: any) => detail.field).sort()).toEqual(
        ['body', 'body.creditLimitMinor', 'body.industry', 'body.name', 'body.tier'].sort(),
      );
      expect(await count('key_accounts')).toBe(before);
    });

    it('refuses a customer manager who does not cover the account’s unit with 422', async () => {
      const outsider = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.nanshan });
      const notManager = await createTestStaff(database.pool, { roles: ['dispatcher'], orgUnitId: testOrg.guangzhou });

      for (const customerManagerId of [outsider.id, notManager.id, 99_999]) {
        const response = await call(manager, 'POST', '/api/accounts', { name: '某公司', industry: 'retail', tier: 'bronze', customerManagerId });
        expect(response.status).toBe(422);
        expect(response.body.error.details).toMatchObject({ reason: 'INVALID_REFERENCE', field: 'customerManagerId' });
      }
    });

    it('refuses a duplicate registration number with 409, without SQL in the answer', async () => {
      const first = await call(manager, 'POST', '/api/accounts', { name: 'A 公司', industry: 'retail', tier: 'bronze', registrationNo: '91440101MA5DUPLIC8' });
      const second = await call(manager, 'POST', '/api/accounts', { name: 'B 公司', industry: 'retail', tier: 'bronze', registrationNo: '91440101MA5DUPLIC8' });

      expect(first.status).toBe(201);
      expect(second.status).toBe(409);
      expect(second.body.error).toMatchObject({ code: 'CONFLICT', details: { reason: 'DUPLICATE', constraint: 'key_accounts_registration_no_key' } });
      expect(JSON.stringify(second.body)).not.toMatch(/INSERT|SELECT|duplicate key value/i);
    });

    it('updates with the version read, and refuses a stale version with 409 and the current version', async () => {
      const created = (await call(manager, 'POST', '/api/accounts', { name: '乐观锁测试', industry: 'media', tier: 'silver' })).body;

      const first = await call(manager, 'PATCH', `/api/accounts/${created.id}`, { version: 1, tier: 'gold', status: 'active' });
      const stale = await call(manager, 'PATCH', `/api/accounts/${created.id}`, { version: 1, tier: 'bronze' });

      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ tier: 'gold', status: 'active', version: 2 });
      expect(stale.status).toBe(409);
      expect(stale.body.error.details).toEqual({ reason: 'STALE_VERSION', currentVersion: 2 });
      expect((await call(manager, 'GET', `/api/accounts/${created.id}`)).body).toMatchObject({ tier: 'gold', version: 2 });
      const trail = await audit(created.id);
      expect(trail.map((row) => row.action)).toEqual(['account.create', 'account.update']);
      expect(trail[1]).toMatchObject({ before: expect.objectContaining({ tier: 'silver', version: 1 }), after: expect.objectContaining({ tier: 'gold', version: 2 }) });
    });

    it('moves an account on and off a credit list with a reason, kept in the audit trail', async () => {
      const created = (await call(manager, 'POST', '/api/accounts', { name: '信用测试', industry: 'retail', tier: 'silver' })).body;

      const listed = await call(manager, 'PUT', `/api/accounts/${created.id}/credit-list`, { version: 1, creditList: 'black', reason: '连续三个月欠费' });
      const stale = await call(manager, 'PUT', `/api/accounts/${created.id}/credit-list`, { version: 1, creditList: 'none', reason: '已结清' });
      const missingReason = await call(manager, 'PUT', `/api/accounts/${created.id}/credit-list`, { version: 2, creditList: 'none' });

      expect(listed.body).toMatchObject({ creditList: 'black', version: 2 });
      expect(stale.status).toBe(409);
      expect(missingReason.status).toBe(400);
      const trail = await call(manager, 'GET', `/api/accounts/${created.id}/audit`);
      expect(trail.body.items[0]).toMatchObject({ action: 'account.credit_list', actor: manager.staff.username, details: { from: 'none', to: 'black', reason: '连续三个月欠费' } });
    });

    it('keeps contacts with optimistic versions, and their changes in the account’s audit trail', async () => {
      const created = (await call(manager, 'POST', '/api/accounts', { name: '联系人测试', industry: 'retail', tier: 'silver' })).body;

      const contact = await call(manager, 'POST', `/api/accounts/${created.id}/contacts`, { name: '陈静', role: 'finance', isKeyPerson: true, phone: '+86 138-0000-0000', email: 'chen@example.cn' });
      const badPhone = await call(manager, 'POST', `/api/accounts/${created.id}/contacts`, { name: '陈静', phone: 'call me' });
      const updated = await call(manager, 'PATCH', `/api/contacts/${contact.body.id}`, { version: 1, title: '财务总监' });
      const stale = await call(manager, 'PATCH', `/api/contacts/${contact.body.id}`, { version: 1, title: '出纳' });
      const staleDelete = await call(manager, 'DELETE', `/api/contacts/${contact.body.id}?version=1`);
      const deleted = await call(manager, 'DELETE', `/api/contacts/${contact.body.id}?version=2`);

      expect([contact.status, badPhone.status, updated.status, stale.status, staleDelete.status, deleted.status]).toEqual([201, 400, 200, 409, 409, 204]);
      expect((await call(manager, 'GET', `/api/accounts/${created.id}/contacts`)).body.items).toEqual([]);
      const actions = (await call(manager, 'GET', `/api/accounts/${created.id}/audit`)).body.items.map((item: any) => item.action);
      expect(actions).toEqual(['contact.delete', 'contact.update', 'contact.create', 'account.create']);
    });

    it('shows an account with its contacts, contracts, billing accounts, subscriptions, open tickets, recent orders and bills', async () => {
      const fixture = await createAccountFixture(database.pool, testOrg.tianhe);
      for (const [period, start, end] of [['2025-01', '2025-01-01', '2025-02-01'], ['2025-02', '2025-02-01', '2025-03-01']] as const) {
        await database.pool.query(sql.type(z.object({}))`
          INSERT INTO bills (bill_no, billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits,
                             status, charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor, due_date)
          VALUES (${`B-${fixture.accountId}-${period}`}, ${fixture.billingAccountId}, ${fixture.accountId}, ${fixture.orgUnitId}, ${period}, ${start}, ${end},
                  'Asia/Shanghai', 'CNY', 2, 'sent', 300000, 0, 0, 0, 300000, 18000, 318000, ${end})`);
      }

      const detail = (await call(manager, 'GET', `/api/accounts/${fixture.accountId}`)).body;

      expect(detail.contacts.map((item: any) => item.id)).toEqual([fixture.contactId]);
      expect(detail.contracts.map((item: any) => item.id)).toEqual([fixture.contractId]);
      expect(detail.billingAccounts.map((item: any) => item.id)).toEqual([fixture.billingAccountId]);
      expect(detail.subscriptions).toEqual([expect.objectContaining({ id: fixture.subscriptionId, productId: 'TEST-DIA-100M', monthlyFeeMinor: 300000, status: 'active' })]);
      expect(detail.openTickets.map((item: any) => item.id)).toEqual([fixture.troubleTicketId]);
      expect(detail.recentOrders.map((item: any) => item.id)).toEqual([fixture.orderId]);
      expect(detail.recentBills.map((bill: any) => [bill.period, bill.totalMinor, bill.status])).toEqual([
        ['2025-02', 318000, 'sent'],
        ['2025-01', 318000, 'sent'],
      ]);
      const order = (await call(manager, 'GET', `/api/orders/${fixture.orderId}`)).body;
      expect(order.items).toEqual([expect.objectContaining({ lineNo: 1, productId: 'TEST-DIA-100M', subscriptionId: fixture.subscriptionId })]);
    });
  });

  describe('listing', () => {
    beforeAll(async () => {
      for (const [name, tier] of [['甲公司', 'gold'], ['乙公司', 'silver'], ['丙公司', 'bronze'], ['丁公司', 'gold'], ['戊公司', 'silver']] as const) {
        await createAccountFixture(database.pool, testOrg.yuexiu, { name: `列表${name}`, tier });
      }
    });

    it('walks every page by keyset cursor, each account exactly once, in name order', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await call(manager, 'GET', `/api/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((item: any) => `${item.name}|${item.id}`));
        cursor = page.body.nextCursor;
      } while (cursor);

      const all = await database.pool.anyFirst(sql.type(z.object({ key: z.string() }))`
        SELECT name || '|' || id AS key FROM key_accounts WHERE org_unit_id IN (SELECT id FROM org_units WHERE path LIKE '/GD/GD-GZ/%') ORDER BY name, id`);
      expect(seen).toEqual(all);
    });

    it('pages through names that look like the JSON around them, splitting no account', async () => {
      const names = ['列表JSON ,{"id":"KA99999999"}', '列表JSON \\"},{"id":"', '列表JSON ","name":"x', '列表JSON \u2028 end'];
      const ids: string[] = [];
      for (const name of names) ids.push((await createAccountFixture(database.pool, testOrg.nanshan, { name })).accountId);

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await call(admin, 'GET', `/api/accounts?q=${encodeURIComponent('列表JSON')}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        expect(page.body.items).toHaveLength(1);
        seen.push(page.body.items[0].name);
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      // The hostile-input tests expect no name to hold a quote or a backslash.
      await database.pool.query(sql.unsafe`UPDATE key_accounts SET name = '列表JSON ' || id WHERE id = ANY(${sql.array(ids, 'text')})`);
    });

    it('lists each account as the summary its own page shows, key for key and in the same formats', async () => {
      const page = await call(manager, 'GET', `/api/accounts?orgUnitId=${testOrg.yuexiu}&limit=200`);
      const items: Record<string, unknown>[] = page.body.items;
      expect(items.length).toBeGreaterThanOrEqual(5);

      for (const item of items) {
        const account = (await call(manager, 'GET', `/api/accounts/${item.id as string}`)).body;
        expect(Object.keys(item).sort()).toEqual(Object.keys(keyAccountSummary.shape).sort());
        expect(item).toEqual(keyAccountSummary.parse(account));
      }
      expect(pageOf(keyAccountSummary).safeParse(page.body).success).toBe(true);
    });

    it('filters by tier, status, industry, unit and search text', async () => {
      const gold = (await call(manager, 'GET', `/api/accounts?tier=gold&orgUnitId=${testOrg.yuexiu}`)).body.items.map((item: any) => item.name);
      const search = (await call(manager, 'GET', `/api/accounts?q=${encodeURIComponent('列表丙')}`)).body.items.map((item: any) => item.name);
      const none = (await call(manager, 'GET', '/api/accounts?industry=energy')).body.items;

      expect(gold).toEqual(['列表丁公司', '列表甲公司']);
      expect(search).toEqual(['列表丙公司']);
      expect(none).toEqual([]);
    });

    it('combines a unit filter with the caller’s scope, and lists one customer manager’s accounts', async () => {
      await createAccountFixture(database.pool, testOrg.tianhe, { name: '列表经理甲', customerManagerId: managerId });
      await createAccountFixture(database.pool, testOrg.nanshan, { name: '列表经理乙' });
      const listed = async (query: string) =>
        (await call(manager, 'GET', `/api/accounts?limit=200&${query}`)).body.items.map((item: any) => item.id as string);
      const expected = (where: ReturnType<typeof sql.fragment>) =>
        database.pool.anyFirst(sql.type(z.object({ id: z.string() }))`
          SELECT a.id FROM key_accounts a JOIN org_units o ON o.id = a.org_unit_id
          WHERE o.path LIKE '/GD/GD-GZ/%' AND ${where} ORDER BY a.name, a.id`);

      // Above the caller's unit: only what the caller may see. Beside it: nothing.
      expect(await listed(`orgUnitId=${testOrg.province}`)).toEqual(await expected(sql.fragment`true`));
      expect(await listed(`orgUnitId=${testOrg.shenzhen}`)).toEqual([]);
      expect(await listed(`orgUnitId=${testOrg.tianheArea}`)).toEqual(await expected(sql.fragment`o.path LIKE '/GD/GD-GZ/GD-GZ-TH/GD-GZ-TH-A1/%'`));
      const mine = await listed(`customerManagerId=${managerId}`);
      expect(mine).toEqual(await expected(sql.fragment`a.customer_manager_id = ${managerId}`));
      expect(mine.length).toBeGreaterThan(0);
    });

    it('searches names without regard to case, in any script', async () => {
      await createAccountFixture(database.pool, testOrg.yuexiu, { name: 'Ünited Logistics 联合物流' });
      const names = async (q: string) =>
        (await call(manager, 'GET', `/api/accounts?q=${encodeURIComponent(q)}`)).body.items.map((item: any) => item.name);

      for (const q of ['ünited logistics', 'ÜNITED', 'Ünited LOGISTICS 联合', '联合物流']) expect({ q, names: await names(q) }).toEqual({ q, names: ['Ünited Logistics 联合物流'] });
      expect(await names('United')).toEqual([]);
    });

    it('treats LIKE wildcards in the search text literally', async () => {
      const percent = (await call(manager, 'GET', `/api/accounts?q=${encodeURIComponent('%')}`)).body.items;
      const underscore = (await call(manager, 'GET', `/api/accounts?q=_`)).body.items;
      expect([percent, underscore]).toEqual([[], []]);
    });

    it('refuses a cursor it did not write, an unknown filter and a limit out of range with 400', async () => {
      const forged = Buffer.from(JSON.stringify({ not: 'a cursor' })).toString('base64url');
      for (const query of [`cursor=${forged}`, 'cursor=%%%', 'colour=red', 'limit=0', 'limit=201', 'limit=ten', 'tier=gold&tier=silver']) {
        const response = await call(manager, 'GET', `/api/accounts?${query}`);
        expect({ query, status: response.status, code: response.body.error.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
      }
    });
  });

  describe('hostile input', () => {
    const injections = ["' OR '1'='1", "'; DROP TABLE key_accounts; --", '1) OR (1=1', '\\', '"', '%_%', "KA00000001' --", '\u0000'];
    const textFilters: { path: string; param: string }[] = [
      { path: '/api/accounts', param: 'q' },
      { path: '/api/accounts', param: 'orgUnitId' },
      { path: '/api/accounts', param: 'cursor' },
      { path: '/api/orders', param: 'accountId' },
      { path: '/api/orders', param: 'cursor' },
      { path: '/api/tickets', param: 'accountId' },
      { path: '/api/tickets', param: 'cursor' },
      { path: '/api/supervision-tickets', param: 'accountId' },
      { path: '/api/supervision-tickets', param: 'cursor' },
      { path: '/api/staff', param: 'q' },
      { path: '/api/staff', param: 'orgUnitId' },
      { path: '/api/staff', param: 'cursor' },
      { path: '/api/tasks/mine', param: 'processKey' },
      { path: '/api/tasks/mine', param: 'customerId' },
      { path: '/api/tasks/group', param: 'cursor' },
    ];

    it.each(textFilters)('answers SQL injection in $path?$param with no rows or a 400, and the store stays intact', async ({ path, param }) => {
      const accounts = await count('key_accounts');
      for (const attack of injections) {
        const response = await call(admin, 'GET', `${path}?${param}=${encodeURIComponent(attack)}`);
        expect([200, 400]).toContain(response.status);
        if (response.status === 200) expect(response.body.items).toEqual([]);
        else expect(response.body.error.code).toBe('VALIDATION_FAILED');
        expect(JSON.stringify(response.body)).not.toMatch(/syntax error|SELECT|relation/i);
      }
      expect(await count('key_accounts')).toBe(accounts);
    });

    it.each(textFilters)('refuses an oversized $path?$param with 400 naming the field', async ({ path, param }) => {
      const response = await call(admin, 'GET', `${path}?${param}=${'x'.repeat(2000)}`);
      expect(response.status).toBe(400);
      expect(response.body.error.details.length).toBeGreaterThan(0);
      expect(response.body.error.details.every((detail: any) => detail.field === `query.${param}`)).toBe(true);
    });

    it('refuses oversized text fields and bodies, changing nothing', async () => {
      const before = await count('audit_log');
      const longName = await call(manager, 'POST', '/api/accounts', { name: '名'.repeat(201), industry: 'retail', tier: 'gold' });
      const longNotes = await call(manager, 'POST', '/api/accounts', { name: '某公司', industry: 'retail', tier: 'gold', notes: 'x'.repeat(4001) });
      const huge = await call(manager, 'POST', '/api/accounts', JSON.stringify({ name: '某公司', industry: 'retail', tier: 'gold', notes: 'x'.repeat(2 * 1024 * 1024) }));

      expect([longName.status, longNotes.status, huge.status]).toEqual([400, 400, 413]);
      expect(longName.body.error.details).toEqual([expect.objectContaining({ field: 'body.name' })]);
      expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await count('audit_log')).toBe(before);
    });

    it('stores hostile text as plain text', async () => {
      const name = "Robert'); DROP TABLE key_accounts; -- <script>";
      const created = await call(manager, 'POST', '/api/accounts', { name, industry: 'retail', tier: 'gold' });
      expect(created.status).toBe(201);
      expect((await call(manager, 'GET', `/api/accounts/${created.body.id}`)).body.name).toBe(name);
    });

    it('refuses ids that are not ids, in paths too', async () => {
      for (const id of ["KA1' OR '1'='1", '../etc/passwd', 'x'.repeat(65)]) {
        const response = await call(manager, 'GET', `/api/accounts/${encodeURIComponent(id)}`);
        expect(response.status).toBe(400);
        expect(response.body.error.details[0].field).toBe('params.id');
      }
    });
  });
});
