import path from 'node:path';
import { migrate } from '../../db/migrate';
import { loadConfig, projectRoot, type Config } from '../../runtime/config';
import { createLogger, type Logger } from '../../runtime/logger';
import { startServices, type Services } from '../../runtime/services';
import { recreateDatabase } from './database';

export interface BenchServices {
  services: Services;
  /** A database of its own, recreated and migrated. */
  databaseUrl: string;
  /** The config an API or worker of the bench runs with. */
  config: Config;
  logger: Logger;
}

/**
 * A bench's own PostgreSQL and Temporal dev server on `base` + 1 and + 2 (an API it starts may
 * take + 3), under `.data/bench-<name>-<base>`, with an empty, migrated database: no bench reads
 * another's data or a running `npm start`'s.
 */
export async function startBenchServices(name: string, base: number): Promise<BenchServices> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYFLOW_DATA_DIR: path.join(projectRoot, '.data', `bench-${name}-${base}`),
    KEYFLOW_PG_PORT: String(base + 1),
    KEYFLOW_TEMPORAL_PORT: String(base + 2),
    KEYFLOW_API_PORT: String(base + 3),
    KEYFLOW_PG_DATABASE: `keyflow_bench_${name}`,
    KEYFLOW_NODE_STATS_INTERVAL_MS: '0',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    LOG_LEVEL: 'warn',
  };
  const logger = createLogger('warn', 'bench');
  const services = await startServices(loadConfig(env), 'test', logger);
  try {
    const databaseUrl = services.postgres.databaseUrl;
    await recreateDatabase(databaseUrl);
    await migrate(databaseUrl);
    return { services, databaseUrl, logger, config: loadConfig({ ...env, ...services.env, DATABASE_URL: databaseUrl }) };
  } catch (error) {
    await services.stop();
    throw error;
  }
}
