/**
 * `npm run bench:inbox`: the task inbox under a working day's load. 10,000 open tasks across the
 * org tree (BENCH_INBOX_TASKS); 50 staff (BENCH_CONNECTIONS) of as many counties, each holding the
 * pushed stream (`GET /api/tasks/events`) open and reading their group list
 * (`GET /api/tasks/group?order=urgency`) again and again, while new tasks are written into the inbox
 * as the engine writes them (BENCH_INBOX_RATE a second, for BENCH_SECONDS; BENCH_INBOX_PAUSE_MS
 * between two reads of a list, default 0: read again at once). Starts private
 * PostgreSQL and Temporal (ports KEYFLOW_BENCH_PORT_BASE + 1…3, default 56590), seeds, runs the API
 * as its own processes (as in production). Push delivery is measured from the moment the row was
 * written (the database's clock, in the notification) to the event's arrival at the client.
 * Last line: JSON with the group list's p50/p99 and the push's p50/p99, and how many pushes were
 * expected and received.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { concerns } from '../api/inbox-feed';
import { migrate } from '../db/migrate';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { runSeed } from '../commands/seed';
import { startServices } from '../runtime/services';
import { loginAs, waitForHealthy } from './support/api';
import { recreateDatabase } from './support/database';

const openTasks = Number(process.env.BENCH_INBOX_TASKS ?? 10_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const duration = Number(process.env.BENCH_SECONDS ?? 20);
const rate = Number(process.env.BENCH_INBOX_RATE ?? 10);
/** Milliseconds each client waits between two reads of its list (0: read again at once, the harshest load). */
const pauseMs = Number(process.env.BENCH_INBOX_PAUSE_MS ?? 0);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56590);
const groups = ['dispatcher', 'customer_manager', 'billing_clerk'] as const;

