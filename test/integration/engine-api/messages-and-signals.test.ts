import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { sql } from 'slonik';
import { z } from 'zod';
import { loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';
import { eventually } from '../../support/eventually';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');

type Login = Awaited<ReturnType<typeof loginAs>>;

describe('messages and signals between instances: broadcasts, correlation by key, message flows between pools', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let designer: Login;
  let manager: Login;
  let shenzhenManager: Login;
  let ops: Login;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    designer = await loginAs(stack.api.url, database.pool, ['designer'], testOrg.province);
    manager = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.tianhe);
    shenzhenManager = await loginAs(stack.api.url, database.pool, ['customer_manager'], testOrg.nanshan);
    ops = await loginAs(stack.api.url, database.pool, ['ops'], testOrg.province);
    for (const xml of [fixture('await-restore.bpmn'), fixture('wait-for-payment.bpmn'), fs.readFileSync(path.join(__dirname, 'fixtures', 'order-desk-collaboration.bpmn'))]) {
      const response = await fetch(url('/api/process-definitions'), { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' }, body: xml });
      expect([200, 201]).toContain(response.status);
    }
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  const url = (suffix: string) => `${stack.api.url}${suffix}`;
  const post = (suffix: string, who: Login, body: unknown) => fetch(url(suffix), { method: 'POST', headers: who.headers, body: JSON.stringify(body) });
  const get = async (suffix: string, who: Login) => {
    const response = await fetch(url(suffix), { headers: who.headers });
    return { status: response.status, body: (await response.json()) as any };
  };
  /** With RECORD_REPLAY_HISTORIES=1, keeps the instance's history for test/replay/ (see its README). */
  const record = async (name: string, workflowId: string) => {
    if (process.env.RECORD_REPLAY_HISTORIES !== '1') return;
    const connection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    const history = await new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE }).workflow.getHandle(workflowId).fetchHistory();
    await connection.close();
    fs.writeFileSync(path.join(__dirname, '..', '..', 'replay', 'histories', `${name}.json`), `${JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1)}\n`);
  };
  const statusOf = async (id: string) => (await get(`/api/process-instances/${encodeURIComponent(id)}`, ops)).body;
  /** Until visibility shows the instances waiting at `nodeId` (the same upsert lists what they wait for). */
  const visiblyWaiting = (processKey: string, nodeId: string, count: number, prefix: string) =>
    eventually(
      () => get(`/api/ops/instances?processKey=${processKey}&status=running&nodeId=${nodeId}&limit=50`, ops),
      (answer) => answer.body.instances?.filter((instance: any) => String(instance.workflowId).includes(`:${prefix}-`)).length === count,
      `${count} instances at ${nodeId}`,
    );
  const broadcastDone = (who: Login, signalId: string) => eventually(() => get(`/api/signals/${signalId}`, who), (answer) => answer.body.status === 'completed', `broadcast ${signalId}`);

  async function startWaiting(prefix: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const businessKey = `${prefix}-${run}-${index}`;
      const started = await post('/api/process-instances', manager, { processKey: 'await-restore', businessKey });
      expect(started.status).toBe(201);
      ids.push(`await-restore:${businessKey}`);
    }
    await visiblyWaiting('await-restore', 'await-network', count, prefix);
    return ids;
  }

  it('a broadcast signal reaches every instance waiting for it, through a durable fan-out, and a sender outside ops reaches only their own subtree', async () => {
    const ids = await startWaiting('NE', 3);

    // a Shenzhen manager's broadcast does not reach Tianhe's instances
    const fromShenzhen = await post('/api/signals', shenzhenManager, { name: 'network-restored', signalId: `sz-${run}` });
    expect(fromShenzhen.status).toBe(202);
    expect(await fromShenzhen.json()).toEqual({ signalId: `sz-${run}`, status: 'running' });
    expect((await broadcastDone(shenzhenManager, `sz-${run}`)).body).toMatchObject({ delivered: 0, sentBy: shenzhenManager.staff.username });
    for (const id of ids) expect((await statusOf(id)).status).toBe('running');

    // ops reach them all
    const fromOps = await post('/api/signals', ops, { name: 'network-restored', signalId: `all-${run}`, variables: { restoredBy: 'NOC' } });
    expect(fromOps.status).toBe(202);
    const progress = await broadcastDone(ops, `all-${run}`);
    expect(progress.body).toMatchObject({ signalId: `all-${run}`, name: 'network-restored', delivered: 3, gone: 0, status: 'completed' });
    for (const id of ids) {
      const done = await eventually(() => statusOf(id), (view) => view.status === 'completed', `${id} to complete`);
      expect(done.state.variables).toEqual({ restoredBy: 'NOC' });
    }
    await record('signal-broadcast', ids[0]!);
    const audit = await database.pool.any(sql.type(z.object({ action: z.string(), entity_id: z.string() }))`SELECT action, entity_id FROM audit_log WHERE entity_type = 'signal' ORDER BY id`);
    expect(audit).toEqual([
      { action: 'signal.broadcast', entity_id: `sz-${run}` },
      { action: 'signal.broadcast', entity_id: `all-${run}` },
    ]);
  });

  it('a broadcast id is used once: the second answers 409 and sends nothing', async () => {
    const [id] = await startWaiting('LATE', 1);
    const again = await post('/api/signals', ops, { name: 'network-restored', signalId: `all-${run}` });

    expect(again.status).toBe(409);
    expect(((await again.json()) as any).error.code).toBe('CONFLICT');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await statusOf(id!)).status).toBe('running');
  });

  it('a message by correlation key alone reaches the instance waiting with that key, whatever its business key', async () => {
    const businessKey = `PAY-${run}`;
    const orderId = `ORDER-${run}`;
    expect((await post('/api/process-instances', manager, { processKey: 'wait-for-payment', businessKey, variables: { orderId } })).status).toBe(201);
    const id = `wait-for-payment:${businessKey}`;

    // the index is visible a moment after the instance starts waiting
    const delivered = await eventually(
      () => post('/api/messages', ops, { name: 'payment-received', correlationKey: orderId, variables: { amount: 7 } }),
      (response) => response.status !== 404,
      'the correlation index',
    );

    expect(delivered.status).toBe(202);
    expect(await delivered.json()).toEqual({ processInstanceIds: [id] });
    const done = await eventually(() => statusOf(id), (view) => view.status === 'completed', 'completion');
    expect(done.state.variables).toMatchObject({ orderId, amount: 7, doubled: 14 });
    const stale = await post('/api/messages', ops, { name: 'payment-received', correlationKey: orderId });
    expect(stale.status).toBe(404);
  });

  it('a three-pool collaboration written in ISO-8859-1 runs across its pools: a message flow starts the warehouse, whose escalation is caught, and its reply reaches the desk by correlation key', async () => {
    const definitions = await get('/api/process-definitions', designer);
    expect(definitions.body.items ?? definitions.body).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'order-desk', name: 'Commande reçue' }), expect.objectContaining({ key: 'warehouse', name: 'Entrepôt' })]));
    const orderId = `O-${run}`;

    const started = await post('/api/process-instances', manager, { processKey: 'order-desk', businessKey: `DESK-${run}`, variables: { orderId } });
    expect(started.status).toBe(201);

    // then: the warehouse was started by the message flow, keyed by the order, in the sender's unit
    const warehouse = await eventually(() => statusOf(`warehouse:${orderId}`), (view) => view.status === 'completed', 'the warehouse instance');
    expect(warehouse).toMatchObject({ orgUnitId: testOrg.tianhe, businessKey: orderId });
    expect(warehouse.state.variables).toMatchObject({ orderId, region: 'GZ', lateNoted: true });
    // and its reply came back to the desk, whose business key is not the order id
    const desk = await eventually(() => statusOf(`order-desk:DESK-${run}`), (view) => view.status === 'completed', 'the desk instance');
    expect(desk.state.variables).toMatchObject({ orderId, trackingNo: `SF-${orderId}` });
    await record('message-flow-sender', `order-desk:DESK-${run}`);
    await record('message-flow-receiver', `warehouse:${orderId}`);
  });

  it('refuses bad broadcasts with 400, callers without the role with 403, and hides other senders\u2019 broadcasts', async () => {
    const bodies = [{}, { name: '' }, { name: 'x', extra: 1 }, { name: 'x', signalId: 'has space' }, { name: 'x', variables: [] }, { name: 'x', processKey: '1-bad key' }];
    for (const body of bodies) {
      const response = await post('/api/signals', ops, body);
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
    }
    expect((await post('/api/signals', designer, { name: 'network-restored' })).status).toBe(403);
    expect((await get(`/api/signals/nothing-${run}`, ops)).status).toBe(404);
    expect((await get(`/api/signals/all-${run}`, manager)).status).toBe(404);
    const audit = await database.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM audit_log WHERE entity_type = 'signal'`);
    expect(audit).toBe(2);
  });
});
