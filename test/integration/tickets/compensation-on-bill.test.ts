import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { createTestStaff, login, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { seedOperator, type SeededOperator } from '../../support/billing';
import { createComplaintStaff, deployComplaint, eventually, tasksOf } from '../../support/complaint';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';
import { cyclePlan } from '../billing/operator-fixture';

/**
 * A complaint's compensation credit is money the customer sees: it must reach the next bill as a
 * credit line that names the ticket; what that bill cannot absorb waits for the one after, never paid twice.
 */
describe('a compensation credit on the next bill', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let inbox: string;
  let operator: SeededOperator;
  let dispatcher: Session;
  let cityClerk: Session;
  let provinceClerk: Session;
  const period = '2026-10';

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    inbox = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-compensation-')), 'inbox');
    await fs.mkdir(inbox, { recursive: true });
    stack = await startExternalStack(database, { KEYFLOW_USAGE_INBOX: inbox });
    await deployComplaint(database.pool);
    await deployBillingProcesses(database.pool, 'test');
    // One gold account of Tianhe (Guangzhou), one mobile line on the billing tests' plan, billed on the 1st.
    operator = await seedOperator(database.pool, { accounts: 1, subscriptionsPerAccount: 1, orgUnitId: testOrg.tianhe, plan: cyclePlan, idPrefix: 'Q' });
    const staff = await createComplaintStaff(database.pool, String(Date.now() % 10_000));
    dispatcher = await login(stack.api.url, staff.gzDispatcher.username, staff.gzDispatcher.password);
    const clerk = await createTestStaff(database.pool, { roles: ['billing_clerk'], orgUnitId: testOrg.guangzhou });
    cityClerk = await login(stack.api.url, clerk.username, clerk.password);
    const province = await createTestStaff(database.pool, { roles: ['billing_clerk'], orgUnitId: testOrg.province });
    provinceClerk = await login(stack.api.url, province.username, province.password);
  }, 120_000);

  afterAll(async () => {
    const running = await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM trouble_tickets WHERE workflow_id IS NOT NULL`);
    for (const id of [...running, `billing-cycle:${period}-c1-1`]) await stack.workflows.getHandle(id).terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
    if (inbox) await fs.rm(path.dirname(inbox), { recursive: true, force: true });
  });

  const call = async (session: Session, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${route}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };

  it('puts the credit of a resolved complaint on the next bill as a credit line naming the ticket, and carries what the bill cannot take', async () => {
    const accountId = operator.accountIds[0]!;
    const billingAccountId = operator.billingAccountIds[0]!;
    const opened = await call(dispatcher, 'POST', '/api/troubleTicket', {
      ticketType: 'complaint',
      name: '月租多收',
      severity: 'minor',
      category: 'billing',
      channel: { name: 'phone' },
      relatedEntity: [{ id: accountId, role: 'account', '@referredType': 'KeyAccount' }],
      externalId: `CC-${randomUUID()}`,
    });
    expect(opened.status).toBe(201);
    const { id: ticketId, workflowId } = opened.body;

    // The billing centre of Guangzhou resolves it with a 120-yuan credit: under gold's approval threshold, it posts at once.
    const handle = await eventually(() => tasksOf(database.pool, workflowId), (tasks) => tasks.some((task) => task.node_id === 'handle' && task.status === 'open'), 'the handling task');
    const task = handle.find((row) => row.node_id === 'handle' && row.status === 'open')!;
    expect(task.candidate_groups).toEqual(['billing_clerk']);
    const completed = await call(cityClerk, 'POST', `/api/tasks/${encodeURIComponent(task.id)}/complete`, {
      variables: { resolution: '多收月租，退回', rootCause: 'billing_error', compensationKind: 'credit', compensationAmountMinor: 12_000 },
    });
    expect(completed.status).toBe(200);
    const adjustmentId = await eventually(
      () => database.pool.maybeOneFirst(sql.type(z.object({ id: z.coerce.number() }))`SELECT id FROM billing_adjustments WHERE trouble_ticket_id = ${ticketId}`),
      (id) => id !== null,
      'the posted credit',
    );

    // The next bill run drafts the account's bill with the credit on it.
    const started = await call(provinceClerk, 'POST', '/api/billing/runs', { period, dueDays: 10 });
    expect(started.status).toBe(202);
    const run = await eventually(
      () => call(provinceClerk, 'GET', `/api/billing/runs?period=${period}`),
      (answer) => answer.body.items[0]?.status === 'awaiting_approval',
      'the run to await approval',
      90_000,
    );
    const bills = await call(provinceClerk, 'GET', `/api/billing/runs/${run.body.items[0].id}/bills`);
    expect(bills.body.items.map((bill: any) => bill.billingAccountId)).toEqual([billingAccountId]);
    const bill = (await call(cityClerk, 'GET', `/api/billing/bills/${bills.body.items[0].id}`)).body;
    const credits = bill.lines.filter((line: any) => line.kind === 'credit');
    // A bill never goes below zero: the 120-yuan credit takes the 88-yuan rental, the rest waits for the next bill.
    expect(bill.lines.find((line: any) => line.kind === 'recurring')).toMatchObject({ amountMinor: 8_800 });
    expect(credits).toEqual([expect.objectContaining({ amountMinor: -8_800, description: expect.stringContaining(ticketId), detail: { credit: 12_000 } })]);
    expect(bill.totalMinor).toBe(0);
    const remaining = await database.pool.oneFirst(sql.type(z.object({ left: z.coerce.number() }))`
      SELECT a.amount_minor - coalesce((SELECT sum(abs(l.amount_minor)) FROM bill_lines l WHERE l.adjustment_id = a.id), 0) AS left
        FROM billing_adjustments a WHERE a.id = ${adjustmentId}`);
    expect(remaining).toBe(3_200);
  });
});
