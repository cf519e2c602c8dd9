import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WorkflowClient } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { startApi, type RunningApi } from '../../api/server';
import type { FaultSettings } from '../../sim/faults';
import type { LedgerEntry, RequestLogEntry } from '../../sim/state';
import type { CallbackDelivery } from '../../sim/callbacks';
import { simulatorOptions, startSimulator, type RunningSimulator } from '../../sim/server';
import type { Config } from '../../runtime/config';
import { createLogger } from '../../runtime/logger';
import { createKeyflowWorker, type KeyflowWorker } from '../../commands/worker';
import type { TestDatabase } from './database';
import { testConfig } from './services';

/**
 * These tests fail calls on purpose, hundreds of times; their logs stay quiet unless asked for
 * with KEYFLOW_TEST_LOG_LEVEL (the SDK's runtime logger is per process: the first worker's wins).
 */
const logLevel = process.env.KEYFLOW_TEST_LOG_LEVEL ?? 'silent';
const quietLogger = createLogger(logLevel, 'test');

let bundle: Promise<WorkflowBundle> | undefined;

/** The production workflows plus test/support/workflows/, bundled once per test file. */
export function externalTestBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows', 'index.ts'),
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (message) => console.error(message) },
  });
  return bundle;
}

/** The control token `keyflow test` generated for every simulator of the run (KEYFLOW_SIM_CONTROL_TOKEN). */
export function simControlHeaders(): Record<string, string> {
  return { authorization: `Bearer ${process.env.KEYFLOW_SIM_CONTROL_TOKEN ?? ''}` };
}

/** The simulator's control API (`/sim/*`), for tests and the benchmark. */
export function simControl(url: string, headers: Record<string, string> = simControlHeaders()) {
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const query = (filter: Record<string, string | number | undefined>) =>
    new URLSearchParams(Object.entries(filter).filter((entry): entry is [string, string | number] => entry[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return {
    url,
    setFaults: (faults: Record<string, FaultSettings>) => call<Record<string, FaultSettings>>('POST', '/sim/faults', faults),
    clearFaults: () => call('DELETE', '/sim/faults'),
    reset: (seed?: number) => call('POST', '/sim/reset', seed === undefined ? {} : { seed }),
    ledger: (filter: { system?: string; operation?: string; idempotencyKey?: string; idempotencyKeyPrefix?: string; limit?: number } = {}) =>
      call<{ count: number; entries: LedgerEntry[] }>('GET', `/sim/ledger?${query(filter)}`),
    requests: (filter: { system?: string; operation?: string; idempotencyKey?: string; idempotencyKeyPrefix?: string; limit?: number } = {}) =>
      call<{ count: number; entries: RequestLogEntry[] }>('GET', `/sim/requests?${query(filter)}`),
    callbacks: (filter: { system?: string; eventId?: string } = {}) => call<{ pending: number; deliveries: CallbackDelivery[] }>('GET', `/sim/callbacks?${query(filter)}`),
    pay: (order: { reference: string; amountMinor: number; duplicate?: boolean; bankTransactionId?: string; callbackUrl?: string }) =>
      call<{ eventId: string; bankTransactionId: string }>('POST', '/sim/bank/payments', order),
    alarm: (order: { serviceId: string; networkElementId?: string; state?: 'raised' | 'cleared'; alarmId?: string; duplicate?: boolean; delayMs?: number; callbackUrl?: string }) =>
      call<{ eventId: string; alarmId: string }>('POST', '/sim/alarms', order),
    /** Resolves once nothing is scheduled or in flight any more. */
    async settled(timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while ((await call<{ pending: number }>('GET', '/sim/callbacks?system=none')).pending > 0) {
        if (Date.now() > deadline) throw new Error('simulator callbacks did not settle');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

export type SimControl = ReturnType<typeof simControl>;

export interface ExternalStack {
  config: Config;
  sim: RunningSimulator;
  control: SimControl;
  api: RunningApi;
  worker: KeyflowWorker;
  workflows: WorkflowClient;
  stop(): Promise<void>;
}

/**
 * This file's own simulator (so its faults touch no other file), an API and a worker running the
 * test bundle, wired together: adapters call the simulator, the simulator calls the API back.
 */
export async function startExternalStack(database: TestDatabase, overrides: Partial<Record<string, string>> = {}): Promise<ExternalStack> {
  const base = testConfig(database, { LOG_LEVEL: logLevel, ...overrides });
  // Deterministic: no everyday duplicates or reordering unless a test injects them.
  const sim = await startSimulator({ ...simulatorOptions(base, quietLogger), callbackDelayMs: 200, baselineFaults: {} });
  const config: Config = { ...base, KEYFLOW_SIM_HOST: '127.0.0.1', KEYFLOW_SIM_PORT: (sim.server.address() as AddressInfo).port };
  const api = await startApi(config, quietLogger, 0);
  sim.callbacks.setDefaultBaseUrl(api.url);
  const worker = await createKeyflowWorker(config, quietLogger, { workflowBundle: await externalTestBundle(), pool: database.pool });
  void worker.run();
  return {
    config,
    sim,
    control: simControl(sim.url),
    api,
    worker,
    workflows: api.temporal.workflow,
    async stop() {
      await sim.stop();
      await api.close();
      await worker.shutdown();
    },
  };
}
