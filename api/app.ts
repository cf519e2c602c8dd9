import express, { type Express } from 'express';
import { z } from 'zod';
import { authenticate } from './auth';
import { errorHandler, notFoundRoute } from './errors';
import { buildOpenApiDocument } from './openapi';
import { installRequestLogging } from './request-log';
import { ApiRoutes, jsonBodyParser, readJsonBody } from './routing';
import { createAccountRoutes } from './routes/accounts';
import { createAdminRoutes } from './routes/admin';
import { createAuthRoutes } from './routes/auth';
import { createOrderRoutes } from './routes/orders';
import { createSupervisionTicketRoutes } from './routes/supervision-tickets';
import { createTicketRoutes } from './routes/tickets';
import { callbackRouteSpecs, createCallbackRouter } from './routes/callbacks';
import { createProductRoutes } from './routes/products';
import { createEchoRouter, echoRouteSpec } from './routes/echo';
import { createDecisionDefinitionRoutes } from './routes/decision-definitions';
import { createProcessDefinitionRoutes } from './routes/process-definitions';
import { createProcessInstanceRoutes } from './routes/process-instances';
import { createHealthRouter, healthRouteSpec } from './routes/health';
import { createModelingRoutes } from './routes/modeling';
import { createTaskRoutes } from './routes/tasks';
import { createBillingRoutes } from './routes/billing';
import { createSupervisionRoutes } from './routes/supervision';
import { createTroubleTicketRoutes } from './routes/trouble-tickets';
import { createProductOrderRoutes } from './routes/product-orders';
import { createSignalRoutes } from './routes/signals';
import { createReportRoutes } from './routes/reports';
import { createCampaignRoutes } from './routes/campaigns';
import { createWebAppRouter } from './web-app';
import { createOpsRoutes } from './routes/ops';
import type { ApiDependencies } from './dependencies';

export type { ApiDependencies } from './dependencies';

export function createApp(deps: ApiDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every answer is computed per request: hashing each body for an ETag no client uses costs CPU.
  app.set('etag', false);
  // X-Forwarded-For decides the client address (the login throttle's key): believed only from the
  // proxies named in KEYFLOW_TRUST_PROXY, never by default.
  app.set('trust proxy', deps.config.KEYFLOW_TRUST_PROXY ?? false);
  installRequestLogging(app, deps.logger, { quietPaths: ['/health'] });
  // Answers are data for one caller: never sniffed into another type, never kept by a cache.
  app.use((_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    next();
  });
  // Before the JSON parser: a callback's signature is over its raw bytes. Partners sign instead of
  // logging in, so session auth never applies here.
  app.use('/api/callbacks', createCallbackRouter(deps));
  // JSON bodies are read by each route after its role check (routing.ts), so a caller without the
  // role learns 403 before any body is read or refused.
  app.locals[jsonBodyParser] = express.json({ limit: deps.config.KEYFLOW_API_BODY_LIMIT, strict: true });

  app.use(createHealthRouter(deps));
  // The web app: every page path that is not the API's.
  app.use(createWebAppRouter(deps));
  // Everything under /api needs a session, except login and the HMAC-signed callbacks.
  app.use('/api', authenticate(deps));

  const groups: ApiRoutes[] = [
    createAuthRoutes(deps),
    createAccountRoutes(deps),
    createProductRoutes(deps),
    // before the supervision ticket reads: /api/supervision-tickets/stats is not a ticket id
    createSupervisionRoutes(deps),
    createOrderRoutes(deps),
    createTicketRoutes(deps),
    createSupervisionTicketRoutes(deps),
    createAdminRoutes(deps),
    createTaskRoutes(deps),
    createProcessDefinitionRoutes(deps),
    createModelingRoutes(deps),
    createDecisionDefinitionRoutes(deps),
    createProcessInstanceRoutes(deps),
    createOpsRoutes(deps, deps.ops),
    createBillingRoutes(deps),
    createTroubleTicketRoutes(deps),
    createProductOrderRoutes(deps),
    createSignalRoutes(deps),
    createReportRoutes(deps),
    createCampaignRoutes(deps),
  ];
  for (const group of groups) app.use(group.router);
  app.use('/api', readJsonBody, createEchoRouter(deps));

  // Routes mounted as plain routers are described here so the document stays complete.
  const documented = new ApiRoutes().describe(healthRouteSpec).describe(echoRouteSpec);
  for (const spec of callbackRouteSpecs) documented.describe(spec);
  const openApi = new ApiRoutes().add(
    {
      method: 'get',
      path: '/api/openapi.json',
      summary: 'This document',
      tags: ['meta'],
      access: 'authenticated',
      response: { status: 200, description: 'the OpenAPI 3.0 document of every route', schema: z.record(z.unknown()) },
    },
    () => document,
  );
  const document = buildOpenApiDocument([...groups, documented, openApi].flatMap((group) => group.specs), { version: '0.1.0' });
  app.use(openApi.router);

  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}
