import fs from 'node:fs';
import path from 'node:path';
import { loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { eventually } from '../../support/eventually';

const exampleXml = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', 'example-approval.bpmn'), 'utf8');
const paymentXml = fs.readFileSync(path.join(__dirname, 'fixtures', 'wait-for-payment.bpmn'), 'utf8');

type Login = Awaited<ReturnType<typeof loginAs>>;

describe('process instances through the API', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let designer: Login;
  let manager: Login;
  let ops: Login;
  let elsewhere: Login;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    designer = await loginAs(stack.api.url, database.pool, ['designer'], testOrg.province);
    manager = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.tianhe);
    ops = await loginAs(stack.api.url, database.pool, ['ops'], testOrg.province);
    elsewhere = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.nanshan);
    for (const xml of [exampleXml, paymentXml]) await deploy(xml);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  const url = (suffix: string) => `${stack.api.url}${suffix}`;
  async function deploy(xml: string) {
    const response = await fetch(url('/api/process-definitions'), { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' }, body: xml });
    expect([200, 201]).toContain(response.status);
    return (await response.json()) as any;
  }
  const post = (suffix: string, who: Login, body: unknown) => fetch(url(suffix), { method: 'POST', headers: who.headers, body: JSON.stringify(body) });
  const get = async (suffix: string, who: Login) => {
    const response = await fetch(url(suffix), { headers: who.headers });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('starts an instance on the pinned definition, and shows its state with the open task', async () => {
    const businessKey = `REQ-${run}-1`;

    const started = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey, variables: { amount: 5_000_000, reason: '专线扩容' } });
    const body = (await started.json()) as any;

    expect(started.status).toBe(201);
    expect(body).toMatchObject({ processInstanceId: `example-approval:${businessKey}`, processKey: 'example-approval', processVersion: 1, businessKey });
    const view = await eventually(
      () => get(`/api/process-instances/${encodeURIComponent(body.processInstanceId)}`, manager),
      (answer) => answer.body.state?.openTasks?.length === 1,
      'the approval task',
    );
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ status: 'running', processKey: 'example-approval', processVersion: 1, businessKey, orgUnitId: testOrg.tianhe });
    expect(view.body.state).toMatchObject({ processVersion: 1, variables: { amount: 5_000_000, needsApproval: true } });
    expect(view.body.state.openTasks[0]).toMatchObject({ nodeId: 'approve', candidateGroups: ['supervisor'] });
  });

  it('refuses a second start with the same business key with 409, even for another version', async () => {
    const businessKey = `REQ-${run}-1`;

    const again = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey, variables: { amount: 1 } });

    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error).toMatchObject({ code: 'CONFLICT', details: { processInstanceId: `example-approval:${businessKey}` } });
  });

  it('leaves a running instance on its version when a new version is deployed; new starts take the new one', async () => {
    const runningKey = `REQ-${run}-1`;
    const changed = await deploy(exampleXml.replace('kf:candidateGroups="supervisor"', 'kf:candidateGroups="supervisor,ops"'));
    expect(changed).toMatchObject({ version: 2, created: true });

    const newer = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey: `REQ-${run}-2`, variables: { amount: 9_000_000 } });
    const newerId = ((await newer.json()) as any).processInstanceId;

    const old = await get(`/api/process-instances/${encodeURIComponent(`example-approval:${runningKey}`)}`, manager);
    expect(old.body).toMatchObject({ processVersion: 1, state: { processVersion: 1 } });
    expect(old.body.state.openTasks[0].candidateGroups).toEqual(['supervisor']);
    const fresh = await eventually(() => get(`/api/process-instances/${encodeURIComponent(newerId)}`, manager), (answer) => answer.body.state?.openTasks?.length === 1, 'the new task');
    expect(fresh.body).toMatchObject({ processVersion: 2, state: { processVersion: 2 } });
    expect(fresh.body.state.openTasks[0].candidateGroups).toEqual(['supervisor', 'ops']);
  });

  it('starts a given older version on request', async () => {
    const response = await post('/api/process-instances', manager, { processKey: 'example-approval', version: 1, businessKey: `REQ-${run}-3`, variables: { amount: 7_000_000 } });

    expect(response.status).toBe(201);
    expect(((await response.json()) as any).processVersion).toBe(1);
  });

  it('delivers a message by process key and business key, and a completed instance still answers with its final state', async () => {
    const businessKey = `ORD-${run}-1`;
    await post('/api/process-instances', manager, { processKey: 'wait-for-payment', businessKey, variables: { orderId: businessKey } });
    const id = `wait-for-payment:${businessKey}`;
    await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, manager), (answer) => answer.body.state?.activeNodes?.some((node: any) => node.nodeId === 'await-payment'), 'the receive task');

    const delivered = await post('/api/messages', manager, { name: 'payment-received', processKey: 'wait-for-payment', businessKey, correlationKey: businessKey, variables: { amount: 21 } });

    expect(delivered.status).toBe(202);
    expect(await delivered.json()).toEqual({ processInstanceIds: [id] });
    const done = await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, manager), (answer) => answer.body.status === 'completed', 'completion');
    expect(done.body.state).toMatchObject({ status: 'completed', variables: { amount: 21, doubled: 42 } });
    expect(done.body.closedAt).toEqual(expect.any(String));
  });

  it('correlates a message by correlation key alone to the running instance with that business key', async () => {
    const businessKey = `ORD-${run}-2`;
    await post('/api/process-instances', manager, { processKey: 'wait-for-payment', businessKey, variables: { orderId: businessKey } });
    const id = `wait-for-payment:${businessKey}`;
    // visibility is eventually consistent: wait until the list finds it
    await eventually(() => get(`/api/process-instances?businessKey=${businessKey}&status=running`, ops), (answer) => answer.body.items?.length === 1, 'visibility');

    const delivered = await post('/api/messages', ops, { name: 'payment-received', correlationKey: businessKey, messageId: 'bank-tx-1', variables: { amount: 5 } });

    expect(delivered.status).toBe(202);
    expect(((await delivered.json()) as any).processInstanceIds).toEqual([id]);
    const done = await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, manager), (answer) => answer.body.status === 'completed', 'completion');
    expect(done.body.state.variables.doubled).toBe(10);
  });

  it('starts an instance from a message start event when no instance has the business key yet', async () => {
    await deploy(fs.readFileSync(path.join(__dirname, 'fixtures', 'complaint-received.bpmn'), 'utf8'));
    const businessKey = `TT-${run}`;
    const id = `complaint-intake:${businessKey}`;

    const first = await post('/api/messages', manager, { name: 'complaint-received', processKey: 'complaint-intake', businessKey, variables: { severity: 'high' } });

    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ processInstanceIds: [id], started: true });
    await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, manager), (answer) => answer.body.state?.activeNodes?.some((node: any) => node.nodeId === 'await-follow-up'), 'the receive task');

    // then the next message goes to that instance, and a message no start event takes finds nothing
    const followUp = await post('/api/messages', manager, { name: 'customer-follow-up', processKey: 'complaint-intake', businessKey });
    expect(await followUp.json()).toEqual({ processInstanceIds: [id] });
    const done = await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, manager), (answer) => answer.body.status === 'completed', 'completion');
    expect(done.body.state.variables).toEqual({ severity: 'high' });
    const stray = await post('/api/messages', manager, { name: 'customer-follow-up', processKey: 'complaint-intake', businessKey: `TT-${run}-other` });
    expect(stray.status).toBe(404);
  });

  it('answers 404 for a message nobody waits for, and 409 for a message to a closed instance', async () => {
    const nobody = await post('/api/messages', ops, { name: 'payment-received', correlationKey: `nobody-${run}` });
    const closed = await post(`/api/process-instances/${encodeURIComponent(`wait-for-payment:ORD-${run}-1`)}/messages`, ops, { name: 'payment-received' });

    expect(nobody.status).toBe(404);
    expect(closed.status).toBe(409);
  });

  it('lists instances by process key, business key and status, page by page', async () => {
    const first = await eventually(
      () => get('/api/process-instances?processKey=example-approval&status=running&pageSize=2', ops),
      (answer) => answer.body.items?.length === 2 && Boolean(answer.body.nextPageToken),
      'two running approvals and a next page',
    );
    const second = await get(`/api/process-instances?processKey=example-approval&status=running&pageSize=2&pageToken=${first.body.nextPageToken}`, ops);
    const ids = [...first.body.items, ...second.body.items].map((item: any) => item.processInstanceId);

    expect(new Set(ids)).toEqual(new Set([`example-approval:REQ-${run}-1`, `example-approval:REQ-${run}-2`, `example-approval:REQ-${run}-3`]));
    expect(first.body.items[0]).toMatchObject({ status: 'running', processKey: 'example-approval', incident: false, orgUnitId: testOrg.tianhe });
    const byKey = await get(`/api/process-instances?businessKey=REQ-${run}-2`, ops);
    expect(byKey.body.items.map((item: any) => item.processVersion)).toEqual([2]);
    const none = await get('/api/process-instances?processKey=example-approval&incident=true', ops);
    expect(none.body.items).toEqual([]);
  });

  it('cancels a running instance (ops), and refuses to cancel it twice', async () => {
    const id = `example-approval:REQ-${run}-3`;

    const cancelled = await post(`/api/process-instances/${encodeURIComponent(id)}/cancel`, ops, {});

    expect(cancelled.status).toBe(202);
    await eventually(() => get(`/api/process-instances/${encodeURIComponent(id)}`, ops), (answer) => answer.body.status === 'cancelled', 'cancellation');
    expect((await post(`/api/process-instances/${encodeURIComponent(id)}/cancel`, ops, {})).status).toBe(409);
  });

  it('keeps instances within the caller’s org scope, and roles to their part', async () => {
    const id = encodeURIComponent(`example-approval:REQ-${run}-1`);

    expect((await get(`/api/process-instances/${id}`, elsewhere)).status).toBe(404);
    expect((await get(`/api/process-instances?processKey=example-approval`, elsewhere)).body.items).toEqual([]);
    expect((await post(`/api/process-instances/${id}/cancel`, manager, {})).status).toBe(403);
    expect((await post('/api/process-instances', designer, { processKey: 'example-approval', businessKey: `x-${run}` })).status).toBe(403);
    expect((await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey: `x-${run}`, orgUnitId: testOrg.nanshan })).status).toBe(403);
  });

  it('turns a timer start event into a schedule that starts instances, moved or removed by the next version', async () => {
    const key = `every-second-${run}`;
    const tickingXml = fs.readFileSync(path.join(__dirname, 'fixtures', 'every-second.bpmn'), 'utf8').replace('id="every-second"', `id="${key}"`);

    // when: deployed with a timer start R2/PT1S
    const deployed = await deploy(tickingXml);

    // then: a schedule starts the process twice, and the instances run to their end
    expect(deployed).toMatchObject({ version: 1, startSchedule: 'created' });
    const schedule = await stack.api.temporal.schedule.getHandle(`kf-start:${key}`).describe();
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'bpmnProcess', workflowId: `${key}:scheduled` });
    const finished = await eventually(
      () => get(`/api/process-instances?processKey=${key}&status=completed`, ops),
      (answer) => answer.body.items?.length === 2,
      'two scheduled instances completed',
    );
    expect(finished.body.items[0]).toMatchObject({ businessKey: 'scheduled', processVersion: 1, processInstanceId: expect.stringMatching(new RegExp(`^${key}:scheduled-`)) });
    const one = await get(`/api/process-instances/${encodeURIComponent(finished.body.items[0].processInstanceId)}`, ops);
    expect(one.body.state.variables).toEqual({ result: 'ticked' });

    // when: a version without the timer start is deployed, the schedule goes
    const plain = await deploy(tickingXml.replace(/<bpmn:timerEventDefinition>.*<\/bpmn:timerEventDefinition>/, ''));
    expect(plain).toMatchObject({ version: 2, startSchedule: 'removed' });
    await expect(stack.api.temporal.schedule.getHandle(`kf-start:${key}`).describe()).rejects.toThrow(/not found/i);
  });

  it('refuses bad starts with 400 or 404 and starts nothing', async () => {
    const unknown = await post('/api/process-instances', manager, { processKey: 'no-such-process', businessKey: `x-${run}` });
    const badKey = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey: 'line\nbreak' });
    const polluting = await fetch(url('/api/process-instances'), {
      method: 'POST',
      headers: manager.headers,
      body: `{"processKey":"example-approval","businessKey":"p-${run}","variables":{"__proto__":{"admin":true}}}`,
    });

    const unfit = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey: `f-${run}`, variables: { amount: 'lots', reason: 'x'.repeat(501) } });
    const unfitBody = (await unfit.json()) as any;

    const strangerCustomer = await post('/api/process-instances', manager, { processKey: 'example-approval', businessKey: `c-${run}`, customerId: 'KA-NOPE', variables: { amount: 1 } });

    expect(unknown.status).toBe(404);
    expect(badKey.status).toBe(400);
    expect(strangerCustomer.status).toBe(400);
    expect(((await strangerCustomer.json()) as any).error.details).toEqual([{ field: 'body.customerId', message: expect.stringMatching(/no key account KA-NOPE/) }]);
    expect(unfit.status).toBe(400);
    expect(unfitBody.error.details).toEqual([
      { field: 'body.variables.amount', message: 'must be a number' },
      { field: 'body.variables.reason', message: 'must be at most 500 characters' },
    ]);
    expect(polluting.status).toBe(400);
    expect((await get(`/api/process-instances/${encodeURIComponent(`example-approval:p-${run}`)}`, ops)).status).toBe(404);
    expect((await get(`/api/process-instances/${encodeURIComponent(`example-approval:f-${run}`)}`, ops)).status).toBe(404);
  });
});
