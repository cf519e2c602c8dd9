import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcDeadlineError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import { recordAudit } from '../../db/audit';
import { assignTask, claimTask, completableBy, countTasks, getSupervisedTask, getTask, handOnTask, humanTask, listTaskCandidates, listTaskHistory, listTasks, taskCandidate, taskCounts, taskStep, unclaimTask, type HumanTask } from '../../db/tasks';
import { systemScope } from '../../db/scope';
import type { AuthenticatedStaff } from '../auth';
import type { InboxEvent } from '../inbox-feed';
import { updateRejections, type CompleteTaskInput } from '../../workflows/contracts';
import { completeTaskUpdate } from '../../workflows/handles';
import { undeclaredFields } from '../../workflows/forms';
import type { FormField } from '../../workflows/model';
import type { ApiDependencies } from '../dependencies';
import { ApiError } from '../errors';
import { streamEvents } from '../event-stream';
import { ApiRoutes } from '../routing';
import { badCursor, cursor, limit, pageOf, processVariables } from '../schemas';

const taskId = z.object({ id: z.string().min(1).max(1000).describe('`<workflowId>/<nodeId>/<loopCounter>`, URL-encoded') }).strict();
const taskQuery = z
  .object({
    processKey: z.string().min(1).max(200).optional(),
    customerId: z.string().min(1).max(64).optional(),
    dueBefore: z.string().datetime({ offset: true }).optional().describe('only tasks due before this instant (overdue: now)'),
    minPriority: z.coerce.number().int().min(0).max(100).optional().describe('only tasks of at least this priority'),
    order: z.enum(['created', 'urgency']).default('created').describe('created: oldest first (a queue); urgency: soonest due first (none last), then higher priority'),
    limit,
    cursor: cursor.optional(),
  })
  .strict();
const handOnBody = z
  .object({
    assignee: z.string().min(1).max(64).describe('the colleague to hand the task to'),
    version: z.number().int().min(0).describe('the version of the task you saw'),
  })
  .strict();
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

function overseesTeam(staff: AuthenticatedStaff): boolean {
  return staff.roles.some((role) => (supervisors as readonly string[]).includes(role));
}

/** A task the caller may see: theirs or one they are a candidate for, or (supervisors) one of their team's. */
async function visibleTask(db: Parameters<typeof getTask>[0], staff: AuthenticatedStaff, id: string): Promise<HumanTask | null> {
  return (await getTask(db, staff, id)) ?? (overseesTeam(staff) ? await getSupervisedTask(db, staff, id) : null);
}

const completeBody = z
  .object({ variables: processVariables.default({}).describe("the task's form data (only the fields its form declares), merged into the process variables") })
  .strict()
  .refine((body) => JSON.stringify(body.variables).length <= variablesLimit, { message: `variables are larger than ${variablesLimit / 1024} KiB`, path: ['variables'] });

/** How long the API waits for the engine to accept or reject a completion before answering 503. */
const completeDeadlineMs = 30_000;

/**
 * The task inbox: my tasks, my groups' tasks (a group is a role; within my org subtree), claim,
 * unclaim, a supervisor's view of the team's tasks and hand-out (assign), and complete — which hands the form data to the process through the engine's
 * `completeTask` update and answers only once the engine has accepted or refused it.
 */
