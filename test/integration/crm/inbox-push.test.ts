import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session, type TestStaff } from '../../support/auth';
import { insertTask } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';
import { until } from '../../support/eventually';

type Caller = Session & { staff: TestStaff };

/** What an event stream has delivered so far, read as it arrives. */
interface Stream {
  events: { event: string; data: Record<string, unknown> }[];
  close(): void;
}

/**
 * The pushed inbox (`GET /api/tasks/events`, fed by PostgreSQL LISTEN/NOTIFY), the counts behind
 * the navigation's badge, the urgency order and filters, hand-on, candidates and a task's history.
 */
describe('the inbox, pushed and sorted', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let tianheDispatcher: Caller;
  let nanshanDispatcher: Caller;
  let guangzhouSupervisor: Caller;
  let colleague: TestStaff;
  const streams: Stream[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    await api.inbox.ready;
    tianheDispatcher = await loginAs(api.url, database.pool, ['dispatcher'], testOrg.tianhe);
    nanshanDispatcher = await loginAs(api.url, database.pool, ['dispatcher'], testOrg.nanshan);
    guangzhouSupervisor = await loginAs(api.url, database.pool, ['supervisor'], testOrg.guangzhou);
    colleague = await createTestStaff(database.pool, { roles: ['dispatcher'], orgUnitId: testOrg.guangzhou });
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await api?.close();
    await database?.drop();
  });

  const call = async (caller: Session, method: string, url: string, body?: unknown) => {
    const response = await fetch(`${api.url}${url}`, { method, headers: caller.headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };
  const taskPath = (taskId: string, action = '') => `/api/tasks/${encodeURIComponent(taskId)}${action}`;

  async function openStream(caller: Session): Promise<Stream> {
    const abort = new AbortController();
    const response = await fetch(`${api.url}/api/tasks/events`, { headers: caller.headers, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream: Stream = { events: [], close: () => abort.abort() };
    streams.push(stream);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) stream.events.push({ event, data: JSON.parse(data) });
        }
      }
    })();
    await waitUntil(() => stream.events.some((event) => event.event === 'ready'));
    return stream;
  }

  it("pushes a new task to the candidates of its unit's subtree and to the supervisor over it, and to no one else", async () => {
    const [tianhe, nanshan, supervisor] = [await openStream(tianheDispatcher), await openStream(nanshanDispatcher), await openStream(guangzhouSupervisor)];

    // when
    const taskId = await insertTask(database.pool, { candidateGroups: ['dispatcher'], orgUnitId: testOrg.tianheArea });

    // then
    const pushed = (stream: Stream) => stream.events.filter((event) => event.event === 'inbox' && event.data.taskId === taskId);
    await waitUntil(() => pushed(tianhe).length > 0 && pushed(supervisor).length > 0);
    expect(pushed(tianhe)[0]!.data).toMatchObject({ taskId, change: 'created', mine: false });
    expect(pushed(supervisor)[0]!.data).toMatchObject({ taskId, change: 'created' });
    // a change elsewhere comes in later than this one: waiting for it shows the first never arrived
    const shenzhenTask = await insertTask(database.pool, { candidateGroups: ['dispatcher'], orgUnitId: testOrg.nanshan });
    await waitUntil(() => nanshan.events.some((event) => event.data.taskId === shenzhenTask));
    expect(pushed(nanshan)).toEqual([]);
    expect(tianhe.events.some((event) => event.data.taskId === shenzhenTask)).toBe(false);

    // when claimed, and closed
    const claimed = await call(tianheDispatcher, 'POST', taskPath(taskId, '/claim'));
    expect(claimed.status).toBe(200);
    await database.pool.query(sql.type(z.object({}))`UPDATE human_tasks SET status = 'completed', closed_at = now() WHERE id = ${taskId}`);

    // then
    await waitUntil(() => pushed(tianhe).length === 3);
    expect(pushed(tianhe).map((event) => [event.data.change, event.data.mine])).toEqual([
      ['created', false],
      ['assigned', true],
      ['closed', true],
    ]);
  });

  it("does not slide the session's end when the stream connects, as using the API does", async () => {
    const caller = await loginAs(api.url, database.pool, ['dispatcher'], testOrg.tianhe);
    const expiresAt = () => database.pool.oneFirst(sql.type(z.object({ at: z.string() }))`
      SELECT expires_at::text AS at FROM staff_sessions WHERE staff_id = ${caller.staff.id}`);
    await database.pool.query(sql.type(z.object({}))`UPDATE staff_sessions SET expires_at = now() + interval '5 minutes' WHERE staff_id = ${caller.staff.id}`);
    const before = await expiresAt();

    const stream = await openStream(caller);
    stream.close();

    expect(await expiresAt()).toBe(before);
  });

  it('refuses the stream without a session', async () => {
    const response = await fetch(`${api.url}/api/tasks/events`);
    expect(response.status).toBe(401);
    await response.arrayBuffer();
  });

  it('counts what waits for me, for my groups and (supervisors) in my team, and how much of it is overdue', async () => {
    const before = (await call(nanshanDispatcher, 'GET', '/api/tasks/counts')).body;
    const overdue = await insertTask(database.pool, { candidateGroups: ['dispatcher'], orgUnitId: testOrg.nanshan });
    await database.pool.query(sql.type(z.object({}))`UPDATE human_tasks SET due_at = now() - interval '1 hour' WHERE id = ${overdue}`);
    await insertTask(database.pool, { candidateGroups: ['dispatcher'], orgUnitId: testOrg.nanshan, assignee: nanshanDispatcher.staff.username });

    const after = (await call(nanshanDispatcher, 'GET', '/api/tasks/counts')).body;

    expect(after).toEqual({ mine: before.mine + 1, group: before.group + 1, team: null, overdue: before.overdue + 1 });
    expect((await call(guangzhouSupervisor, 'GET', '/api/tasks/counts')).body.team).toEqual(expect.any(Number));
  });

  it('sorts by urgency — soonest due first, none last, then higher priority — across pages, and filters by due time and priority', async () => {
    const unit = testOrg.yuexiu;
    const dispatcher = await loginAs(api.url, database.pool, ['dispatcher'], unit);
    const rows: [string, string | null, number][] = [
      ['late', '-1 hour', 10],
      ['soon-high', '30 minutes', 90],
      ['soon-low', '30 minutes', 20],
      ['later', '3 days', 50],
      ['never', null, 99],
    ];
    for (const [name, due, priority] of rows) {
      const id = await insertTask(database.pool, { id: `urgency:${name}/t/0`, workflowId: `urgency:${name}`, candidateGroups: ['dispatcher'], orgUnitId: unit });
      await database.pool.query(sql.type(z.object({}))`
        UPDATE human_tasks SET priority = ${priority}, due_at = ${due === null ? null : sql.fragment`now() + ${due}::interval`} WHERE id = ${id}`);
    }

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/api/tasks/group?order=urgency&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await call(dispatcher, 'GET', query)).body;
      pages.push(page.items.map((task: { workflowId: string }) => task.workflowId.replace('urgency:', '')));
      cursor = page.nextCursor;
    } while (cursor);

    expect(pages).toEqual([['late', 'soon-high'], ['soon-low', 'later'], ['never']]);
    const dueSoon = (await call(dispatcher, 'GET', `/api/tasks/group?order=urgency&dueBefore=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}&minPriority=15`)).body;
    expect(dueSoon.items.map((task: { workflowId: string }) => task.workflowId)).toEqual(['urgency:soon-high', 'urgency:soon-low']);
  });

  it('refuses a bad order, due time, priority or cursor with 400 naming the field', async () => {
    for (const [query, field] of [
      ['order=sideways', 'order'],
      ['dueBefore=tomorrow', 'dueBefore'],
      ['minPriority=101', 'minPriority'],
    ]) {
      const refused = await call(tianheDispatcher, 'GET', `/api/tasks/group?${query}`);
      expect({ query, status: refused.status, fields: JSON.stringify(refused.body.error.details) }).toEqual({ query, status: 400, fields: expect.stringContaining(field!) });
    }
    expect((await call(tianheDispatcher, 'GET', '/api/tasks/group?order=urgency&cursor=bm90LWEtY3Vyc29y')).status).toBe(400);
  });

  it('lets the holder hand a task on to a colleague who may work on it, and refuses anyone else, a stale version or a task not held', async () => {
    const taskId = await insertTask(database.pool, { candidateGroups: ['dispatcher'], orgUnitId: testOrg.tianhe });
    const claimed = (await call(tianheDispatcher, 'POST', taskPath(taskId, '/claim'))).body;
    const candidates = (await call(tianheDispatcher, 'GET', taskPath(taskId, '/candidates'))).body.items.map((candidate: { username: string }) => candidate.username);
    expect(candidates).toContain(colleague.username);
    expect(candidates).not.toContain(tianheDispatcher.staff.username);
    expect(candidates).not.toContain(nanshanDispatcher.staff.username);

    // refused, changing nothing
    expect((await call(tianheDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: nanshanDispatcher.staff.username, version: claimed.version })).body.error.details).toMatchObject({ reason: 'NOT_A_CANDIDATE', field: 'assignee' });
    expect((await call(tianheDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: colleague.username, version: claimed.version - 1 })).status).toBe(409);
    expect((await call(tianheDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: colleague.username })).status).toBe(400);
    expect((await call(nanshanDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: colleague.username, version: claimed.version })).status).toBe(404);
    expect((await call(tianheDispatcher, 'GET', taskPath(taskId))).body).toMatchObject({ assignee: tianheDispatcher.staff.username, version: claimed.version });

    // when
    const handed = await call(tianheDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: colleague.username, version: claimed.version });

    // then
    expect(handed.body).toMatchObject({ assignee: colleague.username, version: claimed.version + 1 });
    expect((await call(tianheDispatcher, 'POST', taskPath(taskId, '/hand-on'), { assignee: tianheDispatcher.staff.username, version: handed.body.version })).body.error.details.reason).toBe('NOT_CLAIMED_BY_YOU');
    const audit = await database.pool.anyFirst(sql.type(z.object({ action: z.string() }))`SELECT action FROM audit_log WHERE entity_id = ${taskId} ORDER BY id`);
    expect(audit).toEqual(['task.claim', 'task.handOn']);
  });

  it("tells who did the instance's earlier steps, with their outcome and hand-outs, to those who may see the task, and 404 to others", async () => {
    const workflowId = `history:${Date.now()}`;
    const first = await insertTask(database.pool, { id: `${workflowId}/first/0`, workflowId, candidateGroups: ['dispatcher'], orgUnitId: testOrg.tianhe });
    await call(tianheDispatcher, 'POST', taskPath(first, '/claim'));
    await database.pool.query(sql.type(z.object({}))`
      UPDATE human_tasks SET status = 'completed', closed_at = now(), completed_by = ${tianheDispatcher.staff.username}, outcome = '{"approved": true}' WHERE id = ${first}`);
    const second = await insertTask(database.pool, { id: `${workflowId}/second/0`, workflowId, candidateGroups: ['dispatcher'], orgUnitId: testOrg.tianhe });

    const history = (await call(tianheDispatcher, 'GET', taskPath(second, '/history'))).body.items;

    expect(history).toEqual([
      expect.objectContaining({ taskId: first, status: 'completed', completedBy: tianheDispatcher.staff.username, outcome: { approved: true }, events: [expect.objectContaining({ action: 'task.claim', actor: tianheDispatcher.staff.username })] }),
    ]);
    expect((await call(nanshanDispatcher, 'GET', taskPath(second, '/history'))).status).toBe(404);
    // a supervisor over the unit sees the team's task, though not its candidate
    expect((await call(guangzhouSupervisor, 'GET', taskPath(second))).status).toBe(200);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  await until('the condition', async () => condition(), timeoutMs, 20);
}
