import path from 'node:path';
import { z } from 'zod';

/** The project's root folder: everything relative (`.data/`, `.tools/`, `processes/`) hangs off it. */
export const projectRoot = path.resolve(__dirname, '..');

const port = z.coerce.number().int().min(0).max(65535);
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

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
  KEYFLOW_TEMPORAL_HEADLESS: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  KEYFLOW_TASK_QUEUE: z.string().min(1).default('keyflow'),
  KEYFLOW_PYTHON: z.string().default('python3'),
  KEYFLOW_GO: z.string().default('go'),

  KEYFLOW_API_HOST: z.string().default('127.0.0.1'),
  KEYFLOW_API_PORT: port.default(3000),
  KEYFLOW_API_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'a size such as 1mb').default('1mb'),
  KEYFLOW_SIM_PORT: port.default(3100),
  KEYFLOW_SESSION_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  KEYFLOW_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  KEYFLOW_LOGIN_LOCK_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  KEYFLOW_SEED_ACCOUNTS: z.coerce.number().int().min(0).max(1_000_000).default(200),

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
