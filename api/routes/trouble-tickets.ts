import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { severities } from '../../db/crm/common';
import {
  addTicketNote,
  getTroubleTicket,
  listTroubleTickets,
  openTroubleTicket,
  ticketCategories,
  ticketChannels,
  ticketHistory,
  troubleTicketStatuses,
  type NewTroubleTicket,
  type OpenedTicket,
  type TroubleTicket,
} from '../../db/crm/tickets';
import { findDefinition } from '../../db/definitions';
import { orgScope, type OrgScoped } from '../../db/scope';
import { processInstanceId, type Variables } from '../../workflows/contracts';
import type { ApiDependencies } from '../dependencies';
import type { Role } from '../auth';
import { deliverMessage, startInstance } from '../engine/instances';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { badCursor, booleanQuery, cursor, entityId, idParams, limit, notFoundError, text } from '../schemas';
import { ticketReaders } from './tickets';

/** The process every trouble ticket runs (processes/complaint.bpmn). */
export const complaintProcessKey = 'complaint';
export const complaintInstanceId = (ticketId: string) => processInstanceId(complaintProcessKey, ticketId);

/** Who takes reports and acts on tickets: the call centre and NOC (dispatchers), customer managers, supervisors. */
export const ticketIntake: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher'];

/** The departments of complaint-routing.dmn, where a ticket may be transferred (转派). */
export const departments = ['noc', 'billing_center', 'field_engineering', 'account_management', 'customer_service'] as const;

const attachment = z.object({ name: text(200), url: z.string().url().max(1000).optional(), mimeType: text(100).optional() }).strict();
const note = z.object({ text: text(4000) }).strict();

/** A TMF621 TroubleTicket create (the subset Keyflow keeps). */
export const troubleTicketCreate = z
  .object({
    ticketType: z.enum(['complaint', 'fault']),
    name: text(200).optional().describe('a title; defaults to the category'),
    description: text(8000).optional(),
    severity: z.enum(severities),
    priority: z.number().int().min(1).max(5).default(3),
    category: z.enum(ticketCategories),
    channel: z.object({ name: z.enum(ticketChannels) }).strict(),
    relatedEntity: z
      .array(z.object({ id: entityId, role: z.enum(['account', 'subscription']), '@referredType': z.enum(['KeyAccount', 'Subscription']).optional() }).strict())
      .min(1)
      .max(5)
      .describe('the key account (role account), and for a fault the affected subscription (role subscription)'),
    externalId: text(100).optional().describe("the reporter's own id: a second report with it joins this ticket"),
    note: z.array(note).max(20).optional(),
    attachment: z.array(attachment).max(20).optional(),
  })
  .strict();
export type TroubleTicketCreate = z.infer<typeof troubleTicketCreate>;

/** What a caller may do to a ticket; each becomes a message to its process. */
const ticketAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('transfer'), department: z.enum(departments), reason: text(1000) }).strict(),
  z.object({ action: z.literal('suspend'), reason: text(1000) }).strict(),
  z.object({ action: z.literal('resume') }).strict(),
  z.object({ action: z.literal('note'), text: text(4000).optional(), attachment: attachment.optional() }).strict(),
  z.object({ action: z.literal('merge'), into: entityId.describe('the open ticket this one duplicates') }).strict(),
]);

const tmfTicket = z.object({
  id: z.string(),
  href: z.string(),
  externalId: z.string().nullable(),
  ticketType: z.enum(['complaint', 'fault']),
  name: z.string(),
  description: z.string().nullable(),
  severity: z.enum(severities),
  priority: z.number().int(),
  category: z.string(),
  status: z.enum(troubleTicketStatuses),
  channel: z.object({ name: z.string() }),
  relatedEntity: z.array(z.object({ id: z.string(), role: z.string(), '@referredType': z.string(), name: z.string().optional() })),
  department: z.string().nullable(),
  assignee: z.string().nullable(),
  rootCause: z.string().nullable(),
  resolution: z.string().nullable(),
  reopenCount: z.number().int(),
  mergedInto: z.string().nullable(),
  sla: z.object({
    hours: z.number().nullable(),
    dueAt: z.string(),
    reminderAt: z.string().nullable(),
    pausedSince: z.string().nullable(),
    pausedSeconds: z.number().int(),
    remainingSeconds: z.number().int().describe('working time left (negative: overdue); frozen while paused'),
    breached: z.boolean(),
    escalationLevel: z.number().int(),
  }),
  note: z.array(z.object({ id: z.string(), author: z.string(), text: z.string().nullable(), date: z.string() })),
  attachment: z.array(z.unknown()),
  statusChangeHistory: z.array(z.object({ event: z.string(), status: z.string(), changedBy: z.string(), changeDate: z.string() })),
  compensation: z.array(z.object({ id: z.string(), kind: z.string(), amountMinor: z.number(), currency: z.string(), reason: z.string(), status: z.string(), billingAdjustmentId: z.string().nullable() })),
  workflowId: z.string().nullable(),
  creationDate: z.string(),
  lastUpdate: z.string(),
  resolutionDate: z.string().nullable(),
  joined: z.boolean().optional().describe('true when this report joined an open ticket instead of opening one'),
});

