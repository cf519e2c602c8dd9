/**
 * `npm run bench:tickets [N]` (or BENCH_TICKETS_N, default 10,000): N fault tickets opened through
 * the API (TMF621) on the shipped complaint process, each waiting at its handling task with its SLA
 * timers running, on one worker. SLAs are shortened, not time-skipped: every ticket's account gets
 * a contract whose SLA terms give major faults BENCH_TICKETS_SLA_MINUTES (default 15) — the
 * process, its decisions and its timers are the shipped ones, on a real Temporal dev server and
 * PostgreSQL. The reminder (75 %) and the breach (100 %) of every ticket fire while staff read the
 * Guangzhou dispatchers' group inbox. Prints the intake rate, timer firings/s and how late they
 * fired, the inbox route's p50/p99 under that load, the worker's RSS and history events per
 * ticket; the last line is JSON. Ports KEYFLOW_BENCH_PORT_BASE + 1…4 (default 56600).
 */
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { migrate } from '../db/migrate';
import { createDatabasePool } from '../db/pool';
import { bootstrap } from '../commands/bootstrap';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { startServices } from '../runtime/services';
import { loginAs, waitForHealthy } from './support/api';
import { recreateDatabase } from './support/database';
import { peakRssMb, rssMb, startKeyflowProcess, stopProcess } from './support/processes';

const n = Number(process.argv[2] ?? process.env.BENCH_TICKETS_N ?? 10_000);
const slaMinutes = Number(process.env.BENCH_TICKETS_SLA_MINUTES ?? 15);
const intakeConcurrency = Number(process.env.BENCH_TICKETS_INTAKE_CONCURRENCY ?? 16);
const inboxReaders = Number(process.env.BENCH_TICKETS_INBOX_READERS ?? 4);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56600);

