import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDatabasePool, type DatabasePool } from '../db/pool';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import { temporalConnectionOptions } from '../runtime/services/temporal';
import { workflowsPath } from '../runtime/workflow-bundle';
import { withWorkflowStackTraceLimit } from '../runtime/workflow-stack-traces';

export interface KeyflowWorker {
  worker: Worker;
  pool: DatabasePool;
  connection: NativeConnection;
  /** Runs until shut down; resolves once drained. */
  run(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface WorkerOptions {
  taskQueue?: string;
  workflowBundle?: WorkflowBundle;
  pool?: DatabasePool;
  /** Extra activities registered beside Keyflow's own (test fixtures). */
  activities?: Record<string, (...args: never[]) => unknown>;
}

let runtimeInstalled = false;

/** Routes the SDK's own logs through our level (it logs every worker state change at INFO). */
function installTemporalRuntime(config: Config, logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  // The SDK narrates every bundle and state change at INFO; below WARN only when debugging.
  const level = (['trace', 'debug', 'warn', 'error'].includes(config.LOG_LEVEL) ? config.LOG_LEVEL.toUpperCase() : config.LOG_LEVEL === 'info' ? 'WARN' : 'ERROR') as LogLevel;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        const method = entry.level === 'TRACE' ? 'trace' : entry.level === 'DEBUG' ? 'debug' : entry.level === 'INFO' ? 'info' : entry.level === 'WARN' ? 'warn' : 'error';
        logger[method]({ ...entry.meta, sdk: 'temporal' }, entry.message);
      }),
    });
  } catch {
    // Another part of this process installed the runtime first; its logger stays.
  }
}

/** Builds the worker: database pool, Temporal connection, activities with their dependencies. */
export async function createKeyflowWorker(config: Config, logger: Logger, options: WorkerOptions = {}): Promise<KeyflowWorker> {
  installTemporalRuntime(config, logger);
  const pool = options.pool ?? (await createDatabasePool(config.DATABASE_URL!, { applicationName: 'keyflow-worker', maximumPoolSize: config.KEYFLOW_PG_POOL_SIZE }));
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.KEYFLOW_TEMPORAL_PORT}`;
  const connection = await NativeConnection.connect(
    temporalConnectionOptions(
      {
        tls: { cert: config.TEMPORAL_TLS_CERT, key: config.TEMPORAL_TLS_KEY, ca: config.TEMPORAL_TLS_CA, serverName: config.TEMPORAL_TLS_SERVER_NAME },
        apiKey: config.TEMPORAL_API_KEY,
      },
      address,
    ),
  );
  const worker = await withWorkflowStackTraceLimit(config.KEYFLOW_WORKFLOW_STACK_TRACE_LIMIT, () =>
    Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: options.taskQueue ?? config.KEYFLOW_TASK_QUEUE,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath, bundlerOptions: {} }),
      activities: { ...createActivities({ pool, config, logger, now: () => new Date() }), ...options.activities },
    }),
  );
  let running: Promise<void> | undefined;
  return {
    worker,
    pool,
    connection,
    run() {
      running ??= worker.run();
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await connection.close();
      if (!options.pool) await pool.end();
    },
  };
}
