import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { int8, newestFirstPage, severities, type Page } from './common';

export const troubleTicketStatuses = ['open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'cancelled'] as const;
export const openTroubleTicketStatuses = ['open', 'acknowledged', 'in_progress'] as const;
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
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type TroubleTicket = z.infer<typeof troubleTicket>;

const ticketColumns = sql.fragment`
  t.id, t.account_id AS "accountId", a.name AS "accountName", t.org_unit_id AS "orgUnitId", t.kind, t.channel, t.category, t.severity,
  t.title, t.description, t.subscription_id AS "subscriptionId", t.contact_id AS "contactId", t.status, t.assignee,
  t.sla_due_at AS "slaDueAt", (t.status IN ('open', 'acknowledged', 'in_progress') AND t.sla_due_at < now()) AS overdue,
  t.resolved_at AS "resolvedAt", t.closed_at AS "closedAt", t.resolution, t.workflow_id AS "workflowId", t.version,
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
  if (filter.open) conditions.push(sql.fragment`t.status IN ('open', 'acknowledged', 'in_progress')`);
  if (filter.overdue) conditions.push(sql.fragment`t.status IN ('open', 'acknowledged', 'in_progress') AND t.sla_due_at < now()`);
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
 * Supervision tickets the caller's unit deals with: those addressed to a unit in its subtree, and
 * those it (or a unit below it) issued.
 */
function supervisionScope(scope: OrgScoped) {
  return sql.fragment`(${orgScope(scope, sql.identifier(['v', 'org_unit_id']))} OR ${orgScope(scope, sql.identifier(['v', 'issued_by_unit_id']))})`;
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
