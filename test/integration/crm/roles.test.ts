import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import type { Role } from '../../../api/auth';
import { roles } from '../../../db/staff';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createAccountFixture, ensureTestProduct, insertTask, type AccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

const everyone = [...roles];
const customerReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk', 'ops'];
const accountWriters: Role[] = ['admin', 'supervisor', 'customer_manager'];
const reportReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'billing_clerk'];

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * The access policy, route by route: which roles each admits. Requests are built fresh per call
 * (versions move, ids must be unique), so an allowed call can really succeed.
 */
/**
 * A route of the table: who may call it, and a call built fresh. `admittedAs` is what an admitted
 * caller gets when the call cannot succeed on the fixture (an account nobody has scored yet): past
 * the role check, not found, where a refused role gets 403.
 */
interface PolicyEntry {
  route: string;
  allowed: Role[];
  call: () => Promise<Call>;
  admittedAs?: number;
}

function policy(f: () => AccountFixture, read: (path: string) => Promise<any>, newTask: () => Promise<{ id: string; version: number }>): PolicyEntry[] {
  const unique = () => randomBytes(3).toString('hex').toUpperCase();
  return [
    { route: 'GET /api/accounts', allowed: customerReaders, call: async () => ({ method: 'GET', path: '/api/accounts' }) },
    {
      route: 'POST /api/accounts',
      allowed: accountWriters,
      call: async () => ({ method: 'POST', path: '/api/accounts', body: { name: `新客户 ${unique()}`, industry: 'retail', tier: 'bronze' } }),
    },
    { route: 'GET /api/accounts/:id', allowed: customerReaders, call: async () => ({ method: 'GET', path: `/api/accounts/${f().accountId}` }) },
    {
      route: 'PATCH /api/accounts/:id',
      allowed: accountWriters,
      call: async () => ({
        method: 'PATCH',
        path: `/api/accounts/${f().accountId}`,
        body: { version: (await read(`/api/accounts/${f().accountId}`)).version, notes: `note ${unique()}` },
      }),
    },
    {
      route: 'PUT /api/accounts/:id/credit-list',
      allowed: ['admin', 'supervisor', 'billing_clerk'],
      call: async () => ({
        method: 'PUT',
        path: `/api/accounts/${f().accountId}/credit-list`,
        body: { version: (await read(`/api/accounts/${f().accountId}`)).version, creditList: 'grey', reason: '逾期未缴' },
      }),
    },
    { route: 'GET /api/accounts/:id/contacts', allowed: customerReaders, call: async () => ({ method: 'GET', path: `/api/accounts/${f().accountId}/contacts` }) },
    {
      route: 'POST /api/accounts/:id/contacts',
      allowed: accountWriters,
      call: async () => ({ method: 'POST', path: `/api/accounts/${f().accountId}/contacts`, body: { name: '李娜', role: 'technical' } }),
    },
    {
      route: 'PATCH /api/contacts/:id',
      allowed: accountWriters,
      call: async () => {
        const contact = (await read(`/api/accounts/${f().accountId}/contacts`)).items.find((item: any) => item.id === f().contactId);
        return { method: 'PATCH', path: `/api/contacts/${f().contactId}`, body: { version: contact.version, title: `经理 ${unique()}` } };
      },
    },
    {
      route: 'DELETE /api/contacts/:id',
      allowed: accountWriters,
      call: async () => {
        const contacts = (await read(`/api/accounts/${f().accountId}/contacts`)).items.filter((item: any) => item.id !== f().contactId);
        const victim = contacts[0] ?? { id: 'CT99999999', version: 1 };
        return { method: 'DELETE', path: `/api/contacts/${victim.id}?version=${victim.version}` };
      },
    },
    { route: 'GET /api/accounts/:id/audit', allowed: ['admin', 'supervisor', 'customer_manager'], call: async () => ({ method: 'GET', path: `/api/accounts/${f().accountId}/audit` }) },
    { route: 'GET /api/accounts/:id/value', allowed: reportReaders, admittedAs: 404, call: async () => ({ method: 'GET', path: `/api/accounts/${f().accountId}/value` }) },
    { route: 'GET /api/accounts/:id/churn', allowed: reportReaders, admittedAs: 404, call: async () => ({ method: 'GET', path: `/api/accounts/${f().accountId}/churn` }) },
    { route: 'POST /api/contacts/:id/sms-opt-out', allowed: accountWriters, call: async () => ({ method: 'POST', path: `/api/contacts/${f().contactId}/sms-opt-out`, body: { optOut: false } }) },
    { route: 'PUT /api/contacts/:id/care-dates', allowed: accountWriters, call: async () => ({ method: 'PUT', path: `/api/contacts/${f().contactId}/care-dates`, body: { birthday: null, anniversary: null } }) },
    { route: 'GET /api/products', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/products' }) },
    { route: 'GET /api/products/:id', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/products/TEST-DIA-100M' }) },
    {
      route: 'POST /api/products',
      allowed: ['admin'],
      call: async () => ({ method: 'POST', path: '/api/products', body: { id: `P-${unique()}`, name: '云专线', category: 'cloud' } }),
    },
    {
      route: 'PATCH /api/products/:id',
      allowed: ['admin'],
      call: async () => ({ method: 'PATCH', path: '/api/products/TEST-DIA-100M', body: { version: (await read('/api/products/TEST-DIA-100M')).version, description: unique() } }),
    },
    {
      route: 'POST /api/products/:id/tariffs',
      allowed: ['admin', 'billing_clerk'],
      call: async () => {
        const latest = (await read('/api/products/TEST-DIA-100M')).tariffs[0];
        const validFrom = new Date(Date.parse(latest.validFrom) + 86_400_000).toISOString();
        return { method: 'POST', path: '/api/products/TEST-DIA-100M/tariffs', body: { name: '调价', validFrom, monthlyFeeMinor: 280_000 } };
      },
    },
    { route: 'GET /api/orders', allowed: customerReaders, call: async () => ({ method: 'GET', path: '/api/orders' }) },
    { route: 'GET /api/orders/:id', allowed: customerReaders, call: async () => ({ method: 'GET', path: `/api/orders/${f().orderId}` }) },
    { route: 'GET /api/tickets', allowed: ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'ops'], call: async () => ({ method: 'GET', path: '/api/tickets' }) },
    {
      route: 'GET /api/tickets/:id',
      allowed: ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'ops'],
      call: async () => ({ method: 'GET', path: `/api/tickets/${f().troubleTicketId}` }),
    },
    { route: 'GET /api/supervision-tickets', allowed: ['admin', 'supervisor', 'customer_manager', 'dispatcher'], call: async () => ({ method: 'GET', path: '/api/supervision-tickets' }) },
    {
      route: 'GET /api/supervision-tickets/:id',
      allowed: ['admin', 'supervisor', 'customer_manager', 'dispatcher'],
      call: async () => ({ method: 'GET', path: `/api/supervision-tickets/${f().supervisionTicketId}` }),
    },
    { route: 'GET /api/org-units', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/org-units' }) },
    {
      route: 'POST /api/org-units',
      allowed: ['admin'],
      call: async () => ({ method: 'POST', path: '/api/org-units', body: { id: `GD-GZ-TH-${unique()}`, parentId: testOrg.tianhe, name: '新片区' } }),
    },
    { route: 'GET /api/staff', allowed: ['admin', 'supervisor'], call: async () => ({ method: 'GET', path: '/api/staff' }) },
    { route: 'GET /api/staff/:id', allowed: ['admin', 'supervisor'], call: async () => ({ method: 'GET', path: `/api/staff/${(await read('/api/auth/me')).id}` }) },
    {
      route: 'POST /api/staff',
      allowed: ['admin'],
      call: async () => ({
        method: 'POST',
        path: '/api/staff',
        body: { username: `new-${unique().toLowerCase()}`, displayName: '新员工', orgUnitId: testOrg.tianhe, roles: ['dispatcher'], password: 'a long enough password' },
      }),
    },
    {
      route: 'PATCH /api/staff/:id',
      allowed: ['admin'],
      call: async () => {
        const me = await read('/api/auth/me');
        const staff = (await read(`/api/staff?role=dispatcher&limit=1`).catch(() => ({ items: [] }))).items?.[0] ?? { id: me.id, version: 1 };
        return { method: 'PATCH', path: `/api/staff/${staff.id}`, body: { version: staff.version, mobile: '13900000000' } };
      },
    },
    { route: 'GET /api/tasks/mine', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/tasks/mine' }) },
    { route: 'GET /api/tasks/group', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/tasks/group' }) },
    { route: 'GET /api/tasks/team', allowed: ['supervisor', 'admin'], call: async () => ({ method: 'GET', path: '/api/tasks/team' }) },
    {
      route: 'POST /api/tasks/:id/assign',
      allowed: ['supervisor', 'admin'],
      call: async () => {
        const task = await newTask();
        return { method: 'POST', path: `/api/tasks/${encodeURIComponent(task.id)}/assign`, body: { assignee: null, version: task.version } };
      },
    },
    { route: 'GET /api/openapi.json', allowed: everyone, call: async () => ({ method: 'GET', path: '/api/openapi.json' }) },
  ];
}

describe('roles: each route admits the roles it names and refuses the rest', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let fixture: AccountFixture;
  const sessions = new Map<Role, Session>();
  let admin: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    await ensureTestProduct(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    for (const role of roles) sessions.set(role, await loginAs(api.url, database.pool, [role], testOrg.province));
    admin = sessions.get('admin')!;
    fixture = await createAccountFixture(database.pool, testOrg.tianhe);
    // Spare contacts for the DELETE calls of the allowed roles, and a dispatcher to PATCH.
    for (let index = 0; index < 4; index += 1) {
      await fetch(`${api.url}/api/accounts/${fixture.accountId}/contacts`, { method: 'POST', headers: admin.headers, body: JSON.stringify({ name: `备用联系人${index}` }) });
    }
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const read = async (path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: admin.headers });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json() as Promise<any>;
  };
  const auditCount = () => database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) AS count FROM audit_log`);

  const newTask = async () => {
    const id = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
    return { id, version: await database.pool.oneFirst(sql.type(z.object({ version: z.number() }))`SELECT version FROM human_tasks WHERE id = ${id}`) };
  };
  const table = policy(() => fixture, read, newTask);
  /** The API areas this table speaks for: every route under them has a row, or a reason below. */
  const coveredPrefixes = ['/api/accounts', '/api/contacts', '/api/products', '/api/orders', '/api/tickets', '/api/supervision-tickets', '/api/org-units', '/api/staff', '/api/tasks', '/api/openapi.json'];
  /** Routes under those areas whose role and scope checks a test of their own covers, by that test. */
  const inbox = 'open to every role, scoped by candidate group and org subtree: crm/tasks.test.ts, crm/inbox-push.test.ts, security/org-scope-table.test.ts';
  const supervision = 'roles refused in supervision/supervision-api.test.ts, org scope in security/org-scope-table.test.ts';
  const roleChecksElsewhere: Record<string, string> = {
    'GET /api/tasks/counts': inbox,
    'GET /api/tasks/events': inbox,
    'GET /api/tasks/{id}': inbox,
    'GET /api/tasks/{id}/candidates': inbox,
    'GET /api/tasks/{id}/history': inbox,
    'POST /api/tasks/{id}/claim': inbox,
    'POST /api/tasks/{id}/unclaim': inbox,
    'POST /api/tasks/{id}/complete': inbox,
    'POST /api/tasks/{id}/hand-on': inbox,
    'POST /api/supervision-tickets': supervision,
    'GET /api/supervision-tickets/stats': supervision,
    'GET /api/supervision-tickets/{id}/tree': supervision,
    'POST /api/supervision-tickets/{id}/extend': supervision,
    'POST /api/supervision-tickets/{id}/nodes/{nodeId}/pass-down': supervision,
    'POST /api/supervision-tickets/{id}/nodes/{nodeId}/reports': supervision,
    'POST /api/supervision-tickets/{id}/nodes/{nodeId}/review': supervision,
    'POST /api/supervision-tickets/{id}/visits': supervision,
  };

  it('covers every route of the CRM, admin and inbox API that the OpenAPI document lists', async () => {
    const document = (await read('/api/openapi.json')) as { paths: Record<string, Record<string, unknown>> };
    const listed = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .filter((route) => coveredPrefixes.some((prefix) => route.split(' ')[1]!.startsWith(prefix)));
    const inTable = table.map((entry) => entry.route.replace(/:(\w+)/g, '{$1}'));
    // A route added without a row here (or one whose role check lives elsewhere, said so below) fails.
    expect(listed.filter((route) => !inTable.includes(route) && !(route in roleChecksElsewhere)).sort()).toEqual([]);
    expect(inTable.filter((route) => !listed.includes(route))).toEqual([]);
  });

  for (const entry of table) {
    describe(entry.route, () => {
      for (const role of roles) {
        const allowed = entry.allowed.includes(role);
        it(`${allowed ? 'admits' : 'refuses'} ${role}`, async () => {
          const call = await entry.call();
          const before = await auditCount();

          const response = await fetch(`${api.url}${call.path}`, {
            method: call.method,
            headers: sessions.get(role)!.headers,
            body: call.body === undefined ? undefined : JSON.stringify(call.body),
          });
          const body = response.status === 204 ? null : ((await response.json()) as any);

          if (allowed && entry.admittedAs !== undefined) {
            expect(`${response.status} ${body?.error?.code}`).toBe(`${entry.admittedAs} NOT_FOUND`);
          } else if (allowed) {
            // A refusal's body says why, which is what a failing run should show.
            expect(response.status >= 200 && response.status < 300 ? 'succeeded' : `${response.status} ${JSON.stringify(body)}`).toBe('succeeded');
          } else {
            expect(response.status).toBe(403);
            expect(body.error).toMatchObject({ code: 'FORBIDDEN', details: { requiredRoles: entry.allowed } });
            expect(await auditCount()).toBe(before);
          }
        });
      }
    });
  }

  it('refuses every route but login and health without a session', async () => {
    for (const entry of table) {
      const call = await entry.call();
      const response = await fetch(`${api.url}${call.path}`, {
        method: call.method,
        headers: { 'content-type': 'application/json' },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
      });
      expect({ route: entry.route, status: response.status }).toEqual({ route: entry.route, status: 401 });
    }
  });

  it('lets any staff member see and claim a task of their group, whatever their role', async () => {
    const taskId = await insertTask(database.pool, { candidateGroups: ['designer'], orgUnitId: testOrg.province });
    const response = await fetch(`${api.url}/api/tasks/${encodeURIComponent(taskId)}/claim`, { method: 'POST', headers: sessions.get('designer')!.headers });
    expect(response.status).toBe(200);
  });
});
