import pino from 'pino';

/**
 * The one logger; child loggers carry the component (`api`, `worker`, `services`) and request ids.
 * JSON lines for machines; on a terminal, readable lines (pino-pretty) unless LOG_FORMAT=json.
 * With KEYFLOW_LOG_FILE, JSON lines appended to that file instead (`keyflow test` keeps what
 * passing tests log out of its output that way).
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', component?: string): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: component ? { component } : undefined,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password'], censor: '[redacted]' },
  };
  const file = process.env.KEYFLOW_LOG_FILE;
  if (file) return pino(options, pino.destination({ dest: file, append: true, mkdir: true, sync: true }));
  const pretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  return pino({ ...options, transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } : undefined });
}

export type Logger = pino.Logger;
