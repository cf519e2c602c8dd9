import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { insertTask } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

/**
 * Paging a task list visits each task once, in either order, even when tasks were created within
 * the same millisecond (PostgreSQL keeps microseconds, the cursor a JavaScript date's milliseconds).
 */
describe('paging through a task list', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let manager: Session;
  const created: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    manager = await loginAs(api.url, database.pool, ['customer_manager'], testOrg.tianhe);
    for (let index = 0; index < 4; index++) {
      const id = await insertTask(database.pool, { candidateGroups: ['customer_manager'], orgUnitId: testOrg.tianhe });
      // four tasks in one millisecond, a microsecond apart, all due at the same instant
      await database.pool.query(sql.type(z.object({}))`
        UPDATE human_tasks SET created_at = ${`2026-11-30T08:00:00.123${String(index + 1).padStart(3, '0')}Z`}::timestamptz,
                               due_at = '2026-12-30T08:00:00.456789Z' WHERE id = ${id}`);
      created.push(id);
    }
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const pages = async (order: string) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response = await fetch(`${api.url}/api/tasks/group?limit=1&order=${order}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: manager.headers });
      const body = (await response.json()) as { items: { id: string }[]; nextCursor: string | null };
      seen.push(...body.items.map((task) => task.id));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    return seen;
  };

  // (within one millisecond both orders fall back to the task id)
  it.each(['created', 'urgency'])('visits every task once, one per page, in %s order', async (order) => {
    const seen = await pages(order);
    expect(seen).toHaveLength(created.length);
    expect(new Set(seen)).toEqual(new Set(created));
  });
});
