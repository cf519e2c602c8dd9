import { Router } from 'express';
import { sql } from 'slonik';
import { z } from 'zod';
import type { ApiDependencies } from '../app';
import type { RouteSpec } from '../routing';

const serviceStatus = z.object({
  status: z.enum(['up', 'down']),
  version: z.string().optional(),
  namespace: z.string().optional(),
  error: z.string().optional(),
});

export const healthRouteSpec: RouteSpec = {
  method: 'get',
  path: '/health',
  summary: 'Whether PostgreSQL and Temporal answer, with their versions',
  tags: ['meta'],
  access: 'public',
  response: { status: 200, description: 'both up (503 with the same body when one is down)', schema: z.object({ status: z.enum(['up', 'degraded']), postgres: serviceStatus, temporal: serviceStatus }) },
  errors: ['UNAVAILABLE'],
};

/** `GET /health`: whether PostgreSQL and Temporal answer, and their versions. No login needed. */
export function createHealthRouter({ pool, temporal, config }: ApiDependencies): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const [postgres, temporalStatus] = await Promise.all([
      pool
        .oneFirst(sql.type(z.object({ server_version: z.string() }))`SELECT current_setting('server_version') AS server_version`)
        .then((version) => ({ status: 'up' as const, version }))
        .catch((error: Error) => ({ status: 'down' as const, error: error.message })),
      temporal.workflowService
        .getSystemInfo({})
        .then((info) => ({ status: 'up' as const, version: info.serverVersion || 'unknown', namespace: config.TEMPORAL_NAMESPACE }))
        .catch((error: Error) => ({ status: 'down' as const, error: error.message })),
    ]);
    const up = postgres.status === 'up' && temporalStatus.status === 'up';
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'degraded', postgres, temporal: temporalStatus });
  });
  return router;
}
