import type { Request } from 'express';
import { z } from 'zod';
import { getAccount } from '../../db/crm/accounts';
import { findDefinition } from '../../db/definitions';
import { getOrgUnit, listOrgUnits } from '../../db/org-units';
import { processKeyPattern } from '../../workflows/bpmn';
import { processInstanceId, waitingForMessage } from '../../workflows/contracts';
import { undeclaredFields, validateFormData } from '../../workflows/forms';
import { hasMessageStart, type ProcessModel } from '../../workflows/model';
import type { ApiDependencies } from '../dependencies';
import { canSee, requireStaff, type AuthenticatedStaff, type Role } from '../auth';
import { cancelInstance, deliverMessage, describe, findWaitingInstances, getInstance, listInstances, startInstance, temporalStatuses, type InstanceView } from '../engine/instances';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { processVariables } from '../schemas';

/**
 * Who may do what to process instances (README, "Process engine API"):
 * - start: the staff who run the business (not designers: they deploy, then start as a business role);
 * - correlate a message by hand: those who handle the cases, plus ops; outside systems use callbacks;
 * - cancel: ops, supervisors and admins (cancelling runs the compensations of the saga);
 * - read and list: any staff, within their org scope (ops and admins see every instance).
 */
export const instanceRoles = {
  start: ['admin', 'ops', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk'],
  message: ['admin', 'ops', 'supervisor', 'customer_manager', 'dispatcher'],
  cancel: ['admin', 'ops', 'supervisor'],
  seeAll: ['admin', 'ops'],
} as const satisfies Record<string, readonly Role[]>;

const processKey = z.string().regex(processKeyPattern, 'a process key: letters, digits, _ . - (a letter or _ first)');
// Control characters would make ids unreadable in Temporal's UI and logs; the key itself may hold any other text.
const businessKey = z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters');
const unitId = z.string().regex(/^[A-Z0-9-]{1,64}$/, 'an org unit id');
const instanceId = z.string().min(3).max(400);

const startBody = z
  .object({
    processKey,
    version: z.number().int().min(1).optional().describe('omitted: the latest deployed version'),
    businessKey,
    variables: processVariables.default({}).describe('only the fields of the start form (`kf:formField` on the start event)'),
    customerId: z.string().min(1).max(64).optional(),
    orgUnitId: unitId.optional().describe("defaults to the customer's unit, else the caller's own"),
  })
  .strict();

const messageFields = {
  name: z.string().min(1).max(200).describe('the BPMN message name'),
  correlationKey: z.string().min(1).max(200).optional(),
  messageId: z.string().min(1).max(200).optional().describe('a redelivery with the same id is ignored'),
  variables: processVariables.optional(),
};
const instanceMessageBody = z.object(messageFields).strict();
const messageBody = z
  .object({ ...messageFields, processKey: processKey.optional(), businessKey: businessKey.optional() })
  .strict()
  .refine((body) => (body.businessKey !== undefined ? body.processKey !== undefined : body.correlationKey !== undefined), {
    message: 'name the instance by processKey + businessKey, or give a correlationKey',
  });

const stateSchema = z.record(z.unknown()).nullable();
const instanceView = z.object({
  processInstanceId: z.string(),
  runId: z.string(),
  status: z.enum(temporalStatuses),
  startedAt: z.string(),
  closedAt: z.string().nullable(),
  processKey: z.string().nullable(),
  processVersion: z.number().nullable(),
  businessKey: z.string().nullable(),
  customerId: z.string().nullable(),
  orgUnitId: z.string().nullable(),
  incident: z.boolean(),
});
const startResponse = z.object({ processInstanceId: z.string(), runId: z.string(), processKey: z.string(), processVersion: z.number(), businessKey: z.string() });

export function createProcessInstanceRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  /** 404 (not 403) for an instance outside the caller's scope: its existence is not theirs to learn. */
  const visibleInstance = async (staff: AuthenticatedStaff, view: Pick<InstanceView, 'orgUnitId' | 'processInstanceId'>) => {
    if (seesAll(staff)) return;
    const unit = view.orgUnitId ? await getOrgUnit(pool, view.orgUnitId) : null;
    if (!unit || !canSee(staff, unit.path)) throw new ApiError('NOT_FOUND', `no process instance ${JSON.stringify(view.processInstanceId)}`);
  };
  const checkVisible = async (req: Request, id: string) => {
    const description = await describe(temporal, id);
    const orgUnit = (description.searchAttributes as Record<string, unknown[] | undefined>).KfOrgUnit?.[0];
    await visibleInstance(requireStaff(req), { processInstanceId: id, orgUnitId: typeof orgUnit === 'string' ? orgUnit : null });
  };

  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/process-instances',
        summary: 'Start a process instance',
        description:
          'Starts `bpmnProcess` with the pinned definition (the given version or the latest). The variables must fit the start form (`kf:formField` on the start event). The instance id is `<processKey>:<businessKey>`; a second start with the same pair answers 409, even after the first has ended.',
        tags: ['process instances'],
        access: instanceRoles.start,
        body: startBody,
        response: { status: 201, description: 'started', schema: startResponse },
        errors: ['NOT_FOUND', 'CONFLICT', 'FORBIDDEN'],
      },
      async ({ body, staff, res }) => {
        const definition = await findDefinition(pool, body.processKey, body.version);
        if (!definition) throw new ApiError('NOT_FOUND', `no process definition ${body.processKey}${body.version === undefined ? '' : ` version ${body.version}`}`);
        requireStarter(staff, definition.model);
        // The customer must be a key account the caller may see; its unit is the instance's unless one is given.
        const account = body.customerId ? await getAccount(pool, staff, body.customerId) : null;
        if (body.customerId && !account) {
          throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.customerId', message: `no key account ${body.customerId} in your org scope` }]);
        }
        const orgUnitId = body.orgUnitId ?? account?.orgUnitId ?? staff.orgUnitId;
        const unit = await getOrgUnit(pool, orgUnitId);
        if (!unit) throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.orgUnitId', message: `no org unit ${orgUnitId}` }]);
        if (!canSee(staff, unit.path)) throw new ApiError('FORBIDDEN', `org unit ${orgUnitId} is outside your org scope`);
        const undeclared = undeclaredFields(definition.model.startForm, body.variables);
        if (undeclared.length > 0) {
          throw new ApiError('VALIDATION_FAILED', 'the start variables hold fields the start form does not declare', undeclared.map((problem) => ({ field: `body.variables.${problem.field}`, message: problem.message })));
        }
        const formProblems = validateFormData(definition.model.startForm, body.variables);
        if (formProblems.length > 0) {
          throw new ApiError('VALIDATION_FAILED', 'the start variables do not fit the start form', formProblems.map((problem) => ({ field: `body.variables.${problem.field}`, message: problem.message })));
        }
        const started = await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
          definition: { ...definition.model, version: definition.version },
          businessKey: body.businessKey,
          variables: body.variables,
          startedBy: staff.username,
          orgUnitId,
          ...(body.customerId ? { customerId: body.customerId } : {}),
        });
        res.setHeader('location', `/api/process-instances/${encodeURIComponent(started.processInstanceId)}`);
        return started;
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/process-instances',
        summary: 'List process instances (Temporal visibility), newest first',
        tags: ['process instances'],
        access: 'authenticated',
        query: z
          .object({
            processKey: processKey.optional(),
            businessKey: businessKey.optional(),
            customerId: z.string().min(1).max(64).optional(),
            status: z.enum(temporalStatuses).optional(),
            incident: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
            pageSize: z.coerce.number().int().min(1).max(200).default(50),
            pageToken: z.string().max(4096).optional(),
          })
          .strict(),
        response: { status: 200, description: 'one page; pass nextPageToken back as pageToken for the next', schema: z.object({ items: z.array(instanceView), nextPageToken: z.string().optional() }) },
      },
      async ({ query, staff }) => {
        const orgUnitIds = seesAll(staff) ? undefined : (await listOrgUnits(pool, staff)).map((unit) => unit.id);
        return listInstances(temporal, { ...query, ...(orgUnitIds ? { orgUnitIds } : {}) });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/process-instances/:id',
        summary: "An instance: Temporal's status plus the interpreter's state (tokens, completed nodes, variables, incidents, open tasks)",
        tags: ['process instances'],
        access: 'authenticated',
        params: z.object({ id: instanceId }),
        response: { status: 200, description: 'the instance', schema: instanceView.extend({ state: stateSchema, stateError: z.string().optional() }) },
        errors: ['NOT_FOUND'],
      },
      async ({ params, staff }) => {
        return getInstance(temporal, params.id, (view) => visibleInstance(staff, view));
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/process-instances/:id/messages',
        summary: 'Deliver a BPMN message to one instance',
        tags: ['process instances'],
        access: instanceRoles.message,
        params: z.object({ id: instanceId }),
        body: instanceMessageBody,
        response: { status: 202, description: 'delivered; the instance matches it by name and correlation key', schema: z.object({ processInstanceId: z.string() }) },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, body, req }) => {
        await checkVisible(req, params.id);
        await deliverMessage(temporal, params.id, body);
        return { processInstanceId: params.id };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/messages',
        summary: 'Correlate a BPMN message',
        description:
          'By processKey + businessKey (exactly that instance; when there is none and the process has a message start event for this name, a new instance starts with the message variables), or by correlationKey alone (optionally with processKey): the running instances that wait for this message with this correlation key (found through the KfWaitingFor search attribute, whose visibility lags by up to a second), and those whose business key equals it — the usual case, an order number. At most 20 instances are reached.',
        tags: ['process instances'],
        access: instanceRoles.message,
        body: messageBody,
        response: {
          status: 202,
          description: 'delivered to these instances (or, `started`, a message start event began a new one)',
          schema: z.object({ processInstanceIds: z.array(z.string()), started: z.boolean().optional() }),
        },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ body, req, staff }) => {
        const message = { name: body.name, ...(body.correlationKey ? { correlationKey: body.correlationKey } : {}), ...(body.messageId ? { messageId: body.messageId } : {}), ...(body.variables ? { variables: body.variables } : {}) };
        if (body.processKey !== undefined && body.businessKey !== undefined) {
          const id = processInstanceId(body.processKey, body.businessKey);
          const exists = await describe(temporal, id).then(
            () => true,
            (error: unknown) => {
              if (error instanceof ApiError && error.code === 'NOT_FOUND') return false;
              throw error;
            },
          );
          if (!exists) {
            // No instance yet: a message start event of the latest version starts one, as in Camunda.
            const definition = await findDefinition(pool, body.processKey);
            const model = definition ? { ...definition.model, version: definition.version } : undefined;
            if (!model || !hasMessageStart(model, body.name)) {
              throw new ApiError('NOT_FOUND', `no instance ${JSON.stringify(id)}, and ${body.processKey} has no message start event for ${JSON.stringify(body.name)}`);
            }
            requireStarter(staff, model);
            try {
              await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
                definition: model,
                businessKey: body.businessKey,
                variables: body.variables ?? {},
                startedBy: staff.username,
                orgUnitId: staff.orgUnitId,
              });
              return { processInstanceIds: [id], started: true };
            } catch (error) {
              // Another message started it a moment ago: this one is delivered to it instead.
              if (!(error instanceof ApiError && error.code === 'CONFLICT')) throw error;
            }
          }
          await checkVisible(req, id);
          await deliverMessage(temporal, id, message);
          return { processInstanceIds: [id] };
        }
        // The instances that wait for this message with this key (the correlation index), and those
        // whose business key is the key (an order number), as Camunda correlates.
        const orgUnitIds = seesAll(staff) ? undefined : (await listOrgUnits(pool, staff)).map((unit) => unit.id);
        const ids = await findWaitingInstances(
          temporal,
          {
            waitingFor: waitingForMessage(body.name, body.correlationKey!),
            orBusinessKey: body.correlationKey!,
            ...(body.processKey ? { processKey: body.processKey } : {}),
            ...(orgUnitIds ? { orgUnitIds } : {}),
          },
          20,
        );
        if (ids.length === 0) throw new ApiError('NOT_FOUND', `no running instance correlates with ${JSON.stringify(body.correlationKey)}`);
        for (const id of ids) await deliverMessage(temporal, id, message);
        return { processInstanceIds: ids };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/process-instances/:id/cancel',
        summary: 'Cancel an instance (its compensation handlers run first)',
        tags: ['process instances'],
        access: instanceRoles.cancel,
        params: z.object({ id: instanceId }),
        response: { status: 202, description: 'cancellation requested', schema: z.object({ processInstanceId: z.string() }) },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ params, req }) => {
        await checkVisible(req, params.id);
        await cancelInstance(temporal, params.id);
        return { processInstanceId: params.id };
      },
    );
}

/**
 * Only the roles a model names in `kf:starters` start it by hand; a model without them is internal
 * (billing cycle, dunning) and started by the system alone.
 * @throws ApiError FORBIDDEN naming the roles that would do
 */
function requireStarter(staff: AuthenticatedStaff, model: ProcessModel): void {
  const starters = model.starters ?? [];
  if (starters.length === 0) throw new ApiError('FORBIDDEN', `${model.key} is started by the system only`, { reason: 'SYSTEM_PROCESS' });
  if (!staff.roles.some((role) => (starters as readonly string[]).includes(role))) {
    throw new ApiError('FORBIDDEN', `${model.key} may be started by: ${starters.join(', ')}`, { reason: 'NOT_A_STARTER', requiredRoles: starters });
  }
}

export function seesAll(staff: AuthenticatedStaff): boolean {
  return staff.roles.some((role) => (instanceRoles.seeAll as readonly Role[]).includes(role));
}

