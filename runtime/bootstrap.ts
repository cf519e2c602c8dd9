import type { Config } from './config';
import type { Logger } from './logger';
import { seedOnFirstStart } from './seed';
import type { Services } from './services';

/**
 * What `keyflow start` does once the services run and the schema is migrated, before the worker
 * and API start: deploy the shipped processes, seed demo data on first run, start the simulator.
 * Returns lines to print with the URLs (demo logins, simulator address).
 */
export async function bootstrap(services: Services, config: Config, logger: Logger): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  lines.push(...(await seedOnFirstStart(services.postgres.databaseUrl, config.KEYFLOW_SEED_ACCOUNTS, logger)));
  return { lines };
}
