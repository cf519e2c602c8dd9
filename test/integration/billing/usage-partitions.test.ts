import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { BulkDatabase } from '../../../activities/billing/bulk';
import { ensureUsagePartitions, settleUsagePartitions } from '../../../activities/billing/partitions';
import { migrate, migrationsDir } from '../../../db/migrate';

/**
 * 0910 partitions usage_records and rated_usage by period. It must convert a database that already
 * holds usage (not only the empty ones tests start from), and what it builds must prune: a
 * statement naming its period reads that period's partition only.
 */
describe('usage tables partitioned by billing period', () => {
  const adminUrl = new URL(process.env.DATABASE_URL!);
  adminUrl.pathname = '/postgres';
  const name = `keyflow_partitions_${randomBytes(6).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let client: pg.Client;
  let before: string;

  const admin = async (statement: string) => {
    const connection = new pg.Client({ connectionString: adminUrl.toString() });
    await connection.connect();
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };
  const rows = async <S extends z.ZodTypeAny>(schema: S, text: string, values: unknown[] = []) => z.array(schema).parse((await client.query(text, values)).rows) as z.infer<S>[];
  const usage = (id: string, period: string, startedAt: string) =>
    client.query(
      `INSERT INTO usage_records (source, record_id, content_hash, usage_type, service_number, subscription_id, billing_account_id, org_unit_id, period, started_at, duration_sec)
       VALUES ('MSC', $1, md5($1)::uuid, 'voice', '8613700000001', 'SUB-1', 'BA-1', 'ORG-1', $2, $3, 60) RETURNING id`,
      [id, period, startedAt],
    );

  beforeAll(async () => {
    await admin(`CREATE DATABASE "${name}" TEMPLATE template0`);
    // The schema as it was before 0910, with usage in it.
    before = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-migrations-'));
    for (const file of await fs.readdir(migrationsDir)) {
      if (file.endsWith('.sql') && file < '0910') await fs.copyFile(path.join(migrationsDir, file), path.join(before, file));
    }
    await migrate(url.toString(), before);
    client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    if (before) await fs.rm(before, { recursive: true, force: true });
  });

  it('converts existing usage and ratings into one partition per period, keeping their ids', async () => {
    // given: records and ratings of two periods in the unpartitioned tables
    const ids: number[] = [];
    for (const [recordId, period, startedAt] of [
      ['r1', '2025-02', '2025-02-10T08:00:00Z'],
      ['r2', '2025-03', '2025-03-10T08:00:00Z'],
      ['r3', '2025-03', '2025-03-11T08:00:00Z'],
    ] as const) {
      ids.push(Number((await usage(recordId, period, startedAt)).rows[0].id));
    }
    await client.query(
      `INSERT INTO rated_usage (usage_record_id, rating_no, billing_account_id, period, tariff_id, category, units, free_units, charge_sub, state)
       SELECT id, 1, billing_account_id, period, 'T-1', 'local', 60, 0, 1000, 'rated' FROM usage_records`,
    );

    // when
    const result = await migrate(url.toString());

    // then
    expect(result.applied).toContain('0910_usage_partitions.sql');
    const placed = await rows(z.object({ id: z.coerce.number(), table: z.string() }), 'SELECT id, tableoid::regclass::text AS table FROM usage_records ORDER BY id');
    expect(placed).toEqual([
      { id: ids[0], table: 'usage_records_2025_02' },
      { id: ids[1], table: 'usage_records_2025_03' },
      { id: ids[2], table: 'usage_records_2025_03' },
    ]);
    const rated = await rows(z.object({ table: z.string(), count: z.coerce.number() }), 'SELECT tableoid::regclass::text AS table, count(*) FROM rated_usage GROUP BY 1 ORDER BY 1');
    expect(rated).toEqual([
      { table: 'rated_usage_2025_02', count: 1 },
      { table: 'rated_usage_2025_03', count: 2 },
    ]);
    const states = await rows(z.object({ state: z.string() }), 'SELECT state FROM usage_record_states WHERE usage_record_id IS NOT NULL ORDER BY usage_record_id');
    expect(states.map((row) => row.state)).toEqual(['rated', 'rated', 'rated']);
    // New records number on after the old ones.
    const next = Number((await usage('r4', '2025-03', '2025-03-12T08:00:00Z')).rows[0].id);
    expect(next).toBeGreaterThan(Math.max(...ids));
  });

  it('reads only the partition of the period a bill run names', async () => {
    const plan = await rows(
      z.object({ 'QUERY PLAN': z.string() }),
      `EXPLAIN SELECT id FROM usage_records WHERE billing_account_id = ANY($1) AND period = $2`,
      [['BA-1'], '2025-03'],
    );
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toContain('usage_records_2025_03');
    expect(text).not.toContain('usage_records_2025_02');
    expect(text).not.toContain('usage_records_default');
  });

  it('keeps a record of a period without a partition in the default one until its partition is made', async () => {
    const bulk = new BulkDatabase(url.toString(), 1);
    try {
      // given: a record of a month nobody made a partition for
      await usage('r5', '2025-07', '2025-07-01T08:00:00Z');
      expect(await rows(z.object({ table: z.string() }), `SELECT tableoid::regclass::text AS table FROM usage_records WHERE record_id = 'r5'`)).toEqual([{ table: 'usage_records_default' }]);

      // when
      const settled = await settleUsagePartitions(bulk);
      await ensureUsagePartitions(bulk, ['2025-07', '2025-08']);

      // then
      expect(settled).toEqual(['2025-07']);
      expect(await rows(z.object({ table: z.string() }), `SELECT tableoid::regclass::text AS table FROM usage_records WHERE record_id = 'r5'`)).toEqual([{ table: 'usage_records_2025_07' }]);
      expect(await rows(z.object({ count: z.coerce.number() }), 'SELECT count(*) FROM usage_records_default')).toEqual([{ count: 0 }]);
      expect(await rows(z.object({ count: z.coerce.number() }), `SELECT count(*) FROM pg_inherits WHERE inhparent = 'rated_usage'::regclass`)).toEqual([{ count: 5 }]);
      // A re-sent record is still refused within its period.
      await expect(usage('r5', '2025-07', '2025-07-01T08:00:00Z')).rejects.toMatchObject({ code: '23505' });
    } finally {
      await bulk.end();
    }
  });
});