/** A ticket as TMF621 shows it, with its SLA clock. */
async function tmfView(pool: CommonQueryMethods, ticket: TroubleTicket, now: number): Promise<z.infer<typeof tmfTicket>> {
  const history = await ticketHistory(pool, ticket.id);
  const due = Date.parse(ticket.sla.dueAt);
  const pausedSince = ticket.sla.pausedSince ? Date.parse(ticket.sla.pausedSince) : null;
  const remainingMs = due - (pausedSince ?? now);
  return {
    id: ticket.id,
    href: `/api/troubleTicket/${ticket.id}`,
    externalId: ticket.externalId,
    ticketType: ticket.kind,
    name: ticket.title,
    description: ticket.description,
    severity: ticket.severity,
    priority: ticket.priority,
    category: ticket.category,
    status: ticket.status,
    channel: { name: ticket.channel },
    relatedEntity: [
      { id: ticket.accountId, role: 'account', '@referredType': 'KeyAccount', name: ticket.accountName },
      ...(ticket.subscriptionId ? [{ id: ticket.subscriptionId, role: 'subscription', '@referredType': 'Subscription' }] : []),
    ],
    department: ticket.department,
    assignee: ticket.assignee,
    rootCause: ticket.rootCause,
    resolution: ticket.resolution,
    reopenCount: ticket.reopenCount,
    mergedInto: ticket.mergedInto,
    sla: {
      hours: ticket.sla.hours,
      dueAt: ticket.sla.dueAt,
      reminderAt: ticket.sla.reminderAt,
      pausedSince: ticket.sla.pausedSince,
      pausedSeconds: ticket.sla.pausedSeconds,
      remainingSeconds: Math.round(remainingMs / 1000),
      breached: ticket.sla.breachedAt !== null || (['acknowledged', 'inProgress', 'held'].includes(ticket.status) && remainingMs < 0),
      escalationLevel: ticket.sla.escalationLevel,
    },
    note: history.notes.filter((row) => row.text !== null).map((row) => ({ id: row.id, author: row.author, text: row.text, date: row.createdAt })),
    attachment: history.notes.filter((row) => row.attachment !== null).map((row) => row.attachment),
    statusChangeHistory: history.events.map((row) => ({ event: row.event, status: row.statusAfter, changedBy: row.actor, changeDate: row.at })),
    compensation: [...history.compensations],
    workflowId: ticket.workflowId,
    creationDate: ticket.createdAt,
    lastUpdate: ticket.updatedAt,
    resolutionDate: ticket.resolvedAt,
  };
}

const accountInScope = z.object({ id: z.string(), org_unit_id: z.string(), status: z.string() });

/**
 * Opens a ticket (or joins the open one it duplicates, adding the report's notes to it) and starts
 * its complaint process. Used by the intake route and by network alarms.
 * @throws ApiError UNAVAILABLE when the complaint process is not deployed
 */
export async function openTicketWithProcess(
  deps: { pool: DatabasePool; temporal: Client; taskQueue: string },
  ticket: NewTroubleTicket,
  notes: { text?: string; attachment?: unknown }[],
): Promise<OpenedTicket> {
  const definition = await findDefinition(deps.pool, complaintProcessKey);
  if (!definition) throw new ApiError('UNAVAILABLE', 'the complaint process is not deployed');
  const opened = await deps.pool.transaction(async (tx) => {
    const row = await openTroubleTicket(tx, ticket, complaintInstanceId);
    if (row.joined) {
      await addTicketNote(tx, row.id, { author: ticket.createdBy, text: `重复报障 Duplicate report via ${ticket.channel}${ticket.externalId ? ` (${ticket.externalId})` : ''}: ${ticket.title}` });
    }
    for (const item of notes) await addTicketNote(tx, row.id, { author: ticket.createdBy, text: item.text ?? null, attachment: item.attachment });
    return row;
  });
  if (opened.joined) return opened;
  const variables: Variables = {
    ticketId: opened.id,
    accountId: ticket.accountId,
    subscriptionId: ticket.subscriptionId ?? null,
    ticketType: ticket.kind,
    category: ticket.category,
    channel: ticket.channel,
    severity: ticket.severity,
    priority: ticket.priority,
  };
  await startInstance(deps.temporal, deps.taskQueue, {
    definition: { ...definition.model, version: definition.version },
    businessKey: opened.id,
    variables,
    customerId: ticket.accountId,
    orgUnitId: ticket.orgUnitId,
    startedBy: ticket.createdBy,
  });
  return opened;
}

