import pino from 'pino';

/**
 * The one logger; child loggers carry the component (`api`, `worker`, `services`) and request ids.
 * JSON lines for machines; on a terminal, readable lines (pino-pretty) unless LOG_FORMAT=json.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', component?: string): pino.Logger {
  const pretty = process.stdout.isTTY && process.env.LOG_FORMAT !== 'json';
  return pino({
    level,
    base: component ? { component } : undefined,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password'], censor: '[redacted]' },
    transport: pretty ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } : undefined,
  });
}

export type Logger = pino.Logger;
