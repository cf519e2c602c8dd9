import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { deployDefinition } from '../../../db/definitions';
import type { Config } from '../../../runtime/config';
import { createKeyflowWorker, type KeyflowWorker } from '../../../commands/worker';
import { bpmnProcessWorkflowType, processInstanceId, stateQueryName, type BpmnProcessInput, type ProcessInstanceState } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { runKeyflow } from '../../support/cli';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { bpmnFixtureActivities, compensated, injectedFaults } from '../../support/ops-fixtures';
import { testConfig, testLogger, workflowBundle } from '../../support/services';
import { buildModel } from '../../workflow/engine/harness';
import { until } from '../../support/eventually';

type OpsSession = Awaited<ReturnType<typeof loginAs>>;

/** start → activate (service) → provisioned? → done | manualFix (user task) → manualDone */
function orderModel(key: string, version = 1): ProcessModel {
  return buildModel(
    key,
    [
      { id: 'start', type: 'startEvent' },
      { id: 'activate', type: 'serviceTask', taskType: 'opsProvision', retries: 1, timeout: 'PT10S', retryBackoff: 'PT0.1S' },
      { id: 'provisioned', type: 'exclusiveGateway', defaultFlowId: 'toManual' },
      { id: 'done', type: 'endEvent' },
      { id: 'manualFix', type: 'userTask', candidateGroups: 'ops' },
      { id: 'manualDone', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'activate'],
      ['f2', 'activate', 'provisioned'],
      ['toDone', 'provisioned', 'done', '=provisioned = true'],
      ['toManual', 'provisioned', 'manualFix'],
      ['f3', 'manualFix', 'manualDone'],
    ],
    { version },
  );
}

/** start → review (user task) → approve (user task) → end */
function reviewModel(key: string): ProcessModel {
  return buildModel(
    key,
    [
      { id: 'start', type: 'startEvent' },
      { id: 'review', type: 'userTask', candidateGroups: 'ops' },
      { id: 'approve', type: 'userTask', candidateGroups: 'ops' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'review'],
      ['f2', 'review', 'approve'],
      ['f3', 'approve', 'end'],
    ],
  );
}