/** What opening tickets from outside a request needs. */
export interface TicketDoors {
  pool: DatabasePool;
  temporal: Client;
  taskQueue: string;
}

export interface NetworkAlarm {
  networkElementId: string;
  alarmId: string;
  state: 'raised' | 'cleared';
  severity: 'critical' | 'major' | 'minor' | 'warning';
  probableCause: string;
}

const alarmSeverity = { critical: 'critical', major: 'major', minor: 'minor', warning: 'low' } as const;
const affectedSubscription = z.object({ account_id: z.string(), org_unit_id: z.string(), subscription_id: z.string() });
const alarmTicket = z.object({ id: z.string(), workflow_id: z.string().nullable() });

/**
 * A signed alarm on a network element. Raised: one fault ticket per key account with a live
 * subscription on it (a second delivery, or a second subscription of the account, finds the
 * account's ticket of this alarm). Cleared: `alarm.cleared` to the process of each of them, which
 * resolves and closes the ticket. Returns the instances it started or told.
 */
export async function takeNetworkAlarm(doors: TicketDoors, alarm: NetworkAlarm, messageId: string): Promise<string[]> {
  if (alarm.state === 'cleared') {
    const tickets = await doors.pool.any(sql.type(alarmTicket)`
      SELECT id, workflow_id FROM trouble_tickets WHERE alarm_id = ${alarm.alarmId} AND status IN ('acknowledged', 'inProgress', 'pending', 'held') ORDER BY id`);
    const told: string[] = [];
    for (const ticket of tickets) {
      if (!ticket.workflow_id) continue;
      try {
        await deliverMessage(doors.temporal, ticket.workflow_id, { name: 'alarm.cleared', messageId, variables: { alarmId: alarm.alarmId } });
        told.push(ticket.workflow_id);
      } catch (error) {
        // A ticket whose process ended meanwhile has nothing left to clear.
        if (!(error instanceof ApiError)) throw error;
      }
    }
    return told;
  }
  const affected = await doors.pool.any(sql.type(affectedSubscription)`
    SELECT DISTINCT ON (s.account_id) s.account_id, a.org_unit_id, s.id AS subscription_id
    FROM subscriptions s JOIN key_accounts a ON a.id = s.account_id
    WHERE s.network_element_id = ${alarm.networkElementId} AND s.status = 'active'
    ORDER BY s.account_id, s.id`);
  const started: string[] = [];
  for (const row of affected) {
    const opened = await openTicketWithProcess(
      doors,
      {
        accountId: row.account_id,
        orgUnitId: row.org_unit_id,
        kind: 'fault',
        channel: 'noc',
        category: 'network',
        severity: alarmSeverity[alarm.severity],
        priority: alarm.severity === 'critical' ? 1 : 2,
        title: `网络告警 ${alarm.probableCause} @ ${alarm.networkElementId}`,
        subscriptionId: row.subscription_id,
        alarmId: alarm.alarmId,
        networkElementId: alarm.networkElementId,
        createdBy: 'system:alarms',
      },
      [],
    );
    if (opened.workflowId) started.push(opened.workflowId);
  }
  return started;
}

async function visibleTicket(pool: CommonQueryMethods, scope: OrgScoped, id: string): Promise<TroubleTicket> {
  return (await getTroubleTicket(pool, scope, id)) ?? Promise.reject(notFoundError('trouble ticket', id));
}

/**
 * `/api/troubleTicket`: the TM Forum TMF621-shaped door for complaints and faults. A report opens
 * a ticket and its process (or joins the open ticket it duplicates); actions on a ticket become
 * messages to its process; reads show the ticket with its SLA clock and history.
 */
