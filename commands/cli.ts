import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, projectRoot, type Config } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { ServiceError, startServices, type Services } from '../runtime/services';
// Static imports: bin/keyflow.js loads TypeScript through tsx's CommonJS hook, which does not
// cover `import()` — a dynamic import of a .ts module fails there with ERR_MODULE_NOT_FOUND.
import { startApi } from '../api/server';
import { MigrationError, migrate } from '../db/migrate';
import { simulatorOptions, startSimulator } from '../sim/server';
import { bootstrap } from './bootstrap';
import { ensureWebBuild } from './web-build';
import { ensureChromium } from './chromium';
import { runSeed } from './seed';
import { createKeyflowWorker } from './worker';
import { runOps, runReplayCheckDirect } from './ops-cli';
import { fillCallbackSecrets, startSimulatorProcess } from '../sim/process';

const usage = `usage: keyflow <command>

  start     start everything that is missing (PostgreSQL, Temporal, simulator), migrate, then run
            the worker and the API; Ctrl-C stops all of it
  worker    run a worker (workflows + activities) against DATABASE_URL and TEMPORAL_ADDRESS
  api       run the HTTP API against DATABASE_URL and TEMPORAL_ADDRESS
  migrate   apply pending database migrations to DATABASE_URL
  sim       run the simulator of the external systems (provisioning, accounting, SMS/e-mail, bank,
            usage feed, alarms) on KEYFLOW_SIM_HOST:KEYFLOW_SIM_PORT; see sim/README.md
  seed      seed a synthetic operator into DATABASE_URL's empty CRM:
            --accounts N (default 1000), --seed S (default 42); prints the counts as JSON
  ops       ops actions through the API: find incidents, retry, skip, reset, move, migrate,
            batches, replay check (\`keyflow ops help\`)
  replay-check  replay running instances against this checkout's workflow code (needs
            TEMPORAL_ADDRESS); exits 1 on non-determinism
  test      start private test services, then type-check, lint and run the whole jest suite
            (arguments after \`--\` go to jest; --no-static skips type-check and lint)
`;

/** The one place a failure becomes an exit: a single clear line, never a stack for known errors. */
function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`keyflow: invalid configuration: ${error.message}`);
  } else if (error instanceof ServiceError || error instanceof MigrationError) {
    console.error(`keyflow: ${error.message}`);
  } else {
    console.error('keyflow: unexpected failure:', error);
  }
  process.exit(1);
}

/** Set once Ctrl-C or SIGTERM asked us to stop, so a child exiting then is no surprise. */
let stopRequested = false;

function onStop(handler: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested) return;
      stopRequested = true;
      void handler().then(
        () => process.exit(0),
        (error) => fail(error),
      );
    });
  }
}

async function runStart(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'keyflow');
  // The web app builds (when stale) while the services come up.
  const webBuild = ensureWebBuild(logger);
  webBuild.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
  const services = await startServices(config, 'start', logger).catch(async (error) => {
    await webBuild.catch(() => undefined);
    throw error;
  });
  onStop(async () => {
    logger.info('stopping');
    await services.stop();
  });
  try {
    await migrate(services.postgres.databaseUrl);
    await webBuild;
    const started = await bootstrap(services, config, logger);
    for (const child of ['worker', 'api'] as const) {
      const managed = services.supervisor.start(child, process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), child], {
        env: services.env,
      });
      void managed.exited.then((result) => {
        if (stopRequested) return;
        stopRequested = true;
        logger.error({ child, result }, `${child} exited unexpectedly; stopping everything`);
        void services.stop().then(() => process.exit(1));
      });
    }
    await waitForApi(config);
    printUrls(config, services, started.lines);
  } catch (error) {
    await services.stop();
    throw error;
  }
}

async function waitForApi(config: Config): Promise<void> {
  const url = `http://${config.KEYFLOW_API_HOST}:${config.KEYFLOW_API_PORT}/health`;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new ServiceError('API_START_FAILED', `the API did not answer on ${url} within 2 minutes`);
}