describe('ops on BPMN instances: incidents, retry, skip, reset, move, batches', () => {
  let database: TestDatabase;
  let config: Config;
  let worker: KeyflowWorker;
  let api: RunningApi;
  let temporal: Client;
  let ops: OpsSession;
  const run = randomUUID().slice(0, 8);
  const orderKey = `ops-order-${run}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    config = testConfig(database);
    worker = await createKeyflowWorker(config, testLogger, { workflowBundle: await workflowBundle(), pool: database.pool, activities: bpmnFixtureActivities });
    void worker.run();
    api = await startApi(config, testLogger, 0);
    temporal = api.temporal;
    await seedOrgTree(database.pool);
    ops = await loginAs(api.url, database.pool, ['ops'], testOrg.guangzhou);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.shutdown();
    await database?.drop();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, { method, headers: ops.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const instancePath = (handle: WorkflowHandle) => `/api/ops/instances/${encodeURIComponent(handle.workflowId)}`;

  async function start(model: ProcessModel, businessKey: string, options: Partial<BpmnProcessInput> = {}): Promise<WorkflowHandle> {
    return temporal.workflow.start(bpmnProcessWorkflowType, {
      taskQueue: config.KEYFLOW_TASK_QUEUE,
      workflowId: processInstanceId(model.key, businessKey),
      args: [{ definition: model, businessKey, variables: {}, ...options } satisfies BpmnProcessInput],
    });
  }

  const state = (handle: WorkflowHandle) => handle.query<ProcessInstanceState>(stateQueryName);

  const waitFor = until;

  const waitForIncident = (handle: WorkflowHandle) => waitFor('an incident', async () => (await state(handle)).incidents[0]);
  const waitForCount = (query: string, count: number) =>
    waitFor(`${count} for ${query}`, async () => (await temporal.workflow.count(query)).count >= count, 120_000);

  async function orderWithIncident(businessKey: string): Promise<WorkflowHandle> {
    injectedFaults.add(businessKey);
    const handle = await start(orderModel(orderKey), businessKey, { customerId: `cust-${businessKey}` });
    await waitForIncident(handle);
    return handle;
  }

  it('finds an incident by process, node, error text, business key and customer, and counts it at its node', async () => {
    const businessKey = `find-${run}`;
    const handle = await orderWithIncident(businessKey);
    await waitForCount(`KfBusinessKey = '${businessKey}' AND KfIncident = true`, 1);

    const found = await call(
      'GET',
      `/api/ops/instances?status=incident&processKey=${orderKey}&processVersion=1&nodeId=activate&errorContains=PROVISIONING%20TIMEOUT&businessKey=${businessKey}&customerId=cust-${businessKey}`,
    );
    expect(found.status).toBe(200);
    expect(found.body.instances).toEqual([
      expect.objectContaining({
        workflowId: handle.workflowId,
        processKey: orderKey,
        processVersion: 1,
        incident: true,
        incidentNode: 'activate',
        errors: [expect.objectContaining({ nodeId: 'activate', message: expect.stringContaining('provisioning timeout') })],
      }),
    ]);
    const otherError = await call('GET', `/api/ops/instances?status=incident&processKey=${orderKey}&errorContains=credit%20refused`);
    expect(otherError.body.instances).toEqual([]);

    const counts = await call('GET', `/api/ops/counts?status=incident&processKey=${orderKey}&businessKey=${businessKey}`);
    expect(counts.body.byNode).toEqual([expect.objectContaining({ processKey: orderKey, processVersion: 1, nodeId: 'activate', incidents: 1 })]);

    const timeline = await call('GET', `${instancePath(handle)}/timeline`);
    expect(timeline.body.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'activity.failed', nodeId: 'activate', activityType: 'opsProvision', error: expect.objectContaining({ message: expect.stringContaining('provisioning timeout') }) }),
        expect.objectContaining({ kind: 'node.entered', nodeId: 'activate' }),
      ]),
    );
    expect(timeline.body.nodes.completed.map((node: any) => node.nodeId)).toEqual(['start']);
    expect(timeline.body.nodes.active).toEqual([expect.objectContaining({ nodeId: 'activate' })]);
    await handle.terminate('test cleanup');
  });

  it('retries an incident to completion once the fault is removed, and audits it', async () => {
    const businessKey = `retry-${run}`;
    const handle = await orderWithIncident(businessKey);
    const incident = (await state(handle)).incidents[0]!;

    // when the outside system is repaired and ops retry
    injectedFaults.delete(businessKey);
    const retried = await call('POST', `${instancePath(handle)}/incidents/${encodeURIComponent(incident.id)}/retry`, { reason: 'provisioning fixed' });

    // then
    expect(retried.status).toBe(200);
    await handle.result();
    const timeline = await call('GET', `${instancePath(handle)}/timeline`);
    expect(timeline.body.entries).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'update.accepted', name: 'retryIncident' }), expect.objectContaining({ kind: 'instance.completed' })]));
    const audit = await call('GET', `${instancePath(handle)}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ actor: ops.staff.username, action: 'ops.retry', details: { reason: 'provisioning fixed', incidentId: incident.id, result: 'succeeded' } });
  });

  it('refuses to retry an incident that does not exist with 404, and audits the refusal', async () => {
    const handle = await orderWithIncident(`noincident-${run}`);
    const refused = await call('POST', `${instancePath(handle)}/incidents/nope:1/retry`, { reason: 'typo' });
    expect(refused.status).toBe(404);
    const audit = await call('GET', `${instancePath(handle)}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'ops.retry', details: { result: 'failed', error: { code: 'NOT_FOUND' } } });
    await handle.terminate('test cleanup');
  });

  it('skips an incident with output variables and the instance takes the path they choose', async () => {
    const businessKey = `skip-${run}`;
    const handle = await orderWithIncident(businessKey);
    const incident = (await state(handle)).incidents[0]!;

    const skipped = await call('POST', `${instancePath(handle)}/incidents/${encodeURIComponent(incident.id)}/skip`, { reason: 'provisioned by hand', variables: { provisioned: false } });

    expect(skipped.status).toBe(200);
    const after = await waitFor('the manual fix task', async () => {
      const current = await state(handle);
      return current.activeNodes.some((node) => node.nodeId === 'manualFix') && current;
    });
    expect(after.variables).toMatchObject({ provisioned: false });
    expect(after.incidents).toEqual([]);
    await handle.terminate('test cleanup');
    injectedFaults.delete(businessKey);
  });

  it('resets an instance to the node before its failure; with the fault gone it completes', async () => {
    const businessKey = `reset-${run}`;
    const handle = await orderWithIncident(businessKey);
    injectedFaults.delete(businessKey);

    const reset = await call('POST', `${instancePath(handle)}/reset`, { reason: 'rerun activation on the repaired system', nodeId: 'activate' });

    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ nodeId: 'activate' });
    const result = await temporal.workflow.getHandle(handle.workflowId, reset.body.runId).result();
    expect(result).toMatchObject({ status: 'completed', variables: { provisioned: true } });
  });

  it('moves a token from one node to another', async () => {
    const model = reviewModel(`ops-review-${run}`);
    const handle = await start(model, `move-${run}`);
    await waitFor('the review task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'review'));

    const moved = await call('POST', `${instancePath(handle)}/move`, { reason: 'review done on paper', fromNodeId: 'review', toNodeId: 'approve' });

    expect(moved.status).toBe(200);
    expect(moved.body.result).toEqual({ movedTokens: 1 });
    const after = await waitFor('the approve task', async () => {
      const current = await state(handle);
      return current.openTasks.some((task) => task.nodeId === 'approve') && current;
    });
    expect(after.openTasks.map((task) => task.nodeId)).toEqual(['approve']);
    const refused = await call('POST', `${instancePath(handle)}/move`, { reason: 'again', fromNodeId: 'review', toNodeId: 'approve' });
    expect(refused.status).toBe(404);
    await handle.terminate('test cleanup');
  });

  it('cancels an instance with compensation: the completed reservation is released before it ends', async () => {
    const model = buildModel(
      `ops-saga-${run}`,
      [
        { id: 'start', type: 'startEvent' },
        { id: 'reserve', type: 'serviceTask', taskType: 'opsReserve' },
        { id: 'reserveComp', type: 'boundaryEvent', attachedToRef: 'reserve', cancelActivity: true, event: { kind: 'compensation' }, compensationHandlerId: 'release' },
        { id: 'release', type: 'serviceTask', taskType: 'opsRelease', isForCompensation: true },
        { id: 'confirm', type: 'userTask', candidateGroups: 'ops' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'reserve'],
        ['f2', 'reserve', 'confirm'],
        ['f3', 'confirm', 'end'],
      ],
    );
    const businessKey = `saga-${run}`;
    const handle = await start(model, businessKey);
    await waitFor('the confirm task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'confirm'));

    const cancelled = await call('POST', `${instancePath(handle)}/cancel`, { reason: 'customer withdrew the order' });

    expect(cancelled.status).toBe(200);
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(compensated).toContain(businessKey);
    const audit = await call('GET', `${instancePath(handle)}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'ops.cancel', details: { reason: 'customer withdrew the order', result: 'succeeded' } });
  });

  it('replays running BPMN instances against the interpreter in this checkout (`keyflow replay-check`)', async () => {
    const handle = await start(reviewModel(`ops-replay-${run}`), `replay-${run}`);
    await waitFor('the review task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'review'));
    await waitForCount(`WorkflowId = '${handle.workflowId}' AND ExecutionStatus = 'Running'`, 1);

    const result = await runKeyflow(['replay-check', '--process', `ops-replay-${run}`], {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
      TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    }, 120_000);

    if (result.code !== 0) throw new Error(`keyflow replay-check exited ${result.code}:\n${result.stderr.slice(-3000)}\n${result.stdout.slice(0, 3000)}`);
    expect(JSON.parse(result.stdout)).toMatchObject({ checked: 1, nonDeterministic: 0, instances: [{ workflowId: handle.workflowId, deterministic: true }] });
    await handle.terminate('test cleanup');
  });

  describe('migrating running instances from version 1 to version 2', () => {
    const key = `ops-migrate-${run}`;
    // version 2 replaces `review` by `check`; `approve` stays
    const v1 = reviewModel(key);
    const v2: ProcessModel = (() => {
      const model = reviewModel(key);
      const review = model.nodes.review!;
      delete model.nodes.review;
      model.nodes.check = { ...review, id: 'check' };
      model.flows.f1!.targetId = 'check';
      model.flows.f2!.sourceId = 'check';
      return { ...model, version: 2 };
    })();

    beforeAll(async () => {
      await deployDefinition(database.pool, { key, xml: `<definitions id="v1-${run}"/>`, model: v1, deployedBy: 'test' });
      await deployDefinition(database.pool, { key, xml: `<definitions id="v2-${run}"/>`, model: v2, deployedBy: 'test' });
    });

    it('reports, before deploying, how many running instances sit on nodes the new version removes', async () => {
      const handle = await start({ ...v1, version: 1 }, `impact-${run}`);
      await waitFor('the review task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'review'));
      await waitForCount(`KfProcessKey = '${key}' AND KfActiveNodes = 'review'`, 1);

      const report = await call('POST', '/api/ops/replay-check', { impactOnly: true, newVersion: { processKey: key, version: 2 } });

      expect(report.status).toBe(200);
      expect(report.body.newVersionImpact).toMatchObject({ affectedInstances: 1, removedNodes: [{ nodeId: 'review', processVersion: 1, instances: 1 }], sample: [handle.workflowId] });
      await handle.terminate('test cleanup');
    });

    it('refuses a migration whose mapping leaves an active node out, naming the node, and changes nothing', async () => {
      const handle = await start(v1, `unmapped-${run}`);
      await waitFor('the review task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'review'));

      const refused = await call('POST', `${instancePath(handle)}/migrate`, { reason: 'v2 rollout', toVersion: 2, nodeMapping: { approve: 'approve' } });

      expect(refused.status).toBe(422);
      expect(refused.body.error.message).toContain('review');
      expect(refused.body.error.details).toEqual({ unmappedNodes: ['review'] });
      expect((await state(handle)).processVersion).toBe(1);
      const audit = await call('GET', `${instancePath(handle)}/audit`);
      expect(audit.body.entries[0]).toMatchObject({ action: 'ops.migrate', details: { result: 'failed', error: { code: 'UNPROCESSABLE' } } });

      // and a batch dry run names the same refusal
      await waitForCount(`KfProcessKey = '${key}' AND KfActiveNodes = 'review' AND ExecutionStatus = 'Running'`, 1);
      const dryRun = await call('POST', '/api/ops/batches', {
        action: 'migrate',
        filter: { status: 'running', processKey: key, businessKey: `unmapped-${run}` },
        params: { toVersion: 2, nodeMapping: { approve: 'approve' } },
        reason: 'v2 rollout',
        dryRun: true,
      });
      expect(dryRun.body).toMatchObject({ count: 1, wouldRefuse: [{ workflowId: handle.workflowId, unmappedNodes: ['review'] }] });
      await handle.terminate('test cleanup');
    });

    it('migrates with a complete mapping: the token continues at the mapped node of version 2', async () => {
      const handle = await start(v1, `mapped-${run}`);
      await waitFor('the review task', async () => (await state(handle)).openTasks.some((task) => task.nodeId === 'review'));

      const migrated = await call('POST', `${instancePath(handle)}/migrate`, { reason: 'v2 rollout', toVersion: 2, nodeMapping: { review: 'check' } });

      expect(migrated.status).toBe(200);
      expect(migrated.body).toEqual({ fromVersion: 1, toVersion: 2, movedTokens: 1 });
      const after = await waitFor('the check task', async () => {
        const current = await state(handle);
        return current.openTasks.some((task) => task.nodeId === 'check') && current;
      });
      expect(after.processVersion).toBe(2);
      expect(after.openTasks.map((task) => task.nodeId)).toEqual(['check']);
      await waitForCount(`WorkflowId = '${handle.workflowId}' AND KfProcessVersion = 2`, 1);
      await handle.terminate('test cleanup');
    });
  });

  it('retries 500 incidents in a batch: dry-run count first, then every instance completes within the rate limit, with per-instance results', async () => {
    const batchKey = `ops-batch-${run}`;
    const model = orderModel(batchKey);
    const keys = Array.from({ length: 500 }, (_, index) => `b${index}-${run}`);
    for (const key of keys) injectedFaults.add(key);
    for (let index = 0; index < keys.length; index += 50) {
      await Promise.all(keys.slice(index, index + 50).map((key) => start(model, key)));
    }
    await waitForCount(`KfProcessKey = '${batchKey}' AND KfIncident = true AND ExecutionStatus = 'Running'`, 500);
    for (const key of keys) injectedFaults.delete(key);
    const filter = { status: 'incident', processKey: batchKey, nodeId: 'activate', errorContains: 'timeout' };

    // dry run: counts, starts nothing
    const dryRun = await call('POST', '/api/ops/batches', { action: 'retry', filter, reason: 'provisioning is back', dryRun: true });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body).toMatchObject({ dryRun: true, count: 500 });

    // when
    const ratePerSecond = 125;
    const started = await call('POST', '/api/ops/batches', { action: 'retry', filter, reason: 'provisioning is back', ratePerSecond });
    expect(started.status).toBe(200);
    const batchId = started.body.batchId;
    const finished = await waitFor(
      'the batch to finish',
      async () => {
        const batch = await call('GET', `/api/ops/batches/${batchId}`);
        return batch.body.status !== 'running' && batch.body;
      },
      180_000,
    );

    // then every instance has its own result, and all of them succeeded
    expect(finished).toMatchObject({ status: 'completed', total: 500, counts: { succeeded: 500, failed: 0, pending: 0 } });
    const items = await call('GET', `/api/ops/batches/${batchId}/items?limit=1000`);
    expect(items.body.items).toHaveLength(500);
    expect(new Set(items.body.items.map((item: any) => item.workflow_id))).toEqual(new Set(keys.map((key) => processInstanceId(batchKey, key))));
    await waitForCount(`KfProcessKey = '${batchKey}' AND ExecutionStatus = 'Completed'`, 500);

    // and no second saw more than `ratePerSecond` actions start: the batch took at least 500/125 - 1 seconds
    const times = await database.pool.one(sql.type(z.object({ first: z.string(), last: z.string() }))`
      SELECT min(attempted_at) AS first, max(attempted_at) AS last FROM ops_batch_items WHERE batch_id = ${batchId}`);
    expect(Date.parse(times.last) - Date.parse(times.first)).toBeGreaterThanOrEqual((500 / ratePerSecond - 1) * 1000 - 50);
    const perSecond = await database.pool.any(sql.type(z.object({ second: z.number(), n: z.number() }))`
      SELECT floor(extract(epoch FROM attempted_at - ${times.first}::timestamptz))::int AS second, count(*)::int AS n
      FROM ops_batch_items WHERE batch_id = ${batchId} GROUP BY 1`);
    for (const bucket of perSecond) expect(bucket.n).toBeLessThanOrEqual(ratePerSecond);

    // and each instance's audit trail names the batch
    const audit = await call('GET', `/api/ops/instances/${encodeURIComponent(processInstanceId(batchKey, keys[0]!))}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ actor: ops.staff.username, action: 'ops.retry', details: { batchId, result: 'succeeded' } });
    // 500 instances on a shared two-core machine: minutes under load, never a hang
  }, 600_000);
});
