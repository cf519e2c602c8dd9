import { randomBytes } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { startInstance } from '../../../api/engine/instances';
import { startApi, type RunningApi } from '../../../api/server';
import { roles, type Role } from '../../../db/staff';
import { processInstanceId } from '../../../workflows/contracts';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createAccountFixture, insertTask, type AccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';
import { buildModel } from '../../workflow/engine/harness';

type Operation = { 'x-roles'?: Role[] };

/**
 * Every route of the OpenAPI document whose path names one thing (`/api/…/{id}…`), called by each
 * role it admits from another city, for a thing of Tianhe: 404 or 403, and nothing changes.
 * A path the document grows must be placed here — as a resource with a fixture, or as
 * operator-wide — and each write needs a valid body, or the build fails.
 */
describe('org scope at every door: each route × each admitted role × another org unit', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let fixture: AccountFixture;
  let ids: Record<string, string>;
  /** Someone of Tianhe, who does see the fixtures. */
  let own: Session;
  const sessions = new Map<Role, Session>();
  const run = randomBytes(4).toString('hex');
  const workflowId = processInstanceId('security-scope', `S-${run}`);

  /** The resources a path parameter names, and the roles that see them across units by design. */
  const scopedResources: Record<string, { id: () => string; seesAll?: Role[] }> = {
    '/api/accounts/{id}': { id: () => fixture.accountId },
    '/api/contacts/{id}': { id: () => fixture.contactId },
    '/api/orders/{id}': { id: () => fixture.orderId },
    '/api/tickets/{id}': { id: () => fixture.troubleTicketId },
    '/api/troubleTicket/{id}': { id: () => fixture.troubleTicketId },
    '/api/productOrder/{id}': { id: () => fixture.orderId },
    '/api/supervision-tickets/{id}': { id: () => fixture.supervisionTicketId },
    '/api/staff/{id}': { id: () => ids.staff! },
    '/api/tasks/{id}': { id: () => ids.task! },
    '/api/billing/bills/{id}': { id: () => ids.bill! },
    '/api/billing/rejections/{id}': { id: () => ids.rejection! },
    '/api/campaigns/{id}': { id: () => ids.campaign! },
    // ops and admins watch the engine for the whole operator (README, "Process engine API").
    '/api/process-instances/{id}': { id: () => workflowId, seesAll: ['admin', 'ops'] },
  };
  /**
   * Paths whose things belong to no org unit: models and decisions, products and prices, bill runs, ops batches, instances and process statistics (ops role only),
   * and broadcast signals (each is its sender's: others but ops and admins get 404 — messages-and-signals.test.ts).
   */
  const operatorWide = [
    '/api/process-definitions/{key}',
    '/api/decision-definitions/{key}',
    '/api/products/{id}',
    '/api/billing/runs/{id}',
    '/api/ops/instances/{workflowId}',
    '/api/ops/batches/{batchId}',
    '/api/ops/processes/{processKey}',
    '/api/signals/{signalId}',
  ];

  /** A body each write would accept, so that only the scope can refuse it. */
  const bodies: Record<string, unknown> = {
    'patch /api/accounts/{id}': { version: 1, name: '改名客户' },
    'put /api/accounts/{id}/credit-list': { version: 1, creditList: 'black', reason: 'test' },
    'post /api/accounts/{id}/contacts': { name: '李四', role: 'decision_maker', isKeyPerson: false },
    'patch /api/contacts/{id}': { version: 1, name: '李四' },
    'delete /api/contacts/{id}': undefined,
    'post /api/contacts/{id}/sms-opt-out': { optOut: true },
    'put /api/contacts/{id}/care-dates': { birthday: '1980-01-01', anniversary: null },
    'patch /api/staff/{id}': { version: 1, active: false },
    'post /api/billing/rejections/{id}/resubmit': { corrections: {} },
    'post /api/billing/rejections/{id}/discard': undefined,
    'post /api/process-instances/{id}/messages': { name: 'nothing' },
    'post /api/process-instances/{id}/cancel': { reason: 'test' },
    'post /api/tasks/{id}/claim': undefined,
    'post /api/tasks/{id}/unclaim': undefined,
    'post /api/tasks/{id}/assign': { assignee: null, version: 0 },
    'post /api/tasks/{id}/hand-on': { assignee: 'someone', version: 0 },
    'post /api/tasks/{id}/complete': { variables: { approved: true } },
    'post /api/troubleTicket/{id}/actions': { action: 'note', text: 'test' },
    'patch /api/productOrder/{id}': { state: 'cancelled', cancellationReason: 'test' },
    'post /api/supervision-tickets/{id}/nodes/{nodeId}/pass-down': { units: ['GD-GZ-TH-A1'] },
    'post /api/supervision-tickets/{id}/nodes/{nodeId}/reports': { kind: 'progress', text: 'test' },
    'post /api/supervision-tickets/{id}/nodes/{nodeId}/review': { accepted: true },
    'post /api/supervision-tickets/{id}/extend': { deadline: '2099-01-01T00:00:00Z', reason: 'test' },
    'post /api/supervision-tickets/{id}/visits': { visitedOn: '2026-01-05', notes: 'test' },
  };

  /** Query strings a route needs besides its path. */
  const queries: Record<string, string> = { 'delete /api/contacts/{id}': '?version=1' };

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    for (const role of roles) sessions.set(role, await loginAs(api.url, database.pool, [role], testOrg.nanshan));
    own = await loginAs(api.url, database.pool, ['customer_manager', 'billing_clerk'], testOrg.tianhe);

    fixture = await createAccountFixture(database.pool, testOrg.tianhe);
    const staff = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.tianhe });
    const task = await insertTask(database.pool, { candidateGroups: [...roles], orgUnitId: testOrg.tianhe, customerId: fixture.accountId });
    const one = z.object({ id: z.coerce.string() });
    const bill = await database.pool.oneFirst(sql.type(one)`
      INSERT INTO bills (billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits,
                         charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor)
      VALUES (${fixture.billingAccountId}, ${fixture.accountId}, ${testOrg.tianhe}, '2099-01', '2099-01-01', '2099-02-01', 'Asia/Shanghai', 'CNY', 2,
              100, 0, 0, 0, 100, 0, 100)
      RETURNING id`);
    const rejection = await database.pool.oneFirst(sql.type(one)`
      INSERT INTO usage_rejections (raw, reason_code, reason, billing_account_id, org_unit_id)
      VALUES ('{}'::jsonb, 'UNKNOWN_SUBSCRIBER', 'test', ${fixture.billingAccountId}, ${testOrg.tianhe})
      RETURNING id`);
    const campaign = await database.pool.oneFirst(sql.type(one)`
      INSERT INTO campaigns (name, text, segment, org_unit_id, rate_per_second, created_by) VALUES ('test', 'test', '{}', ${testOrg.tianhe}, 1, 'test') RETURNING id`);
    ids = { staff: String(staff.id), task, bill, rejection, campaign };
    // No worker polls this queue: the instance only has to exist, in Tianhe.
    const definition = buildModel('security-scope', [{ id: 'start', type: 'startEvent' }, { id: 'end', type: 'endEvent' }], [['f1', 'start', 'end']]);
    await startInstance(api.temporal, `security-scope-${run}`, { definition, businessKey: `S-${run}`, variables: {}, startedBy: 'test', orgUnitId: testOrg.tianhe });
  });

  afterAll(async () => {
    await api?.temporal.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
    await api?.close();
    await database?.drop();
  });

  it('refuses every admitted role of another city on every route that names a thing, and changes nothing', async () => {
    const document = (await (await fetch(`${api.url}/api/openapi.json`, { headers: sessions.get('admin')!.headers })).json()) as { paths: Record<string, Record<string, Operation>> };
    const audited = () => database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`SELECT action || ' ' || entity_type || ' ' || entity_id AS action FROM audit_log ORDER BY id`);
    const auditBefore = await audited();
    const unplaced: string[] = [];
    const leaks: string[] = [];
    let checked = 0;

    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.includes('{')) continue;
      const resourcePath = path.slice(0, path.indexOf('}') + 1);
      if (operatorWide.includes(resourcePath)) continue;
      const resource = scopedResources[resourcePath];
      for (const [method, operation] of Object.entries(operations)) {
        const key = `${method} ${path}`;
        if (!resource || (method !== 'get' && !(key in bodies))) {
          unplaced.push(key);
          continue;
        }
        const url = `${`${api.url}${resourcePath.replace(/\{[^}]+\}/, encodeURIComponent(resource.id()))}${path.slice(resourcePath.length)}`.replace(/\{[^}]+\}/g, 'X1')}${queries[key] ?? ''}`;
        const admitted = (operation['x-roles'] ?? roles).filter((role) => !(resource.seesAll ?? []).includes(role));
        for (const role of admitted) {
          const body = bodies[key];
          const response = await fetch(url, { method: method.toUpperCase(), headers: sessions.get(role)!.headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5_000) }).catch((error: { name: string }) => error);
          checked++;
          if (!(response instanceof Response)) leaks.push(`${method.toUpperCase()} ${path} as ${role}: ${response.name}`);
          else if (response.status !== 404 && response.status !== 403) leaks.push(`${method.toUpperCase()} ${path} as ${role}: ${response.status} ${(await response.text()).slice(0, 200)}`);
          else await response.arrayBuffer();
        }
      }
    }

    // then, while the same things are there for their own unit
    expect((await fetch(`${api.url}/api/accounts/${fixture.accountId}`, { headers: own.headers })).status).toBe(200);
    expect((await fetch(`${api.url}/api/billing/bills/${ids.bill}`, { headers: own.headers })).status).toBe(200);
    expect((await fetch(`${api.url}/api/tasks/${encodeURIComponent(ids.task!)}`, { headers: own.headers })).status).toBe(200);
    expect((await fetch(`${api.url}/api/process-instances/${encodeURIComponent(workflowId)}`, { headers: own.headers })).status).toBe(200);
    expect(unplaced).toEqual([]);
    expect(leaks).toEqual([]);
    expect(checked).toBeGreaterThan(50);
    expect(await audited()).toEqual(auditBefore);
    const task = await database.pool.one(sql.type(z.object({ status: z.string(), assignee: z.string().nullable() }))`SELECT status, assignee FROM human_tasks WHERE id = ${ids.task!}`);
    expect(task).toEqual({ status: 'open', assignee: null });
    expect((await api.temporal.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
  });
});