function printUrls(config: Config, services: Services, extra: string[]): void {
  const lines = [
    '',
    'Keyflow is running:',
    `  Web app        http://localhost:${config.KEYFLOW_API_PORT}/   (sign in as designer, gz.dispatcher, ops …; password keyflow-demo)`,
    `  API            http://localhost:${config.KEYFLOW_API_PORT}/api   (health: /health, OpenAPI: /api/openapi.json)`,
    `  Temporal       ${services.temporal.address}  namespace ${services.temporal.namespace}${services.temporal.startedByUs ? ' (dev server, started here)' : ''}`,
    ...(services.temporal.uiUrl ? [`  Temporal UI    ${services.temporal.uiUrl}`] : []),
    `  PostgreSQL     ${services.postgres.tcpUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}  (${services.postgres.version})`,
    ...extra,
    '',
    'Press Ctrl-C to stop everything started here.',
    '',
  ];
  console.log(lines.join('\n'));
}

async function runWorker(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  requireUrl(config);
  const worker = await createKeyflowWorker(config, logger);
  onStop(() => worker.shutdown());
  logger.info({ taskQueue: config.KEYFLOW_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker running');
  await worker.run();
}

async function runApi(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'api');
  requireUrl(config);
  // Node serves requests on one core; with KEYFLOW_API_PROCESSES > 1 that many processes share
  // the port (node:cluster), and this one only hands out connections and watches them.
  if (config.KEYFLOW_API_PROCESSES > 1 && cluster.isPrimary) {
    await superviseApiProcesses(config.KEYFLOW_API_PROCESSES, logger);
    return;
  }
  const api = await startApi(config, logger);
  onStop(() => api.close());
  logger.info({ url: api.url, pid: process.pid }, 'API listening');
}

async function superviseApiProcesses(count: number, logger: Logger): Promise<void> {
  const workers = Array.from({ length: count }, () => cluster.fork());
  const stopped = (worker: (typeof workers)[number]) =>
    new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      worker.kill('SIGTERM');
    });
  onStop(async () => {
    await Promise.all(workers.map(stopped));
  });
  for (const worker of workers) {
    // One process gone means requests fail at random: stop all, so the supervisor sees it.
    worker.once('exit', (code, signal) => {
      if (stopRequested) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'an API process exited; stopping the API');
      stopRequested = true;
      for (const other of workers) if (!other.isDead()) other.kill('SIGTERM');
      process.exitCode = 1;
    });
  }
  const listening = (worker: (typeof workers)[number]) =>
    new Promise<void>((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', (code) => reject(new Error(`an API process exited with ${code} before it listened`)));
    });
  await Promise.all(workers.map(listening));
  logger.info({ processes: count }, 'API processes listening');
}

async function runSim(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'sim');
  const sim = await startSimulator(simulatorOptions(config, logger), config.KEYFLOW_SIM_HOST, config.KEYFLOW_SIM_PORT);
  onStop(() => sim.stop());
  logger.info({ url: sim.url }, 'simulator listening');
}

async function runSeedCommand(args: string[]): Promise<void> {
  const config = loadConfig();
  requireUrl(config);
  const option = (name: string, fallback: number): number => {
    const index = args.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const value = Number(args[index + 1]);
    if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError([{ variable: `--${name}`, message: 'a whole number ≥ 0' }]);
    return value;
  };
  const accounts = option('accounts', 1000);
  const seed = option('seed', 42);
  await migrate(config.DATABASE_URL!);
  const result = await runSeed(config.DATABASE_URL!, { accounts, seed });
  if (!result.seeded) console.error('keyflow seed: the database already has key accounts; nothing seeded');
  console.log(JSON.stringify({ seeded: result.seeded, seed, ms: result.ms, ...result.counts }));
}

async function runMigrate(): Promise<void> {
  const config = loadConfig();
  requireUrl(config);
  const result = await migrate(config.DATABASE_URL!);
  console.log(`migrations: ${result.applied.length} applied${result.applied.length ? ` (${result.applied.join(', ')})` : ''}, ${result.alreadyApplied} already applied`);
}

function requireUrl(config: Config): void {
  if (!config.DATABASE_URL) {
    throw new ConfigError([{ variable: 'DATABASE_URL', message: 'required for this command (`keyflow start` sets it for the processes it runs)' }]);
  }
}

/**
 * `npm test`: private services on their own ports and data directory (so a running `npm start` is
 * never touched), type-check and lint while they boot, then jest in band.
 */
