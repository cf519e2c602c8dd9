import { sql } from 'slonik';
import { z } from 'zod';
import { deployProcessFiles } from '../../../api/engine/definitions';
import { createTestStaff, login, seedOrgTree, type Session, type TestStaff, testOrg } from '../../support/auth';
import { eventually, seedFinanceContacts, seedOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan } from '../billing/operator-fixture';
import { recordReplayHistory } from '../../support/replay-histories';

/**
 * A campaign to a segment: drafted by a customer manager, approved by a supervisor, then one SMS
 * per opted-in contact of the segment's accounts, none to the contact who opted out, none outside
 * the segment, each in the ledger with the gateway's message id; a refused campaign sends nothing.
 */
describe('an SMS campaign', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let manager: Session & { staff: TestStaff };
  let supervisor: Session & { staff: TestStaff };
  let gold: string[];
  let contacts: Record<string, string>;

  const call = async (session: Session, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${url}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  const as = async (roles: TestStaff['roles'], orgUnitId: string) => {
    const staff = await createTestStaff(database.pool, { roles, orgUnitId });
    return { ...(await login(stack.api.url, staff.username, staff.password)), staff };
  };
  const approveTask = (workflowId: string) =>
    eventually(
      () => database.pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM human_tasks WHERE workflow_id = ${workflowId} AND node_id = 'approve' AND status = 'open'`),
      60_000,
      `${workflowId} to wait for approval`,
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    await deployProcessFiles(database.pool);
    // Three gold accounts and one silver in Tianhe, one gold in Shenzhen: a finance contact each.
    gold = (await seedOperator(database.pool, { accounts: 3, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'M' })).accountIds;
    const silver = (await seedOperator(database.pool, { accounts: 1, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'S' })).accountIds;
    await database.pool.query(sql.type(z.object({}))`UPDATE key_accounts SET tier = 'silver' WHERE id = ${silver[0]!}`);
    const shenzhen = (await seedOperator(database.pool, { accounts: 1, subscriptionsPerAccount: 1, orgUnitId: testOrg.shenzhen, plan: cyclePlan, idPrefix: 'Z' })).accountIds;
    await seedFinanceContacts(database.pool, [...gold, ...silver], testOrg.tianhe);
    await seedFinanceContacts(database.pool, shenzhen, testOrg.shenzhen);
    contacts = Object.fromEntries(
      (await database.pool.any(sql.type(z.object({ account_id: z.string(), id: z.string() }))`SELECT account_id, id FROM contacts`)).map((row) => [row.account_id, row.id]),
    );
    manager = await as(['customer_manager'], testOrg.guangzhou);
    supervisor = await as(['supervisor'], testOrg.guangzhou);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it('refuses bad drafts, another scope\'s segment and another scope\'s contact, changing nothing', async () => {
    expect((await call(manager, 'POST', '/api/campaigns', { name: '', text: 'x'.repeat(501), segment: { tiers: ['platinum'] }, ratePerSecond: 0 })).status).toBe(400);
    expect((await call(manager, 'POST', '/api/campaigns', { name: 'Spring', text: 'Hello', segment: { orgUnitId: testOrg.shenzhen } })).status).toBe(403);
    expect((await call(manager, 'POST', `/api/contacts/${contacts[Object.keys(contacts).find((id) => id.startsWith('KAZ'))!]}/sms-opt-out`, { optOut: true })).status).toBe(404);
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM campaigns`)).toBe(0);
    expect(await database.pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM contacts WHERE sms_opt_out`)).toBe(0);
  });

  it('sends one SMS per opted-in contact of the segment once approved, and none to those who opted out', async () => {
    expect((await call(manager, 'POST', `/api/contacts/${contacts[gold[1]!]}/sms-opt-out`, { optOut: true })).body).toEqual({ contactId: contacts[gold[1]!], smsOptOut: true });
    const drafted = await call(manager, 'POST', '/api/campaigns', { name: '春节问候', text: '新春快乐，感谢一年来的信任。', segment: { tiers: ['gold'] }, ratePerSecond: 20 });
    expect(drafted.status).toBe(201);
    expect(drafted.body).toMatchObject({ status: 'awaiting_approval', orgUnitId: testOrg.guangzhou, estimate: { recipients: 2, optedOut: 1 } });
    const workflowId = drafted.body.processInstanceId as string;
    // The drafter is no supervisor: the approval is not theirs to give.
    const task = await approveTask(workflowId);
    expect((await call(manager, 'POST', `/api/tasks/${encodeURIComponent(task)}/complete`, { variables: { approved: true } })).status).not.toBe(200);
    expect((await call(supervisor, 'POST', `/api/tasks/${encodeURIComponent(task)}/complete`, { variables: { approved: true } })).status).toBe(200);

    const sent = await eventually(async () => {
      const campaign = await call(manager, 'GET', `/api/campaigns/${drafted.body.id}`);
      return campaign.body.status === 'sent' ? campaign.body : null;
    }, 60_000, 'the campaign to be sent');
    expect(sent).toMatchObject({ recipients: 2, skippedOptedOut: 1, sent: 2, failed: 0, decidedBy: supervisor.staff.username });
    const ledger = await call(manager, 'GET', `/api/campaigns/${drafted.body.id}/messages`);
    expect(ledger.body.items.map((item: { accountId: string; status: string }) => [item.accountId, item.status])).toEqual([
      [gold[0], 'sent'],
      [gold[2], 'sent'],
    ]);
    for (const item of ledger.body.items) expect(item.messageId).toEqual(expect.any(String));
    const handle = stack.api.temporal.workflow.getHandle(workflowId);
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000, 'the instance to complete');
    await recordReplayHistory('campaign', handle);
  });

  it('sends nothing when the supervisor refuses', async () => {
    const drafted = await call(manager, 'POST', '/api/campaigns', { name: 'Refused', text: 'Nothing', segment: {} });
    const task = await approveTask(drafted.body.processInstanceId);
    expect((await call(supervisor, 'POST', `/api/tasks/${encodeURIComponent(task)}/complete`, { variables: { approved: false } })).status).toBe(200);
    const refused = await eventually(async () => {
      const campaign = await call(manager, 'GET', `/api/campaigns/${drafted.body.id}`);
      return campaign.body.status === 'rejected' ? campaign.body : null;
    }, 60_000, 'the campaign to be refused');
    expect(refused).toMatchObject({ sent: 0, recipients: null });
    expect((await call(manager, 'GET', `/api/campaigns/${drafted.body.id}/messages`)).body.items).toEqual([]);
  });
});