export function createTaskRoutes({ pool, temporal, inbox }: ApiDependencies): ApiRoutes {
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
        path: '/api/tasks/counts',
        summary: 'How many open tasks wait for me, for my groups and (supervisors) in my team, and how many of mine and my groups\' are overdue',
        tags: ['tasks'],
        access: 'authenticated',
        response: { status: 200, description: 'the counts', schema: taskCounts },
      },
      async ({ staff }) => countTasks(pool, staff, overseesTeam(staff)),
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/events',
        summary: 'Server-Sent Events: a change to a task that concerns me (created, assigned, closed, updated), as it happens',
        description:
          'A `text/event-stream`. Each `inbox` event is `{ taskId, change, mine, at }` for a task I hold, held, am a candidate for or (supervisors) ' +
          'oversee — fed by PostgreSQL LISTEN/NOTIFY on the inbox, never by polling. `resync` means changes may have been missed: reload the lists. ' +
          'The stream ends after five minutes; EventSource reconnects by itself, checking the session again.',
        tags: ['tasks'],
        access: 'authenticated',
        response: { status: 200, description: 'an event stream (text/event-stream)', schema: z.string() },
        errors: ['UNAVAILABLE'],
      },
      async ({ req, res, staff }) => {
        if (!inbox) throw new ApiError('UNAVAILABLE', 'this API process does not push task changes');
        return streamEvents(req, res, (sink) =>
          inbox.subscribe({
            username: staff.username,
            roles: staff.roles,
            orgPath: staff.orgPath,
            overseesTeam: overseesTeam(staff),
            send: (event: InboxEvent) => sink.send('inbox', event),
            resync: () => sink.send('resync', {}),
            end: () => sink.end(),
          }),
        );
      },
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
      async ({ staff, params }) => (await visibleTask(pool, staff, params.id)) ?? Promise.reject(new ApiError('NOT_FOUND', `task ${params.id} not found`)),
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/:id/history',
        summary: "The human steps of the task's process instance beside this one: who did what, when, with which outcome",
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        response: { status: 200, description: 'the steps, oldest first', schema: z.object({ items: z.array(taskStep) }) },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        const task = await visibleTask(pool, staff, params.id);
        if (!task) throw new ApiError('NOT_FOUND', `task ${params.id} not found`);
        return { items: await listTaskHistory(pool, task) };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/tasks/:id/candidates',
        summary: 'Who the task may be handed to: staff who may work on it (for a supervisor, those of their subtree)',
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        response: { status: 200, description: 'the candidates, by unit and name', schema: z.object({ items: z.array(taskCandidate) }) },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        const task = await visibleTask(pool, staff, params.id);
        if (!task) throw new ApiError('NOT_FOUND', `task ${params.id} not found`);
        return { items: await listTaskCandidates(pool, overseesTeam(staff) ? staff : systemScope, task) };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/tasks/:id/hand-on',
        summary: 'Hand a task I hold to a colleague who may work on it',
        description: "The colleague must be active staff who may work on the task (GET …/candidates): otherwise 422. A task changed since you read it answers 409, as does one you do not hold.",
        tags: ['tasks'],
        access: 'authenticated',
        params: taskId,
        body: handOnBody,
        response: { status: 200, description: 'the task, now the colleague\'s', schema: humanTask },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, params, body }) => handOnTask(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, body),
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
          'The variables are the fields of the task form and nothing else: a field the form does not declare is refused with 422 naming it, ' +
          'a reserved key (`__proto__`, `constructor`, `prototype`, an empty key or segment) with 400. The process validates the data against ' +
          'the form: an unknown or closed task is refused with 409, bad form data with 422 (details name the fields), a process instance that no longer exists with 404.',
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
        // A completion writes only what the form asks: an extra key could overwrite an id or a
        // decision the process relies on. A task without form fields takes no variables.
        const undeclared = undeclaredFields((task.formSchema ?? []) as FormField[], body.variables);
        if (undeclared.length > 0) {
          throw new ApiError('UNPROCESSABLE', `the form of task ${task.id} does not declare ${undeclared.map((problem) => problem.field).join(', ')}`, {
            reason: updateRejections.taskFormInvalid,
            fields: undeclared,
          });
        }
        const result = await completeThroughEngine(temporal, task, { taskId: task.id, variables: body.variables, completedBy: staff.username });
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

/**
 * Hands a completion to the task's instance (the `completeTask` update) and answers once the engine
 * accepted it; the caller has checked who may complete and what the form takes.
 * @throws ApiError NOT_FOUND (instance gone), CONFLICT (task not open), UNPROCESSABLE (form refused), UNAVAILABLE (no answer in time)
 */
export async function completeThroughEngine(temporal: ApiDependencies['temporal'], task: Pick<HumanTask, 'id' | 'workflowId'>, input: CompleteTaskInput): Promise<unknown> {
  // The inbox row is written by the activity that opens the task, a moment before the
  // instance takes its result in: a completion in that moment is refused as "no such task"
  // by the instance's validator (which records nothing), so it is asked again, briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      return await temporal.withDeadline(Date.now() + completeDeadlineMs, () =>
        temporal.workflow.getHandle(task.workflowId).executeUpdate(completeTaskUpdate, { args: [input] }),
      );
    } catch (error) {
      const notYetOpen = error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === updateRejections.taskNotFound;
      if (!notYetOpen || attempt >= openingRetryDelaysMs.length) throw completionError(error, task.id);
      await new Promise((resolve) => setTimeout(resolve, openingRetryDelaysMs[attempt]));
    }
  }
}

/** Waits between asking an instance again that has not yet taken in a task its inbox shows (≈1.5 s in all). */
const openingRetryDelaysMs = [50, 100, 200, 400, 750];

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
