import type { Config } from '../../runtime/config';
import type { CallbackSystem, ExternalSystem } from '../../workflows/external';
import type { PartnerEndpoint } from './http';

/** The simulator's own address, as the adapters and `keyflow start` reach it. */
export function simulatorUrl(config: Pick<Config, 'KEYFLOW_SIM_HOST' | 'KEYFLOW_SIM_PORT'>): string {
  const host = config.KEYFLOW_SIM_HOST === '0.0.0.0' ? '127.0.0.1' : config.KEYFLOW_SIM_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.KEYFLOW_SIM_PORT}`;
}

const settings = {
  provisioning: ['KEYFLOW_PROVISIONING_URL', 'KEYFLOW_PROVISIONING_TOKEN', 'KEYFLOW_PROVISIONING_TIMEOUT_MS'],
  accounting: ['KEYFLOW_ACCOUNTING_URL', 'KEYFLOW_ACCOUNTING_TOKEN', 'KEYFLOW_ACCOUNTING_TIMEOUT_MS'],
  notify: ['KEYFLOW_NOTIFY_URL', 'KEYFLOW_NOTIFY_TOKEN', 'KEYFLOW_NOTIFY_TIMEOUT_MS'],
  bank: ['KEYFLOW_BANK_URL', 'KEYFLOW_BANK_TOKEN', 'KEYFLOW_BANK_TIMEOUT_MS'],
  usage: ['KEYFLOW_USAGE_URL', 'KEYFLOW_USAGE_TOKEN', 'KEYFLOW_USAGE_TIMEOUT_MS'],
} as const satisfies Record<ExternalSystem, readonly [keyof Config, keyof Config, keyof Config]>;

/** Where `system` lives: its configured URL, or the simulator's `/<system>/v1` when none is set. */
export function endpointFor(config: Config, system: ExternalSystem): PartnerEndpoint {
  const [url, token, timeout] = settings[system];
  return {
    system,
    baseUrl: (config[url] as string | undefined) ?? `${simulatorUrl(config)}/${system}/v1`,
    token: config[token] as string | undefined,
    timeoutMs: config[timeout] as number,
  };
}

/** The callback address Keyflow hands a partner with an asynchronous request, when it has a public URL. */
export function callbackUrlFor(config: Pick<Config, 'KEYFLOW_PUBLIC_URL'>, system: CallbackSystem): string | undefined {
  return config.KEYFLOW_PUBLIC_URL ? `${config.KEYFLOW_PUBLIC_URL}/api/callbacks/${system}` : undefined;
}

/** The shared secret of a callback system, when configured. */
export function callbackSecretFor(config: Config, system: CallbackSystem): string | undefined {
  const variable = ({ provisioning: 'KEYFLOW_CALLBACK_SECRET_PROVISIONING', bank: 'KEYFLOW_CALLBACK_SECRET_BANK', alarms: 'KEYFLOW_CALLBACK_SECRET_ALARMS' } as const)[system];
  return config[variable];
}
