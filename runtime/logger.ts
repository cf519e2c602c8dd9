import pino from 'pino';

/** The one logger; child loggers carry the component (`api`, `worker`, `services`) and request ids. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', component?: string): pino.Logger {
  const logger = pino({
    level,
    base: component ? { component } : undefined,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', '*.password'], censor: '[redacted]' },
  });
  return logger;
}

export type Logger = pino.Logger;
