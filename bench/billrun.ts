/**
 * `npm run bench:billrun [sizes]`: the billing cycle end to end, from collection to issued bills,
 * for 10,000 key accounts (2 lines each) and 1, 2 and 5 million usage records (BENCH_BILLRUN_SIZES,
 * comma-separated, in millions or with a k suffix; BENCH_BILLRUN_ACCOUNTS).
 *
 * Per size: a fresh database; the operator is seeded and the month's mediation files (CSV, 100,000
 * records each, realistic mix over ~3,000 prefixes) are written to the inbox — none of that is
 * timed. Then the shipped billing-cycle process runs on Temporal, in a worker started as its own
 * process (`keyflow worker`, so its peak RSS is its own): collection, preprocessing and duplicate
 * check, rating in batches, bill drafts, conservation check, the clerk's approval (given by this
 * script as soon as the task appears), gap-free issue. The clock stops when the bills are issued;
 * publishing (30,000 calls to the partners) is not part of the figure and the instance is ended
 * there.
 *
 * Starts its own durable PostgreSQL (fsync on) and Temporal dev server on KEYFLOW_BENCH_PORT_BASE
 * + 1.. (default 56580), under .data/bench-billrun. The last line is JSON for the largest size;
 * one JSON line per size before it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { mediationHeader } from '../activities/billing/mediation';
import { deployBillingProcesses } from '../activities/billing/processes';
import { migrate } from '../db/migrate';
import { createDatabasePool } from '../db/pool';
import { loadConfig, projectRoot, type Config } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { startServices } from '../runtime/services';
import { administer } from './support/database';
import { cpuMsOfTree, peakRssMb, rssMb, startKeyflowProcess } from './support/processes';
import { completeOpenTask, seedOperator, startBillingCycle } from '../test/support/billing';
import { seedOrgTree } from '../test/support/auth';
import { benchmarkPlan, randomOf } from './rating-fixtures';

const sizes = (process.argv[2] ?? process.env.BENCH_BILLRUN_SIZES ?? '1,2,5')
  .split(',')
  .map((size) => (size.trim().endsWith('k') ? Number(size.trim().slice(0, -1)) * 1_000 : Number(size) * 1_000_000));
const accounts = Number(process.env.BENCH_BILLRUN_ACCOUNTS ?? 10_000);
const linesPerAccount = 2;
const recordsPerFile = 100_000;
const accountsPerBatch = Number(process.env.BENCH_BILLRUN_BATCH ?? 250);
const portBase = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56580);

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', 'bench-billrun'),
    KEYFLOW_PG_PORT: String(portBase + 1),
    KEYFLOW_TEMPORAL_PORT: String(portBase + 2),
    KEYFLOW_PG_DATABASE: 'keyflow_bench',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config.LOG_LEVEL, 'bench');
  const services = await startServices(config, 'start', logger);
  const results: Record<string, unknown>[] = [];
  try {
    await migrate(services.postgres.databaseUrl);
    const connection = await Connection.connect({ address: services.temporal.address });
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    for (const records of sizes) {
      const result = await benchOneSize(config, services.postgres.databaseUrl, services.temporal.address, client, records);
      results.push(result);
      console.log(JSON.stringify(result));
    }
    await connection.close();
  } finally {
    await services.stop();
  }
  // The figures again, the largest size last (the line tools read).
  console.log(JSON.stringify(results[results.length - 1]));
}

async function benchOneSize(config: Config, templateUrl: string, temporalAddress: string, client: Client, records: number): Promise<Record<string, unknown>> {
  const name = `keyflow_bench_${records}_${Date.now()}`;
  await administer(templateUrl, `CREATE DATABASE "${name}" TEMPLATE "${new URL(templateUrl).pathname.slice(1)}"`);
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const pool = await createDatabasePool(databaseUrl, { maximumPoolSize: 4 });
  const inbox = path.join(config.KEYFLOW_DATA_DIR, `inbox-${records}`);
  let worker: ChildProcess | undefined;
  try {
    // --- not timed: the operator, its month of usage, a worker warmed up ---
    const setupStarted = performance.now();
    const org = await seedOrgTree(pool);
    const operator = await seedOperator(pool, { accounts, subscriptionsPerAccount: linesPerAccount, orgUnitId: org.province, plan: benchmarkPlan(), idPrefix: 'B', productId: 'MOBILE-BENCH', tariffId: 'TF-BENCH-1' });
    await deployBillingProcesses(pool, 'bench');
    const numbers = operator.subscriptions.flat().map((line) => line.serviceNumber);
    await fs.rm(inbox, { recursive: true, force: true });
    await fs.mkdir(inbox, { recursive: true });
    const files = await writeUsage(inbox, numbers, records);
    const past = new Date(Date.now() - 60_000);
    for (const file of files) await fs.utimes(file, past, past);
    const taskQueue = `bench-billrun-${randomUUID()}`;
    worker = await startKeyflowProcess(
      'worker',
      { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, KEYFLOW_TASK_QUEUE: taskQueue, KEYFLOW_USAGE_INBOX: inbox, LOG_LEVEL: 'info', KEYFLOW_SIM_ENABLED: 'false' },
      path.join(config.KEYFLOW_DATA_DIR, `worker-${records}.log`),
      'worker running',
      // e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=.data/prof" to see where the worker's CPU goes.
      (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    );
    console.log(`${records.toLocaleString('en')} records for ${accounts.toLocaleString('en')} accounts ready in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s (${files.length} files); running the cycle`);

    // --- timed: collection to issued bills ---
    const started = performance.now();
    const phases: Record<string, number> = {};
    // At each change of the run's status: the clock, the CPU the worker and PostgreSQL have used
    // and the run's counters, so each phase gets its seconds, its CPU per process and its rows/s.
    const postmaster = (await postgresPids())[0]!;
    const marks: PhaseMark[] = [];
    const counters = () =>
      pool
        .maybeOne(sql.type(z.object({ records_in: z.coerce.number(), records_rated: z.coerce.number() }))`SELECT records_in, records_rated FROM bill_runs LIMIT 1`)
        .then((row) => row ?? { records_in: 0, records_rated: 0 });
    const mark = async (now: string) => {
      const row = await counters();
      marks.push({ status: now, atMs: performance.now(), workerCpuMs: cpuMsOfTree(worker!.pid!), postgresCpuMs: postgresCpuMs(postmaster), recordsIn: row.records_in, recordsRated: row.records_rated });
    };
    await mark('starting');
    const handle = await startBillingCycle(client, pool, taskQueue, `2025-03-bench-${records}-${Date.now()}`, {
      period: '2025-03',
      cycleDay: 1,
      accountsPerBatch,
      includeFeed: false,
      dunningAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const status = () => pool.maybeOneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM bill_runs LIMIT 1`);
    let last = '';
    let workerRss = 0;
    let approved = false;
    for (;;) {
      workerRss = Math.max(workerRss, rssMb(worker.pid!));
      const now = (await status()) ?? 'starting';
      if (now !== last) {
        phases[now] = Math.round((performance.now() - started) / 100) / 10;
        last = now;
        await mark(now);
      }
      // Once: the status stays awaiting_approval until the decision's activity has run, and a
      // second completion would wait for a task that never opens again.
      if (now === 'awaiting_approval' && !approved) {
        await completeOpenTask(client, pool, handle.workflowId, { approved: true, comment: 'bench' }, 'bench-clerk', 600_000);
        approved = true;
      }
      if (now === 'publishing' || now === 'completed') break;
      if (now === 'rejected' || now === 'failed') throw new Error(`the run ended ${now}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const phaseTable = phaseFigures(marks);
    const postgresRssMb = postgresRssNow(postmaster);
    await handle.terminate('benchmark measured up to issued bills');

    // Sampled every 100 ms while the cycle ran; the worker's own high-water mark also counts its
    // start-up, when it bundles the workflow code.
    const workerPeakRssMb = workerRss;
    const workerHighWaterMarkMb = peakRssMb(worker.pid!);
    const postgresPeakRssMb = Math.max(...(await postgresPids()).map(peakRssMb));
    const run = await pool.one(sql.type(z.object({
      records_in: z.coerce.number(), records_rated: z.coerce.number(), records_rejected: z.coerce.number(), records_duplicate: z.coerce.number(), records_deferred: z.coerce.number(),
      accounts_done: z.number(), batches_total: z.number(), bills_total_minor: z.coerce.number(),
    }))`SELECT records_in, records_rated, records_rejected, records_duplicate, records_deferred, accounts_done, batches_total, bills_total_minor FROM bill_runs`);
    const issued = await pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM bills WHERE status = 'validated'`);
    return {
      benchmark: 'billrun',
      records,
      accounts,
      seconds: Math.round(seconds * 10) / 10,
      workerPeakRssMb,
      workerHighWaterMarkMb,
      postgresPeakRssMb,
      recordsPerSec: Math.round(records / seconds),
      accountsPerSec: Math.round(accounts / seconds),
      billsIssued: issued,
      rated: run.records_rated,
      rejected: run.records_rejected,
      duplicates: run.records_duplicate,
      balanced: run.records_in === run.records_rated + run.records_rejected + run.records_duplicate + run.records_deferred,
      batches: run.batches_total,
      phasesAtSeconds: phases,
      phases: phaseTable,
      postgresRssMb,
      durablePostgres: true,
      loadAverage: Number((readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '0')),
    };
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    await pool.end();
    await administer(templateUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await fs.rm(inbox, { recursive: true, force: true });
    await fs.rm(path.join(path.dirname(inbox), 'processed'), { recursive: true, force: true });
  }
}

/** Mediation files of `records` records: 35 % local calls, 20 % to mobiles, 10 % long distance, 5 % international, 15 % SMS, 15 % data. */
async function writeUsage(inbox: string, numbers: readonly string[], records: number): Promise<string[]> {
  const random = randomOf(7);
  const digits = (length: number) => {
    let text = '';
    for (let index = 0; index < length; index += 1) text += String(Math.floor(random() * 10));
    return text;
  };
  const march = Date.parse('2025-02-28T16:00:00Z');
  const files: string[] = [];
  for (let fileNo = 0; fileNo * recordsPerFile < records; fileNo += 1) {
    const count = Math.min(recordsPerFile, records - fileNo * recordsPerFile);
    const file = path.join(inbox, `MSC-BENCH_202503_${String(fileNo).padStart(4, '0')}.csv`);
    const out = createWriteStream(file);
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, 'drain');
    };
    await write(`${mediationHeader}\n`);
    let chunk = '';
    for (let index = 0; index < count; index += 1) {
      const number = numbers[Math.floor(random() * numbers.length)]!;
      const startedAt = new Date(march + Math.floor(random() * 31 * 86_400) * 1000).toISOString();
      const roll = random();
      let line: string;
      if (roll < 0.35) line = `voice,${number},${startedAt},${Math.floor(random() * 600)},,,0755${digits(8)}`;
      else if (roll < 0.55) line = `voice,${number},${startedAt},${Math.floor(random() * 900)},,,13${digits(9)}`;
      else if (roll < 0.65) line = `voice,${number},${startedAt},${Math.floor(random() * 1800)},,,0${['21', '23', '311', '512', '898', '571'][Math.floor(random() * 6)]}${digits(8)}`;
      else if (roll < 0.7) line = `voice,${number},${startedAt},${Math.floor(random() * 1200)},,,+${['1', '1242', '44', '49', '852', '81', '971'][Math.floor(random() * 7)]}${digits(9)}`;
      else if (roll < 0.85) line = `sms,${number},${startedAt},,,1,13${digits(9)}`;
      else line = `data,${number},${startedAt},,${Math.floor(random() * 200 * 1024 * 1024)},,`;
      chunk += `MSC-BENCH-${fileNo},${fileNo}-${index},${line}\n`;
      if (chunk.length > 1 << 20) {
        await write(chunk);
        chunk = '';
      }
    }
    await write(`${chunk}#END,${count}\n`);
    out.end();
    await once(out, 'finish');
    files.push(file);
  }
  return files;
}

