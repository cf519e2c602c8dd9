import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { listOrgUnits } from '../../db/org-units';
import { processKeyPattern } from '../../workflows/bpmn';
import {
  signalBroadcastProgressQuery,
  signalBroadcastWorkflowId,
  signalBroadcastWorkflowType,
  type SignalBroadcastInput,
  type SignalBroadcastProgress,
} from '../../workflows/signal-broadcast-contract';
import type { ApiDependencies } from '../dependencies';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { processVariables } from '../schemas';
import { instanceRoles, seesAll } from './process-instances';

const signalId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - (at most 100)');

const broadcastBody = z
  .object({
    name: z.string().min(1).max(200).describe('the BPMN signal name (the signal element\'s name, as catch events refer to it)'),
    variables: processVariables.optional().describe('handed to every catch event; its output mappings take what it needs'),
    processKey: z.string().regex(processKeyPattern).optional().describe('only instances of this process'),
    signalId: signalId.optional().describe('makes the broadcast idempotent: a second one with this id answers 409 and sends nothing'),
  })
  .strict();

const progress = z.object({
  signalId: z.string(),
  name: z.string(),
  sentBy: z.string(),
  delivered: z.number().describe('instances handed the signal so far'),
  gone: z.number().describe('instances that closed between the search and the delivery'),
  pages: z.number(),
  status: z.enum(['running', 'completed']),
});

/**
 * BPMN signals broadcast to every running instance that waits for them, through a durable
 * fan-out (the `signalBroadcast` workflow), never a loop in the request: the answer comes at once
 * and the delivery survives a restart. Senders who do not see every instance reach only the
 * instances of their org subtree.
 */
export function createSignalRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/signals',
        summary: 'Broadcast a BPMN signal',
        description:
          'Reaches every running instance waiting for the signal at the moment its page is read (signal catch events, signal boundaries, signal starts of event sub-processes); instances that start waiting later do not get it, as signals are not buffered. Instances are found by the KfWaitingFor search attribute, whose visibility lags by up to a second.',
        tags: ['process instances'],
        access: instanceRoles.message,
        body: broadcastBody,
        response: { status: 202, description: 'the broadcast started; GET its signalId for progress', schema: z.object({ signalId: z.string(), status: z.literal('running') }) },
        errors: ['CONFLICT'],
      },
      async ({ body, staff, req }) => {
        const id = body.signalId ?? randomUUID();
        const orgUnitIds = seesAll(staff) ? undefined : (await listOrgUnits(pool, staff)).map((unit) => unit.id);
        const input: SignalBroadcastInput = {
          signalId: id,
          name: body.name,
          variables: body.variables ?? {},
          ...(body.processKey ? { processKey: body.processKey } : {}),
          ...(orgUnitIds ? { orgUnitIds } : {}),
          sentBy: staff.username,
        };
        try {
          await temporal.workflow.start(signalBroadcastWorkflowType, {
            taskQueue: config.KEYFLOW_TASK_QUEUE,
            workflowId: signalBroadcastWorkflowId(id),
            args: [input],
            // One id is one broadcast, also after it finished.
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError('CONFLICT', `signal ${id} was broadcast already`);
          throw error;
        }
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, {
          action: 'signal.broadcast',
          entityType: 'signal',
          entityId: id,
          details: { name: body.name, processKey: body.processKey ?? null, scope: orgUnitIds ? 'org subtree' : 'all' },
        });
        return { signalId: id, status: 'running' as const };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/signals/:signalId',
        summary: 'A broadcast signal and how far its delivery got',
        tags: ['process instances'],
        access: instanceRoles.message,
        params: z.object({ signalId }),
        response: { status: 200, description: 'the broadcast', schema: progress },
        errors: ['NOT_FOUND'],
      },
      async ({ params, staff }) => {
        const notFound = new ApiError('NOT_FOUND', `no signal ${params.signalId}`);
        let found: SignalBroadcastProgress;
        try {
          found = await temporal.workflow.getHandle(signalBroadcastWorkflowId(params.signalId)).query(signalBroadcastProgressQuery);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) throw notFound;
          throw error;
        }
        // Others' broadcasts are not listed to senders who see only their subtree.
        if (!seesAll(staff) && found.sentBy !== staff.username) throw notFound;
        return found;
      },
    );
}
