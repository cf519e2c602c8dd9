import { Router } from 'express';
import { z } from 'zod';
import type { ApiDependencies } from '../dependencies';
import type { RouteSpec } from '../routing';
import { parse } from '../validate';

const echoBody = z.object({ message: z.string().min(1).max(1000) }).strict();

export const echoRouteSpec: RouteSpec = {
  method: 'post',
  path: '/api/echo',
  summary: 'The chain proof: a workflow whose activity stores the message',
  tags: ['meta'],
  access: 'authenticated',
  body: echoBody,
  response: {
    status: 200,
    description: 'what PostgreSQL stored',
    schema: z.object({ workflowId: z.string(), message: z.string(), writtenAt: z.string() }),
  },
};

/**
 * `POST /api/echo`: the foundation's end-to-end proof — starts a workflow whose activity writes a
 * row, and answers with what PostgreSQL stored.
 */
export function createEchoRouter({ temporal, config }: ApiDependencies): Router {
  const router = Router();
  router.post('/echo', async (req, res) => {
    const { message } = parse(echoBody, req, 'body');
    const workflowId = `echo:${req.id}`;
    const result = await temporal.workflow.execute('echoWorkflow', {
      taskQueue: config.KEYFLOW_TASK_QUEUE,
      workflowId,
      args: [message],
      workflowExecutionTimeout: '1 minute',
    });
    res.json({ workflowId, ...result });
  });
  return router;
}