interface PhaseMark {
  status: string;
  atMs: number;
  workerCpuMs: number;
  postgresCpuMs: number;
  recordsIn: number;
  recordsRated: number;
}

/**
 * What each phase (a status of the run, until the next) cost: seconds, CPU seconds of the worker
 * and of PostgreSQL (postmaster and backends) — their sum over the seconds is how many of the two
 * cores the phase kept busy — and the rows it moved: records collected while collecting, records
 * rated (and drafted into bills) while rating.
 */
function phaseFigures(marks: readonly PhaseMark[]) {
  const table: Record<string, { seconds: number; workerCpuSec: number; postgresCpuSec: number; rows?: number; rowsPerSec?: number }> = {};
  for (let index = 1; index < marks.length; index += 1) {
    const from = marks[index - 1]!;
    const to = marks[index]!;
    const seconds = (to.atMs - from.atMs) / 1000;
    // The status at `from` lasted until `to`; 'starting' is the workflow's start, before the run row exists.
    const rows = from.status === 'collecting' ? to.recordsIn - from.recordsIn : from.status === 'rating' ? to.recordsRated - from.recordsRated : undefined;
    table[from.status] = {
      seconds: Math.round(seconds * 10) / 10,
      workerCpuSec: Math.round((to.workerCpuMs - from.workerCpuMs) / 100) / 10,
      postgresCpuSec: Math.round((to.postgresCpuMs - from.postgresCpuMs) / 100) / 10,
      ...(rows === undefined ? {} : { rows, rowsPerSec: seconds > 0 ? Math.round(rows / seconds) : 0 }),
    };
  }
  return table;
}

