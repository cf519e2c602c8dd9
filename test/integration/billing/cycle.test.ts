import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { BulkDatabase } from '../../../activities/billing/bulk';
import { recordPayment } from '../../../activities/billing/payments';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { createProvisioningClient } from '../../../activities/external/provisioning';
import { endpointFor, simulatorUrl } from '../../../activities/external';
import { messageSignalName, moveTokenUpdateName, processInstanceId, stateQueryName, type ProcessInstanceState } from '../../../workflows/contracts';
import { completeOpenTask, eventually, startBillingCycle } from '../../support/billing';
import { simControlHeaders } from '../../support/external';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { billsOf, dropUsageFiles, expectedBills, seedCycleOperator, type CycleOperator } from './operator-fixture';

/**
 * A whole billing cycle on real Temporal and PostgreSQL, run by the shipped BPMN model: collection
 * (a mediation file with good, bad and duplicate records, a half-written file, the simulator's
 * feed), rating in batches, the clerk's approval, issue, publishing through the simulator, and
 * dunning of the bills left unpaid — checked against bills worked out by hand.
 */
describe('the monthly billing cycle', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let bulk: BulkDatabase;
  let operator: CycleOperator;
  let inbox: string;
  let cycle: WorkflowHandle;

  beforeAll(async () => {
    database = await createTestDatabase();
    inbox = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-cycle-')), 'inbox');
    stack = await startTestStack(testConfig(database, { KEYFLOW_USAGE_INBOX: inbox }), database);
    bulk = new BulkDatabase(database.url);
    operator = await seedCycleOperator(database.pool);
    await dropUsageFiles(inbox, operator);
    // The simulator's feed is shared by every test file: read only what this file puts in.
    const pushed = await fetch(`${simulatorUrl(stack.config)}/sim/usage`, { method: 'POST', headers: { ...simControlHeaders(), 'content-type': 'application/json' }, body: JSON.stringify({ records: operator.feedRecords }) });
    const { firstCursor } = (await pushed.json()) as { firstCursor: string };
    await database.pool.query(sql.type(z.object({}))`INSERT INTO usage_feed_cursors (feed, cursor) VALUES ('usage', ${String(Number(firstCursor) - 1)})`);
    await deployBillingProcesses(database.pool, 'test');
  });

  afterAll(async () => {
    for (const handle of [cycle, ...dunning.values()]) await handle?.terminate('test over').catch(() => undefined);
    await stack?.stop();
    await bulk?.end();
    await database?.drop();
    if (inbox) await fs.rm(path.dirname(inbox), { recursive: true, force: true });
  });

  const dunning = new Map<string, WorkflowHandle>();
  const runRow = z.object({
    id: z.coerce.number(),
    status: z.string(),
    records_in: z.coerce.number(),
    records_rated: z.coerce.number(),
    records_rejected: z.coerce.number(),
    records_duplicate: z.coerce.number(),
    records_deferred: z.coerce.number(),
    records_carried_in: z.coerce.number(),
    files_quarantined: z.number(),
    accounts_done: z.number(),
    accounts_total: z.number(),
  });
  const run = () => database.pool.maybeOne(sql.type(runRow)`
    SELECT id, status, records_in, records_rated, records_rejected, records_duplicate, records_deferred, records_carried_in, files_quarantined, accounts_done, accounts_total
      FROM bill_runs WHERE period = '2025-03'`);

  it('collects, rates and drafts the bills, then waits for a billing clerk (nothing to compare with)', async () => {
    cycle = await startBillingCycle(stack.api.temporal, database.pool, stack.config.KEYFLOW_TASK_QUEUE, `2025-03-cycle-test-${randomUUID()}`, {
      period: '2025-03',
      cycleDay: 1,
      accountsPerBatch: 2,
      dunningAt: new Date(Date.now() + 600_000).toISOString(),
    });
    const state = await eventually(async () => {
      const current = await cycle.query<ProcessInstanceState>(stateQueryName);
      return current.openTasks.length > 0 ? current : null;
    }, 90_000, 'the approval task');
    expect(state.openTasks[0]).toMatchObject({ nodeId: 'approve', candidateGroups: ['billing_clerk'] });
    expect(state.variables).toMatchObject({ needsApproval: true, billsTotalMinor: 17_686 + 19_637 + 38_000 + 13_103, deviationPercent: null });

    // nothing is lost: 14 file lines + 1 feed record = 10 rated + 2 rejected + 2 duplicates + 1 for April
    expect(await run()).toMatchObject({ status: 'awaiting_approval', records_in: 15, records_rated: 10, records_rejected: 2, records_duplicate: 2, records_deferred: 1, records_carried_in: 0, files_quarantined: 1, accounts_done: 4, accounts_total: 4 });
    const rejections = await database.pool.any(sql.type(z.object({ record_id: z.string().nullable(), reason_code: z.string() }))`
      SELECT record_id, reason_code FROM usage_rejections ORDER BY line_no`);
    expect(rejections).toEqual([
      { record_id: 'r11', reason_code: 'NEGATIVE_QUANTITY' },
      { record_id: 'r12', reason_code: 'UNKNOWN_SUBSCRIBER' },
    ]);
    const quarantined = await database.pool.one(sql.type(z.object({ file_name: z.string(), reason_code: z.string() }))`
      SELECT file_name, reason_code FROM collected_files WHERE status = 'quarantined'`);
    expect(quarantined).toEqual({ file_name: 'MSC-SZ-01_20250331_0002.csv', reason_code: 'TRUNCATED' });

    // drafts: no numbers yet, every line as worked out by hand
    const bills = await billsOf(database.pool, operator.billingAccountIds);
    for (const expected of expectedBills(operator)) {
      expect({ account: expected.billingAccountId, ...bills.get(expected.billingAccountId) }).toEqual({ account: expected.billingAccountId, billNo: null, status: 'new', total: expected.total, lines: expected.lines });
    }
  });

  it('issues gap-free numbers and publishes every bill once the clerk approves', async () => {
    await completeOpenTask(stack.api.temporal, database.pool, cycle.workflowId, { approved: true, comment: 'first run, checked by hand' }, 'clerk-li');
    await eventually(async () => (await run())?.status === 'completed', 60_000, 'the run to complete');

    const bills = await billsOf(database.pool, operator.billingAccountIds);
    expect(operator.billingAccountIds.map((id) => [bills.get(id)!.billNo, bills.get(id)!.status])).toEqual([
      ['BL-2025-00000001', 'sent'],
      ['BL-2025-00000002', 'sent'],
      ['BL-2025-00000003', 'sent'],
      ['BL-2025-00000004', 'sent'],
    ]);
    const decided = await database.pool.one(sql.type(z.object({ decided_by: z.string(), decision_comment: z.string() }))`SELECT decided_by, decision_comment FROM bill_runs`);
    expect(decided).toEqual({ decided_by: 'clerk-li', decision_comment: 'first run, checked by hand' });
    const events = await database.pool.any(sql.type(z.object({ kind: z.string(), count: z.coerce.number() }))`
      SELECT kind, count(*) FROM bill_events GROUP BY kind ORDER BY kind`);
    expect(events).toEqual([
      { kind: 'accounting_account', count: 4 },
      { kind: 'accounting_sync', count: 4 },
      { kind: 'notice_email', count: 4 },
      { kind: 'notice_sms', count: 4 },
    ]);
    // every record is billed, per TMF635
    const states = await database.pool.any(sql.type(z.object({ state: z.string(), count: z.coerce.number() }))`
      SELECT state, count(*) FROM usage_record_states GROUP BY state ORDER BY state`);
    expect(states).toEqual([
      { state: 'billed', count: 10 },
      { state: 'guided', count: 1 },
      { state: 'rejected', count: 2 },
    ]);
  });

  it('refuses to change an issued bill', async () => {
    await expect(database.pool.query(sql.type(z.object({}))`UPDATE bills SET total_minor = 1 WHERE bill_no = 'BL-2025-00000001'`)).rejects.toThrow(/credit or debit note/);
    await expect(database.pool.query(sql.type(z.object({}))`DELETE FROM bill_lines WHERE bill_id = (SELECT id FROM bills WHERE bill_no = 'BL-2025-00000001')`)).rejects.toThrow(/cannot change/);
  });

  it('duns the bills left unpaid after the due date, and a payment ends dunning and restores service', async () => {
    const [, a2] = operator.billingAccountIds;
    // account 1 pays before the due date; account 2's lines are live in the network
    await recordPayment(bulk, { billNo: 'BL-2025-00000001', paymentRef: 'BANK-0001', amountMinor: 17_686, currency: 'CNY', method: 'bank_transfer', receivedAt: new Date(), recordedBy: 'test' });
    const provisioning = createProvisioningClient(endpointFor(stack.config, 'provisioning'));
    for (const line of operator.subscriptions[1]!) {
      await provisioning.activate({ serviceId: line.serviceNumber, customerId: operator.accountIds[1]!, productCode: '5G-SLICE' }, { idempotencyKey: `test-activate-${line.serviceNumber}` });
    }
    await eventually(async () => {
      for (const line of operator.subscriptions[1]!) if ((await provisioning.queryStatus(line.serviceNumber)).body.status !== 'active') return false;
      return true;
    }, 30_000, 'the network to activate the lines');

    // The cycle waits for the due date; ops move it on now, with a dunning schedule of seconds.
    await eventually(async () => (await cycle.query<ProcessInstanceState>(stateQueryName)).activeNodes.some((node) => node.nodeId === 'until-due'), 30_000, 'the cycle to wait for the due date');
    await cycle.executeUpdate(moveTokenUpdateName, {
      args: [{ fromNodeId: 'until-due', toNodeId: 'start-dunning', variables: { dunningAnchor: 'now', dunningSchedule: { reminder1: 'PT1S', reminder2: 'PT2S', greyList: 'PT3S', suspend: 'PT4S' } } }],
    });
    const started = (await cycle.result()) as { variables: Record<string, unknown> };
    expect(started.variables).toMatchObject({ dunningStarted: 3, dunningAlreadyRunning: 0 });
    for (const billNo of ['BL-2025-00000002', 'BL-2025-00000003', 'BL-2025-00000004']) dunning.set(billNo, stack.api.temporal.workflow.getHandle(processInstanceId('dunning', billNo)));

    // account 2 is reminded twice, grey-listed, then suspended and black-listed
    await eventually(async () => {
      const row = await database.pool.maybeOne(sql.type(z.object({ credit_list: z.string() }))`SELECT credit_list FROM key_accounts WHERE id = ${operator.accountIds[1]!}`);
      return row?.credit_list === 'black';
    }, 60_000, 'account 2 to be black-listed');
    const steps = await database.pool.anyFirst(sql.type(z.object({ kind: z.string() }))`
      SELECT e.kind FROM bill_events e JOIN bills b ON b.id = e.bill_id WHERE b.bill_no = 'BL-2025-00000002' AND e.kind NOT IN ('accounting_account', 'accounting_sync', 'notice_sms', 'notice_email') ORDER BY e.at`);
    expect(steps).toEqual(['dunning_opened', 'reminder_1', 'reminder_2', 'grey_list', 'black_list', 'suspend']);
    for (const line of operator.subscriptions[1]!) expect((await provisioning.queryStatus(line.serviceNumber)).body.status).toBe('suspended');
    const suspended = await database.pool.anyFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM subscriptions WHERE billing_account_id = ${a2!} ORDER BY id`);
    expect(suspended).toEqual(['suspended', 'suspended']);

    // no dunning for the bill paid in time
    await expect(stack.api.temporal.workflow.getHandle(processInstanceId('dunning', 'BL-2025-00000001')).describe()).rejects.toThrow();

    // account 2 pays: dunning ends, service and listing come back
    await recordPayment(bulk, { billNo: 'BL-2025-00000002', paymentRef: 'BANK-0002', amountMinor: 19_637, currency: 'CNY', method: 'bank_transfer', receivedAt: new Date(), recordedBy: 'test' });
    await dunning.get('BL-2025-00000002')!.signal(messageSignalName, { name: 'billing.paymentRecorded', correlationKey: 'BL-2025-00000002', messageId: 'BANK-0002' });
    const result = (await dunning.get('BL-2025-00000002')!.result()) as { variables: Record<string, unknown> };
    expect(result.variables).toMatchObject({ settled: true, lastDunningStep: 'restore' });
    for (const line of operator.subscriptions[1]!) expect((await provisioning.queryStatus(line.serviceNumber)).body.status).toBe('active');
    const account = await database.pool.one(sql.type(z.object({ credit_list: z.string() }))`SELECT credit_list FROM key_accounts WHERE id = ${operator.accountIds[1]!}`);
    expect(account.credit_list).toBe('none');
    const bill = await database.pool.one(sql.type(z.object({ status: z.string(), paid_minor: z.coerce.number() }))`SELECT status, paid_minor FROM bills WHERE bill_no = 'BL-2025-00000002'`);
    expect(bill).toEqual({ status: 'settled', paid_minor: 19_637 });
  });
});
