import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { ensurePostgres, type PostgresService } from './postgres';
import { Supervisor } from './supervisor';
import { ensureTemporal, type TemporalService, type TemporalSettings } from './temporal';

export { ServiceError } from './errors';
export { Supervisor } from './supervisor';

/** `start` keeps its data across runs; `test` gets throw-away, fast services of its own. */
export type Profile = 'start' | 'test';

export interface Services {
  postgres: PostgresService;
  temporal: TemporalService;
  supervisor: Supervisor;
  /** Environment for the child processes (worker, API, simulator, jest) so they use these services. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export function temporalSettings(config: Config, profile: Profile = 'start'): TemporalSettings {
  return {
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    tls: { cert: config.TEMPORAL_TLS_CERT, key: config.TEMPORAL_TLS_KEY, ca: config.TEMPORAL_TLS_CA, serverName: config.TEMPORAL_TLS_SERVER_NAME },
    apiKey: config.TEMPORAL_API_KEY,
    port: config.KEYFLOW_TEMPORAL_PORT,
    uiPort: config.KEYFLOW_TEMPORAL_UI_PORT,
    headless: !config.KEYFLOW_TEMPORAL_UI,
    dbFile: profile === 'start' ? path.join(config.KEYFLOW_DATA_DIR, 'temporal', 'dev.sqlite') : undefined,
    logDir: path.join(config.KEYFLOW_DATA_DIR, 'logs'),
    toolsDir: config.KEYFLOW_TOOLS_DIR,
    python: config.KEYFLOW_PYTHON,
    go: config.KEYFLOW_GO,
  };
}

/** Starts (or finds) PostgreSQL and Temporal, in parallel; on failure stops whatever it started. */
export async function startServices(config: Config, profile: Profile, logger: Logger): Promise<Services> {
  const supervisor = new Supervisor(logger);
  try {
    const [postgres, temporal] = await Promise.all([
      ensurePostgres(
        {
          databaseUrl: config.DATABASE_URL,
          dataDir: config.KEYFLOW_DATA_DIR,
          port: config.KEYFLOW_PG_PORT,
          database: config.KEYFLOW_PG_DATABASE,
          durable: profile === 'start',
        },
        supervisor,
        logger,
      ),
      ensureTemporal(temporalSettings(config, profile), supervisor, logger),
    ]);
    return {
      postgres,
      temporal,
      supervisor,
      env: { ...process.env, DATABASE_URL: postgres.databaseUrl, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace },
      stop: () => supervisor.stopAll(),
    };
  } catch (error) {
    await supervisor.stopAll();
    throw error;
  }
}
