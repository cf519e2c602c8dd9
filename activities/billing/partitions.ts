/**
 * usage_records and rated_usage are partitioned by billing period (db/migrations/0910): one
 * partition per month and table, made by the SQL function ensure_usage_partition. A row of a period
 * that has no partition yet lands in the tables' DEFAULT partition, so no load ever fails for want
 * of one; settling moves such rows into their period's own partition.
 */

import { z } from 'zod';
import { nextPeriodId, previousPeriodId } from '../rating';
import type { BulkDatabase } from './bulk';

/** Makes the partitions of `periods` (each in its own short transaction; a no-op when they exist). */
export async function ensureUsagePartitions(db: BulkDatabase, periods: Iterable<string>): Promise<void> {
  for (const period of new Set(periods)) {
    await db.transaction((client) => client.run('SELECT ensure_usage_partition($1)', [period]));
  }
}

/**
 * The periods a collection at `now` most likely writes, made before it loads: the run's own, the
 * month of `now` and the one before it (late usage of a period whose bill is not out yet).
 */
export function likelyUsagePeriods(now: Date, runPeriod?: string): string[] {
  const current = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  const periods = [previousPeriodId(current), current, nextPeriodId(current)];
  if (runPeriod) periods.push(runPeriod);
  return periods;
}

/**
 * Gives every period with rows in a DEFAULT partition its own partition (moving the rows there).
 * Cheap when the default partitions are empty, as they are after every collection.
 */
export async function settleUsagePartitions(db: BulkDatabase): Promise<string[]> {
  const rows = await db.query(z.object({ period: z.string() }), 'SELECT DISTINCT period FROM usage_records_default UNION SELECT DISTINCT period FROM rated_usage_default');
  const periods = rows.map((row) => row.period).sort();
  await ensureUsagePartitions(db, periods);
  return periods;
}

/** Refreshes the planner's statistics of one period's partition (after a bulk load into it). */
export async function analyzeUsagePartition(db: BulkDatabase, table: 'usage_records' | 'rated_usage', period: string): Promise<void> {
  await db.query(z.object({}).passthrough(), 'SELECT analyze_usage_partition($1, $2)', [table, period]);
}
