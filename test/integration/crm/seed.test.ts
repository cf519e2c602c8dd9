import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { startApi } from '../../../api/server';
import { demoLogins, demoPassword } from '../../../db/seed';
import { runSeed } from '../../../commands/seed';
import { login } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

/** A fingerprint of everything the seed wrote, except what is random by design (password salts). */
async function fingerprint(pool: DatabasePool): Promise<Record<string, string>> {
  const tables = ['org_units', 'key_accounts', 'contacts', 'contracts', 'billing_accounts', 'products', 'tariffs', 'subscriptions', 'orders', 'order_items', 'trouble_tickets', 'supervision_tickets'];
  const result: Record<string, string> = {};
  for (const table of tables) {
    result[table] = await pool.oneFirst(sql.type(z.object({ digest: z.string() }))`
      SELECT md5(coalesce(string_agg(row_to_json(t)::jsonb - 'created_at' - 'updated_at' #>> '{}', '|' ORDER BY t.id), '')) AS digest
      FROM ${sql.identifier([table])} t`);
  }
  result.staff = await pool.oneFirst(sql.type(z.object({ digest: z.string() }))`
    SELECT md5(string_agg(username || ':' || org_unit_id || ':' || array_to_string(roles, ','), '|' ORDER BY username)) AS digest FROM staff`);
  return result;
}

describe('the seed generator', () => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  };

  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('writes the same operator for the same seed, and a different one for another seed', async () => {
    const [a, b, c] = [await fresh(), await fresh(), await fresh()];
    await runSeed(a.url, { accounts: 150, seed: 7 });
    await runSeed(b.url, { accounts: 150, seed: 7 });
    await runSeed(c.url, { accounts: 150, seed: 8 });

    const [fa, fb, fc] = [await fingerprint(a.pool), await fingerprint(b.pool), await fingerprint(c.pool)];

    expect(fa).toEqual(fb);
    expect(fc.key_accounts).not.toBe(fa.key_accounts);
    expect(fc.org_units).toBe(fa.org_units);
  });

  it('leaves every page of the listed tables all-visible, so the account list reads its index alone', async () => {
    const database = await fresh();
    await runSeed(database.url, { accounts: 2_000, seed: 42 });

    const pages = await database.pool.any(sql.type(z.object({ table: z.string(), pages: z.number(), visible: z.number() }))`
      SELECT relname AS table, relpages AS pages, relallvisible AS visible FROM pg_class
      WHERE relname IN ('key_accounts', 'org_units', 'staff') ORDER BY relname`);
    expect(pages.map(({ table, pages: all, visible }) => ({ table, hidden: all - visible }))).toEqual([
      { table: 'key_accounts', hidden: 0 },
      { table: 'org_units', hidden: 0 },
      { table: 'staff', hidden: 0 },
    ]);
    expect(pages.find((row) => row.table === 'key_accounts')!.pages).toBeGreaterThan(10);
  });

  it('seeds accounts with everything that hangs off them, in every tier, and staff in every role', async () => {
    const database = await fresh();
    const result = await runSeed(database.url, { accounts: 300, seed: 42 });

    expect(result.seeded).toBe(true);
    expect(result.counts.accounts).toBe(300);
    const shape = await database.pool.one(sql.type(z.object({ tiers: z.number(), levels: z.number(), roles: z.number(), orphans: z.number(), contacts: z.boolean(), subscriptions: z.boolean() }))`
      SELECT (SELECT count(DISTINCT tier)::int FROM key_accounts) AS tiers,
             (SELECT count(DISTINCT level)::int FROM org_units) AS levels,
             (SELECT count(DISTINCT r)::int FROM staff, unnest(roles) r) AS roles,
             (SELECT count(*)::int FROM key_accounts a WHERE NOT EXISTS (SELECT FROM contacts c WHERE c.account_id = a.id)) AS orphans,
             (SELECT bool_and(c.org_unit_id = a.org_unit_id) FROM contacts c JOIN key_accounts a ON a.id = c.account_id) AS contacts,
             (SELECT bool_and(s.org_unit_id = a.org_unit_id) FROM subscriptions s JOIN key_accounts a ON a.id = s.account_id) AS subscriptions`);
    expect(shape).toEqual({ tiers: 3, levels: 4, roles: 7, orphans: 0, contacts: true, subscriptions: true });
  });

  it('seeds nothing into a database that already has accounts, and new rows continue the ids', async () => {
    const database = await fresh();
    await runSeed(database.url, { accounts: 20, seed: 1 });

    const again = await runSeed(database.url, { accounts: 20, seed: 1 });
    const next = await database.pool.oneFirst(sql.type(z.object({ id: z.string() }))`
      INSERT INTO key_accounts (name, industry, tier, org_unit_id) VALUES ('新客户', 'retail', 'bronze', 'GD') RETURNING id`);

    expect(again.seeded).toBe(false);
    expect(next).toBe('KA00000021');
  });

  it('gives demo logins that work, each scoped to their unit', async () => {
    const database = await fresh();
    await runSeed(database.url, { accounts: 100, seed: 42 });
    const api = await startApi(testConfig(database), testLogger, 0);
    try {
      for (const username of demoLogins) await expect(login(api.url, username, demoPassword)).resolves.toHaveProperty('token');
      const manager = await login(api.url, 'gz-th.cm1', demoPassword);
      const page = (await (await fetch(`${api.url}/api/accounts?limit=200`, { headers: manager.headers })).json()) as any;
      expect(page.items.length).toBeGreaterThan(0);
      expect(page.items.every((account: any) => account.orgUnitId.startsWith('GD-GZ-TH'))).toBe(true);
    } finally {
      await api.close();
    }
  });
});
