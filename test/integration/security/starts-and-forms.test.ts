import fs from 'node:fs';
import path from 'node:path';
import { createBillingActivities } from '../../../activities/billing';
import { billingProcessKeys, deployBillingProcesses } from '../../../activities/billing/processes';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput, type ServiceTaskRequest } from '../../../workflows/contracts';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, testLogger, type TestStack } from '../../support/services';
import { buildModel } from '../../workflow/engine/harness';

const processesDir = path.join(__dirname, '..', '..', '..', 'processes');
const exampleXml = fs.readFileSync(path.join(processesDir, 'example-approval.bpmn'), 'utf8');

/** A task with a two-field form, for the customer managers of the instance's unit. */
const approval = buildModel(
  'security-approval',
  [
    { id: 'start', type: 'startEvent' },
    { id: 'approve', type: 'userTask', candidateGroups: 'customer_manager', form: [{ id: 'approved', type: 'boolean', required: true }, { id: 'comment', type: 'string' }] },
    { id: 'end', type: 'endEvent' },
  ],
  [
    ['f1', 'start', 'approve'],
    ['f2', 'approve', 'end'],
  ],
);

describe('who may start what, and what a start or a form may write', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let designer: Session;
  let countyManager: Session;
  let provinceClerk: Session;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    designer = await loginAs(stack.api.url, database.pool, ['designer'], testOrg.province);
    countyManager = await loginAs(stack.api.url, database.pool, ['customer_manager', 'billing_clerk'], testOrg.tianhe);
    provinceClerk = await loginAs(stack.api.url, database.pool, ['billing_clerk'], testOrg.province);
    await deployBillingProcesses(database.pool, 'test');
    const deployed = await fetch(`${stack.api.url}/api/process-definitions`, { method: 'POST', headers: { ...designer.headers, 'content-type': 'application/xml' }, body: exampleXml });
    expect([200, 201]).toContain(deployed.status);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  const call = async (session: Session, method: string, suffix: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${suffix}`, { method, headers: session.headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('refuses a hand start of an internal process (billing cycle, dunning) to every role, and starts nothing', async () => {
    // when
    const dunning = await call(countyManager, 'POST', '/api/process-instances', { processKey: billingProcessKeys.dunning, businessKey: `BL-2099-${run}`, variables: { billNo: `BL-2099-${run}` } });
    const cycle = await call(provinceClerk, 'POST', '/api/process-instances', { processKey: billingProcessKeys.cycle, businessKey: `2099-01-${run}`, variables: { period: '2099-01' } });

    // then
    expect(dunning.status).toBe(403);
    expect(dunning.body.error.details).toMatchObject({ reason: 'SYSTEM_PROCESS' });
    expect(cycle.status).toBe(403);
    await expect(stack.api.temporal.workflow.getHandle(processInstanceId(billingProcessKeys.dunning, `BL-2099-${run}`)).describe()).rejects.toThrow(/not found/i);
  });

  it("admits only the roles a model's kf:starters names", async () => {
    const byDesigner = await call(designer, 'POST', '/api/process-instances', { processKey: 'example-approval', businessKey: `d-${run}`, variables: { amount: 1 } });
    const byClerk = await call(provinceClerk, 'POST', '/api/process-instances', { processKey: 'example-approval', businessKey: `c-${run}`, variables: { amount: 1 } });
    const byManager = await call(countyManager, 'POST', '/api/process-instances', { processKey: 'example-approval', businessKey: `m-${run}`, variables: { amount: 1 } });

    expect(byDesigner.status).toBe(403);
    expect(byClerk.status).toBe(403);
    expect(byClerk.body.error.details).toMatchObject({ reason: 'NOT_A_STARTER', requiredRoles: expect.arrayContaining(['customer_manager']) });
    expect(byManager.status).toBe(201);
  });

  it('refuses start variables the start form does not declare, naming them', async () => {
    const response = await call(countyManager, 'POST', '/api/process-instances', {
      processKey: 'example-approval',
      businessKey: `v-${run}`,
      variables: { amount: 1, needsApproval: false, billRunId: 7 },
    });

    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      { field: 'body.variables.needsApproval', message: 'is not a field of this form' },
      { field: 'body.variables.billRunId', message: 'is not a field of this form' },
    ]);
    await expect(stack.api.temporal.workflow.getHandle(`example-approval:v-${run}`).describe()).rejects.toThrow(/not found/i);
  });

  describe('completing a task', () => {
    let taskPath: string;
    let workflowId: string;

    beforeAll(async () => {
      workflowId = processInstanceId(approval.key, `A-${run}`);
      await stack.api.temporal.workflow.start(bpmnProcessWorkflowType, {
        taskQueue: stack.config.KEYFLOW_TASK_QUEUE,
        workflowId,
        args: [{ definition: approval, businessKey: `A-${run}`, variables: { billRunId: 1 }, orgUnitId: testOrg.tianhe } satisfies BpmnProcessInput],
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const page = await call(countyManager, 'GET', '/api/tasks/group');
        const task = page.body.items?.find((item: any) => item.workflowId === workflowId);
        if (task) {
          taskPath = `/api/tasks/${encodeURIComponent(task.id)}`;
          break;
        }
        if (Date.now() > deadline) throw new Error('no task reached the inbox');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });

    it('refuses fields the form does not declare with 422 naming them, and the task stays open', async () => {
      const response = await call(countyManager, 'POST', `${taskPath}/complete`, { variables: { approved: true, billRunId: 2 } });

      expect(response.status).toBe(422);
      expect(response.body.error.details).toMatchObject({ reason: 'TaskFormInvalid', fields: [{ field: 'billRunId', message: 'is not a field of this form' }] });
      expect((await call(countyManager, 'GET', taskPath)).body.status).toBe('open');
    });

    it('refuses them in the engine too, whoever sends the update', async () => {
      const update = stack.api.temporal.workflow.getHandle(workflowId).executeUpdate('completeTask', { args: [{ taskId: `${workflowId}/approve/0`, variables: { approved: true, billRunId: 2 }, completedBy: 'x' }] });

      await expect(update).rejects.toMatchObject({ cause: { type: 'TaskFormInvalid' } });
    });

    it.each([
      ['constructor', '{"variables":{"approved":true,"constructor":{"a":1}}}'],
      ['prototype', '{"variables":{"approved":true,"prototype":1}}'],
      ['an empty key', '{"variables":{"approved":true,"":1}}'],
      ['a dotted __proto__ path', '{"variables":{"approved":true,"a.__proto__.b":1}}'],
      ['a nested __proto__', '{"variables":{"approved":true,"comment":{"__proto__":{"x":1}}}}'],
    ])('refuses %s with 400 before the engine sees it', async (_what, body) => {
      const response = await call(countyManager, 'POST', `${taskPath}/complete`, body);

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    });

    it("completes with the form's fields", async () => {
      expect((await call(countyManager, 'POST', `${taskPath}/complete`, { variables: { approved: true, comment: 'ok' } })).status).toBe(200);
    });
  });

  it('never lets a billing step act on a bill run or bill its instance does not own', async () => {
    const activities = createBillingActivities({ pool: database.pool, config: stack.config, logger: testLogger, now: () => new Date('2099-02-10T00:00:00Z') });
    const request = (workflowId: string, input: Record<string, unknown>): ServiceTaskRequest => ({
      input,
      context: { workflowId, processKey: 'billing-cycle', processVersion: 1, businessKey: 'x', nodeId: 'n', loopCounter: 0, idempotencyKey: `${workflowId}/n` },
    });
    const mine = (await activities['billing.openRun'](request(`billing-cycle:mine-${run}`, { period: '2099-01', cycleDay: 1 }))) as { billRunId: number };
    const theirs = (await activities['billing.openRun'](request(`billing-cycle:theirs-${run}`, { period: '2099-01', cycleDay: 2 }))) as { billRunId: number };

    // when a variable points this instance's decision at the other run
    const decision = activities['billing.recordDecision'](request(`billing-cycle:mine-${run}`, { billRunId: theirs.billRunId, approved: false }));

    // then it is refused, for good, and the other run is untouched
    await expect(decision).rejects.toMatchObject({ type: 'BillingError', nonRetryable: true, message: expect.stringMatching(/is not the run of/) });
    expect(mine.billRunId).not.toBe(theirs.billRunId);
    await expect(activities['billing.dunningStatus'](request(`dunning:BL-2099-00000001`, { billNo: 'BL-2099-00000002' }))).rejects.toMatchObject({ message: expect.stringMatching(/is not the bill/) });
  });
});