export function createTroubleTicketRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  const now = () => Date.now();
  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/troubleTicket',
        summary: 'Report a complaint or fault (TMF621 TroubleTicket create); a duplicate joins the open ticket',
        description:
          'The account (relatedEntity role account) must lie in your org scope (404 otherwise); a subscription (role subscription) must be the account\'s (422). ' +
          'A report with the externalId of a ticket of the account, or of the same account, subscription and category while that ticket is open (72 hours), joins it: 200 with `joined: true`.',
        tags: ['tickets'],
        access: ticketIntake,
        body: troubleTicketCreate,
        response: { status: 201, description: 'the new ticket (200 with joined: true for a duplicate)', schema: tmfTicket },
        errors: ['NOT_FOUND', 'UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ staff, body, res }) => {
        const accounts = body.relatedEntity.filter((entity) => entity.role === 'account');
        const subscriptions = body.relatedEntity.filter((entity) => entity.role === 'subscription');
        if (accounts.length !== 1) throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.relatedEntity', message: 'name exactly one account (role account)' }]);
        if (subscriptions.length > 1) throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.relatedEntity', message: 'name at most one subscription' }]);
        const accountId = accounts[0]!.id;
        const account = await pool.maybeOne(sql.type(accountInScope)`
          SELECT id, org_unit_id, status FROM key_accounts WHERE id = ${accountId} AND ${orgScope(staff, sql.identifier(['org_unit_id']))}`);
        if (!account) throw notFoundError('key account', accountId);
        const subscriptionId = subscriptions[0]?.id ?? null;
        if (subscriptionId) {
          const owned = await pool.exists(sql.type(z.object({}))`SELECT FROM subscriptions WHERE id = ${subscriptionId} AND account_id = ${accountId}`);
          if (!owned) {
            throw new ApiError('UNPROCESSABLE', `subscription ${subscriptionId} is not a subscription of account ${accountId}`, [{ field: 'body.relatedEntity', message: 'unknown subscription of this account' }]);
          }
        } else if (body.ticketType === 'fault') {
          throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.relatedEntity', message: 'a fault names the affected subscription (role subscription)' }]);
        }
        const opened = await openTicketWithProcess(
          { pool, temporal, taskQueue: config.KEYFLOW_TASK_QUEUE },
          {
            accountId,
            orgUnitId: account.org_unit_id,
            kind: body.ticketType,
            channel: body.channel.name,
            category: body.category,
            severity: body.severity,
            priority: body.priority,
            title: body.name ?? `${body.ticketType === 'fault' ? '故障' : '投诉'}：${body.category}`,
            description: body.description ?? null,
            subscriptionId,
            externalId: body.externalId ?? null,
            createdBy: staff.username,
          },
          [...(body.note ?? []).map((item) => ({ text: item.text })), ...(body.attachment ?? []).map((item) => ({ attachment: item }))],
        );
        const view = { ...(await tmfView(pool, await visibleTicket(pool, staff, opened.id), now())), joined: opened.joined };
        // A joined report is 200, not the route's 201: answered here, so the router sends nothing more.
        if (opened.joined) res.status(200).json(view);
        return view;
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/troubleTicket',
        summary: 'Trouble tickets in your org scope as TMF621 shows them, newest first',
        tags: ['tickets'],
        access: ticketReaders,
        query: z
          .object({
            accountId: entityId.optional(),
            ticketType: z.enum(['complaint', 'fault']).optional(),
            status: z.enum(troubleTicketStatuses).optional(),
            open: booleanQuery.optional(),
            limit,
            cursor: cursor.optional(),
          })
          .strict(),
        response: { status: 200, description: 'a page of tickets', schema: z.object({ items: z.array(tmfTicket), nextCursor: z.string().nullable() }) },
      },
      async ({ staff, query }) => {
        const page = await listTroubleTickets(pool, staff, { accountId: query.accountId, kind: query.ticketType, status: query.status, open: query.open, limit: query.limit, cursor: query.cursor });
        if (!page) throw badCursor();
        const at = now();
        return { items: await Promise.all(page.items.map((ticket) => tmfView(pool, ticket, at))), nextCursor: page.nextCursor };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/troubleTicket/:id',
        summary: 'A trouble ticket with its SLA clock, notes, transitions and compensation (TMF621)',
        tags: ['tickets'],
        access: ticketReaders,
        params: idParams,
        response: { status: 200, description: 'the ticket', schema: tmfTicket },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => tmfView(pool, await visibleTicket(pool, staff, params.id), now()),
    )
    .add(
      {
        method: 'post',
        path: '/api/troubleTicket/:id/actions',
        summary: 'Transfer (转派), suspend (挂起), resume, add a note or attachment, or merge into another ticket',
        description:
          'Each action is a message to the ticket\'s process. Suspend needs a ticket in progress, resume a suspended one (409 otherwise); ' +
          'merge names another open ticket of the same account in your scope (422 otherwise) and cancels this one.',
        tags: ['tickets'],
        access: ticketIntake,
        params: idParams,
        body: ticketAction,
        response: { status: 202, description: 'handed to the process', schema: z.object({ id: z.string(), action: z.string(), workflowId: z.string() }) },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ staff, params, body }) => {
        const ticket = await visibleTicket(pool, staff, params.id);
        const closed = ['resolved', 'closed', 'rejected', 'cancelled'];
        if (closed.includes(ticket.status) && body.action !== 'note') throw new ApiError('CONFLICT', `ticket ${ticket.id} is ${ticket.status}`, { status: ticket.status });
        if (closed.includes(ticket.status) && ticket.status !== 'resolved') throw new ApiError('CONFLICT', `ticket ${ticket.id} is ${ticket.status}`, { status: ticket.status });
        if (body.action === 'suspend' && ticket.status !== 'inProgress') throw new ApiError('CONFLICT', `only a ticket in progress can be suspended; ${ticket.id} is ${ticket.status}`, { status: ticket.status });
        if (body.action === 'resume' && ticket.status !== 'pending') throw new ApiError('CONFLICT', `only a suspended ticket can be resumed; ${ticket.id} is ${ticket.status}`, { status: ticket.status });
        if (body.action === 'transfer' && ticket.status !== 'inProgress') throw new ApiError('CONFLICT', `only a ticket in progress can be transferred; ${ticket.id} is ${ticket.status}`, { status: ticket.status });
        if (body.action === 'note' && !body.text && !body.attachment) throw new ApiError('VALIDATION_FAILED', 'invalid request body', [{ field: 'body.text', message: 'a note needs a text or an attachment' }]);
        if (body.action === 'merge') {
          const target = await getTroubleTicket(pool, staff, body.into);
          if (!target || target.id === ticket.id || target.accountId !== ticket.accountId || closed.includes(target.status)) {
            throw new ApiError('UNPROCESSABLE', `ticket ${body.into} is not another open ticket of account ${ticket.accountId}`, [{ field: 'body.into', message: 'not an open ticket of the same account' }]);
          }
        }
        if (!ticket.workflowId) throw new ApiError('CONFLICT', `ticket ${ticket.id} has no process`);
        const by = { requestedBy: staff.username };
        const message = {
          transfer: () => ({ name: 'ticket.transfer', variables: { ...by, transferDepartment: body.action === 'transfer' ? body.department : undefined, reason: 'reason' in body ? body.reason : undefined } }),
          suspend: () => ({ name: 'ticket.suspend', variables: { ...by, reason: 'reason' in body ? body.reason : undefined } }),
          resume: () => ({ name: 'ticket.resume', variables: by }),
          note: () => ({
            name: 'ticket.note',
            variables: { noteAuthor: staff.username, noteText: 'text' in body ? (body.text ?? null) : null, attachment: 'attachment' in body ? (body.attachment ?? null) : null },
          }),
          merge: () => ({ name: 'ticket.merged', variables: { ...by, mergedInto: 'into' in body ? body.into : undefined } }),
        }[body.action]();
        await deliverMessage(temporal, ticket.workflowId, { ...message, variables: JSON.parse(JSON.stringify(message.variables)) as Variables });
        return { id: ticket.id, action: body.action, workflowId: ticket.workflowId };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/notices',
        summary: 'Your inbox notices (SLA reminders), newest first',
        tags: ['tasks'],
        access: 'authenticated',
        query: z.object({ limit }).strict(),
        response: {
          status: 200,
          description: 'your notices',
          schema: z.object({ items: z.array(z.object({ id: z.string(), kind: z.string(), ticketId: z.string().nullable(), text: z.string(), createdAt: z.string() })) }),
        },
      },
      async ({ staff, query }) => ({
        items: await pool.any(sql.type(z.object({ id: z.coerce.string(), kind: z.string(), ticketId: z.string().nullable(), text: z.string(), createdAt: z.string() }))`
          SELECT id, kind, ticket_id AS "ticketId", text, created_at AS "createdAt" FROM staff_notices WHERE username = ${staff.username} ORDER BY id DESC LIMIT ${query.limit}`),
      }),
    );
}
