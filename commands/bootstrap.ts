import path from 'node:path';
import { syncBillingSchedule } from '../activities/billing/schedule';
import { deployProcessFiles } from '../api/engine/definitions';
import { createDatabasePool } from '../db/pool';
import { fillCallbackSecrets, startSimulatorProcess } from '../sim/process';
import { loadConfig, type Config } from '../runtime/config';
import { createTemporalClient } from '../runtime/temporal-client';
import type { Logger } from '../runtime/logger';
import { seedOnFirstStart } from './seed';
import type { Services } from '../runtime/services';

/**
 * What `keyflow start` does once the services run and the schema is migrated, before the worker
 * and API start: deploy the shipped processes, seed demo data on first run, start the simulator.
 * Returns lines to print with the URLs (demo logins, simulator address).
 */
export async function bootstrap(services: Services, config: Config, logger: Logger): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  lines.push(await deployShippedProcesses(services, config, logger));
  lines.push(...(await seedOnFirstStart(services.postgres.databaseUrl, config.KEYFLOW_SEED_ACCOUNTS, logger)));
  // The simulator, the worker and the API share the callback secrets: generated here when unset.
  fillCallbackSecrets(services.env);
  if (config.KEYFLOW_SIM_ENABLED) {
    const sim = await startSimulatorProcess(services.supervisor, services.env, path.join(config.KEYFLOW_DATA_DIR, 'logs'));
    logger.debug({ url: sim.url }, 'simulator running');
    lines.push(`  Simulator      ${sim.url}   (ledger: /sim/ledger, faults: POST /sim/faults; sim/README.md)`);
  }
  return { lines };
}

/** Deploys processes/*.dmn and *.bpmn (identical files are no-ops); a shipped model that does not validate stops the start. */
async function deployShippedProcesses(services: Services, config: Config, logger: Logger): Promise<string> {
  const pool = await createDatabasePool(services.postgres.databaseUrl, { applicationName: 'keyflow-bootstrap', maximumPoolSize: 2 });
  const client = await createTemporalClient(loadConfig(services.env));
  try {
    const deployed = await deployProcessFiles(pool, undefined, 'system', { client, taskQueue: config.KEYFLOW_TASK_QUEUE });
    for (const entry of deployed.filter((item) => item.created)) logger.info(entry, entry.file.endsWith('.dmn') ? 'deployed a shipped decision' : 'deployed a shipped process');
    logger.debug({ schedule: await syncBillingSchedule(client, pool, config.KEYFLOW_TASK_QUEUE) }, 'monthly bill run scheduled');
    const list = (entries: typeof deployed) => entries.map((entry) => `${entry.key} v${entry.version}`).join(', ') || 'none shipped';
    return [
      `  Processes      ${list(deployed.filter((entry) => entry.file.endsWith('.bpmn')))}`,
      `  Decisions      ${list(deployed.filter((entry) => entry.file.endsWith('.dmn')))}`,
    ].join('\n');
  } finally {
    await client.connection.close();
    await pool.end();
  }
}
