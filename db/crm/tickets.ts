import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit } from '../audit';
import { orgScope, type OrgScoped } from '../scope';
import { int8, newestFirstPage, severities, type Page } from './common';

/** TM Forum TMF621's trouble ticket states. */
export const troubleTicketStatuses = ['acknowledged', 'inProgress', 'pending', 'held', 'resolved', 'closed', 'rejected', 'cancelled'] as const;
export const openTroubleTicketStatuses = ['acknowledged', 'inProgress', 'pending', 'held'] as const;
export const ticketChannels = ['phone', 'web', 'email', 'wechat', 'visit', 'noc', 'sms'] as const;

export const troubleTicket = z.object({
  id: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  orgUnitId: z.string(),
  kind: z.enum(['complaint', 'fault']),
  channel: z.enum(ticketChannels),
  category: z.string(),
  severity: z.enum(severities),
  title: z.string(),
  description: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  contactId: z.string().nullable(),
  status: z.enum(troubleTicketStatuses),
  assignee: z.string().nullable(),
  slaDueAt: z.string(),
  overdue: z.boolean(),
  resolvedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  resolution: z.string().nullable(),
  workflowId: z.string().nullable(),
  externalId: z.string().nullable(),
  priority: z.number().int(),
  department: z.string().nullable(),
  rootCause: z.string().nullable(),
  reopenCount: z.number().int(),
  mergedInto: z.string().nullable(),
  alarmId: z.string().nullable(),
  sla: z.object({
    hours: z.number().nullable(),
    dueAt: z.string(),
    reminderAt: z.string().nullable(),
    pausedSince: z.string().nullable().describe('set while the clock stands still (the ticket waits for the customer)'),
    pausedSeconds: z.number().int().describe('how long the clock has stood still in all'),
    remindedAt: z.string().nullable(),
    breachedAt: z.string().nullable(),
    escalationLevel: z.number().int(),
  }),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TroubleTicket = z.infer<typeof troubleTicket>;

const ticketColumns = sql.fragment`
  t.id, t.account_id AS "accountId", a.name AS "accountName", t.org_unit_id AS "orgUnitId", t.kind, t.channel, t.category, t.severity,
  t.title, t.description, t.subscription_id AS "subscriptionId", t.contact_id AS "contactId", t.status, t.assignee,
  t.sla_due_at AS "slaDueAt", (t.status IN ('acknowledged', 'inProgress', 'held') AND t.sla_due_at < now()) AS overdue,
  t.resolved_at AS "resolvedAt", t.closed_at AS "closedAt", t.resolution, t.workflow_id AS "workflowId",
  t.external_id AS "externalId", t.priority, t.department, t.root_cause AS "rootCause", t.reopen_count AS "reopenCount",
  t.merged_into AS "mergedInto", t.alarm_id AS "alarmId",
  json_build_object('hours', t.sla_hours, 'dueAt', to_char(t.sla_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'reminderAt', to_char(t.sla_reminder_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'pausedSince', to_char(t.sla_paused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'pausedSeconds', t.sla_paused_seconds,
    'remindedAt', to_char(t.sla_reminded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'breachedAt', to_char(t.sla_breached_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'escalationLevel', t.escalation_level) AS sla,
  t.version,
  t.created_at AS "createdAt", t.updated_at AS "updatedAt"`;

export interface TroubleTicketFilter {
  accountId?: string;
  kind?: 'complaint' | 'fault';
  status?: (typeof troubleTicketStatuses)[number];
  severity?: (typeof severities)[number];
  /** Only tickets still open. */
  open?: boolean;
  overdue?: boolean;
  limit: number;
  cursor?: string;
}

/** Trouble tickets in the caller's subtree, newest first; null for a foreign cursor. */
export async function listTroubleTickets(db: CommonQueryMethods, scope: OrgScoped, filter: TroubleTicketFilter): Promise<Page<TroubleTicket> | null> {
  const conditions = [orgScope(scope, sql.identifier(['t', 'org_unit_id']))];
  if (filter.accountId) conditions.push(sql.fragment`t.account_id = ${filter.accountId}`);
  if (filter.kind) conditions.push(sql.fragment`t.kind = ${filter.kind}`);
  if (filter.status) conditions.push(sql.fragment`t.status = ${filter.status}`);
  if (filter.severity) conditions.push(sql.fragment`t.severity = ${filter.severity}`);
  if (filter.open) conditions.push(sql.fragment`t.status IN ('acknowledged', 'inProgress', 'pending', 'held')`);
  if (filter.overdue) conditions.push(sql.fragment`t.status IN ('acknowledged', 'inProgress', 'held') AND t.sla_due_at < now()`);
  return newestFirstPage(db, troubleTicket, {
    columns: ticketColumns,
    from: sql.fragment`trouble_tickets t JOIN key_accounts a ON a.id = t.account_id`,
    alias: 't',
    conditions,
    limit: filter.limit,
    cursor: filter.cursor,
  });
}

export async function getTroubleTicket(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<TroubleTicket | null> {
  return db.maybeOne(sql.type(troubleTicket)`
    SELECT ${ticketColumns} FROM trouble_tickets t JOIN key_accounts a ON a.id = t.account_id
    WHERE t.id = ${id} AND ${orgScope(scope, sql.identifier(['t', 'org_unit_id']))}`);
}

export const supervisionTicketStatuses = ['issued', 'accepted', 'in_progress', 'replied', 'closed', 'cancelled'] as const;

export const supervisionTicket = z.object({
  id: z.string(),
  orgUnitId: z.string(),
  orgUnitName: z.string(),
  issuedByUnitId: z.string(),
  issuedBy: int8.nullable(),
  accountId: z.string().nullable(),
  troubleTicketId: z.string().nullable(),
  orderId: z.string().nullable(),
  title: z.string(),
  description: z.string().nullable(),
  severity: z.enum(severities),
  status: z.enum(supervisionTicketStatuses),
  dueAt: z.string(),
  overdue: z.boolean(),
  reply: z.string().nullable(),
  repliedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  workflowId: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type SupervisionTicket = z.infer<typeof supervisionTicket>;

const supervisionColumns = sql.fragment`
  v.id, v.org_unit_id AS "orgUnitId", o.name AS "orgUnitName", v.issued_by_unit_id AS "issuedByUnitId", v.issued_by AS "issuedBy",
  v.account_id AS "accountId", v.trouble_ticket_id AS "troubleTicketId", v.order_id AS "orderId", v.title, v.description, v.severity,
  v.status, v.due_at AS "dueAt", (v.status IN ('issued', 'accepted', 'in_progress') AND v.due_at < now()) AS overdue, v.reply,
  v.replied_at AS "repliedAt", v.closed_at AS "closedAt", v.workflow_id AS "workflowId", v.version, v.created_at AS "createdAt",
  v.updated_at AS "updatedAt"`;

/**
 * Supervision tickets the caller's unit deals with: those addressed to a unit in its subtree (as a
 * whole, or a branch of it), and those it (or a unit below it) issued.
 */
function supervisionScope(scope: OrgScoped) {
  return sql.fragment`(${orgScope(scope, sql.identifier(['v', 'org_unit_id']))} OR ${orgScope(scope, sql.identifier(['v', 'issued_by_unit_id']))}
    OR EXISTS (SELECT FROM supervision_nodes n WHERE n.ticket_id = v.id AND ${orgScope(scope, sql.identifier(['n', 'org_unit_id']))}))`;
}

export async function listSupervisionTickets(
  db: CommonQueryMethods,
  scope: OrgScoped,
  filter: { status?: (typeof supervisionTicketStatuses)[number]; accountId?: string; overdue?: boolean; limit: number; cursor?: string },
): Promise<Page<SupervisionTicket> | null> {
  const conditions = [supervisionScope(scope)];
  if (filter.status) conditions.push(sql.fragment`v.status = ${filter.status}`);
  if (filter.accountId) conditions.push(sql.fragment`v.account_id = ${filter.accountId}`);
  if (filter.overdue) conditions.push(sql.fragment`v.status IN ('issued', 'accepted', 'in_progress') AND v.due_at < now()`);
  return newestFirstPage(db, supervisionTicket, {
    columns: supervisionColumns,
    from: sql.fragment`supervision_tickets v JOIN org_units o ON o.id = v.org_unit_id`,
    alias: 'v',
    conditions,
    limit: filter.limit,
    cursor: filter.cursor,
  });
}

export async function getSupervisionTicket(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<SupervisionTicket | null> {
  return db.maybeOne(sql.type(supervisionTicket)`
    SELECT ${supervisionColumns} FROM supervision_tickets v JOIN org_units o ON o.id = v.org_unit_id
    WHERE v.id = ${id} AND ${supervisionScope(scope)}`);
}

export const ticketCategories = ['billing', 'network', 'installation', 'service', 'other'] as const;

/** A new ticket as the intake has checked it: account and subscription exist and lie in the caller's scope. */
export interface NewTroubleTicket {
  accountId: string;
  orgUnitId: string;
  kind: 'complaint' | 'fault';
  channel: (typeof ticketChannels)[number];
  category: string;
  severity: (typeof severities)[number];
  priority: number;
  title: string;
  description?: string | null;
  subscriptionId?: string | null;
  externalId?: string | null;
  alarmId?: string | null;
  networkElementId?: string | null;
  createdBy: string;
}

const openedTicket = z.object({ id: z.string(), workflowId: z.string().nullable(), status: z.string() });
export type OpenedTicket = z.infer<typeof openedTicket> & { joined: boolean };

/** How long a second report of the same account, subscription and category joins the open ticket. */
export const duplicateWindowHours = 72;

/**
 * Opens a ticket, or finds the open one a duplicate report joins: the same `externalId` for the
 * account (whatever its state), the same alarm for the account, or the same account +
 * subscription + category opened within `duplicateWindowHours` and not yet resolved. One intake
 * at a time per account (an advisory lock), so two reports racing never open two tickets.
 */
export async function openTroubleTicket(tx: CommonQueryMethods, ticket: NewTroubleTicket, workflowIdOf: (ticketId: string) => string): Promise<OpenedTicket> {
  await tx.query(sql.type(z.object({}))`SELECT pg_advisory_xact_lock(hashtext('trouble-ticket-intake'), hashtext(${ticket.accountId}))`);
  const duplicate = await tx.maybeOne(sql.type(openedTicket)`
    SELECT id, workflow_id AS "workflowId", status FROM trouble_tickets
    WHERE account_id = ${ticket.accountId}
      AND (${ticket.externalId ?? null}::text IS NOT NULL AND external_id = ${ticket.externalId ?? null}
        OR ${ticket.alarmId ?? null}::text IS NOT NULL AND alarm_id = ${ticket.alarmId ?? null}
        OR (status IN ('acknowledged', 'inProgress', 'pending', 'held') AND category = ${ticket.category}
            AND subscription_id IS NOT DISTINCT FROM ${ticket.subscriptionId ?? null}
            AND created_at > now() - make_interval(hours => ${duplicateWindowHours})))
    ORDER BY (external_id IS NOT DISTINCT FROM ${ticket.externalId ?? null}) DESC, created_at DESC LIMIT 1`);
  if (duplicate) return { ...duplicate, joined: true };
  const id = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`SELECT 'TT' || lpad(nextval('trouble_tickets_seq')::text, 8, '0') AS id`);
  const row = await tx.one(sql.type(openedTicket)`
    INSERT INTO trouble_tickets (id, account_id, org_unit_id, kind, channel, category, severity, priority, title, description, subscription_id,
                                 external_id, alarm_id, network_element_id, status, sla_due_at, workflow_id, created_by)
    VALUES (${id}, ${ticket.accountId}, ${ticket.orgUnitId}, ${ticket.kind}, ${ticket.channel}, ${ticket.category}, ${ticket.severity}, ${ticket.priority},
            ${ticket.title}, ${ticket.description ?? null}, ${ticket.subscriptionId ?? null}, ${ticket.externalId ?? null}, ${ticket.alarmId ?? null},
            ${ticket.networkElementId ?? null}, 'acknowledged', now() + interval '24 hours', ${workflowIdOf(id)}, ${ticket.createdBy})
    RETURNING id, workflow_id AS "workflowId", status`);
  await recordAudit(tx, { actor: ticket.createdBy }, {
    action: 'ticket.open',
    entityType: 'trouble_ticket',
    entityId: row.id,
    orgUnitId: ticket.orgUnitId,
    accountId: ticket.accountId,
    after: { status: row.status, kind: ticket.kind, category: ticket.category, severity: ticket.severity, channel: ticket.channel, externalId: ticket.externalId ?? null },
  });
  return { ...row, joined: false };
}

export async function addTicketNote(tx: CommonQueryMethods, ticketId: string, note: { author: string; text?: string | null; attachment?: unknown; idempotencyKey?: string }): Promise<void> {
  await tx.query(sql.type(z.object({}))`
    INSERT INTO trouble_ticket_notes (ticket_id, author, text, attachment, idempotency_key)
    VALUES (${ticketId}, ${note.author}, ${note.text ?? null}, ${note.attachment ? sql.jsonb(note.attachment as never) : null}, ${note.idempotencyKey ?? null})
    ON CONFLICT (idempotency_key) DO NOTHING`);
}

const ticketNote = z.object({ id: z.coerce.string(), author: z.string(), text: z.string().nullable(), attachment: z.unknown().nullable(), createdAt: z.string() });
const ticketEvent = z.object({ event: z.string(), statusBefore: z.string().nullable(), statusAfter: z.string(), actor: z.string(), at: z.string(), details: z.unknown() });
const ticketCompensation = z.object({ id: z.coerce.string(), kind: z.string(), amountMinor: int8, currency: z.string(), reason: z.string(), status: z.string(), billingAdjustmentId: z.coerce.string().nullable() });

/** A ticket's notes, transitions (oldest first) and compensations, for the TMF621 view. */
export async function ticketHistory(db: CommonQueryMethods, ticketId: string) {
  const [notes, events, compensations] = await Promise.all([
    db.any(sql.type(ticketNote)`SELECT id, author, text, attachment, created_at AS "createdAt" FROM trouble_ticket_notes WHERE ticket_id = ${ticketId} ORDER BY id`),
    db.any(sql.type(ticketEvent)`
      SELECT event, status_before AS "statusBefore", status_after AS "statusAfter", actor, at, details FROM trouble_ticket_events WHERE ticket_id = ${ticketId} ORDER BY id`),
    db.any(sql.type(ticketCompensation)`
      SELECT id, kind, amount_minor AS "amountMinor", currency, reason, status, billing_adjustment_id AS "billingAdjustmentId"
      FROM trouble_ticket_compensations WHERE ticket_id = ${ticketId} ORDER BY id`),
  ]);
  return { notes, events, compensations };
}
