import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { Directory } from '../../../db/directory';
import { createTestStaff, loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createAccountFixture } from '../../support/crm';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';
import { eventually as readUntil } from '../../support/eventually';

/**
 * The account list shows the unit and manager names each account keeps (migration 0104's triggers),
 * and takes the path of an `orgUnitId` filter from each API process's directory (db/directory.ts).
 * These hold both to what the database says now.
 */
describe('the names and unit paths behind the account list', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let supervisor: Session;
  let accountId: string;
  let managerId: number;
  const unitId = 'GD-GZ-DIR';

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    await database.pool.query(sql.unsafe`
      INSERT INTO org_units (id, parent_id, level, name, path) VALUES (${unitId}, ${testOrg.guangzhou}, 'county', '目录区', '/GD/GD-GZ/GD-GZ-DIR/')`);
    const manager = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: unitId });
    managerId = manager.id;
    accountId = (await createAccountFixture(database.pool, unitId, { name: '目录测试客户', customerManagerId: managerId })).accountId;
    api = await startApi(testConfig(database), testLogger, 0);
    await api.directory.ready;
    supervisor = await loginAs(api.url, database.pool, ['supervisor'], testOrg.province);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const listed = async (query = '') => {
    const response = await fetch(`${api.url}/api/accounts?orgUnitId=${unitId}${query}`, { headers: supervisor.headers });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { items: { id: string; orgUnitName: string; customerManagerId: number | null; customerManagerName: string | null }[] };
    return body.items.find((item) => item.id === accountId);
  };

  /** A change reaches the process by notification, a moment after its commit. */
  const eventually = async <T>(read: () => Promise<T>, expected: T) => {
    const last = await readUntil(read, (value) => JSON.stringify(value) === JSON.stringify(expected), 'the change to arrive', 10_000).catch(() => read());
    expect(last).toEqual(expected);
  };

  it('keeps units while it listens for changes', async () => {
    expect(api.directory.isCaching).toBe(true);
    expect(await listed()).toMatchObject({ orgUnitName: '目录区', customerManagerName: expect.any(String) });
  });

  it('shows a renamed unit and a renamed manager as soon as the rename commits', async () => {
    await database.pool.query(sql.unsafe`UPDATE org_units SET name = '目录新区' WHERE id = ${unitId}`);
    await database.pool.query(sql.unsafe`UPDATE staff SET display_name = '改名经理' WHERE id = ${managerId}`);

    expect(await listed()).toMatchObject({ orgUnitName: '目录新区', customerManagerName: '改名经理' });
  });

  it("shows the new manager's name when an account changes hands, and none when it has no manager", async () => {
    const other = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: unitId });
    const otherName = await database.pool.oneFirst(sql.type(z.object({ display_name: z.string() }))`SELECT display_name FROM staff WHERE id = ${other.id}`);
    await database.pool.query(sql.unsafe`UPDATE key_accounts SET customer_manager_id = ${other.id} WHERE id = ${accountId}`);
    expect(await listed()).toMatchObject({ customerManagerId: other.id, customerManagerName: otherName });

    await database.pool.query(sql.unsafe`UPDATE key_accounts SET customer_manager_id = NULL WHERE id = ${accountId}`);
    expect(await listed()).toMatchObject({ customerManagerId: null, customerManagerName: null });

    await database.pool.query(sql.unsafe`UPDATE key_accounts SET customer_manager_id = ${managerId} WHERE id = ${accountId}`);
    expect(await listed()).toMatchObject({ customerManagerId: managerId, customerManagerName: '改名经理' });
  });

  it("keeps the account's copies of the names true whatever a statement writes into them", async () => {
    await database.pool.query(sql.unsafe`UPDATE key_accounts SET org_unit_name = '伪造', customer_manager_name = '伪造' WHERE id = ${accountId}`);
    expect(await listed()).toMatchObject({ orgUnitName: '目录新区', customerManagerName: '改名经理' });
  });

  it('follows a unit that moves: the orgUnitId filter uses its path as it is now', async () => {
    // The account's own path follows its unit (migration 0101's trigger); the filter must too.
    await database.pool.query(sql.unsafe`UPDATE org_units SET parent_id = ${testOrg.shenzhen}, path = '/GD/GD-SZ/GD-GZ-DIR/' WHERE id = ${unitId}`);
    await eventually(async () => (await listed())?.id, accountId);
    const inShenzhen = await fetch(`${api.url}/api/accounts?orgUnitId=${testOrg.shenzhen}&q=${encodeURIComponent('目录测试')}`, { headers: supervisor.headers });
    expect(((await inShenzhen.json()) as { items: { id: string }[] }).items.map((item) => item.id)).toEqual([accountId]);
  });

  describe('when its listening connection is lost', () => {
    const terminateListeners = () =>
      database.pool.query(sql.unsafe`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keyflow-directory' AND datname = current_database()`);

    it('reads through, never stale, until it listens again', async () => {
      const directory = Directory.start(database.url, testLogger, { reconnectDelayMs: 60_000 });
      try {
        await directory.ready;
        expect((await directory.unit(database.pool, unitId))?.name).toBeDefined();
        await terminateListeners();
        await eventually(async () => directory.isCaching, false);

        await database.pool.query(sql.unsafe`UPDATE org_units SET name = '断线时改名' WHERE id = ${unitId}`);
        expect((await directory.unit(database.pool, unitId))?.name).toBe('断线时改名');
        await database.pool.query(sql.unsafe`UPDATE org_units SET name = '断线时又改名' WHERE id = ${unitId}`);
        expect((await directory.unit(database.pool, unitId))?.name).toBe('断线时又改名');
      } finally {
        await directory.close();
      }
    });

    it('listens again, and keeps following changes', async () => {
      await terminateListeners();
      await eventually(async () => api.directory.isCaching, false);
      await eventually(async () => api.directory.isCaching, true);
      expect((await api.directory.unit(database.pool, unitId))?.name).toBe('断线时又改名');
      await database.pool.query(sql.unsafe`UPDATE org_units SET name = '重连后改名' WHERE id = ${unitId}`);
      await eventually(async () => (await api.directory.unit(database.pool, unitId))?.name, '重连后改名');
    });
  });
});
