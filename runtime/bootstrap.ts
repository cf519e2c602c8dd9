import path from 'node:path';
import { fillCallbackSecrets, startSimulatorProcess } from '../sim/process';
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
  // The simulator, the worker and the API share the callback secrets: generated here when unset.
  fillCallbackSecrets(services.env);
  if (config.KEYFLOW_SIM_ENABLED) {
    const sim = await startSimulatorProcess(services.supervisor, services.env, path.join(config.KEYFLOW_DATA_DIR, 'logs'));
    logger.debug({ url: sim.url }, 'simulator running');
    lines.push(`  Simulator      ${sim.url}   (ledger: /sim/ledger, faults: POST /sim/faults; sim/README.md)`);
  }
  lines.push(...(await seedOnFirstStart(services.postgres.databaseUrl, config.KEYFLOW_SEED_ACCOUNTS, logger)));
  return { lines };
}
