import path from 'node:path';
import { z } from 'zod';

/** The project's root folder: everything relative (`.data/`, `.tools/`, `processes/`) hangs off it. */
export const projectRoot = path.resolve(__dirname, '..');

const port = z.coerce.number().int().min(0).max(65535);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const httpUrl = z
  .string()
  .url()
  .refine((value) => /^https?:\/\//.test(value), 'must start with http:// or https://')
  .transform((value) => value.replace(/\/+$/, ''));
const optionalHttpUrl = httpUrl.optional().or(z.literal('').transform(() => undefined));
/** A shared secret: long enough that guessing it is hopeless. */
const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()))
  .refine((value) => value === undefined || value.length >= 16, 'must be at least 16 characters');
const isoDuration = z.string().regex(/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/, 'an ISO-8601 duration such as PT30M');
const timeoutMs = z.coerce.number().int().min(100).max(600_000);
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback)
    .transform((value) => value === 'true' || value === '1');

const postgresUrl = z
  .string()
  .url()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must start with postgres:// or postgresql://');

/**
 * Every environment variable Keyflow reads, with its default. `.env.example` documents the same
 * list; a test keeps the two in step.
 */
export const configSchema = z.object({
  KEYFLOW_DATA_DIR: z.string().default(path.join(projectRoot, '.data')),
  KEYFLOW_TOOLS_DIR: z.string().default(path.join(projectRoot, '.tools')),

  DATABASE_URL: postgresUrl.optional().or(z.literal('').transform(() => undefined)),
  KEYFLOW_PG_PORT: port.default(5433),
  KEYFLOW_PG_DATABASE: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case identifier').default('keyflow'),
  KEYFLOW_PG_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),

  TEMPORAL_ADDRESS: optionalText,
  TEMPORAL_NAMESPACE: z.string().min(1).default('keyflow'),
  TEMPORAL_TLS_CERT: optionalText,
  TEMPORAL_TLS_KEY: optionalText,
  TEMPORAL_TLS_CA: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  TEMPORAL_API_KEY: optionalText,
  KEYFLOW_TEMPORAL_PORT: port.default(7233),
  KEYFLOW_TEMPORAL_UI_PORT: port.default(8233),
  /**
   * The dev server's web UI shows every instance's variables and can terminate instances with no
   * Keyflow audit row, and has no login: off unless asked for.
   */
  KEYFLOW_TEMPORAL_UI: flag('false'),
  KEYFLOW_TASK_QUEUE: z.string().min(1).default('keyflow'),
  KEYFLOW_PYTHON: z.string().default('python3'),
  KEYFLOW_GO: z.string().default('go'),

  KEYFLOW_API_HOST: z.string().default('127.0.0.1'),
  KEYFLOW_API_PORT: port.default(3000),
  KEYFLOW_WORKFLOW_STACK_TRACE_LIMIT: z.coerce.number().int().min(1).max(100).default(2),
  KEYFLOW_API_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  /** Addresses of reverse proxies whose X-Forwarded-For is believed (express's `trust proxy`: `loopback`, `10.0.0.1`, a CIDR list); unset: none. */
  KEYFLOW_TRUST_PROXY: optionalText,
  KEYFLOW_API_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'a size such as 1mb').default('1mb'),
  KEYFLOW_SIM_PORT: port.default(3100),
  /** How often the API reads the histories of newly closed instances into the heat map's node statistics; 0: never. */
  KEYFLOW_NODE_STATS_INTERVAL_MS: z.coerce.number().int().min(0).max(24 * 3600_000).default(60_000),
  KEYFLOW_SESSION_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  KEYFLOW_SESSION_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  KEYFLOW_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  KEYFLOW_LOGIN_LOCK_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  KEYFLOW_LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(100),
  KEYFLOW_SEED_ACCOUNTS: z.coerce.number().int().min(0).max(1_000_000).default(200),

  // External systems. An unset URL means the simulator's (`http://<sim host>:<sim port>/<system>/v1`);
  // an unset token sends no Authorization header. Timeouts bound one HTTP attempt, not the retries.
  KEYFLOW_PROVISIONING_URL: optionalHttpUrl,
  KEYFLOW_PROVISIONING_TOKEN: optionalText,
  KEYFLOW_PROVISIONING_TIMEOUT_MS: timeoutMs.default(10_000),
  KEYFLOW_ACCOUNTING_URL: optionalHttpUrl,
  KEYFLOW_ACCOUNTING_TOKEN: optionalText,
  KEYFLOW_ACCOUNTING_TIMEOUT_MS: timeoutMs.default(10_000),
  KEYFLOW_NOTIFY_URL: optionalHttpUrl,
  KEYFLOW_NOTIFY_TOKEN: optionalText,
  KEYFLOW_NOTIFY_TIMEOUT_MS: timeoutMs.default(10_000),
  KEYFLOW_BANK_URL: optionalHttpUrl,
  KEYFLOW_BANK_TOKEN: optionalText,
  KEYFLOW_BANK_TIMEOUT_MS: timeoutMs.default(10_000),
  KEYFLOW_USAGE_URL: optionalHttpUrl,
  KEYFLOW_USAGE_TOKEN: optionalText,
  KEYFLOW_USAGE_TIMEOUT_MS: timeoutMs.default(30_000),
  /** Where mediation drops usage CSV files; `processed/` and `quarantine/` sit beside it. Default $KEYFLOW_DATA_DIR/usage/inbox. */
  KEYFLOW_USAGE_INBOX: optionalText,
  /** Keyflow's API as partners reach it; sent as the callback address when set. */
  KEYFLOW_PUBLIC_URL: optionalHttpUrl,
  // Callbacks are refused (503) from a system whose secret is unset; `keyflow start` generates them.
  KEYFLOW_CALLBACK_SECRET_PROVISIONING: optionalSecret,
  KEYFLOW_CALLBACK_SECRET_BANK: optionalSecret,
  KEYFLOW_CALLBACK_SECRET_ALARMS: optionalSecret,
  /** Bearer token of the simulator's control API (`/sim/*`); `keyflow start` and `keyflow test` generate one. */
  KEYFLOW_SIM_CONTROL_TOKEN: optionalSecret,
  /** Order fulfilment's timers (ISO-8601 durations): how long activation waits for the network's callback before asking it, project tasks' due date, reminder and escalation. */
  KEYFLOW_ORDER_ACTIVATION_TIMEOUT: isoDuration.default('PT30M'),
  KEYFLOW_ORDER_PROJECT_TASK_DUE: isoDuration.default('P5D'),
  KEYFLOW_ORDER_PROJECT_REMINDER_AFTER: isoDuration.default('P4D'),
  KEYFLOW_ORDER_PROJECT_ESCALATE_AFTER: isoDuration.default('P6D'),
  KEYFLOW_CALLBACK_WINDOW_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  KEYFLOW_SIM_ENABLED: flag('true'),
  KEYFLOW_SIM_HOST: z.string().default('127.0.0.1'),
  KEYFLOW_SIM_CALLBACK_URL: optionalHttpUrl,
  KEYFLOW_SIM_CALLBACK_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  KEYFLOW_SIM_DUPLICATE_CALLBACK_RATE: z.coerce.number().min(0).max(1).default(0.05),
  KEYFLOW_SIM_OUT_OF_ORDER_CALLBACK_RATE: z.coerce.number().min(0).max(1).default(0.05),

  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

/** Raised when the environment does not describe a runnable Keyflow; names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(problems.map((problem) => `${problem.variable}: ${problem.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment. Throws `ConfigError` naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: `${issue.message}${showValue(String(issue.path[0]), env[String(issue.path[0])])}`,
      })),
    );
  }
  const config = parsed.data;
  if (Boolean(config.TEMPORAL_TLS_CERT) !== Boolean(config.TEMPORAL_TLS_KEY)) {
    throw new ConfigError([
      { variable: config.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', message: 'TLS needs both a client certificate and its key' },
    ]);
  }
  return config;
}

function showValue(variable: string, value: string | undefined): string {
  // Connection strings and keys may hold credentials: name the variable, never echo its value.
  if (value === undefined || /URL|KEY|SECRET|PASSWORD|CERT/.test(variable)) return '';
  return ` (got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)})`;
}
