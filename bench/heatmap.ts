/**
 * `npm run bench:heatmap`: the process page's per-node statistics over 100,000 completed node
 * executions. Starts private PostgreSQL and Temporal (ports KEYFLOW_BENCH_PORT_BASE + 1…3, default
 * 55480), migrates, seeds the demo logins, deploys the shipped processes, stores BENCH_EXECUTIONS
 * (100,000) executions of `complaint`'s nodes over the last 24 hours, and asks
 * `GET /api/ops/processes/complaint/node-stats` for that window BENCH_REQUESTS (300) times, one
 * after another, as the ops user. Last line: JSON with p50Ms, p99Ms (target: p99 < 200 ms).
 */
import os from 'node:os';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi } from '../api/server';
import { deployProcessFiles } from '../api/engine/definitions';
import { findDefinition } from '../db/definitions';
import { insertNodeExecutions, nodeStats, type NodeExecution } from '../db/node-stats';
import { createDatabasePool } from '../db/pool';
import { demoPassword } from '../db/seed';
import { runSeed } from '../commands/seed';
import { startBenchServices } from './support/services';

const executionCount = Number(process.env.BENCH_EXECUTIONS ?? 100_000);
const requests = Number(process.env.BENCH_REQUESTS ?? 300);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 55480);
const processKey = 'complaint';

async function main(): Promise<void> {
  const { services, databaseUrl, config, logger } = await startBenchServices('heatmap', base);
  let figures: Record<string, unknown> = {};
  try {
    await runSeed(databaseUrl, { accounts: 20, seed: 42 });
    const pool = await createDatabasePool(databaseUrl, { applicationName: 'keyflow-bench', maximumPoolSize: 2 });
    await deployProcessFiles(pool);
    const definition = (await findDefinition(pool, processKey))!;
    const nodeIds = Object.keys(definition.model.nodes);

    // Executions spread over the last 24 hours and the process's nodes, durations from a long-tailed spread.
    const seededAt = Date.now();
    const now = seededAt - 60_000;
    let stored = 0;
    for (let offset = 0; offset < executionCount; offset += 5_000) {
      const batch: NodeExecution[] = [];
      for (let index = offset; index < Math.min(executionCount, offset + 5_000); index += 1) {
        const durationMs = Math.round(1000 * Math.exp(((index * 7919) % 1000) / 100));
        const completedAt = now - ((index * 104_729) % (24 * 3600_000 - 120_000));
        batch.push({
          workflowId: `${processKey}:bench-${Math.floor(index / nodeIds.length)}`,
          runId: 'bench',
          nodeId: nodeIds[index % nodeIds.length]!,
          processKey,
          processVersion: definition.version,
          startedAt: new Date(completedAt - durationMs).toISOString(),
          completedAt: new Date(completedAt).toISOString(),
          durationMs,
        });
      }
      stored += await insertNodeExecutions(pool, batch);
    }
    // As autovacuum leaves a table at rest: statistics current and the visibility map set, so the
    // window is read from the index alone.
    await pool.query(sql.type(z.object({}))`VACUUM ANALYZE node_executions`);
    // The query alone, without HTTP and the API around it: where the answer's time goes.
    const queryTimes: number[] = [];
    const window = { processKey, processVersion: definition.version, from: new Date(seededAt - 24 * 3600_000).toISOString(), to: new Date().toISOString() };
    for (let index = 0; index < 10; index += 1) await nodeStats(pool, window);
    for (let index = 0; index < 100; index += 1) {
      const started = process.hrtime.bigint();
      await nodeStats(pool, window);
      queryTimes.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    queryTimes.sort((a, b) => a - b);
    await pool.end();
    console.log(`stored ${stored} node executions over ${nodeIds.length} nodes in ${Date.now() - seededAt} ms`);

    const api = await startApi(config, logger, 0);
    try {
      const login = await fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: demoPassword }) });
      const { token } = (await login.json()) as { token: string };
      const from = new Date(seededAt - 24 * 3600_000).toISOString();
      const route = `${api.url}/api/ops/processes/${processKey}/node-stats?from=${encodeURIComponent(from)}&slaMs=60000`;
      const ask = async () => {
        const started = process.hrtime.bigint();
        const response = await fetch(route, { headers: { authorization: `Bearer ${token}` } });
        const body = (await response.json()) as { nodes: { executions: number }[] };
        if (!response.ok) throw new Error(`node-stats answered ${response.status}`);
        return { ms: Number(process.hrtime.bigint() - started) / 1e6, executions: body.nodes.reduce((sum, node) => sum + node.executions, 0) };
      };
      for (let warm = 0; warm < 10; warm += 1) await ask();
      const times: number[] = [];
      let executions = 0;
      for (let index = 0; index < requests; index += 1) {
        const answer = await ask();
        times.push(answer.ms);
        executions = answer.executions;
      }
      times.sort((a, b) => a - b);
      const at = (share: number) => Number(times[Math.min(times.length - 1, Math.ceil(share * times.length) - 1)]!.toFixed(1));
      figures = {
        bench: 'ops.nodeStats',
        executions: stored,
        executionsInWindow: executions,
        nodes: nodeIds.length,
        requests,
        queryP50Ms: Number(queryTimes[49]!.toFixed(1)),
        queryP99Ms: Number(queryTimes[98]!.toFixed(1)),
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        maxMs: at(1),
        targetP99Ms: 200,
        loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
        cpus: os.cpus().length,
      };
    } finally {
      await api.close();
    }
  } finally {
    await services.stop();
  }
  console.log(JSON.stringify(figures));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
