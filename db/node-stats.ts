import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** One node execution of a closed instance, as the collector read it from the history. */
export interface NodeExecution {
  workflowId: string;
  runId: string;
  nodeId: string;
  processKey: string;
  processVersion: number;
  startedAt: string;
  completedAt: string;
  durationMs: number;
}

/** Stores node executions; one already stored (same instance run, node and start) is left as it is. Returns how many were new. */
export async function insertNodeExecutions(db: CommonQueryMethods, executions: readonly NodeExecution[]): Promise<number> {
  if (executions.length === 0) return 0;
  const inserted = await db.query(sql.type(z.object({ workflow_id: z.string() }))`
    INSERT INTO node_executions (workflow_id, run_id, node_id, started_at, process_key, process_version, completed_at, duration_ms)
    SELECT * FROM ${sql.unnest(
      executions.map((execution) => [
        execution.workflowId,
        execution.runId,
        execution.nodeId,
        execution.startedAt,
        execution.processKey,
        execution.processVersion,
        execution.completedAt,
        Math.max(0, Math.round(execution.durationMs)),
      ]),
      ['text', 'text', 'text', 'timestamptz', 'text', 'int4', 'timestamptz', 'int8'],
    )}
    ON CONFLICT DO NOTHING
    RETURNING workflow_id`);
  return inserted.rowCount;
}

export const nodeStatRow = z.object({
  node_id: z.string(),
  executions: z.number().int(),
  avg_ms: z.number(),
  p95_ms: z.number(),
  max_ms: z.number(),
});
export type NodeStatRow = z.infer<typeof nodeStatRow>;

/** Average, p95 and maximum duration per node of one process version, over executions completed in [from, to). */
export async function nodeStats(db: CommonQueryMethods, filter: { processKey: string; processVersion: number; from: string; to: string }): Promise<NodeStatRow[]> {
  return [
    ...(await db.any(sql.type(nodeStatRow)`
      SELECT node_id,
             count(*)::int AS executions,
             avg(duration_ms)::float8 AS avg_ms,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::float8 AS p95_ms,
             max(duration_ms)::float8 AS max_ms
      FROM node_executions
      WHERE process_key = ${filter.processKey} AND process_version = ${filter.processVersion}
        AND completed_at >= ${filter.from} AND completed_at < ${filter.to}
      GROUP BY node_id
      ORDER BY node_id`)),
  ];
}

/** Until when closed instances have been collected; null before the first collection. */
export async function collectedUntil(db: CommonQueryMethods): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ collected_until: z.string() }))`
    SELECT to_char(collected_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS collected_until FROM node_stats_collector WHERE id = 'default'`);
}

export async function setCollectedUntil(db: CommonQueryMethods, until: string): Promise<void> {
  await db.query(sql.type(z.object({}))`
    INSERT INTO node_stats_collector (id, collected_until) VALUES ('default', ${until})
    ON CONFLICT (id) DO UPDATE SET collected_until = GREATEST(node_stats_collector.collected_until, EXCLUDED.collected_until)`);
}

/** The deployed version of a process (the latest when `version` is absent), or null: without reading its model. */
export async function deployedVersion(db: CommonQueryMethods, processKey: string, version?: number): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ version: z.number().int() }))`
    SELECT version FROM process_definitions
    WHERE key = ${processKey} ${version === undefined ? sql.fragment`` : sql.fragment`AND version = ${version}`}
    ORDER BY version DESC LIMIT 1`);
}