interface Client {
  username: string;
  roles: string[];
  orgPath: string;
  token: string;
  /** Task id → arrival time (ms since the epoch) of its `created` event. */
  received: Map<string, number>;
  pushMs: number[];
  listMs: number[];
  listErrors: number;
  stream: AbortController;
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', `bench-inbox-${base}`),
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_PG_DATABASE: 'keyflow_bench_inbox',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: 'warn',
    KEYFLOW_PG_POOL_SIZE: process.env.KEYFLOW_PG_POOL_SIZE ?? '2',
    KEYFLOW_API_PROCESSES: process.env.KEYFLOW_API_PROCESSES ?? String(os.cpus().length),
  };
  const config = loadConfig(env);
  const logger = createLogger('warn', 'bench');
  const services = await startServices(config, 'test', logger);
  let api: ReturnType<typeof spawn> | undefined;
  let figures: Record<string, unknown> = {};
  const db = new pg.Client({ connectionString: services.postgres.databaseUrl });
  try {
    await recreateDatabase(services.postgres.databaseUrl);
    await migrate(services.postgres.databaseUrl);
    const seeded = await runSeed(services.postgres.databaseUrl, { accounts: 200, seed: 42 });
    await db.connect();

    // Open tasks across the tree: every unit below the province, every group, due over the next days.
    const units = (await db.query<{ id: string; path: string; level: string }>(`SELECT id, path, level FROM org_units WHERE level <> 'province' ORDER BY path`)).rows;
    await db.query(
      `INSERT INTO human_tasks (id, workflow_id, process_key, process_version, business_key, node_id, name, candidate_groups, org_unit_id, priority, due_at, created_at)
       SELECT 'bench:' || n || '/work/0', 'bench:' || n, 'bench-work', 1, 'W-' || n, 'work', 'Work item ' || n, ARRAY[($2::text[])[1 + n % 3]],
              ($1::text[])[1 + n % array_length($1::text[], 1)], n % 100, now() + (n % 5000) * interval '1 minute', now() - (n % 600) * interval '1 minute'
       FROM generate_series(1, $3::int) AS n`,
      [units.map((unit) => unit.id), [...groups], openTasks],
    );
    await db.query('ANALYZE human_tasks');

    // Staff of as many counties as there are connections, each with one of the groups.
    const counties = units.filter((unit) => unit.level === 'county');
    const people = Array.from({ length: connections }, (_, index) => ({ unit: counties[index % counties.length]!, role: groups[index % 2]!, username: `bench.staff${index}` }));
    for (const person of people) {
      await db.query(
        `INSERT INTO staff (username, display_name, org_unit_id, roles, password_hash) SELECT $1, $1, $2, ARRAY[$3::text], password_hash FROM staff WHERE username = 'admin'`,
        [person.username, person.unit.id, person.role],
      );
    }

    api = spawn(process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'api'], { env: { ...env, ...services.env }, stdio: ['ignore', 'ignore', 'inherit'] });
    const url = `http://127.0.0.1:${config.KEYFLOW_API_PORT}`;
    await waitForHealthy(`${url}/health`);
    const clients: Client[] = [];
    for (const person of people) {
      clients.push({
        username: person.username,
        roles: [person.role],
        orgPath: person.unit.path,
        token: await loginAs(url, person.username),
        received: new Map(),
        pushMs: [],
        listMs: [],
        listErrors: 0,
        stream: new AbortController(),
      });
    }
    await Promise.all(clients.map((client) => openStream(url, client)));

    // Warm up: each client reads its list a few times.
    await Promise.all(clients.map(async (client) => {
      for (let round = 0; round < 3; round += 1) await readList(url, client, false);
    }));

    // The load: every client reads its group list in a loop; new tasks arrive at `rate` a second.
    const until = Date.now() + duration * 1000;
    const created: { id: string; groups: string[]; orgPath: string }[] = [];
    const producer = (async () => {
      let n = 0;
      while (Date.now() < until) {
        const unit = counties[n % counties.length]!;
        const area = units.find((candidate) => candidate.path.startsWith(unit.path) && candidate.level === 'area') ?? unit;
        const target = n % 2 === 0 ? unit : area;
        const group = groups[n % 2]!;
        const id = `bench-new:${n}/work/0`;
        await db.query(
          `INSERT INTO human_tasks (id, workflow_id, process_key, process_version, business_key, node_id, name, candidate_groups, org_unit_id, due_at)
           VALUES ($1, $2, 'bench-work', 1, $3, 'work', 'New work', ARRAY[$4::text], $5, now() + interval '4 hours')`,
          [id, `bench-new:${n}`, `N-${n}`, group, target.id],
        );
        created.push({ id, groups: [group], orgPath: target.path });
        n += 1;
        await sleep(1000 / rate);
      }
    })();
    await Promise.all([producer, ...clients.map(async (client) => {
      while (Date.now() < until) {
        await readList(url, client, true);
        if (pauseMs > 0) await sleep(pauseMs);
      }
    })]);
    // Stragglers: pushes still under way.
    await sleep(1_000);
    for (const client of clients) client.stream.abort();

    let expected = 0;
    let received = 0;
    for (const task of created) {
      for (const client of clients) {
        if (!concerns({ username: client.username, roles: client.roles, orgPath: client.orgPath, overseesTeam: false }, { id: task.id, change: 'created', groups: task.groups, orgPath: task.orgPath, at: 0 })) continue;
        expected += 1;
        if (client.received.has(task.id)) received += 1;
      }
    }
    // Nothing a client is not concerned by may reach it.
    const leaked = clients.reduce((sum, client) => sum + [...client.received.keys()].filter((id) => !created.some((task) => task.id === id && concerns({ username: client.username, roles: client.roles, orgPath: client.orgPath, overseesTeam: false }, { id, change: 'created', groups: task.groups, orgPath: task.orgPath, at: 0 }))).length, 0);
    const list = percentiles(clients.flatMap((client) => client.listMs));
    const push = percentiles(clients.flatMap((client) => client.pushMs));
    figures = {
      bench: 'inbox',
      openTasks,
      seededAccounts: seeded.counts.accounts ?? 0,
      connections,
      durationS: duration,
      createdPerSecond: rate,
      pauseMs,
      groupListRequests: list.count,
      groupListErrors: clients.reduce((sum, client) => sum + client.listErrors, 0),
      groupListP50Ms: list.p50,
      groupListP99Ms: list.p99,
      groupListRps: Math.round(list.count / duration),
      tasksCreated: created.length,
      pushesExpected: expected,
      pushesReceived: received,
      pushesLeaked: leaked,
      pushP50Ms: push.p50,
      pushP99Ms: push.p99,
      pushMaxMs: push.max,
      loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
      cpus: os.cpus().length,
    };
  } finally {
    await db.end().catch(() => undefined);
    api?.kill('SIGTERM');
    await new Promise((resolve) => (api && api.exitCode === null ? api.once('exit', resolve) : resolve(undefined)));
    await services.stop();
  }
  console.log(JSON.stringify(figures));
}

async function readList(url: string, client: Client, measure: boolean): Promise<void> {
  const started = performance.now();
  const response = await fetch(`${url}/api/tasks/group?order=urgency&limit=50`, { headers: { authorization: `Bearer ${client.token}` } }).catch(() => null);
  if (!response || response.status !== 200) {
    client.listErrors += 1;
    await response?.arrayBuffer();
    return;
  }
  await response.arrayBuffer();
  if (measure) client.listMs.push(performance.now() - started);
}

/** Opens the client's event stream and records each `created` event's delivery time; resolves once the stream is ready. */
async function openStream(url: string, client: Client): Promise<void> {
  const response = await fetch(`${url}/api/tasks/events`, { headers: { authorization: `Bearer ${client.token}` }, signal: client.stream.signal });
  if (response.status !== 200 || !response.body) throw new Error(`the event stream of ${client.username} answered ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event === 'ready') ready();
          if (event !== 'inbox' || !data) continue;
          const payload = JSON.parse(data) as { taskId: string; change: string; at: number };
          if (payload.change !== 'created' || !payload.taskId.startsWith('bench-new:')) continue;
          const now = Date.now();
          client.received.set(payload.taskId, now);
          client.pushMs.push(now - payload.at);
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  await isReady;
}

function percentiles(values: number[]): { count: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) => (sorted.length === 0 ? 0 : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]! * 10) / 10);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
