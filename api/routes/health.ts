import { Router } from 'express';
import { sql } from 'slonik';
import { z } from 'zod';
import type { ApiDependencies } from '../dependencies';
import { authenticate } from '../auth';
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
  summary: 'Whether PostgreSQL and Temporal answer (their versions and errors only with a session)',
  tags: ['meta'],
  access: 'public',
  response: { status: 200, description: 'both up (503 with the same body when one is down)', schema: z.object({ status: z.enum(['up', 'degraded']), postgres: serviceStatus, temporal: serviceStatus }) },
  errors: ['UNAVAILABLE'],
};

/**
 * `GET /health`: whether PostgreSQL and Temporal answer. No login needed for up/down; versions,
 * the namespace and error texts tell an attacker what to aim at, so only a session sees them.
 */
export function createHealthRouter(deps: ApiDependencies): Router {
  const { pool, temporal, config } = deps;
  const router = Router();
  const session = authenticate(deps);
  router.get('/health', async (req, res) => {
    const detailed = await Promise.resolve(session(req, res, () => undefined)).then(
      () => req.staff !== undefined,
      () => false,
    );
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
    const shown = (service: { status: 'up' | 'down' }) => (detailed ? service : { status: service.status });
    res.status(up ? 200 : 503).json({ status: up ? 'up' : 'degraded', postgres: shown(postgres), temporal: shown(temporalStatus) });
  });
  return router;
}
