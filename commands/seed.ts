import { hashPassword } from '../api/password';
import { createDatabasePool } from '../db/pool';
import { analyzeCrm, demoLogins, demoPassword, seedDemoData, type SeedResult } from '../db/seed';
import type { Logger } from '../runtime/logger';

export interface SeedRun extends SeedResult {
  ms: number;
}

/** Seeds `accounts` key accounts into the database at `databaseUrl` unless it already has some. */
export async function runSeed(databaseUrl: string, options: { accounts: number; seed: number }): Promise<SeedRun> {
  const started = Date.now();
  const pool = await createDatabasePool(databaseUrl, { applicationName: 'keyflow-seed', maximumPoolSize: 2 });
  try {
    const result = await seedDemoData(pool, { ...options, passwordHash: await hashPassword(demoPassword) });
    if (result.seeded) await analyzeCrm(pool);
    return { ...result, ms: Date.now() - started };
  } finally {
    await pool.end();
  }
}

/**
 * `keyflow start`'s first run: a small demo operator (KEYFLOW_SEED_ACCOUNTS accounts). Returns
 * the demo logins to print, on every start, since the data stays.
 */
export async function seedOnFirstStart(databaseUrl: string, accounts: number, logger: Logger): Promise<string[]> {
  if (accounts === 0) return [];
  const result = await runSeed(databaseUrl, { accounts, seed: 42 });
  if (result.seeded) logger.info({ counts: result.counts, ms: result.ms }, 'seeded demo data');
  return [`  Demo logins    ${demoLogins.join(', ')}  (password: ${demoPassword}; more in README.md)`];
}