const nothing = z.object({});

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', `bench-tickets-${base}`),
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_SIM_PORT: String(base + 4),
    KEYFLOW_TEMPORAL_UI: 'false',
    KEYFLOW_PG_DATABASE: 'keyflow_bench',
    // Enough accounts for N distinct faulty lines (about 1.5 active lines per seeded account).
    KEYFLOW_SEED_ACCOUNTS: String(Math.ceil(n / 1.2) + 100),
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);
  const logger = createLogger('warn', 'bench');
  const services = await startServices(config, 'test', logger);
  let worker: ChildProcess | undefined;
  let api: ChildProcess | undefined;
  const pool = await (async () => {
    await recreateDatabase(services.postgres.databaseUrl);
    await migrate(services.postgres.databaseUrl);
    return createDatabasePool(services.postgres.databaseUrl, { applicationName: 'bench-tickets', maximumPoolSize: 2 });
  })();
  let connection: Connection | undefined;
  try {
    // As `keyflow start` does: the shipped processes and decisions, the demo seed, the simulator.
    await bootstrap(services, config, logger);
    const childEnv = { ...env, ...services.env, LOG_LEVEL: 'info' };
    // BENCH_TICKETS_WORKER_PROFILE=<dir> writes the worker's V8 CPU profiles (one per thread) there.
    const profile = process.env.BENCH_TICKETS_WORKER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_TICKETS_WORKER_PROFILE}`] : [];
    worker = await startKeyflowProcess('worker', childEnv, path.join(config.KEYFLOW_DATA_DIR, 'logs', 'bench-worker.log'), 'worker running', profile);
    api = await startKeyflowProcess('api', childEnv, path.join(config.KEYFLOW_DATA_DIR, 'logs', 'bench-api.log'), 'API');
    const url = `http://127.0.0.1:${config.KEYFLOW_API_PORT}`;
    await waitForHealthy(`${url}/health`);

    const lines = await faultyLines(pool, n);
    if (lines.length < n) throw new Error(`the seed has ${lines.length} active lines without an open ticket; ${n} needed`);
    // The accounts' contracts promise major faults fixed within slaMinutes: the process reads that
    // from the contract (tickets.acknowledge), as it would a real key account's SLA terms.
    await pool.query(sql.type(nothing)`
      INSERT INTO contracts (account_id, org_unit_id, contract_no, title, status, starts_on, sla_terms)
      SELECT DISTINCT a.id, a.org_unit_id, 'BENCH-' || a.id, 'SLA bench', 'active', current_date - 1, ${sql.jsonb({ hours: { major: slaMinutes / 60 } })}
        FROM key_accounts a WHERE a.id = ANY(${sql.array([...new Set(lines.map((line) => line.accountId))], 'text')})`);

    const supervisor = await loginAs(url, 'supervisor');
    const dispatcher = await loginAs(url, 'gz.dispatcher');
    console.log(`bench:tickets — ${n} fault tickets, SLA ${slaMinutes} min (reminder at 75 %), ${intakeConcurrency} intakes in flight, ${inboxReaders} inbox readers`);

    // Intake: every ticket opened through the API, as the call centre does.
    const intakeStarted = performance.now();
    const intakeLatencies = await inParallel(lines, intakeConcurrency, async (line, index) => {
      const response = await fetch(`${url}/api/troubleTicket`, {
        method: 'POST',
        headers: { authorization: `Bearer ${supervisor}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          ticketType: 'fault',
          name: '专线中断',
          severity: 'major',
          category: 'network',
          channel: { name: 'noc' },
          relatedEntity: [
            { id: line.accountId, role: 'account', '@referredType': 'KeyAccount' },
            { id: line.subscriptionId, role: 'subscription', '@referredType': 'Subscription' },
          ],
          externalId: `BENCH-${base}-${index}`,
        }),
      });
      if (response.status !== 201) throw new Error(`intake ${index}: ${response.status} ${await response.text()}`);
    });
    const intakeSeconds = (performance.now() - intakeStarted) / 1000;
    const dispatched = await waitUntil(pool, sql.fragment`sla_due_at IS NOT NULL AND status = 'inProgress'`, n, slaMinutes * 60_000, 'dispatched');
    console.log(`intake: ${n} tickets in ${intakeSeconds.toFixed(1)} s (${(n / intakeSeconds).toFixed(1)}/s), all dispatched after ${dispatched.toFixed(1)} s`);
    const firstReminderAt = await pool.oneFirst(sql.type(z.object({ at: z.coerce.number() }))`SELECT extract(epoch FROM min(sla_reminder_at)) * 1000 AS at FROM trouble_tickets WHERE external_id LIKE ${`BENCH-${base}-%`}`);
    const overlapped = firstReminderAt < Date.now();

    // The dispatchers read their group's inbox while the timers fire.
    let reading = true;
    const inboxLatencies: number[] = [];
    const inboxErrors: string[] = [];
    const readers = Array.from({ length: inboxReaders }, async () => {
      while (reading) {
        const started = performance.now();
        const response = await fetch(`${url}/api/tasks/group?limit=50`, { headers: { authorization: `Bearer ${dispatcher}` } });
        await response.arrayBuffer();
        if (response.ok) inboxLatencies.push(performance.now() - started);
        else inboxErrors.push(String(response.status));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
    let workerPeakRss = rssMb(worker.pid!);
    const sampler = setInterval(() => (workerPeakRss = Math.max(workerPeakRss, rssMb(worker!.pid!))), 500);
    await waitUntil(pool, sql.fragment`sla_breached_at IS NOT NULL`, n, slaMinutes * 60_000 + 15 * 60_000, 'breached');
    reading = false;
    await Promise.all(readers);
    clearInterval(sampler);

    const firing = await pool.one(sql.type(firingRow)`
      SELECT count(sla_reminded_at) AS reminders, count(sla_breached_at) AS breaches,
             extract(epoch FROM max(sla_reminded_at) - min(sla_reminded_at)) AS reminder_wave_s,
             extract(epoch FROM max(sla_breached_at) - min(sla_breached_at)) AS breach_wave_s,
             extract(epoch FROM max(sla_due_at) - min(sla_due_at)) AS scheduled_spread_s,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sla_reminded_at - sla_reminder_at)) * 1000 AS reminder_late_p50_ms,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sla_reminded_at - sla_reminder_at)) * 1000 AS reminder_late_p99_ms,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sla_breached_at - sla_due_at)) * 1000 AS breach_late_p50_ms,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sla_breached_at - sla_due_at)) * 1000 AS breach_late_p99_ms
        FROM trouble_tickets WHERE external_id LIKE ${`BENCH-${base}-%`}`);
    const escalations = await pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`
      SELECT count(*) FROM human_tasks WHERE workflow_id LIKE 'complaint:%' AND node_id = 'escalation-1'`);
    const smsSent = await pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM staff_notices`);

    connection = await Connection.connect({ address: services.env.TEMPORAL_ADDRESS! });
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const sample = await pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`
      SELECT workflow_id FROM trouble_tickets WHERE external_id LIKE ${`BENCH-${base}-%`} ORDER BY id LIMIT 20`);
    const historyLengths = await Promise.all(sample.map(async (id) => (await temporal.workflow.getHandle(id).fetchHistory()).events?.length ?? 0));

    const sorted = inboxLatencies.sort((a, b) => a - b);
    const pick = (values: number[], q: number) => (values.length === 0 ? 0 : values[Math.min(values.length - 1, Math.floor(q * values.length))]!);
    const firings = firing.reminders + firing.breaches;
    const waveSeconds = Math.max(1, firing.reminder_wave_s + firing.breach_wave_s);
    const intakeSorted = intakeLatencies.sort((a, b) => a - b);
    const figures = {
      bench: 'tickets.sla-timers',
      tickets: n,
      slaMinutes,
      timers: 'shortened SLAs (contract terms) on the Temporal dev server, not time-skipping',
      intakePerSec: round(n / intakeSeconds),
      intakeP50Ms: round(pick(intakeSorted, 0.5)),
      intakeP99Ms: round(pick(intakeSorted, 0.99)),
      intakeOverlappedTimers: overlapped,
      reminders: firing.reminders,
      breaches: firing.breaches,
      escalationTasks: escalations,
      notices: smsSent,
      timerFiringsPerSec: round(firings / waveSeconds),
      scheduledSpreadS: round(firing.scheduled_spread_s),
      reminderLateP50Ms: round(firing.reminder_late_p50_ms),
      reminderLateP99Ms: round(firing.reminder_late_p99_ms),
      breachLateP50Ms: round(firing.breach_late_p50_ms),
      breachLateP99Ms: round(firing.breach_late_p99_ms),
      inboxRequests: sorted.length,
      inboxErrors: inboxErrors.length,
      inboxP50Ms: round(pick(sorted, 0.5)),
      inboxP99Ms: round(pick(sorted, 0.99)),
      workerRssMb: workerPeakRss,
      workerHighWaterMarkMb: peakRssMb(worker.pid!),
      historyEventsPerTicket: { mean: round(historyLengths.reduce((sum, length) => sum + length, 0) / Math.max(1, historyLengths.length)), max: Math.max(...historyLengths) },
      loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
      cpus: os.cpus().length,
    };
    console.log(
      `timers: ${firings} fired (${firing.reminders} reminders, ${firing.breaches} breaches → ${escalations} escalation tasks), ${figures.timerFiringsPerSec}/s over the waves; ` +
        `late p50/p99: reminder ${figures.reminderLateP50Ms}/${figures.reminderLateP99Ms} ms, breach ${figures.breachLateP50Ms}/${figures.breachLateP99Ms} ms`,
    );
    console.log(`inbox (gz.dispatcher, /api/tasks/group): ${sorted.length} reads, p50 ${figures.inboxP50Ms} ms, p99 ${figures.inboxP99Ms} ms; worker RSS peak ${workerPeakRss} MB; history ${figures.historyEventsPerTicket.mean} events per ticket`);
    console.log(JSON.stringify(figures));
  } finally {
    await connection?.close();
    await stopProcess(api);
    await stopProcess(worker);
    await pool.end();
    await services.stop();
  }
}

