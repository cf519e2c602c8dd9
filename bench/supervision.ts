/**
 * `npm run bench:supervision [managers]` (or BENCH_SUPERVISION_MANAGERS, default 1,000): one
 * supervision ticket issued by the province's supervisor to every city of the seeded operator, and
 * passed down by every unit's supervisor, through the API, to all its units and customer managers
 * below — until every customer manager of the province (the seeded ones plus enough more, spread
 * over the counties and areas, to make `managers`) holds the ticket's task. Measures the time from
 * the issue until every leaf has its task, the tree view's latency (GET /tree, as the issuer, while
 * nothing else runs) and the worker's RSS.
 *
 * Starts its own PostgreSQL and Temporal dev server on KEYFLOW_BENCH_PORT_BASE + 1.. (default
 * 56600) under .data/bench, the API in this process and the worker as a child process
 * (`keyflow worker`), whose RSS it samples. Prints the figures; the last line is JSON.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi } from '../api/server';
import { demoPassword } from '../db/seed';
import { createDatabasePool } from '../db/pool';
import { migrate } from '../db/migrate';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { runSeed } from '../commands/seed';
import { startServices } from '../runtime/services';
import { login, type Session } from '../test/support/auth';
import { deploySupervision } from '../test/support/supervision';

const managersWanted = Number(process.argv[2] ?? process.env.BENCH_SUPERVISION_MANAGERS ?? 1000);
const treeRequests = Number(process.env.BENCH_SUPERVISION_TREE_REQUESTS ?? 200);
const portBase = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56600);

function rssOfTree(pid: number): number {
  let total = 0;
  const read = (id: number) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${id}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      for (const child of fs.readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) read(Number(child));
    } catch {
      // gone, or not Linux
    }
  };
  read(pid);
  return total;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const env = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', 'bench'),
    KEYFLOW_PG_PORT: String(portBase + 1),
    KEYFLOW_TEMPORAL_PORT: String(portBase + 2),
    KEYFLOW_PG_DATABASE: 'keyflow_bench_supervision',
    KEYFLOW_TASK_QUEUE: `bench-supervision-${randomUUID()}`,
    KEYFLOW_SIM_ENABLED: 'false',
    KEYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS: '10000',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  };
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL, 'bench');
  const services = await startServices(config, 'test', logger);
  const databaseUrl = services.postgres.databaseUrl;
  await recreateDatabase(databaseUrl);
  const runtimeConfig = { ...config, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: services.temporal.address };
  let worker: ReturnType<typeof spawn> | undefined;
  await migrate(databaseUrl);
  await runSeed(databaseUrl, { accounts: 200, seed: 42 });
  const pool = await createDatabasePool(databaseUrl, { applicationName: 'bench-supervision' });
  try {
    await deploySupervision(pool);
    // More customer managers, spread over the counties and areas, with the demo logins' password hash.
    const seeded = await pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM staff WHERE 'customer_manager' = ANY (roles)`);
    const units = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM org_units WHERE level IN ('county', 'area') ORDER BY path`);
    const extra = Math.max(0, managersWanted - seeded);
    await pool.query(sql.type(z.object({}))`
      INSERT INTO staff (username, display_name, org_unit_id, roles, password_hash)
      SELECT 'bench.cm' || n, '客户经理 ' || n, (${sql.array([...units], 'text')})[1 + (n - 1) % ${units.length}], ARRAY['customer_manager'],
             (SELECT password_hash FROM staff WHERE username = 'supervisor')
      FROM generate_series(1, ${extra}) AS n`);
    const managers = seeded + extra;

    const api = await startApi(runtimeConfig, logger, 0);
    worker = spawn(process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'worker'], {
      env: { ...env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: services.temporal.address },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (;;) {
      const queue = await api.temporal.workflowService.describeTaskQueue({ namespace: config.TEMPORAL_NAMESPACE, taskQueue: { name: config.KEYFLOW_TASK_QUEUE }, taskQueueType: 1 });
      if ((queue.pollers ?? []).length > 0) break;
      if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode}) before it ran`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const supervisors = await pool.anyFirst(sql.type(z.object({ username: z.string() }))`SELECT username FROM staff WHERE 'supervisor' = ANY (roles) ORDER BY username`);
    const sessions = new Map<string, Session>();
    for (const username of supervisors) sessions.set(username, await login(api.url, username, demoPassword));
    const call = async (session: Session, method: string, route: string, body?: unknown) => {
      const response = await fetch(`${api.url}${route}`, { method, headers: session.headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const cities = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM org_units WHERE level = 'city' ORDER BY id`);

    let peakRss = 0;
    let lastRss = 0;
    const sampler = setInterval(() => {
      if (!worker?.pid) return;
      lastRss = rssOfTree(worker.pid);
      peakRss = Math.max(peakRss, lastRss);
    }, 500);

    // when the province's supervisor issues it to every city
    const started = performance.now();
    const ticket = await call(sessions.get('supervisor')!, 'POST', '/api/supervision-tickets', {
      subject: '全省重点客户走访督办（压测）',
      deadline: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      units: cities,
    });
    const ticketId = String(ticket.id);

    // and every unit's supervisor passes it on to all units and managers below, as their tasks open
    const passed = new Set<string>();
    const passDownMs: number[] = [];
    let leaves = 0;
    let lastShown = -1;
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const waiting = await pool.any(sql.type(z.object({ nodeId: z.string(), unit: z.string(), assignee: z.string() }))`
        SELECT n.id AS "nodeId", n.org_unit_id AS unit, t.assignee FROM human_tasks t JOIN supervision_nodes n ON t.workflow_id = 'supervision-node:' || n.id
        WHERE n.ticket_id = ${ticketId} AND t.node_id = 'dispatch' AND t.status = 'open'`);
      await Promise.all(
        waiting
          .filter((task) => !passed.has(task.nodeId))
          .map(async (task) => {
            passed.add(task.nodeId);
            const below = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM org_units WHERE parent_id = ${task.unit} ORDER BY id`);
            const own = await pool.anyFirst(sql.type(z.object({ username: z.string() }))`
              SELECT username FROM staff WHERE org_unit_id = ${task.unit} AND 'customer_manager' = ANY (roles) AND active ORDER BY username`);
            const at = performance.now();
            await call(sessions.get(task.assignee)!, 'POST', `/api/supervision-tickets/${ticketId}/nodes/${task.nodeId}/pass-down`, { instructions: '请落实', units: below, managers: own });
            passDownMs.push(performance.now() - at);
          }),
      );
      leaves = await pool.oneFirst(sql.type(z.object({ count: z.number() }))`
        SELECT count(*)::int AS count FROM human_tasks t JOIN supervision_nodes n ON t.workflow_id = 'supervision-node:' || n.id
        WHERE n.ticket_id = ${ticketId} AND n.kind = 'manager' AND t.node_id = 'work' AND t.status = 'open'`);
      if (leaves !== lastShown && (leaves === managers || leaves - lastShown >= 100)) {
        console.log(`  ${leaves}/${managers} managers hold their task after ${Math.round((performance.now() - started) / 100) / 10} s`);
        lastShown = leaves;
      }
      if (leaves >= managers) break;
      if (Date.now() > deadline) throw new Error(`only ${leaves} of ${managers} managers had their task after 30 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const allLeavesMs = performance.now() - started;
    const nodes = await pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM supervision_nodes WHERE ticket_id = ${ticketId}`);

    // then the issuer's tree view, read again and again
    const treeMs: number[] = [];
    let treeBytes = 0;
    for (let index = 0; index < treeRequests; index++) {
      const at = performance.now();
      const response = await fetch(`${api.url}/api/supervision-tickets/${ticketId}/tree`, { headers: sessions.get('supervisor')!.headers });
      const body = await response.arrayBuffer();
      treeMs.push(performance.now() - at);
      treeBytes = body.byteLength;
      if (response.status !== 200) throw new Error(`tree: ${response.status}`);
    }
    clearInterval(sampler);

    const figures = {
      managers,
      nodes,
      unitsPassedDown: passed.size,
      allLeavesHaveTaskSeconds: Math.round(allLeavesMs / 100) / 10,
      passDownP50Ms: Math.round(quantile(passDownMs, 0.5)),
      passDownP99Ms: Math.round(quantile(passDownMs, 0.99)),
      treeRequests,
      treeP50Ms: Math.round(quantile(treeMs, 0.5)),
      treeP99Ms: Math.round(quantile(treeMs, 0.99)),
      treeKb: Math.round(treeBytes / 1024),
      workerPeakRssMb: Math.round(peakRss / 1024 / 1024),
      workerEndRssMb: Math.round(lastRss / 1024 / 1024),
      loadAverage: os.loadavg().map((value) => Math.round(value * 10) / 10),
    };
    console.log(`one ticket to the ${cities.length} cities, passed down by ${figures.unitsPassedDown} units: ${nodes} branches; every one of ${managers} managers held its task after ${figures.allLeavesHaveTaskSeconds} s`);
    console.log(`  pass-down p50 ${figures.passDownP50Ms} ms, p99 ${figures.passDownP99Ms} ms; tree view (${figures.treeKb} KB) p50 ${figures.treeP50Ms} ms, p99 ${figures.treeP99Ms} ms over ${treeRequests} reads`);
    console.log(`  worker RSS peak ${figures.workerPeakRssMb} MB, at the end ${figures.workerEndRssMb} MB; load average ${figures.loadAverage.join(' ')}`);
    console.log(JSON.stringify(figures));
    await api.temporal.workflow.getHandle(`supervision:${ticketId}`).terminate('bench over').catch(() => undefined);
    await api.close();
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker!.once('exit', resolve));
    }
    await pool.end();
    await services.stop();
  }
}

main().catch((error) => {
  console.error('bench:supervision failed:', error);
  process.exit(1);
});
