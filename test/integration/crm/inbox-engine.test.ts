import { sql } from 'slonik';
import { z } from 'zod';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput, type BpmnProcessResult } from '../../../workflows/contracts';
import { loginAs, seedOrgTree, testOrg, type Session, type TestStaff } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { buildModel } from '../../workflow/engine/harness';
import { until } from '../../support/eventually';

/** An approval step for the customer managers of the account's unit, with a small form. */
const approval = buildModel(
  'crm-approval',
  [
    { id: 'start', type: 'startEvent' },
    {
      id: 'approve',
      type: 'userTask',
      name: '审批',
      candidateGroups: 'customer_manager',
      formKey: 'approval',
      form: [
        { id: 'approved', type: 'boolean', required: true },
        { id: 'comment', type: 'string', maxLength: 20 },
      ],
    },
    { id: 'end', type: 'endEvent' },
  ],
  [
    ['f1', 'start', 'approve'],
    ['f2', 'approve', 'end'],
  ],
);

describe('the inbox end to end: the engine opens the task, the API completes it', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let tianhe: Session & { staff: TestStaff };
  let nanshan: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    tianhe = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.tianhe);
    nanshan = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.nanshan);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  function waitForTask(session: Session, workflowId: string): Promise<any> {
    return until(`a task of ${workflowId} in the inbox`, async () => (await call(session, 'GET', '/api/tasks/group')).body.items.find((item: any) => item.workflowId === workflowId), 30_000, 200);
  }

  it('offers the task to the right unit, refuses bad form data, completes, and the engine closes the row', async () => {
    const workflowId = processInstanceId(approval.key, 'A-100');
    const handle = await stack.api.temporal.workflow.start(bpmnProcessWorkflowType, {
      taskQueue: stack.config.KEYFLOW_TASK_QUEUE,
      workflowId,
      args: [{ definition: approval, businessKey: 'A-100', variables: {}, orgUnitId: testOrg.tianheArea, customerId: 'KA00000042' } satisfies BpmnProcessInput],
    });

    const task = await waitForTask(tianhe, workflowId);
    expect(task).toMatchObject({ id: `${workflowId}/approve/0`, nodeId: 'approve', candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianheArea, customerId: 'KA00000042', formKey: 'approval' });
    expect((await call(nanshan, 'GET', '/api/tasks/group')).body.items).toEqual([]);
    const path = `/api/tasks/${encodeURIComponent(task.id)}`;
    expect((await call(nanshan, 'POST', `${path}/complete`, { variables: { approved: true } })).status).toBe(404);

    const claimed = await call(tianhe, 'POST', `${path}/claim`);
    const badForm = await call(tianhe, 'POST', `${path}/complete`, { variables: { comment: '这条意见明显超过了二十个字符的长度限制，应当被拒绝' } });
    expect(claimed.status).toBe(200);
    expect(badForm.status).toBe(422);
    expect(badForm.body.error.details.reason).toBe('TaskFormInvalid');
    expect(badForm.body.error.details.fields.map((problem: any) => problem.field).sort()).toEqual(['approved', 'comment']);

    const done = await call(tianhe, 'POST', `${path}/complete`, { variables: { approved: true, comment: '同意' } });

    expect(done.status).toBe(200);
    const result = (await handle.result()) as BpmnProcessResult;
    expect(result.variables).toMatchObject({ approved: true, comment: '同意' });
    const row = await database.pool.one(sql.type(z.object({ status: z.string(), completed_by: z.string().nullable() }))`
      SELECT status, completed_by FROM human_tasks WHERE id = ${task.id}`);
    expect(row).toEqual({ status: 'completed', completed_by: tianhe.staff.username });
    const again = await call(tianhe, 'POST', `${path}/complete`, { variables: { approved: false } });
    expect(again.status).toBe(409);
  });
});