const firingRow = z.object({
  reminders: z.coerce.number(),
  breaches: z.coerce.number(),
  reminder_wave_s: z.coerce.number(),
  breach_wave_s: z.coerce.number(),
  scheduled_spread_s: z.coerce.number(),
  reminder_late_p50_ms: z.coerce.number(),
  reminder_late_p99_ms: z.coerce.number(),
  breach_late_p50_ms: z.coerce.number(),
  breach_late_p99_ms: z.coerce.number(),
});

/** Active lines of active accounts that no open ticket names: a fault on each opens a new ticket. */
async function faultyLines(pool: Awaited<ReturnType<typeof createDatabasePool>>, count: number) {
  const rows = await pool.any(sql.type(z.object({ account_id: z.string(), subscription_id: z.string() }))`
    SELECT s.account_id, s.id AS subscription_id FROM subscriptions s JOIN key_accounts a ON a.id = s.account_id
     WHERE s.status = 'active' AND a.status = 'active'
       AND NOT EXISTS (SELECT 1 FROM trouble_tickets t WHERE t.subscription_id = s.id AND t.status NOT IN ('resolved', 'closed', 'rejected', 'cancelled'))
     ORDER BY s.id LIMIT ${count}`);
  return rows.map((row) => ({ accountId: row.account_id, subscriptionId: row.subscription_id }));
}

/** Waits until `count` bench tickets meet `condition`; returns the seconds it took. */
async function waitUntil(pool: Awaited<ReturnType<typeof createDatabasePool>>, condition: ReturnType<typeof sql.fragment>, count: number, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  let last = -1;
  for (;;) {
    const done = await pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`
      SELECT count(*) FROM trouble_tickets WHERE external_id LIKE ${`BENCH-${base}-%`} AND ${condition}`);
    if (done >= count) return (performance.now() - started) / 1000;
    if (done !== last) {
      process.stdout.write(`  ${what}: ${done}/${count}\r`);
      last = done;
    }
    if (performance.now() - started > timeoutMs) throw new Error(`only ${done} of ${count} tickets ${what} within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Runs `task` over `items`, `concurrency` at a time; returns each call's milliseconds. */
async function inParallel<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        const started = performance.now();
        await task(items[index]!, index);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

main().catch((error: unknown) => {
  console.error('bench:tickets failed:', error);
  process.exit(1);
});
