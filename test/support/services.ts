import { randomUUID } from 'node:crypto';
import type { WorkflowBundle } from '@temporalio/worker';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig, type Config } from '../../runtime/config';
import { createLogger, type Logger } from '../../runtime/logger';
import { createKeyflowWorker, type KeyflowWorker } from '../../commands/worker';
import { bundleWorkflows } from '../../runtime/workflow-bundle';
import type { TestDatabase } from './database';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test file (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflows();
  return bundle;
}

export const testLogger: Logger = createLogger(process.env.LOG_LEVEL ?? 'warn', 'test');

/**
 * Config for one test file: the services `keyflow test` started, this file's own database and a
 * task queue of its own, so workers of different files never take each other's tasks.
 */
export function testConfig(database: TestDatabase, overrides: Partial<Record<string, string>> = {}): Config {
  return loadConfig({
    ...process.env,
    DATABASE_URL: database.url,
    KEYFLOW_TASK_QUEUE: `test-${randomUUID()}`,
    KEYFLOW_API_PORT: '0',
    ...overrides,
  });
}

export interface TestStack {
  config: Config;
  worker: KeyflowWorker;
  api: RunningApi;
  stop(): Promise<void>;
}

/** A worker and an API on this file's database and task queue, as `npm start` would run them. */
export async function startTestStack(config: Config, database: TestDatabase): Promise<TestStack> {
  const worker = await createKeyflowWorker(config, testLogger, { workflowBundle: await workflowBundle(), pool: database.pool });
  void worker.run();
  const api = await startApi(config, testLogger, 0);
  return {
    config,
    worker,
    api,
    async stop() {
      await api.close();
      await worker.shutdown();
    },
  };
}
