import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import type { Config } from '../../../runtime/config';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session, type TestStaff } from '../../support/auth';
import { insertTask } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { updateRejections } from '../../../workflows/contracts';
import { testConfig, testLogger } from '../../support/services';

type Caller = Session & { staff: TestStaff };

describe('the task inbox', () => {
  let database: TestDatabase;
  let config: Config;
  let api: RunningApi;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;
  /** A Tianhe customer manager, a Guangzhou supervisor and a Nanshan customer manager. */
  let tianheManager: Caller;
  let guangzhouSupervisor: Caller;
  let nanshanManager: Caller;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    config = testConfig(database);
    api = await startApi(config, testLogger, 0);
    connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
    worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.KEYFLOW_TASK_QUEUE,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '../../support/fake-engine/workflows.ts'), logger: quiet }),
    });
    running = worker.run();
    tianheManager = await loginAs(api.url, database.pool, ['customer_manager'], testOrg.tianhe);
    guangzhouSupervisor = await loginAs(api.url, database.pool, ['supervisor', 'customer_manager'], testOrg.guangzhou);
    nanshanManager = await loginAs(api.url, database.pool, ['customer_manager'], testOrg.nanshan);
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await api?.close();
    await database?.drop();
  });

  const call = async (caller: Session, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${api.url}${url}`, { method, headers: caller.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const taskPath = (taskId: string, action = '') => `/api/tasks/${encodeURIComponent(taskId)}${action}`;
  const ids = (page: any) => page.items.map((task: any) => task.id);
  const startProcess = async (taskIds: string[], workflowId: string) =>
    api.temporal.workflow.start('fakeUserTasks', { taskQueue: config.KEYFLOW_TASK_QUEUE, workflowId, args: [taskIds], workflowExecutionTimeout: '5 minutes' });

  describe('who sees what', () => {
    let countyTask: string;
    let areaTask: string;
    let shenzhenTask: string;
    let supervisorTask: string;
    let unscopedTask: string;
    let namedTask: string;
    let closedTask: string;

    beforeAll(async () => {
      countyTask = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      areaTask = await insertTask(database.pool, { candidateGroups: ['customer_manager', 'dispatcher'], orgUnitId: testOrg.tianheArea });
      shenzhenTask = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.nanshan });
      supervisorTask = await insertTask(database.pool, { candidateGroups: ['supervisor'], orgUnitId: testOrg.tianhe });
      unscopedTask = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: null });
      namedTask = await insertTask(database.pool, { candidateGroups: ['billing_clerk'], candidateUsers: [nanshanManager.staff.username], orgUnitId: testOrg.tianhe });
      closedTask = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, status: 'completed' });
    });

    it('offers group tasks of my roles within my subtree, and tasks without a unit, but no closed ones', async () => {
      const tianhe = ids((await call(tianheManager, 'GET', '/api/tasks/group')).body);
      const guangzhou = ids((await call(guangzhouSupervisor, 'GET', '/api/tasks/group')).body);
      const nanshan = ids((await call(nanshanManager, 'GET', '/api/tasks/group')).body);

      expect(tianhe.sort()).toEqual([countyTask, areaTask, unscopedTask].sort());
      expect(guangzhou.sort()).toEqual([countyTask, areaTask, supervisorTask, unscopedTask].sort());
      expect(nanshan.sort()).toEqual([shenzhenTask, unscopedTask, namedTask].sort());
      expect([...tianhe, ...guangzhou, ...nanshan]).not.toContain(closedTask);
    });

    it('answers 404 for a task outside my groups or my subtree, and lets me claim none of them', async () => {
      for (const taskId of [shenzhenTask, supervisorTask]) {
        expect((await call(tianheManager, 'GET', taskPath(taskId))).status).toBe(404);
        expect((await call(tianheManager, 'POST', taskPath(taskId, '/claim'))).status).toBe(404);
        expect((await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true } })).status).toBe(404);
      }
      expect((await call(tianheManager, 'GET', taskPath('no-such-task'))).status).toBe(404);
    });

    it('moves a claimed task from the group list to mine, and back on unclaim, with audit rows', async () => {
      const claimed = await call(tianheManager, 'POST', taskPath(countyTask, '/claim'));
      const again = await call(tianheManager, 'POST', taskPath(countyTask, '/claim'));
      const otherClaim = await call(guangzhouSupervisor, 'POST', taskPath(countyTask, '/claim'));
      const otherUnclaim = await call(guangzhouSupervisor, 'POST', taskPath(countyTask, '/unclaim'));

      expect(claimed.status).toBe(200);
      expect(claimed.body).toMatchObject({ assignee: tianheManager.staff.username, claimedAt: expect.any(String) });
      expect(again.status).toBe(200);
      expect(otherClaim.status).toBe(409);
      expect(otherClaim.body.error.details).toMatchObject({ reason: 'TASK_CLAIMED', assignee: tianheManager.staff.username });
      expect(otherUnclaim.status).toBe(409);
      expect(ids((await call(tianheManager, 'GET', '/api/tasks/mine')).body)).toEqual([countyTask]);
      expect(ids((await call(guangzhouSupervisor, 'GET', '/api/tasks/group')).body)).not.toContain(countyTask);
      // the group still sees it (who holds it), but cannot take it
      expect((await call(guangzhouSupervisor, 'GET', taskPath(countyTask))).body.assignee).toBe(tianheManager.staff.username);

      const unclaimed = await call(tianheManager, 'POST', taskPath(countyTask, '/unclaim'));

      expect(unclaimed.body).toMatchObject({ assignee: null, claimedAt: null });
      expect(ids((await call(tianheManager, 'GET', '/api/tasks/mine')).body)).toEqual([]);
      const actions = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`
        SELECT action FROM audit_log WHERE entity_type = 'human_task' AND entity_id = ${countyTask} ORDER BY id`);
      expect(actions).toEqual(['task.claim', 'task.unclaim']);
    });

    it('refuses to claim or unclaim a closed task with 409', async () => {
      const claim = await call(tianheManager, 'POST', taskPath(closedTask, '/claim'));
      expect(claim.status).toBe(409);
      expect(claim.body.error.details.reason).toBe('TASK_CLOSED');
    });
  });

  describe('a supervisor hands out work', () => {
    let unclaimed: string;
    let heldByOther: string;
    let elsewhere: string;
    let closed: string;
    let tianheDispatcher: TestStaff;
    let retired: TestStaff;
    const task = async (taskId: string) => (await call(guangzhouSupervisor, 'GET', taskPath(taskId))).body;
    const assign = (caller: Caller, taskId: string, assignee: string | null, version: number) => call(caller, 'POST', taskPath(taskId, '/assign'), { assignee, version });

    beforeAll(async () => {
      unclaimed = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianheArea });
      heldByOther = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, assignee: guangzhouSupervisor.staff.username });
      elsewhere = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.nanshan });
      closed = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, status: 'completed' });
      tianheDispatcher = await createTestStaff(database.pool, { roles: ['dispatcher'], orgUnitId: testOrg.tianhe });
      retired = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.tianhe });
      await database.pool.query(sql.type(z.object({}))`UPDATE staff SET active = false WHERE username = ${retired.username}`);
    });

    it("lists every open task of the supervisor's subtree, claimed or not, and only to supervisors", async () => {
      const team = ids((await call(guangzhouSupervisor, 'GET', '/api/tasks/team')).body);
      const held = ids((await call(guangzhouSupervisor, 'GET', `/api/tasks/team?assignee=${guangzhouSupervisor.staff.username}`)).body);

      expect(team).toEqual(expect.arrayContaining([unclaimed, heldByOther]));
      expect(team).not.toContain(elsewhere);
      expect(team).not.toContain(closed);
      expect(held).toEqual([heldByOther]);
      expect((await call(tianheManager, 'GET', '/api/tasks/team')).status).toBe(403);
    });

    it("hands a task to a candidate, who then finds it among their own, with an audit row; null gives it back to the groups", async () => {
      const before = await task(heldByOther);

      const given = await assign(guangzhouSupervisor, heldByOther, tianheManager.staff.username, before.version);

      expect(given.status).toBe(200);
      expect(given.body).toMatchObject({ assignee: tianheManager.staff.username, version: before.version + 1 });
      expect(ids((await call(tianheManager, 'GET', '/api/tasks/mine')).body)).toContain(heldByOther);

      const back = await assign(guangzhouSupervisor, heldByOther, null, given.body.version);

      expect(back.body).toMatchObject({ assignee: null, claimedAt: null });
      expect(ids((await call(tianheManager, 'GET', '/api/tasks/group')).body)).toContain(heldByOther);
      const audit = await database.pool.any(sql.type(z.object({ actor: z.string(), after: z.unknown() }))`
        SELECT actor, after FROM audit_log WHERE entity_type = 'human_task' AND entity_id = ${heldByOther} AND action = 'task.assign' ORDER BY id`);
      expect(audit).toEqual([
        { actor: guangzhouSupervisor.staff.username, after: { assignee: tianheManager.staff.username } },
        { actor: guangzhouSupervisor.staff.username, after: { assignee: null } },
      ]);
    });

    it('refuses an assignee who could not work on the task with 422, changing nothing', async () => {
      const { version } = await task(unclaimed);
      for (const assignee of [tianheDispatcher.username, nanshanManager.staff.username, retired.username, 'nobody-here']) {
        const refused = await assign(guangzhouSupervisor, unclaimed, assignee, version);
        expect({ assignee, status: refused.status, reason: refused.body.error.details?.reason }).toEqual({ assignee, status: 422, reason: 'NOT_A_CANDIDATE' });
      }
      expect(await task(unclaimed)).toMatchObject({ assignee: null, version });
    });

    it('answers 409 for a stale version or a closed task, 404 outside the subtree, 403 to non-supervisors and 400 for a bad body', async () => {
      const { version } = await task(unclaimed);

      expect((await assign(guangzhouSupervisor, unclaimed, tianheManager.staff.username, version + 5)).status).toBe(409);
      const closedTask = await database.pool.oneFirst(sql.type(z.object({ version: z.number() }))`SELECT version FROM human_tasks WHERE id = ${closed}`);
      expect((await assign(guangzhouSupervisor, closed, tianheManager.staff.username, closedTask)).body.error.details.reason).toBe('TASK_CLOSED');
      expect((await assign(guangzhouSupervisor, elsewhere, tianheManager.staff.username, 0)).status).toBe(404);
      expect((await assign(tianheManager, unclaimed, tianheManager.staff.username, version)).status).toBe(403);
      for (const body of [{ assignee: tianheManager.staff.username }, { assignee: 7, version }, { assignee: 'x', version, extra: true }]) {
        expect((await call(guangzhouSupervisor, 'POST', taskPath(unclaimed, '/assign'), body)).status).toBe(400);
      }
      expect(await task(unclaimed)).toMatchObject({ assignee: null, version });
    });
  });

  describe('completing', () => {
    it('hands the form data to the process, which records who completed it; the API writes an audit row', async () => {
      const workflowId = `test:${randomUUID()}`;
      const taskId = await insertTask(database.pool, { workflowId, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, customerId: 'KA00000001' });
      const handle = await startProcess([taskId], workflowId);
      await call(tianheManager, 'POST', taskPath(taskId, '/claim'));

      const response = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true, comment: '同意' } });

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ taskId, completedBy: tianheManager.staff.username, result: { accepted: true } });
      expect(await handle.result()).toEqual({ [taskId]: { taskId, completedBy: tianheManager.staff.username, variables: { approved: true, comment: '同意' } } });
      const audit = await database.pool.one(sql.type(z.object({ actor: z.string(), account_id: z.string().nullable(), details: z.any() }))`
        SELECT actor, account_id, details FROM audit_log WHERE action = 'task.complete' AND entity_id = ${taskId}`);
      expect(audit).toEqual({ actor: tianheManager.staff.username, account_id: 'KA00000001', details: { workflowId, variables: { approved: true, comment: '同意' } } });
    });

    it('lets a candidate complete an unclaimed task, but not one claimed by someone else', async () => {
      const workflowId = `test:${randomUUID()}`;
      const unclaimed = await insertTask(database.pool, { id: `${workflowId}/a/0`, workflowId, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      const claimed = await insertTask(database.pool, { id: `${workflowId}/b/0`, workflowId, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, assignee: 'somebody-else' });
      await startProcess([unclaimed, claimed], workflowId);

      const ok = await call(guangzhouSupervisor, 'POST', taskPath(unclaimed, '/complete'), { variables: { approved: false } });
      const refused = await call(guangzhouSupervisor, 'POST', taskPath(claimed, '/complete'), { variables: { approved: false } });

      expect(ok.status).toBe(200);
      expect(refused.status).toBe(409);
      expect(refused.body.error.details).toMatchObject({ reason: 'TASK_CLAIMED', assignee: 'somebody-else' });
    });

    it('answers 422 with the failing fields when the process refuses the form data', async () => {
      const workflowId = `test:${randomUUID()}`;
      const taskId = await insertTask(database.pool, { workflowId, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      await startProcess([taskId], workflowId);

      const response = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: 'maybe' } });

      expect(response.status).toBe(422);
      expect(response.body.error).toMatchObject({ code: 'UNPROCESSABLE', details: { reason: updateRejections.taskFormInvalid, fields: [{ field: 'approved', message: 'choose yes or no' }] } });
      const audit = await database.pool.exists(sql.type(z.object({}))`SELECT FROM audit_log WHERE action = 'task.complete' AND entity_id = ${taskId}`);
      expect(audit).toBe(false);
    });

    it('answers 409 when the process says the task is no longer open', async () => {
      const workflowId = `test:${randomUUID()}`;
      const taskId = await insertTask(database.pool, { workflowId, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      const other = `${workflowId}/other/0`;
      await startProcess([taskId, other], workflowId);
      expect((await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true } })).status).toBe(200);

      // The inbox row is closed by the engine's activity; until then a second completion reaches the process.
      const second = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true } });

      expect(second.status).toBe(409);
      expect(second.body.error.details.reason).toBe('TASK_NOT_OPEN');
    });

    it('answers 409 for a task the inbox already shows closed, without asking the process', async () => {
      const taskId = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe, status: 'cancelled' });
      const response = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true } });
      expect(response.status).toBe(409);
      expect(response.body.error.details.reason).toBe('TASK_CLOSED');
    });

    it('answers 404 when the process instance behind the task does not exist', async () => {
      const taskId = await insertTask(database.pool, { workflowId: `test:gone-${randomUUID()}`, candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      const response = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { approved: true } });
      expect(response.status).toBe(404);
      expect(response.body.error.details.reason).toBe('WORKFLOW_NOT_FOUND');
    });

    it('refuses malformed and oversized form data with 400 before reaching the process', async () => {
      const taskId = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      const notObject = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: [1, 2] });
      const extra = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: {}, sneaky: true });
      const big = await call(tianheManager, 'POST', taskPath(taskId, '/complete'), { variables: { text: 'x'.repeat(300 * 1024) } });
      expect([notObject.status, extra.status, big.status]).toEqual([400, 400, 400]);
    });
  });
});

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error };
