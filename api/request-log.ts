import { randomUUID } from 'node:crypto';
import type { Express, Request } from 'express';
import type { Logger } from '../runtime/logger';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The caller's `x-request-id` when it is sane, else a new one; echoed in the response and in audit rows. */
      id: string;
      /** A logger that carries the request id (made on first use). */
      log: Logger;
    }
  }
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;

/** Where a request keeps the logger `req.log` made for it. */
const childLogger = Symbol('keyflow.requestLogger');

/**
 * Gives every request of `app` an id (kept from the caller's `x-request-id` when sane, so a trace
 * spans systems) and a logger carrying it, and logs each completed request at info level.
 *
 * The logger is made only when something logs: pino binds a child's fields eagerly, and making one
 * per request (as pino-http does) was an eighth of the API's CPU on the account list. `req.log` is a
 * getter on the app's request prototype, defined once: defining it on each request gave every
 * request a hidden class of its own (measured on a bare app: ten times the old-generation garbage).
 * Likewise no completion listener is added when info is not logged.
 */
export function installRequestLogging(app: Express, logger: Logger, options: { quietPaths: readonly string[] }): void {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    enumerable: false,
    get(this: Request & { [childLogger]?: Logger }) {
      return (this[childLogger] ??= logger.child({ reqId: this.id }));
    },
  });
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('x-request-id', id);
    if (logger.isLevelEnabled('info') && !options.quietPaths.includes(req.path)) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const responseTimeMs = Number(process.hrtime.bigint() - started) / 1e6;
        const level = res.statusCode >= 500 ? 'error' : 'info';
        req.log[level]({ method: req.method, url: req.originalUrl, statusCode: res.statusCode, responseTimeMs: Math.round(responseTimeMs * 10) / 10 }, 'request completed');
      });
    }
    next();
  });
}
