import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { simulatorUrl } from '../activities/external/endpoints';
import { loadConfig, projectRoot } from '../runtime/config';
import { ServiceError, type Supervisor } from '../runtime/services';
import { waitFor } from '../runtime/services/postgres';

const secretVariables = ['KEYFLOW_CALLBACK_SECRET_PROVISIONING', 'KEYFLOW_CALLBACK_SECRET_BANK', 'KEYFLOW_CALLBACK_SECRET_ALARMS', 'KEYFLOW_SIM_CONTROL_TOKEN'] as const;

/**
 * Fills each unset callback secret (and the simulator's control token) with a random one, in place:
 * the simulator, the API, the worker and the tests started from this environment then share them,
 * and nothing guessable is ever accepted.
 */
export function fillCallbackSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const variable of secretVariables) {
    if (!env[variable]?.trim()) env[variable] = randomBytes(24).toString('base64url');
  }
  return env;
}

/** Runs `keyflow sim` as a supervised child with `env` and waits until it answers. */
export async function startSimulatorProcess(supervisor: Supervisor, env: NodeJS.ProcessEnv, logDir: string): Promise<{ url: string }> {
  const config = loadConfig(env);
  const url = simulatorUrl(config);
  const logFile = path.join(logDir, 'sim.log');
  const child = supervisor.start('sim', process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'sim'], { env, logFile });
  await waitFor(
    async () => {
      try {
        return (await fetch(`${url}/sim/health`, { signal: AbortSignal.timeout(1_000) })).ok;
      } catch {
        return false;
      }
    },
    60_000,
    child.exited,
    () => new ServiceError('SIM_START_FAILED', `the simulator did not start on ${url} (is the port taken?); see ${logFile}`),
  );
  return { url };
}
