/**
 * `npm run bench:api`: the account list over 10,000 seeded key accounts, at 50 concurrent clients.
 * Starts private PostgreSQL and Temporal (ports KEYFLOW_BENCH_PORT_BASE + 1…3, default 55460),
 * seeds, runs the API as its own process (as in production), logs in as the province supervisor
 * (who sees every account) and a county customer manager, and drives a mix of list queries with
 * autocannon. Last line: JSON with p50Ms, p99Ms, rps (target: p99 < 50 ms).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { migrate } from '../db/migrate';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { runSeed } from '../commands/seed';
import { startServices } from '../runtime/services';
import { loginAs, waitForHealthy } from './support/api';
import { recreateDatabase } from './support/database';
import { cpuMsOfTree } from './support/processes';

const accounts = Number(process.env.BENCH_ACCOUNTS ?? 10_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const duration = Number(process.env.BENCH_SECONDS ?? 20);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 55460);

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', `bench-api-${base}`),
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_PG_DATABASE: 'keyflow_bench',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: 'warn',
    // PostgreSQL shares the machine's two cores: more connections than that only queue inside it,
    // and lengthen the tail (measured: p99 about 80 ms with 2 per process, 100-125 ms with 10).
    KEYFLOW_PG_POOL_SIZE: process.env.KEYFLOW_PG_POOL_SIZE ?? '2',
    // As production runs it on this machine: one API process per core.
    KEYFLOW_API_PROCESSES: process.env.KEYFLOW_API_PROCESSES ?? String(os.cpus().length),
  };
  const config = loadConfig(env);
  const logger = createLogger('warn', 'bench');
  const services = await startServices(config, 'test', logger);
  let api: ReturnType<typeof spawn> | undefined;
  let figures: Record<string, unknown> = {};
  try {
    await recreateDatabase(services.postgres.databaseUrl);
    await migrate(services.postgres.databaseUrl);
    const seeded = await runSeed(services.postgres.databaseUrl, { accounts, seed: 42 });
    console.log(`seeded ${seeded.counts.accounts ?? 0} accounts in ${seeded.ms} ms`, seeded.counts);

    // The API's own logs stay out of the way: the figures must be the last line.
    // BENCH_API_CPU_PROFILE=<dir> writes the API process's V8 CPU profile there, to see where the time goes.
    const profile = process.env.BENCH_API_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_API_CPU_PROFILE}`] : [];
    api = spawn(process.execPath, [...profile, path.join(projectRoot, 'bin', 'keyflow.js'), 'api'], { env: { ...env, ...services.env }, stdio: ['ignore', 'ignore', 'inherit'] });
    const url = `http://127.0.0.1:${config.KEYFLOW_API_PORT}`;
    await waitForHealthy(`${url}/health`);
    const supervisor = await loginAs(url, 'supervisor');
    const manager = await loginAs(url, 'gz-th.cm1');
    const page2 = await nextCursor(url, supervisor, '/api/accounts?limit=50');

    // BENCH_API_PATHS=/api/auth/me,… drives other routes as the supervisor: the floor under the list.
    const paths = process.env.BENCH_API_PATHS?.split(',').map((pathname) => ({ path: pathname, token: supervisor }));
    const requests = (paths ?? [
      { path: '/api/accounts?limit=50', token: supervisor },
      { path: `/api/accounts?limit=50&cursor=${page2}`, token: supervisor },
      { path: '/api/accounts?tier=gold&limit=50', token: supervisor },
      { path: `/api/accounts?q=${encodeURIComponent('物流')}&limit=20`, token: supervisor },
      { path: '/api/accounts?status=active&industry=finance&limit=50', token: supervisor },
      { path: '/api/accounts?orgUnitId=GD-SZ&creditList=none&limit=50', token: supervisor },
      { path: '/api/accounts?limit=50', token: manager },
      { path: '/api/accounts?tier=silver&limit=50', token: manager },
    ]).map((request) => ({ method: 'GET' as const, path: request.path, headers: { authorization: `Bearer ${request.token}` } }));

    // How fast this machine is right now, while the services idle: the same figures vary by up to
    // half between hours on a shared VM, and this says which kind of hour it was.
    const calibrationMs = calibrate();
    // Warm the pools and PostgreSQL's caches, then measure.
    await run({ url, connections, duration: 3, requests });
    const postmaster = Number(fs.readFileSync(path.join(config.KEYFLOW_DATA_DIR, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cpuBefore = { api: cpuMsOfTree(api.pid!), postgres: cpuMsOfTree(postmaster), bench: process.cpuUsage() };
    const result = await run({ url, connections, duration, requests });
    const perRequest = (ms: number) => Number((ms / result.requests.total).toFixed(3));
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    figures = {
      bench: 'api.accounts.list',
      accounts: seeded.counts.accounts ?? accounts,
      seedMs: seeded.ms,
      connections,
      durationS: duration,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      rps: Math.round(result.requests.average),
      // Where the machine's CPU went, per request: the API's processes, PostgreSQL's, and the load
      // generator (this process), which shares the cores.
      cpuMsPerRequest: {
        api: perRequest(cpuMsOfTree(api.pid!) - cpuBefore.api),
        postgres: perRequest(cpuMsOfTree(postmaster) - cpuBefore.postgres),
        loadGenerator: perRequest((benchCpu.user + benchCpu.system) / 1000),
      },
      // Other work on the machine skews every figure; the 1-minute load average says how much, and
      // a fixed single-threaded workload timed before the run how fast a core was (lower is faster).
      loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
      calibrationMs,
      cpus: os.cpus().length,
    };
    if (result.non2xx > 0 || result.errors > 0) console.error('bench:api: some requests failed; the figures are not meaningful');
  } finally {
    api?.kill('SIGTERM');
    await new Promise((resolve) => (api && api.exitCode === null ? api.once('exit', resolve) : resolve(undefined)));
    await services.stop();
  }
  console.log(JSON.stringify(figures));
}

/**
 * Milliseconds a fixed piece of work takes this process: writing and reading back a page of 50
 * account-like objects 2,000 times (JSON and UTF-8, what the list's path is made of). The best of
 * three, so a stray preemption does not count.
 */
function calibrate(): number {
  const page = Array.from({ length: 50 }, (_, index) => ({ id: `KA${String(index).padStart(8, '0')}`, name: `深圳海德文化发展有限公司${index}`, tier: 'gold', version: index }));
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < 2_000; index += 1) JSON.parse(Buffer.from(JSON.stringify(page)).toString('utf8'));
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return Math.round(best);
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function nextCursor(url: string, token: string, pathname: string): Promise<string> {
  const response = await fetch(`${url}${pathname}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { nextCursor: string | null };
  if (!body.nextCursor) throw new Error('expected a second page');
  return body.nextCursor;
}

main().catch((error) => {
  console.error('bench:api failed:', error);
  process.exit(1);
});