async function runTest(args: string[]): Promise<void> {
  const separator = args.indexOf('--');
  const ownArgs = separator >= 0 ? args.slice(0, separator) : args;
  const jestArgs = separator >= 0 ? args.slice(separator + 1) : [];
  const runStatic = !ownArgs.includes('--no-static');

  const base = Number(process.env.KEYFLOW_TEST_PORT_BASE ?? 55400);
  const testEnv: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLOW_DATA_DIR: process.env.KEYFLOW_TEST_DATA_DIR ?? path.join(projectRoot, '.data', 'test'),
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_SIM_PORT: String(base + 4),
    KEYFLOW_TEMPORAL_UI: 'false',
    KEYFLOW_PG_DATABASE: 'keyflow_test',
    // Tests never run against the databases or clusters a developer points `npm start` at.
    DATABASE_URL: process.env.KEYFLOW_TEST_DATABASE_URL ?? '',
    TEMPORAL_ADDRESS: process.env.KEYFLOW_TEST_TEMPORAL_ADDRESS ?? '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const config = loadConfig(testEnv);
  const logger = createLogger(config.LOG_LEVEL, 'test');
  ensureChromium(logger);

  // The browser tests need the current web app: built (when stale) while the services come up,
  // before the static checks, which would otherwise compete with it for two cores.
  const webBuild = ensureWebBuild(logger);
  webBuild.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
  const staticChecks: Promise<number[]> = runStatic
    ? webBuild.then(
        () => Promise.all([run('tsc', ['--noEmit', '-p', '.']), run('tsc', ['--noEmit', '-p', 'designer']), run('eslint', ['.'])]),
        () => [1, 1, 1],
      )
    : Promise.resolve([0, 0, 0]);
  const services = await startServices(config, 'test', logger);
  let code = 1;
  try {
    await migrate(services.postgres.databaseUrl);
    await webBuild;
    // Throw-away secrets and partner tokens, so the whole suite runs with signatures and auth on.
    const jestEnv = fillCallbackSecrets({ ...testEnv, ...services.env });
    for (const system of ['PROVISIONING', 'ACCOUNTING', 'NOTIFY', 'BANK', 'USAGE']) {
      jestEnv[`KEYFLOW_${system}_TOKEN`] ??= `test-${system.toLowerCase()}-${randomBytes(8).toString('hex')}`;
    }
    await startSimulatorProcess(services.supervisor, jestEnv, path.join(config.KEYFLOW_DATA_DIR, 'logs'));
    // What passing tests log stays out of the output: the file is named when something fails.
    const logFile = path.join(config.KEYFLOW_DATA_DIR, 'logs', 'tests.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, '');
    const jestCode = await run('jest', ['--runInBand', ...jestArgs], { ...jestEnv, KEYFLOW_LOG_FILE: process.env.KEYFLOW_LOG_FILE ?? logFile });
    if (jestCode !== 0) console.error(`keyflow test: what the tests logged (warnings and errors, JSON lines) is in ${process.env.KEYFLOW_LOG_FILE ?? logFile}`);
    const [tscCode, webTscCode, eslintCode] = await staticChecks;
    if (tscCode !== 0) console.error('keyflow test: type-check failed');
    if (webTscCode !== 0) console.error('keyflow test: type-check of the web app (designer/) failed');
    if (eslintCode !== 0) console.error('keyflow test: lint failed');
    code = jestCode || tscCode || webTscCode || eslintCode || 0;
  } finally {
    await services.stop();
  }
  process.exit(code);
}

function run(tool: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(path.join(projectRoot, 'node_modules', '.bin', tool), args, { stdio: 'inherit', env, cwd: projectRoot });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.once('error', () => resolve(1));
  });
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart();
    case 'worker':
      return runWorker();
    case 'api':
      return runApi();
    case 'seed':
      return runSeedCommand(rest);
    case 'migrate':
      return runMigrate();
    case 'sim':
      return runSim();
    case 'test':
      return runTest(rest);
    case 'ops':
      // Exit explicitly: keep-alive sockets and the Temporal runtime would hold the process open.
      return process.exit(await runOps(rest));
    case 'replay-check':
      return process.exit(await runReplayCheckDirect(rest));
    case undefined:
    case 'help':
    case '--help':
      console.log(usage);
      return;
    default:
      console.error(`keyflow: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      process.exit(2);
  }
}

export type { Logger };

if (require.main === module || process.argv[1]?.endsWith(path.join('bin', 'keyflow.js'))) {
  main(process.argv.slice(2)).catch(fail);
}
