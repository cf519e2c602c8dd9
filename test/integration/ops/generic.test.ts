import type { Client } from '@temporalio/client';
import type { WorkflowBundle } from '@temporalio/worker';
import { startApi, type RunningApi } from '../../../api/server';
import type { Config } from '../../../runtime/config';
import { createKeyflowWorker, type KeyflowWorker } from '../../../commands/worker';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';

type OpsSession = Awaited<ReturnType<typeof loginAs>>;
import { runKeyflow } from '../../support/cli';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { bundleOpsFixtures, fixtureActivities, injectedFaults } from '../../support/ops-fixtures';
import { testConfig, testLogger } from '../../support/services';

describe('ops on any workflow: timeline, terminate, reset, replay check, audit', () => {
  let database: TestDatabase;
  let config: Config;
  let worker: KeyflowWorker;
  let api: RunningApi;
  let temporal: Client;
  let ops: OpsSession;
  let dispatcher: OpsSession;
  let original: WorkflowBundle;
  let changed: WorkflowBundle;
  let replayAgainst: 'original' | 'changed' = 'original';

  beforeAll(async () => {
    database = await createTestDatabase();
    config = testConfig(database);
    [original, changed] = await Promise.all([bundleOpsFixtures('original'), bundleOpsFixtures('changed')]);
    worker = await createKeyflowWorker(config, testLogger, { workflowBundle: original, pool: database.pool, activities: fixtureActivities });
    void worker.run();
    api = await startApi(config, testLogger, 0, { ops: { replayBundle: async () => (replayAgainst === 'original' ? original : changed) } });
    temporal = api.temporal;
    await seedOrgTree(database.pool);
    ops = await loginAs(api.url, database.pool, ['ops'], testOrg.guangzhou);
    dispatcher = await loginAs(api.url, database.pool, ['dispatcher', 'supervisor'], testOrg.guangzhou);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.shutdown();
    await database?.drop();
  });

  const call = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api.url}${path}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  async function startSteps(key: string) {
    const handle = await temporal.workflow.start('opsStepsWorkflow', { taskQueue: config.KEYFLOW_TASK_QUEUE, workflowId: `steps:${key}`, args: [key] });
    // wait until the first step ran and the instance waits for `proceed`
    for (let i = 0; i < 100; i++) {
      const history = await handle.fetchHistory();
      if (history.events?.some((event) => event.activityTaskCompletedEventAttributes)) return handle;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the first step never completed');
  }

  async function waitForVisibility(query: string, count: number) {
    for (let i = 0; i < 100; i++) {
      if ((await temporal.workflow.count(query)).count >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`visibility never showed ${count} for ${query}`);
  }

  it('derives the timeline from the history: activities with their node, attempts and errors, signals, reset points', async () => {
    const key = `timeline-${Date.now()}`;
    injectedFaults.add(key);
    const handle = await temporal.workflow.start('opsFailingWorkflow', { taskQueue: config.KEYFLOW_TASK_QUEUE, workflowId: `failing:${key}`, args: [key] });
    await expect(handle.result()).rejects.toThrow();

    // when
    const { status, body } = await call(ops, 'GET', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/timeline`);

    // then
    expect(status).toBe(200);
    const kinds = body.entries.map((entry: any) => `${entry.kind}${entry.nodeId ? `@${entry.nodeId}` : ''}`);
    expect(kinds).toEqual(
      expect.arrayContaining(['instance.started', 'activity.scheduled@prepare', 'activity.completed@prepare', 'activity.scheduled@activate', 'activity.failed@activate', 'instance.failed']),
    );
    const failedStart = body.entries.find((entry: any) => entry.kind === 'activity.started' && entry.nodeId === 'activate');
    expect(failedStart).toMatchObject({ attempt: 2, previousAttemptError: expect.stringContaining('provisioning timeout') });
    const failed = body.entries.find((entry: any) => entry.kind === 'activity.failed');
    expect(failed.error.message).toContain(`provisioning timeout for ${key}`);
    expect(body.resetPoints.length).toBeGreaterThanOrEqual(2);
    injectedFaults.delete(key);
  });

  it('resets a failed instance to the node before the failure; once the fault is gone it completes', async () => {
    const key = `reset-${Date.now()}`;
    injectedFaults.add(key);
    const handle = await temporal.workflow.start('opsFailingWorkflow', { taskQueue: config.KEYFLOW_TASK_QUEUE, workflowId: `failing:${key}`, args: [key] });
    await expect(handle.result()).rejects.toThrow('Workflow execution failed');
    injectedFaults.delete(key);

    // when
    const { status, body } = await call(ops, 'POST', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/reset`, { reason: 'provisioning is back' });

    // then
    expect(status).toBe(200);
    expect(body).toMatchObject({ nodeId: 'activate', runId: expect.any(String), fromRunId: expect.any(String) });
    expect(body.runId).not.toBe(body.fromRunId);
    expect(await temporal.workflow.getHandle(handle.workflowId, body.runId).result()).toBe('activated');
    // the step before the failure is not run again: the reset kept it
    const events = (await temporal.workflow.getHandle(handle.workflowId, body.runId).fetchHistory()).events ?? [];
    const prepareRuns = events.filter((event) => event.activityTaskScheduledEventAttributes?.activityId === 'prepare/0');
    expect(prepareRuns).toHaveLength(1);

    const audit = await call(ops, 'GET', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ actor: ops.staff.username, action: 'ops.reset', details: { reason: 'provisioning is back', result: 'succeeded' } });
  });

  it('refuses a reset to an event that is not a workflow task completion, and records the refusal', async () => {
    const handle = await startSteps(`badreset-${Date.now()}`);
    const { status, body } = await call(ops, 'POST', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/reset`, { reason: 'try', eventId: 1 });
    expect(status).toBe(422);
    expect(body.error.code).toBe('UNPROCESSABLE');
    const audit = await call(ops, 'GET', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'ops.reset', details: { result: 'failed', error: { code: 'UNPROCESSABLE' } } });
    await handle.terminate('test cleanup');
  });

  it('terminates a running instance with the reason, and refuses a second terminate with 409', async () => {
    const handle = await startSteps(`terminate-${Date.now()}`);
    const first = await call(ops, 'POST', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/terminate`, { reason: 'duplicate order' });
    expect(first.status).toBe(200);
    const description = await handle.describe();
    expect(description.status.name).toBe('TERMINATED');
    const timeline = await call(ops, 'GET', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/timeline`);
    expect(timeline.body.entries.at(-1)).toMatchObject({ kind: 'instance.terminated', details: { reason: `duplicate order (by ${ops.staff.username})` } });

    const second = await call(ops, 'POST', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/terminate`, { reason: 'again' });
    expect(second.status).toBe(409);
  });

  it('answers 404 for an unknown instance and 400 for an action without a reason', async () => {
    expect((await call(ops, 'GET', '/api/ops/instances/nope:nothing/timeline')).status).toBe(404);
    const noReason = await call(ops, 'POST', '/api/ops/instances/nope:nothing/terminate', {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.details[0].field).toBe('body.reason');
  });

  it('replay check passes on unchanged code and names the instance and the first divergent event after a non-deterministic change', async () => {
    const handles = [await startSteps(`replay-a-${Date.now()}`), await startSteps(`replay-b-${Date.now()}`)];
    const filter = { workflowType: 'opsStepsWorkflow', taskQueue: config.KEYFLOW_TASK_QUEUE };
    await waitForVisibility(`WorkflowType = 'opsStepsWorkflow' AND TaskQueue = '${config.KEYFLOW_TASK_QUEUE}' AND ExecutionStatus = 'Running'`, 2);

    replayAgainst = 'original';
    const clean = await call(ops, 'POST', '/api/ops/replay-check', { filter });
    expect(clean.status).toBe(200);
    expect(clean.body.checked).toBeGreaterThanOrEqual(2);
    expect(clean.body.nonDeterministic).toBe(0);

    // when the workflow code changes in a way that breaks running instances
    replayAgainst = 'changed';
    const broken = await call(ops, 'POST', '/api/ops/replay-check', { filter });

    // then every running instance is named, with the event the new code no longer reproduces
    expect(broken.status).toBe(200);
    expect(broken.body.nonDeterministic).toBe(broken.body.checked);
    for (const handle of handles) {
      const verdict = broken.body.instances.find((instance: any) => instance.workflowId === handle.workflowId);
      expect(verdict).toMatchObject({ deterministic: false, error: { type: 'DeterminismViolationError' } });
      expect(verdict.divergentEvent).toMatchObject({ eventId: 5, eventType: 'ACTIVITY_TASK_SCHEDULED' });
    }
    replayAgainst = 'original';
    for (const handle of handles) await handle.terminate('test cleanup');
  });

  it('runs a terminate batch at its rate and stops when cancelled, keeping what it did', async () => {
    const prefix = `batch-${Date.now()}`;
    const handles = [];
    for (let index = 0; index < 4; index++) handles.push(await startSteps(`${prefix}-${index}`));
    const filter = { workflowType: 'opsStepsWorkflow', taskQueue: config.KEYFLOW_TASK_QUEUE, status: 'running' };
    await waitForVisibility(`WorkflowType = 'opsStepsWorkflow' AND TaskQueue = '${config.KEYFLOW_TASK_QUEUE}' AND ExecutionStatus = 'Running'`, 4);

    const started = await call(ops, 'POST', '/api/ops/batches', { action: 'terminate', filter, reason: 'clean-up', ratePerSecond: 1 });
    expect(started.status).toBe(200);
    expect(started.body.count).toBe(4);
    const batchPath = `/api/ops/batches/${started.body.batchId}`;
    for (let i = 0; i < 100; i++) {
      if ((await call(ops, 'GET', batchPath)).body.counts.succeeded >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // when
    const cancelled = await call(ops, 'POST', `${batchPath}/cancel`, { reason: 'wrong filter' });

    // then
    expect(cancelled.status).toBe(200);
    let batch: any;
    for (let i = 0; i < 100; i++) {
      batch = (await call(ops, 'GET', batchPath)).body;
      if (batch.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(batch).toMatchObject({ status: 'cancelled', total: 4, progress: { status: 'cancelled' } });
    expect(batch.counts.succeeded).toBeGreaterThanOrEqual(1);
    expect(batch.counts.pending).toBeGreaterThanOrEqual(1);
    const statuses = await Promise.all(handles.map(async (handle) => (await handle.describe()).status.name));
    expect(statuses.filter((status) => status === 'TERMINATED')).toHaveLength(batch.counts.succeeded);
    expect((await call(ops, 'POST', `${batchPath}/cancel`, { reason: 'again' })).status).toBe(409);
    for (const handle of handles) await handle.terminate('test cleanup').catch(() => undefined);
  });

  describe('the CLI `keyflow ops`', () => {
    const cliEnv = (session: OpsSession) => ({ KEYFLOW_URL: api.url, KEYFLOW_USER: session.staff.username, KEYFLOW_PASSWORD: session.staff.password });

    it('terminates an instance through the API, and the audit trail names the CLI user', async () => {
      const handle = await startSteps(`cli-${Date.now()}`);
      const result = await runKeyflow(['ops', 'terminate', handle.workflowId, '--reason', 'stuck since Monday'], cliEnv(ops));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ runId: expect.any(String) });
      expect((await handle.describe()).status.name).toBe('TERMINATED');
      const audit = await call(ops, 'GET', `/api/ops/instances/${encodeURIComponent(handle.workflowId)}/audit`);
      expect(audit.body.entries[0]).toMatchObject({ actor: ops.staff.username, action: 'ops.terminate', details: { reason: 'stuck since Monday' } });
    });

    it('exits 1 from replay-check when an instance would not replay, naming it', async () => {
      const handle = await startSteps(`cli-replay-${Date.now()}`);
      await waitForVisibility(`WorkflowId = '${handle.workflowId}' AND ExecutionStatus = 'Running'`, 1);
      replayAgainst = 'changed';
      const result = await runKeyflow(['ops', 'replay-check', '--type', 'opsStepsWorkflow', '--task-queue', config.KEYFLOW_TASK_QUEUE], cliEnv(ops));
      replayAgainst = 'original';
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout).instances).toEqual(expect.arrayContaining([expect.objectContaining({ workflowId: handle.workflowId, deterministic: false })]));
      await handle.terminate('test cleanup');
    });

    it('reports a refusal in one line with the API error, and a usage error with exit 2', async () => {
      const forbidden = await runKeyflow(['ops', 'incidents'], cliEnv(dispatcher));
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toMatch(/^keyflow ops: 403 FORBIDDEN: this needs one of the roles: ops/);
      const usage = await runKeyflow(['ops', 'terminate', 'x:y'], cliEnv(ops));
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('--reason is required');
    });
  });

  it('refuses every ops route to staff without the ops role and to anonymous callers', async () => {
    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/ops/instances'],
      ['GET', '/api/ops/counts'],
      ['GET', '/api/ops/instances/x:y/timeline'],
      ['POST', '/api/ops/instances/x:y/terminate', { reason: 'r' }],
      ['POST', '/api/ops/instances/x:y/reset', { reason: 'r' }],
      ['POST', '/api/ops/instances/x:y/incidents/i/retry', { reason: 'r' }],
      ['POST', '/api/ops/instances/x:y/move', { reason: 'r', fromNodeId: 'a', toNodeId: 'b' }],
      ['POST', '/api/ops/batches', { action: 'retry', filter: {}, reason: 'r', dryRun: true }],
      ['POST', '/api/ops/replay-check', {}],
    ];
    for (const [method, path, body] of attempts) {
      const refused = await call(dispatcher, method, path, body);
      expect([path, refused.status, refused.body.error.code]).toEqual([path, 403, 'FORBIDDEN']);
      const anonymous = await fetch(`${api.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      expect([path, anonymous.status]).toEqual([path, 401]);
    }
  });
});
