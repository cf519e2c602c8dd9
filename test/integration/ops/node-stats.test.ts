import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { deployDefinition } from '../../../db/definitions';
import { insertNodeExecutions } from '../../../db/node-stats';
import { collectNodeExecutions } from '../../../ops/node-stats';
import type { Config } from '../../../runtime/config';
import { createKeyflowWorker, type KeyflowWorker } from '../../../commands/worker';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput } from '../../../workflows/contracts';
import { loginAs, seedOrgTree, testOrg } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { bpmnFixtureActivities } from '../../support/ops-fixtures';
import { testConfig, testLogger, workflowBundle } from '../../support/services';
import { buildModel } from '../../workflow/engine/harness';

type Session = Awaited<ReturnType<typeof loginAs>>;

describe('node statistics for the heat map: collected from closed instances, read per node over a window', () => {
  let database: TestDatabase;
  let config: Config;
  let worker: KeyflowWorker;
  let api: RunningApi;
  let ops: Session;
  const run = randomUUID().slice(0, 8);
  const key = `ops-stats-${run}`;
  // start → reserve (service) → provision (service) → end
  const model = buildModel(
    key,
    [
      { id: 'start', type: 'startEvent' },
      { id: 'reserve', type: 'serviceTask', taskType: 'opsReserve', retries: 1, timeout: 'PT10S' },
      { id: 'provision', type: 'serviceTask', taskType: 'opsProvision', retries: 1, timeout: 'PT10S' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'reserve'],
      ['f2', 'reserve', 'provision'],
      ['f3', 'provision', 'end'],
    ],
  );

  beforeAll(async () => {
    database = await createTestDatabase();
    config = testConfig(database, { KEYFLOW_NODE_STATS_INTERVAL_MS: '0' });
    worker = await createKeyflowWorker(config, testLogger, { workflowBundle: await workflowBundle(), pool: database.pool, activities: bpmnFixtureActivities });
    void worker.run();
    api = await startApi(config, testLogger, 0);
    await seedOrgTree(database.pool);
    await deployDefinition(database.pool, { key, xml: `<definitions id="${key}"/>`, model, deployedBy: 'test' });
    ops = await loginAs(api.url, database.pool, ['ops'], testOrg.province);
  });

  afterAll(async () => {
    await api?.close();
    await worker?.shutdown();
    await database?.drop();
  });

  const get = async (path: string) => {
    const response = await fetch(`${api.url}${path}`, { headers: ops.headers });
    return { status: response.status, body: (await response.json()) as any };
  };
  const stored = () => database.pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM node_executions WHERE process_key = ${key}`);

  it("stores each service task's execution of a closed instance once, however often it is collected", async () => {
    const startedAt = new Date();
    const handle = await api.temporal.workflow.start(bpmnProcessWorkflowType, {
      taskQueue: config.KEYFLOW_TASK_QUEUE,
      workflowId: processInstanceId(key, `done-${run}`),
      args: [{ definition: model, businessKey: `done-${run}`, variables: {} } satisfies BpmnProcessInput],
    });
    await handle.result();
    const window = { closedAfter: new Date(startedAt.getTime() - 1000).toISOString(), closedBefore: new Date(Date.now() + 60_000).toISOString() };
    const visible = async () => (await api.temporal.workflow.count(`WorkflowId = '${handle.workflowId}' AND ExecutionStatus = 'Completed'`)).count === 1;
    for (let tries = 0; !(await visible()) && tries < 100; tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));

    // when
    const first = await collectNodeExecutions(api.temporal, database.pool, window);
    const again = await collectNodeExecutions(api.temporal, database.pool, window);

    // then
    expect(first.executions).toBe(2);
    expect(again.executions).toBe(0);
    expect(await stored()).toBe(2);
    const stats = await get(`/api/ops/processes/${key}/node-stats?version=1`);
    expect(stats.status).toBe(200);
    expect(stats.body.nodes.map((node: any) => [node.nodeId, node.executions])).toEqual([
      ['provision', 1],
      ['reserve', 1],
    ]);
    expect(stats.body.nodes[0].avgMs).toBeGreaterThanOrEqual(0);
  });

  it('answers executions, average, p95 and maximum per node over the window, and flags the nodes whose p95 is over the SLA', async () => {
    const base = Date.parse('2026-01-10T00:00:00Z');
    const executions = Array.from({ length: 100 }, (_, index) => ({
      workflowId: `${key}:synthetic-${index}`,
      runId: 'run',
      nodeId: 'provision',
      processKey: key,
      processVersion: 1,
      startedAt: new Date(base + index * 60_000).toISOString(),
      completedAt: new Date(base + index * 60_000 + (index + 1) * 1000).toISOString(),
      durationMs: (index + 1) * 1000,
    }));
    await insertNodeExecutions(database.pool, executions);

    const stats = await get(`/api/ops/processes/${key}/node-stats?version=1&from=2026-01-09T00:00:00Z&to=2026-01-11T00:00:00Z&slaMs=90000`);

    expect(stats.status).toBe(200);
    expect(stats.body.nodes).toEqual([{ nodeId: 'provision', executions: 100, avgMs: 50_500, p95Ms: 95_050, maxMs: 100_000, overSla: true }]);
    const withinOneHour = await get(`/api/ops/processes/${key}/node-stats?version=1&from=2026-01-10T00:30:00Z&to=2026-01-10T01:10:00Z`);
    expect(withinOneHour.body.nodes).toEqual([expect.objectContaining({ nodeId: 'provision', executions: 39, avgMs: 50_000, maxMs: 69_000 })]);
    const acrossHours = await get(`/api/ops/processes/${key}/node-stats?version=1&from=2026-01-10T00:30:00Z&to=2026-01-10T02:10:00Z`);
    expect(acrossHours.body.nodes).toEqual([expect.objectContaining({ nodeId: 'provision', executions: 70, avgMs: 65_500, maxMs: 100_000 })]);
    const outside = await get(`/api/ops/processes/${key}/node-stats?version=1&from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z`);
    expect(outside.body.nodes).toEqual([]);
  });

  it('refuses a bad window or version naming the field, and answers 404 for a process that is not deployed', async () => {
    const backwards = await get(`/api/ops/processes/${key}/node-stats?from=2026-01-11T00:00:00Z&to=2026-01-10T00:00:00Z`);
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.details).toEqual([expect.objectContaining({ field: 'query.from' })]);
    const badVersion = await get(`/api/ops/processes/${key}/node-stats?version=two`);
    expect(badVersion.status).toBe(400);
    expect(JSON.stringify(badVersion.body.error.details)).toContain('version');
    const unknownField = await get(`/api/ops/processes/${key}/node-stats?window=7d`);
    expect(unknownField.status).toBe(400);
    expect((await get(`/api/ops/processes/nope-${run}/node-stats`)).status).toBe(404);
    expect((await get(`/api/ops/processes/${key}/node-stats?version=9`)).status).toBe(404);
  });

  it('counts started and completed instances per hour, and refuses bad console input naming the field', async () => {
    const throughput = await get(`/api/ops/processes/${key}/throughput?version=1&hours=2`);
    expect(throughput.status).toBe(200);
    expect(throughput.body.hours).toHaveLength(2);
    // the instance of the first test, in this hour or (at the turn of the hour) the one before
    const total = (name: 'started' | 'completed') => throughput.body.hours.reduce((sum: number, hour: any) => sum + hour[name], 0);
    expect({ started: total('started'), completed: total('completed') }).toEqual({ started: 1, completed: 1 });

    for (const [path, field] of [
      [`/api/ops/processes/${key}/throughput?hours=999`, 'hours'],
      [`/api/ops/processes/${encodeURIComponent("a'b")}/throughput`, 'processKey'],
      ['/api/ops/instances?pageToken=not-a-token', 'pageToken'],
      ['/api/ops/instances?orgUnitId=%22x', 'orgUnitId'],
      ['/api/ops/incidents?scanLimit=0', 'scanLimit'],
    ] as const) {
      const refused = await get(path);
      expect({ path, status: refused.status }).toEqual({ path, status: 400 });
      expect(JSON.stringify(refused.body.error.details)).toContain(field);
    }
  });
});