/**
 * CPU time PostgreSQL has used so far: the postmaster's own, that of the backends it has reaped
 * (its cutime and cstime: a pool closing idle connections ends backends during a phase) and that
 * of the live ones. Counting live backends only made a phase's figure drop when a backend exited.
 */
function postgresCpuMs(postmaster: number): number {
  const fieldsOf = (pid: number): string[] | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After the command (which may hold spaces): state, ppid, …, utime (14th), stime, cutime, cstime.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null; // gone meanwhile
    }
  };
  const own = fieldsOf(postmaster);
  if (!own) return 0;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = fieldsOf(Number(entry));
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10; // 100 clock ticks a second
}

/** PostgreSQL's resident memory now: its largest process (shared buffers count in every backend that touched them, so a sum would overcount). */
function postgresRssNow(postmaster: number): number {
  let largest = rssMb(postmaster);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat = '';
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) largest = Math.max(largest, rssMb(Number(entry)));
  }
  return largest;
}

/** This bench's PostgreSQL: the postmaster listening on its port and the backends it forked. */
async function postgresPids(): Promise<number[]> {
  const parents = new Map<number, number>();
  let postmaster = -1;
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(Number(entry), parent);
    const command = (await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (command[0]?.endsWith('/postgres') && command.includes(String(portBase + 1))) postmaster = Number(entry);
  }
  return [postmaster, ...[...parents].filter(([, parent]) => parent === postmaster).map(([pid]) => pid)].filter((pid) => pid > 0);
}

main().catch((error) => {
  console.error('bench:billrun failed:', error);
  process.exit(1);
});
