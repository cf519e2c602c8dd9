import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { DatabasePool } from 'slonik';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';
import { errorHandler, notFoundRoute } from './errors';
import { createCallbackRouter } from './routes/callbacks';
import { createEchoRouter } from './routes/echo';
import { createHealthRouter } from './routes/health';

/** What the API's routes may use; the API process (or a test) builds them once. */
export interface ApiDependencies {
  config: Config;
  logger: Logger;
  pool: DatabasePool;
  temporal: Client;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;

export function createApp(deps: ApiDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: deps.logger,
      // A caller's own request id is kept when it is sane, so a trace spans systems.
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/health' },
    }),
  );
  // Before the JSON parser: a callback's signature is over its raw bytes. Partners sign instead of
  // logging in, so session auth never applies here.
  app.use('/api/callbacks', createCallbackRouter(deps));
  app.use(express.json({ limit: deps.config.KEYFLOW_API_BODY_LIMIT, strict: true }));

  app.use(createHealthRouter(deps));
  app.use('/api', createEchoRouter(deps));

  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
