/**
 * `npm run bench:orders [orders]` (or BENCH_ORDERS, default 200): concurrent key-account orders
 * through the shipped order fulfilment process, with the simulator at 20% errors (500/502/503/429)
 * and 500 ms added latency on every call, duplicated and reordered activation callbacks. Orders
 * are captured through `POST /api/productOrder`; the bench signs each contract through the task
 * API as the customer manager would. Afterwards every order must be final and the simulator's
 * ledger must hold each reservation, activation, billing account and notice exactly once.
 *
 * Starts its own PostgreSQL, Temporal dev server and simulator on KEYFLOW_BENCH_PORT_BASE + 1..
 * (default 56580) under .data/bench, the API in this process and the worker as a child process
 * (`keyflow worker`), whose RSS it samples. Prints the figures; the last line is JSON.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { startApi } from '../api/server';
import { createDatabasePool } from '../db/pool';
import { migrate } from '../db/migrate';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { startServices } from '../runtime/services';
import { simulatorOptions, startSimulator } from '../sim/server';
import { login, seedOrgTree } from '../test/support/auth';
import { simControl } from '../test/support/external';
import { chaosFaults, quantile, runOrderLoad } from '../test/support/order-load';
import { createOrderAccount, createOrderStaff, deployOrderFulfilment, ensureOrderCatalogue } from '../test/support/orders';

const orders = Number(process.argv[2] ?? process.env.BENCH_ORDERS ?? 200);
const portBase = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56580);

/** Resident set of a process and its descendants, from /proc (Linux), in bytes. */
function treeRss(pid: number): number {
  let total = 0;
  const read = (id: number) => {
    try {
      const status = fs.readFileSync(`/proc/${id}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      for (const child of fs.readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) read(Number(child));
    } catch {
      // gone, or not Linux
    }
  };
  read(pid);
  return total;
}

/**
 * Every run starts from an empty database: the simulator forgets its ids when it stops, so ids it
 * hands out again (billing accounts, services) must not meet a previous run's rows.
 */
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
  const secret = () => randomBytes(24).toString('hex');
  const env = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', 'bench'),
    KEYFLOW_PG_PORT: String(portBase + 1),
    KEYFLOW_TEMPORAL_PORT: String(portBase + 2),
    KEYFLOW_SIM_PORT: String(portBase + 4),
    KEYFLOW_PG_DATABASE: 'keyflow_bench_orders',
    KEYFLOW_TASK_QUEUE: `bench-orders-${randomUUID()}`,
    KEYFLOW_CALLBACK_SECRET_PROVISIONING: secret(),
    KEYFLOW_CALLBACK_SECRET_BANK: secret(),
    KEYFLOW_CALLBACK_SECRET_ALARMS: secret(),
    KEYFLOW_SIM_CONTROL_TOKEN: secret(),
    // The activation waits for its callback; under 500 ms per call it should not need ops.
    KEYFLOW_ORDER_ACTIVATION_TIMEOUT: 'PT5M',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  };
  const config = loadConfig(env);
  const logger = createLogger(config.LOG_LEVEL, 'bench');
  const services = await startServices(config, 'test', logger);
  const options = { ...simulatorOptions(config, logger), baselineFaults: {} };
  const sim = await startSimulator(options, config.KEYFLOW_SIM_HOST, config.KEYFLOW_SIM_PORT);
  const databaseUrl = services.postgres.databaseUrl;
  await recreateDatabase(databaseUrl);
  const runtimeConfig = { ...config, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: services.temporal.address };
  let worker: ReturnType<typeof spawn> | undefined;
  const pool = await createDatabasePool(databaseUrl, { applicationName: 'bench-orders' });
  try {
    await migrate(databaseUrl);
    await seedOrgTree(pool);
    await deployOrderFulfilment(pool);
    await ensureOrderCatalogue(pool);
    const api = await startApi(runtimeConfig, logger, 0);
    sim.callbacks.setDefaultBaseUrl(api.url);
    worker = spawn(process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'worker'], {
      env: { ...env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: services.temporal.address, KEYFLOW_SIM_HOST: config.KEYFLOW_SIM_HOST },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // The worker polls once it has bundled its workflows: the orders' clock starts then.
    const ready = (async () => {
      for (;;) {
        const queue = await api.temporal.workflowService.describeTaskQueue({ namespace: config.TEMPORAL_NAMESPACE, taskQueue: { name: config.KEYFLOW_TASK_QUEUE }, taskQueueType: 1 });
        if ((queue.pollers ?? []).length > 0) return;
        if (worker!.exitCode !== null) throw new Error(`the worker exited (${worker!.exitCode}) before it ran`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const staff = await createOrderStaff(pool, String(Date.now() % 10_000));
    const accounts: string[] = [];
    for (let index = 0; index < 20; index += 1) accounts.push((await createOrderAccount(pool, staff.manager.id)).accountId);
    const manager = await login(api.url, staff.manager.username, staff.manager.password);
    await ready;
    const control = simControl(sim.url, { authorization: `Bearer ${options.controlToken}` });
    await control.setFaults(chaosFaults);

    // Sampled from the first order on: the worker's start (bundling its workflows) is not the orders' cost.
    let peakRss = 0;
    let lastRss = 0;
    const sampler = setInterval(() => {
      if (!worker?.pid) return;
      lastRss = treeRss(worker.pid);
      peakRss = Math.max(peakRss, lastRss);
    }, 500);
    let shown = -1;
    const result = await runOrderLoad({
      apiUrl: api.url,
      pool,
      control,
      manager,
      accounts,
      count: orders,
      timeoutMs: 20 * 60_000,
      onProgress: (done, total) => {
        if (done !== shown && done % 20 === 0) console.log(`  ${done}/${total} final`);
        shown = done;
      },
    });
    clearInterval(sampler);
    await control.clearFaults();

    const figures = {
      orders: result.orders,
      completed: result.states.completed ?? 0,
      states: result.states,
      exactlyOnce: result.duplicates.length === 0,
      duplicateOrders: result.duplicates.length,
      ledgerEntries: result.ledgerEntries,
      injectedErrors: result.injectedErrors,
      seconds: Math.round(result.seconds * 10) / 10,
      ordersPerMin: Math.round(result.ordersPerMinute * 10) / 10,
      leadTimeP50Ms: Math.round(quantile(result.leadTimesMs, 0.5)),
      leadTimeP99Ms: Math.round(quantile(result.leadTimesMs, 0.99)),
      workerPeakRssMb: Math.round(peakRss / 1024 / 1024),
      workerEndRssMb: Math.round(lastRss / 1024 / 1024),
      faults: { latencyMs: 500, errorRate: 0.2 },
    };
    console.log(`${figures.orders} orders at 20% errors and 500 ms added latency: ${JSON.stringify(figures.states)}, ${figures.exactlyOnce ? 'each side effect exactly once' : `${figures.duplicateOrders} ORDERS WITH DUPLICATE OR MISSING SIDE EFFECTS`}`);
    console.log(`  ${figures.ordersPerMin} orders/min over ${figures.seconds} s; lead time (capture → completed, contract signed by the bench) p50 ${figures.leadTimeP50Ms} ms, p99 ${figures.leadTimeP99Ms} ms`);
    console.log(`  simulator refused ${figures.injectedErrors} calls (retried under the same keys); worker RSS peak ${figures.workerPeakRssMb} MB, at the end ${figures.workerEndRssMb} MB`);
    console.log(JSON.stringify(figures));
    await api.close();
    if (!figures.exactlyOnce || figures.completed !== figures.orders) process.exitCode = 1;
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker!.once('exit', resolve));
    }
    await pool.end();
    await sim.stop();
    await services.stop();
  }
}

main().catch((error) => {
  console.error('bench:orders failed:', error);
  process.exit(1);
});
