import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simulatorUrl } from '../activities/external/endpoints';
import type { Config } from '../runtime/config';
import { createHttpServer } from '../runtime/http-server';
import type { Logger } from '../runtime/logger';
import { createSimulator, type Simulator, type SimulatorOptions } from './app';

export interface RunningSimulator extends Simulator {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts the simulator on `host:port` (port 0 picks a free one, as tests do). */
export async function startSimulator(options: SimulatorOptions, host = '127.0.0.1', port = 0): Promise<RunningSimulator> {
  const simulator = createSimulator(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = createHttpServer(simulator.app);
    listening.once('error', reject);
    listening.listen(port, host, () => resolve(listening));
  });
  // Hung requests (injected timeouts) must not hold the process open once we are told to stop.
  server.keepAliveTimeout = 5_000;
  const address = server.address() as AddressInfo;
  return {
    ...simulator,
    server,
    url: simulatorUrl({ KEYFLOW_SIM_HOST: host, KEYFLOW_SIM_PORT: address.port }),
    async stop() {
      simulator.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The simulator's options from configuration: the same tokens and secrets the adapters and API use. */
export function simulatorOptions(config: Config, logger?: Logger): SimulatorOptions {
  const apiHost = config.KEYFLOW_API_HOST === '0.0.0.0' ? '127.0.0.1' : config.KEYFLOW_API_HOST;
  return {
    tokens: {
      provisioning: config.KEYFLOW_PROVISIONING_TOKEN,
      accounting: config.KEYFLOW_ACCOUNTING_TOKEN,
      notify: config.KEYFLOW_NOTIFY_TOKEN,
      bank: config.KEYFLOW_BANK_TOKEN,
      usage: config.KEYFLOW_USAGE_TOKEN,
    },
    callbackSecrets: {
      provisioning: config.KEYFLOW_CALLBACK_SECRET_PROVISIONING,
      bank: config.KEYFLOW_CALLBACK_SECRET_BANK,
      alarms: config.KEYFLOW_CALLBACK_SECRET_ALARMS,
    },
    callbackBaseUrl: config.KEYFLOW_SIM_CALLBACK_URL ?? `http://${apiHost}:${config.KEYFLOW_API_PORT}`,
    callbackDelayMs: config.KEYFLOW_SIM_CALLBACK_DELAY_MS,
    // Unset: a token nobody knows, so the control API stays shut.
    controlToken: config.KEYFLOW_SIM_CONTROL_TOKEN ?? randomBytes(24).toString('base64url'),
    baselineFaults: { duplicateCallbackRate: config.KEYFLOW_SIM_DUPLICATE_CALLBACK_RATE, outOfOrderCallbackRate: config.KEYFLOW_SIM_OUT_OF_ORDER_CALLBACK_RATE },
    logger,
  };
}
