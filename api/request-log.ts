import { randomUUID } from 'node:crypto';
import type { Express, Request } from 'express';
import type { Logger } from '../runtime/logger';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Ours, always new: echoed in the response and written to audit rows (a caller cannot choose what audit rows say). */
      id: string;
      /** The caller's own `x-request-id` when it is sane: logged beside ours, so a trace still spans systems. */
      clientRequestId?: string;
      /** A logger that carries the request id (made on first use). */
      log: Logger;
    }
  }
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;

/** Where a request keeps the logger `req.log` made for it. */
const childLogger = Symbol('keyflow.requestLogger');

/** Query parameters whose values are secrets or bearer-like tokens: logged as `[redacted]`. */
const secretParameter = /token|secret|password|signature|cursor|key$/i;

/** The URL as it may be logged: the values of secret-looking query parameters replaced. */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const parts = url
    .slice(query + 1)
    .split('&')
    .map((part) => {
      const name = part.split('=')[0]!;
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed name is logged as it came
      }
      return part.includes('=') && secretParameter.test(decoded) ? `${name}=[redacted]` : part;
    });
  return `${url.slice(0, query)}?${parts.join('&')}`;
}

/**
 * Gives every request of `app` an id of our own and a logger carrying it (the caller's sane
 * `x-request-id` is kept beside it as `clientRequestId`), and logs each completed request at info
 * level with secret query values redacted.
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
    const id = randomUUID();
    req.id = id;
    if (typeof given === 'string' && requestIdPattern.test(given)) {
      req.clientRequestId = given;
      res.setHeader('x-client-request-id', given);
    }
    res.setHeader('x-request-id', id);
    if (logger.isLevelEnabled('info') && !options.quietPaths.includes(req.path)) {
      const started = process.hrtime.bigint();
      res.once('finish', () => {
        const responseTimeMs = Number(process.hrtime.bigint() - started) / 1e6;
        const level = res.statusCode >= 500 ? 'error' : 'info';
        req.log[level]({ method: req.method, url: redactUrl(req.originalUrl), ...(req.clientRequestId ? { clientRequestId: req.clientRequestId } : {}), statusCode: res.statusCode, responseTimeMs: Math.round(responseTimeMs * 10) / 10 }, 'request completed');
      });
    }
    next();
  });
}
