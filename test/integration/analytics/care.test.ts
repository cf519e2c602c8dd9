import { DateTime } from 'luxon';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployProcessFiles } from '../../../api/engine/definitions';
import { startInstance } from '../../../api/engine/instances';
import { findDefinition } from '../../../db/definitions';
import { createTestStaff, login, seedOrgTree, type Session, testOrg } from '../../support/auth';
import { eventually, seedFinanceContacts, seedOperator } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { cyclePlan } from '../billing/operator-fixture';
import { recordReplayHistory } from '../../support/replay-histories';

/**
 * Care greetings (亲情服务): the daily process greets the key contacts whose birthday or
 * anniversary is today, once a year each — a second run of the same day sends nothing more — and
 * never one who opted out of SMS.
 */
describe('the care greetings', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let manager: Session;
  let contacts: readonly string[];
  const today = DateTime.now().setZone('Asia/Shanghai');

  const put = (url: string, body: unknown) => fetch(`${stack.api.url}${url}`, { method: 'PUT', headers: manager.headers, body: JSON.stringify(body) });
  const runDay = async (businessKey: string) => {
    const definition = (await findDefinition(database.pool, 'care-greetings'))!;
    const started = await startInstance(stack.api.temporal, stack.config.KEYFLOW_TASK_QUEUE, {
      definition: { ...definition.model, version: definition.version },
      businessKey,
      variables: {},
      startedBy: 'test',
    });
    const handle = stack.api.temporal.workflow.getHandle(started.processInstanceId);
    await eventually(async () => (await handle.describe()).status.name === 'COMPLETED', 60_000, `${started.processInstanceId} to complete`);
    return handle;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database), database);
    await seedOrgTree(database.pool);
    await deployProcessFiles(database.pool);
    const accounts = (await seedOperator(database.pool, { accounts: 4, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'C' })).accountIds;
    await seedFinanceContacts(database.pool, accounts, testOrg.tianhe);
    contacts = await database.pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM contacts ORDER BY account_id`);
    const staff = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.guangzhou });
    manager = await login(stack.api.url, staff.username, staff.password);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it('greets today\'s birthdays and anniversaries once, and no one who opted out', async () => {
    const born = today.minus({ years: 40 }).toISODate()!;
    const signed = today.minus({ years: 3 }).toISODate()!;
    const tomorrow = today.plus({ days: 1 }).minus({ years: 30 }).toISODate()!;
    // 1: birthday today; 2: anniversary today, but opted out; 3: birthday tomorrow; 4: both today.
    expect((await put(`/api/contacts/${contacts[0]}/care-dates`, { birthday: born, anniversary: null })).status).toBe(200);
    expect((await put(`/api/contacts/${contacts[1]}/care-dates`, { birthday: null, anniversary: signed })).status).toBe(200);
    expect((await put(`/api/contacts/${contacts[2]}/care-dates`, { birthday: tomorrow, anniversary: null })).status).toBe(200);
    expect((await put(`/api/contacts/${contacts[3]}/care-dates`, { birthday: born, anniversary: signed })).status).toBe(200);
    expect((await put(`/api/contacts/${contacts[3]}/care-dates`, { birthday: '2025-02-30', anniversary: null })).status).toBe(400);
    await fetch(`${stack.api.url}/api/contacts/${contacts[1]}/sms-opt-out`, { method: 'POST', headers: manager.headers, body: JSON.stringify({ optOut: true }) });

    const handle = await runDay(`${today.toISODate()}-a`);
    const ledger = () =>
      database.pool.any(sql.type(z.object({ contact_id: z.string(), occasion: z.string(), status: z.string(), message_id: z.string().nullable() }))`
        SELECT contact_id, occasion, status, message_id FROM care_greetings ORDER BY contact_id, occasion`);
    const first = await ledger();
    expect(first.map((row) => [row.contact_id, row.occasion, row.status])).toEqual([
      [contacts[0], 'birthday', 'sent'],
      [contacts[3], 'anniversary', 'sent'],
      [contacts[3], 'birthday', 'sent'],
    ]);
    for (const row of first) expect(row.message_id).toEqual(expect.any(String));
    await recordReplayHistory('care-greetings', handle);
    // The same day again: nothing new.
    const again = await runDay(`${today.toISODate()}-b`);
    expect(await ledger()).toEqual(first);
    expect((await again.describe()).status.name).toBe('COMPLETED');
  });
});
