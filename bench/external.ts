/**
 * `npm run bench:external [calls]` (or BENCH_EXTERNAL_CALLS): idempotent calls to a misbehaving
 * partner through a small workflow. The simulator answers `accounting.postAdjustment` after 300 ms
 * and fails 30% of requests (500/502/503/429, before doing anything); on top of that 3% are done
 * and then left unanswered (the ambiguous failure). Every call is 1 fen on one billing account
 * with its own idempotency key, retried by Temporal until it succeeds; afterwards the simulator's
 * ledger must hold exactly one entry per call and the balance must be exactly `calls` fen.
 *
 * Starts its own PostgreSQL, Temporal dev server and simulator on KEYFLOW_BENCH_PORT_BASE + 1.. (default
 * 56570), under .data/bench. Prints the figures; the last line is JSON.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createAccountingClient } from '../activities/external/accounting';
import { endpointFor } from '../activities/external/endpoints';
import { migrate } from '../db/migrate';
import { loadConfig, projectRoot } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { startServices } from '../runtime/services';
import { createKeyflowWorker } from '../commands/worker';
import { simulatorOptions, startSimulator } from '../sim/server';
import { externalTestBundle, simControl } from '../test/support/external';

const calls = Number(process.argv[2] ?? process.env.BENCH_EXTERNAL_CALLS ?? 1_000);
const workflows = Number(process.env.BENCH_EXTERNAL_WORKFLOWS ?? 4);
const concurrencyPerWorkflow = Number(process.env.BENCH_EXTERNAL_CONCURRENCY ?? 25);
const portBase = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56570);
const faults = { latencyMs: 300, errorRate: 0.3, errorStatuses: [500, 502, 503, 429] as (500 | 502 | 503 | 429)[], timeoutRate: 0.03 };

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', 'bench'),
    KEYFLOW_PG_PORT: String(portBase + 1),
    KEYFLOW_TEMPORAL_PORT: String(portBase + 2),
    KEYFLOW_SIM_PORT: String(portBase + 4),
    KEYFLOW_PG_DATABASE: 'keyflow_bench',
    KEYFLOW_TASK_QUEUE: `bench-external-${randomUUID()}`,
    // One attempt may hang (the injected timeouts): give up on it after 1.5 s and retry.
    KEYFLOW_ACCOUNTING_TIMEOUT_MS: '1500',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  });
  const logger = createLogger(config.LOG_LEVEL, 'bench');
  const services = await startServices(config, 'test', logger);
  const options = simulatorOptions(config, logger);
  const sim = await startSimulator(options, config.KEYFLOW_SIM_HOST, config.KEYFLOW_SIM_PORT);
  try {
    await migrate(services.postgres.databaseUrl);
    const runtimeConfig = { ...config, DATABASE_URL: services.postgres.databaseUrl, TEMPORAL_ADDRESS: services.temporal.address };
    const worker = await createKeyflowWorker(runtimeConfig, logger, { workflowBundle: await externalTestBundle() });
    const running = worker.run();
    const connection = await Connection.connect({ address: services.temporal.address });
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const control = simControl(sim.url, { authorization: `Bearer ${options.controlToken}` });

    const account = await createAccountingClient(endpointFor(runtimeConfig, 'accounting')).openBillingAccount(
      { customerId: 'C-BENCH', name: 'Bench Ltd', currency: 'CNY', billingCycleDay: 1 },
      { idempotencyKey: `bench/${randomUUID()}/open` },
    );
    const billingAccountId = account.body.billingAccountId;
    await control.setFaults({ 'accounting.postAdjustment': faults });

    const run = `bench-external:${randomUUID()}`;
    const perWorkflow = Array.from({ length: workflows }, (_, index) => Math.floor(calls / workflows) + (index < calls % workflows ? 1 : 0));
    const started = performance.now();
    const results = await Promise.all(
      perWorkflow.map((count, index) =>
        client.workflow.execute('adjustmentBatch', {
          taskQueue: config.KEYFLOW_TASK_QUEUE,
          workflowId: `${run}-${index}`,
          args: [{ billingAccountId, calls: count, concurrency: concurrencyPerWorkflow }],
          workflowExecutionTimeout: '30 minutes',
        }) as Promise<{ latenciesMs: number[] }>,
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    await control.clearFaults();

    const latencies = results.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
    const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const ledger = await control.ledger({ operation: 'accounting.postAdjustment', idempotencyKeyPrefix: run, limit: 100_000 });
    const attempts = await control.requests({ operation: 'accounting.postAdjustment', idempotencyKeyPrefix: run, limit: 100_000 });
    const outcome = (kind: string) => attempts.entries.filter((entry) => entry.outcome === kind).length;
    const balance = Math.max(0, ...ledger.entries.map((entry) => (entry.response as { balanceMinor: number }).balanceMinor));
    const distinctKeys = new Set(ledger.entries.map((entry) => entry.idempotencyKey)).size;

    const figures = {
      calls: latencies.length,
      ledgerEntries: ledger.count,
      distinctKeys,
      balanceMinor: balance,
      exactlyOnce: ledger.count === calls && distinctKeys === calls && balance === calls,
      attempts: attempts.count,
      injectedErrors: outcome('fault'),
      injectedTimeouts: outcome('timeout'),
      replayed: outcome('replayed'),
      seconds: round(seconds),
      callsPerSec: round(latencies.length / seconds),
      p50Ms: Math.round(pick(0.5)),
      p99Ms: Math.round(pick(0.99)),
      faults: { latencyMs: faults.latencyMs, errorRate: faults.errorRate, timeoutRate: faults.timeoutRate },
      workflows,
      concurrency: workflows * concurrencyPerWorkflow,
    };
    console.log(`external calls through ${workflows} workflows (${workflows * concurrencyPerWorkflow} in flight), simulator at ${faults.latencyMs} ms latency, ${faults.errorRate * 100}% errors, ${faults.timeoutRate * 100}% timeouts`);
    console.log(`  calls ${figures.calls}, attempts ${figures.attempts} (errors ${figures.injectedErrors}, timeouts ${figures.injectedTimeouts}, answered from dedupe ${figures.replayed})`);
    console.log(`  ledger entries ${figures.ledgerEntries} (distinct keys ${distinctKeys}), balance ${balance} fen: ${figures.exactlyOnce ? 'exactly once' : 'NOT EXACTLY ONCE'}`);
    console.log(`  ${figures.callsPerSec} calls/s over ${figures.seconds} s, latency p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (schedule → result, retries included)`);
    console.log(JSON.stringify(figures));

    await connection.close();
    await worker.shutdown();
    await running.catch(() => undefined);
    if (!figures.exactlyOnce) process.exitCode = 1;
  } finally {
    await sim.stop();
    await services.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

main().catch((error) => {
  console.error('bench:external failed:', error);
  process.exit(1);
});
