import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcDeadlineError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { assignTask, claimTask, completableBy, getTask, humanTask, listTasks, unclaimTask } from '../../db/tasks';
import { completeTaskUpdateName, updateRejections, type CompleteTaskInput } from '../../workflows/contracts';
import type { ApiDependencies } from '../app';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { badCursor, cursor, limit, pageOf } from '../schemas';

const taskId = z.object({ id: z.string().min(1).max(1000).describe('`<workflowId>/<nodeId>/<loopCounter>`, URL-encoded') }).strict();
const taskQuery = z.object({ processKey: z.string().min(1).max(200).optional(), customerId: z.string().min(1).max(64).optional(), limit, cursor: cursor.optional() }).strict();
const teamQuery = taskQuery.extend({ assignee: z.string().min(1).max(64).optional().describe('only tasks held by this username') }).strict();
const assignBody = z
  .object({
    assignee: z.string().min(1).max(64).nullable().describe("the username to hand the task to; null gives it back to its groups"),
    version: z.number().int().min(0).describe('the version of the task you saw'),
  })
  .strict();
/** Who hands out work: supervisors (and admins) over the tasks of their subtree. */
const supervisors = ['supervisor', 'admin'] as const;
const variablesLimit = 256 * 1024;

const completeBody = z
  .object({ variables: z.record(z.unknown()).default({}).describe("the task's form data, merged into the process variables") })
  .strict()
  .refine((body) => JSON.stringify(body.variables).length <= variablesLimit, { message: `variables are larger than ${variablesLimit / 1024} KiB`, path: ['variables'] });

/** How long the API waits for the engine to accept or reject a completion before answering 503. */
const completeDeadlineMs = 30_000;

/**
 * The task inbox: my tasks, my groups' tasks (a group is a role; within my org subtree), claim,
 * unclaim, a supervisor's view of the team's tasks and hand-out (assign), and complete — which hands the form data to the process through the engine's
 * `completeTask` update and answers only once the engine has accepted or refused it.
 */
export function createTaskRoutes({ pool, temporal }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/tasks/mine',
        summary: 'Open tasks assigned to me, oldest first',
        tags: ['tasks'],
        access: 'authenticated',
        query: taskQuery,
        response: { status: 200, description: 'a page of tasks', schema: pageOf(humanTask) },
      },
      async ({ staff, query }) => (await listTasks(pool, staff, { ...query, view: 'mine' })) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/group',
        summary: 'Open, unclaimed tasks for my roles within my org subtree, oldest first',
        tags: ['tasks'],
        access: 'authenticated',
        query: taskQuery,
        response: { status: 200, description: 'a page of tasks', schema: pageOf(humanTask) },
      },
      async ({ staff, query }) => (await listTasks(pool, staff, { ...query, view: 'group' })) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/team',
        summary: 'Every open task of my org subtree, claimed or not, oldest first (for supervisors handing out work)',
        tags: ['tasks'],
        access: supervisors,
        query: teamQuery,
        response: { status: 200, description: 'a page of tasks', schema: pageOf(humanTask) },
      },
      async ({ staff, query }) => (await listTasks(pool, staff, { ...query, view: 'team' })) ?? Promise.reject(badCursor()),
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/:id',
        summary: 'A task I am assigned to or a candidate for',
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        response: { status: 200, description: 'the task', schema: humanTask },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => (await getTask(pool, staff, params.id)) ?? Promise.reject(new ApiError('NOT_FOUND', `task ${params.id} not found`)),
    )
    .add(
      {
        method: 'post',
        path: '/api/tasks/:id/claim',
        summary: 'Claim an unclaimed task I am a candidate for',
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        response: { status: 200, description: 'the task, now mine', schema: humanTask },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params }) => claimTask(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id),
    )
    .add(
      {
        method: 'post',
        path: '/api/tasks/:id/unclaim',
        summary: 'Give a task I claimed back to its groups',
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        response: { status: 200, description: 'the task, unclaimed', schema: humanTask },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params }) => unclaimTask(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id),
    )
    .add(
      {
        method: 'post',
        path: '/api/tasks/:id/assign',
        summary: 'Hand a task of my subtree to one of its candidates, or back to its groups',
        description:
          'The assignee must be active staff of your subtree who may work on the task (a member of one of its groups whose units include the ' +
          "task's unit, or a user the process named): otherwise 422. A task changed since you read it answers 409, as does a closed one.",
        tags: ['tasks'],
        access: supervisors,
        params: taskId,
        body: assignBody,
        response: { status: 200, description: 'the task, with its new assignee', schema: humanTask },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, params, body }) => assignTask(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, body),
    )
    .add(
      {
        method: 'post',
        path: '/api/tasks/:id/complete',
        summary: 'Complete a task that is mine (or unclaimed and for my groups) with its form data',
        description:
          'The process validates the data against the task form: an unknown or closed task is refused with 409, bad form data with 422 ' +
          '(details name the fields), a process instance that no longer exists with 404.',
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        body: completeBody,
        response: {
          status: 200,
          description: 'the engine accepted the completion',
          schema: z.object({ taskId: z.string(), completedBy: z.string(), result: z.unknown().optional() }),
        },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ req, staff, params, body }) => {
        const task = await getTask(pool, staff, params.id);
        if (!task) throw new ApiError('NOT_FOUND', `task ${params.id} not found`);
        const refusal = completableBy(task, staff);
        if (refusal) throw refusal;
        const input: CompleteTaskInput = { taskId: task.id, variables: body.variables, completedBy: staff.username };
        let result: unknown;
        try {
          result = await temporal.withDeadline(Date.now() + completeDeadlineMs, () =>
            temporal.workflow.getHandle(task.workflowId).executeUpdate(completeTaskUpdateName, { args: [input] }),
          );
        } catch (error) {
          throw completionError(error, task.id);
        }
        await recordAudit(pool, { actor: staff.username, requestId: String(req.id) }, {
          action: 'task.complete',
          entityType: 'human_task',
          entityId: task.id,
          orgUnitId: task.orgUnitId,
          accountId: task.customerId,
          before: { status: task.status, assignee: task.assignee },
          after: { status: 'completed', completedBy: staff.username },
          details: { workflowId: task.workflowId, variables: body.variables },
        });
        return { taskId: task.id, completedBy: staff.username, result };
      },
    );
}

/** What the engine's answer to a completion means for the caller. */
function completionError(error: unknown, taskId: string): unknown {
  if (error instanceof WorkflowNotFoundError) {
    return new ApiError('NOT_FOUND', `the process instance of task ${taskId} is not running any more`, { reason: 'WORKFLOW_NOT_FOUND' });
  }
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && (cause.type === updateRejections.taskNotFound || cause.type === updateRejections.taskAlreadyCompleted)) {
      return new ApiError('CONFLICT', cause.message || `task ${taskId} is not open`, { reason: 'TASK_NOT_OPEN' });
    }
    const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
    return new ApiError('UNPROCESSABLE', cause?.message || 'the process refused the completion', {
      reason: cause instanceof ApplicationFailure && cause.type ? cause.type : 'REJECTED',
      ...(details === undefined ? {} : { fields: details }),
    });
  }
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(error)) {
    return new ApiError('UNAVAILABLE', 'the process engine did not answer in time; the task may still complete — reload it before retrying');
  }
  return error;
}
