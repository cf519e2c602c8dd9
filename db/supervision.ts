import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import { orgScope, type OrgScoped } from './scope';

/**
 * Supervision tickets as processes run them (migration 0900): the ticket, the tree of nodes it
 * flows down as (one per unit or customer manager that takes a part), reports, visits, and the
 * queries the API's tree view and statistics read. processes/supervision.bpmn and
 * supervision-node.bpmn decide what happens; activities/supervision.ts writes it here.
 */

export const supervisionKinds = ['supervision', 'work_plan', 'visit', 'alert'] as const;
export type SupervisionKind = (typeof supervisionKinds)[number];
export const nodeStates = ['pending', 'dispatching', 'in_progress', 'reported', 'sent_back', 'accepted', 'cancelled'] as const;
export type NodeState = (typeof nodeStates)[number];
export const nodeOutcomes = ['done', 'partial', 'not_possible'] as const;

const none = z.object({});
const idRow = z.object({ id: z.string() });

/** A node is done once accepted (or cancelled); everything else is open and can be overdue. */
export const closedNodeStates: readonly NodeState[] = ['accepted', 'cancelled'];

/** Severity of the ticket row (the older lists read it) from the issuer's priority (1 most urgent). */
export function severityOfPriority(priority: number): 'critical' | 'major' | 'minor' | 'low' {
  return priority <= 1 ? 'critical' : priority === 2 ? 'major' : priority === 3 ? 'minor' : 'low';
}

/** The active supervisor nearest at or above a unit (deepest unit first, then by username), if any. */
export async function nearestSupervisor(db: CommonQueryMethods, orgUnitId: string): Promise<string | null> {
  return db.maybeOneFirst(sql.type(z.object({ username: z.string() }))`
    SELECT s.username FROM org_units t JOIN org_units o ON t.path LIKE o.path || '%'
    JOIN staff s ON s.org_unit_id = o.id AND s.active AND 'supervisor' = ANY (s.roles)
    WHERE t.id = ${orgUnitId}
    ORDER BY length(o.path) DESC, s.username LIMIT 1`);
}

export interface NewSupervisionTicket {
  kind: SupervisionKind;
  title: string;
  goal?: string | null;
  description?: string | null;
  priority: number;
  dueAt: string;
  remindAt: string;
  accountIds: string[];
  attachments: unknown[];
  /** The unit the ticket is addressed to as a whole (the issuer's own for several units). */
  orgUnitId: string;
  issuedByUnitId: string;
  issuedByUsername: string | null;
  cause?: Record<string, unknown> | null;
  dedupeKey?: string | null;
}

/** One target of an issue or a pass-down: a unit below, or a customer manager. */
export type NodeTarget = { kind: 'unit'; orgUnitId: string; assignee: string | null } | { kind: 'manager'; orgUnitId: string; assignee: string };

/**
 * Writes a ticket row (status issued) and its workflow id. With a dedupe key a second ticket for
 * the same cause is not written: null then.
 */
export async function insertTicket(tx: CommonQueryMethods, ticket: NewSupervisionTicket, workflowIdOf: (ticketId: string) => string): Promise<string | null> {
  const id = await tx.maybeOneFirst(sql.type(idRow)`
    INSERT INTO supervision_tickets (kind, org_unit_id, issued_by_unit_id, issued_by, issued_by_username, account_id, account_ids, title, goal, description,
                                     severity, priority, due_at, remind_at, attachments, cause, dedupe_key)
    VALUES (${ticket.kind}, ${ticket.orgUnitId}, ${ticket.issuedByUnitId},
            (SELECT id FROM staff WHERE username = ${ticket.issuedByUsername ?? ''}), ${ticket.issuedByUsername},
            ${ticket.accountIds[0] ?? null}, ${sql.array(ticket.accountIds, 'text')}, ${ticket.title}, ${ticket.goal ?? null}, ${ticket.description ?? null},
            ${severityOfPriority(ticket.priority)}, ${ticket.priority}, ${ticket.dueAt}, ${ticket.remindAt},
            ${sql.jsonb(ticket.attachments as never)}, ${ticket.cause ? sql.jsonb(ticket.cause as never) : null}, ${ticket.dedupeKey ?? null})
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id`);
  if (id === null) return null;
  await tx.query(sql.type(none)`UPDATE supervision_tickets SET workflow_id = ${workflowIdOf(id)} WHERE id = ${id}`);
  return id;
}

/**
 * The nodes of one step (an issue, a pass-down): one per target, all due with the ticket, reviewed
 * by `reviewer`. A step repeated (a retried activity) finds the rows it wrote.
 */
export async function insertNodes(
  tx: CommonQueryMethods,
  input: { ticketId: string; parentId: string | null; reviewer: string | null; dueAt: string; step: string; targets: NodeTarget[] },
): Promise<string[]> {
  const ids: string[] = [];
  for (const target of input.targets) {
    const inserted = await tx.maybeOneFirst(sql.type(idRow)`
      INSERT INTO supervision_nodes (ticket_id, parent_id, kind, org_unit_id, assignee, reviewer, due_at, created_by_step)
      VALUES (${input.ticketId}, ${input.parentId}, ${target.kind}, ${target.orgUnitId}, ${target.assignee}, ${input.reviewer}, ${input.dueAt}, ${input.step})
      ON CONFLICT (created_by_step, kind, org_unit_id, assignee) DO NOTHING
      RETURNING id`);
    ids.push(
      inserted ??
        (await tx.oneFirst(sql.type(idRow)`
          SELECT id FROM supervision_nodes
          WHERE created_by_step = ${input.step} AND kind = ${target.kind} AND org_unit_id = ${target.orgUnitId} AND assignee IS NOT DISTINCT FROM ${target.assignee}`)),
    );
  }
  return ids;
}

export const ticketRow = z.object({
  id: z.string(),
  kind: z.enum(supervisionKinds),
  title: z.string(),
  goal: z.string().nullable(),
  description: z.string().nullable(),
  priority: z.number(),
  status: z.string(),
  orgUnitId: z.string(),
  issuedByUnitId: z.string(),
  issuedByPath: z.string(),
  issuedBy: z.string().nullable(),
  accountIds: z.array(z.string()),
  attachments: z.array(z.unknown()),
  cause: z.record(z.unknown()).nullable(),
  dueAt: z.string(),
  remindAt: z.string().nullable(),
  remindedAt: z.string().nullable(),
  escalatedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  workflowId: z.string().nullable(),
  createdAt: z.string(),
});
export type SupervisionTicketRow = z.infer<typeof ticketRow>;

const ticketColumns = sql.fragment`
  v.id, v.kind, v.title, v.goal, v.description, v.priority, v.status, v.org_unit_id AS "orgUnitId", v.issued_by_unit_id AS "issuedByUnitId",
  io.path AS "issuedByPath", v.issued_by_username AS "issuedBy", v.account_ids AS "accountIds", v.attachments, v.cause,
  v.due_at AS "dueAt", v.remind_at AS "remindAt", v.reminded_at AS "remindedAt", v.escalated_at AS "escalatedAt", v.closed_at AS "closedAt",
  v.workflow_id AS "workflowId", v.created_at AS "createdAt"`;

/** A ticket by id, whatever the caller (for processes and for checks made after the scope). */
export async function findTicket(db: CommonQueryMethods, id: string, lock = false): Promise<SupervisionTicketRow | null> {
  return db.maybeOne(sql.type(ticketRow)`
    SELECT ${ticketColumns} FROM supervision_tickets v JOIN org_units io ON io.id = v.issued_by_unit_id
    WHERE v.id = ${id} ${lock ? sql.fragment`FOR UPDATE OF v` : sql.fragment``}`);
}

/**
 * A ticket the caller may see: issued by a unit of their subtree, addressed to one, or with a node
 * in it. Anyone else gets null (404), never a hint that it exists.
 */
export async function findTicketInScope(db: CommonQueryMethods, scope: OrgScoped, id: string): Promise<SupervisionTicketRow | null> {
  return db.maybeOne(sql.type(ticketRow)`
    SELECT ${ticketColumns} FROM supervision_tickets v JOIN org_units io ON io.id = v.issued_by_unit_id
    WHERE v.id = ${id}
      AND (${orgScope(scope, sql.identifier(['v', 'issued_by_unit_id']))} OR ${orgScope(scope, sql.identifier(['v', 'org_unit_id']))}
           OR EXISTS (SELECT FROM supervision_nodes n WHERE n.ticket_id = v.id AND ${orgScope(scope, sql.identifier(['n', 'org_unit_id']))}))`);
}

export const nodeRow = z.object({
  id: z.string(),
  ticketId: z.string(),
  parentId: z.string().nullable(),
  kind: z.enum(['unit', 'manager']),
  orgUnitId: z.string(),
  orgUnitName: z.string(),
  orgPath: z.string(),
  assignee: z.string().nullable(),
  reviewer: z.string().nullable(),
  state: z.enum(nodeStates),
  instructions: z.string().nullable(),
  result: z.string().nullable(),
  outcome: z.enum(nodeOutcomes).nullable(),
  lastReport: z.string().nullable(),
  lastReportAt: z.string().nullable(),
  sendBackReason: z.string().nullable(),
  sendBacks: z.number(),
  dueAt: z.string(),
  overdue: z.boolean(),
  escalatedAt: z.string().nullable(),
  reportedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
});
export type SupervisionNode = z.infer<typeof nodeRow>;

const nodeColumns = sql.fragment`
  n.id, n.ticket_id AS "ticketId", n.parent_id AS "parentId", n.kind, n.org_unit_id AS "orgUnitId", o.name AS "orgUnitName", o.path AS "orgPath",
  n.assignee, n.reviewer, n.state, n.instructions, n.result, n.outcome, n.last_report AS "lastReport", n.last_report_at AS "lastReportAt",
  n.send_back_reason AS "sendBackReason", n.send_backs AS "sendBacks", n.due_at AS "dueAt",
  (n.state NOT IN ('accepted', 'cancelled') AND n.due_at < now()) AS overdue, n.overdue_at AS "escalatedAt",
  n.reported_at AS "reportedAt", n.completed_at AS "completedAt", n.created_at AS "createdAt"`;

export async function findNode(db: CommonQueryMethods, id: string, lock = false): Promise<SupervisionNode | null> {
  return db.maybeOne(sql.type(nodeRow)`
    SELECT ${nodeColumns} FROM supervision_nodes n JOIN org_units o ON o.id = n.org_unit_id
    WHERE n.id = ${id} ${lock ? sql.fragment`FOR UPDATE OF n` : sql.fragment``}`);
}

/** Every node of a ticket, in the order they were made (parents before children). */
export async function ticketNodes(db: CommonQueryMethods, ticketId: string): Promise<SupervisionNode[]> {
  return [
    ...(await db.any(sql.type(nodeRow)`
      SELECT ${nodeColumns} FROM supervision_nodes n JOIN org_units o ON o.id = n.org_unit_id
      WHERE n.ticket_id = ${ticketId} ORDER BY n.id`)),
  ];
}

/** Moves a node to a state, with what came with it, and writes the audit row. */
export async function updateNode(
  tx: CommonQueryMethods,
  who: Actor,
  node: SupervisionNode,
  change: Partial<{ state: NodeState; instructions: string | null; result: string | null; outcome: string | null; sendBackReason: string | null; lastReport: string; reportedAt: string; completedAt: string; sentBack: boolean }>,
  action: string,
): Promise<void> {
  const sets = [sql.fragment`updated_at = now()`];
  if (change.state) sets.push(sql.fragment`state = ${change.state}`);
  if (change.instructions !== undefined) sets.push(sql.fragment`instructions = ${change.instructions}`);
  if (change.result !== undefined) sets.push(sql.fragment`result = ${change.result}`);
  if (change.outcome !== undefined) sets.push(sql.fragment`outcome = ${change.outcome}`);
  if (change.sendBackReason !== undefined) sets.push(sql.fragment`send_back_reason = ${change.sendBackReason}`);
  if (change.lastReport !== undefined) sets.push(sql.fragment`last_report = ${change.lastReport}, last_report_at = ${change.reportedAt ?? sql.fragment`now()`}`);
  if (change.reportedAt !== undefined) sets.push(sql.fragment`reported_at = ${change.reportedAt}`);
  if (change.completedAt !== undefined) sets.push(sql.fragment`completed_at = ${change.completedAt}`);
  if (change.sentBack) sets.push(sql.fragment`send_backs = send_backs + 1`);
  await tx.query(sql.type(none)`UPDATE supervision_nodes SET ${sql.join(sets, sql.fragment`, `)} WHERE id = ${node.id}`);
  await recordAudit(tx, who, {
    action,
    entityType: 'supervision_ticket',
    entityId: node.ticketId,
    orgUnitId: node.orgUnitId,
    before: { node: node.id, state: node.state },
    after: { node: node.id, ...change },
  });
}

/** One report row (progress, result, review, instructions); a step's row is written once. */
export async function addReport(
  tx: CommonQueryMethods,
  report: { nodeId: string; ticketId: string; kind: 'progress' | 'result' | 'review' | 'sent_back' | 'instructions'; text: string; percent?: number | null; author: string; dedupeKey?: string },
): Promise<void> {
  await tx.query(sql.type(none)`
    INSERT INTO supervision_reports (node_id, ticket_id, kind, text, percent, author, dedupe_key)
    VALUES (${report.nodeId}, ${report.ticketId}, ${report.kind}, ${report.text}, ${report.percent ?? null}, ${report.author}, ${report.dedupeKey ?? null})
    ON CONFLICT (dedupe_key) DO NOTHING`);
}

export const reportRow = z.object({ id: z.coerce.string(), nodeId: z.string(), kind: z.string(), text: z.string(), percent: z.number().nullable(), author: z.string(), at: z.string() });

export async function nodeReports(db: CommonQueryMethods, ticketId: string): Promise<z.infer<typeof reportRow>[]> {
  return [
    ...(await db.any(sql.type(reportRow)`
      SELECT id, node_id AS "nodeId", kind, text, percent, author, created_at AS at FROM supervision_reports WHERE ticket_id = ${ticketId} ORDER BY id`)),
  ];
}

/** One notice per step and recipient, however often the step is retried. */
export async function addNotice(tx: CommonQueryMethods, notice: { username: string; kind: string; ticketId: string; text: string; dedupeKey: string }): Promise<void> {
  await tx.query(sql.type(none)`
    INSERT INTO staff_notices (username, kind, supervision_ticket_id, text, dedupe_key)
    VALUES (${notice.username}, ${notice.kind}, ${notice.ticketId}, ${notice.text}, ${notice.dedupeKey})
    ON CONFLICT (dedupe_key) DO NOTHING`);
}

export const statsRow = z.object({
  orgUnitId: z.string(),
  orgUnitName: z.string(),
  level: z.string(),
  open: z.number(),
  overdue: z.number(),
  completed: z.number(),
  completedOnTimePercent: z.number().nullable(),
  averageCompletionHours: z.number().nullable(),
});

/**
 * Per unit of the caller's subtree under `orgUnitId`: the nodes made in [from, to) — open, overdue
 * (open past their deadline), completed, completed on time (%), and the average hours from a
 * node's making to its acceptance. A unit counts the nodes of its own and of every unit below it.
 */
export async function supervisionStats(db: CommonQueryMethods, scope: OrgScoped, filter: { orgPath: string; from: string; to: string }): Promise<z.infer<typeof statsRow>[]> {
  return [
    ...(await db.any(sql.type(statsRow)`
      SELECT u.id AS "orgUnitId", u.name AS "orgUnitName", u.level,
             count(n.id) FILTER (WHERE n.state NOT IN ('accepted', 'cancelled'))::int AS open,
             count(n.id) FILTER (WHERE n.state NOT IN ('accepted', 'cancelled') AND n.due_at < now())::int AS overdue,
             count(n.id) FILTER (WHERE n.state = 'accepted')::int AS completed,
             round(100.0 * count(n.id) FILTER (WHERE n.state = 'accepted' AND n.completed_at <= n.due_at)
                   / nullif(count(n.id) FILTER (WHERE n.state = 'accepted'), 0), 1)::float8 AS "completedOnTimePercent",
             round((avg(extract(epoch FROM n.completed_at - n.created_at)) FILTER (WHERE n.state = 'accepted') / 3600)::numeric, 2)::float8 AS "averageCompletionHours"
      FROM org_units u
      LEFT JOIN org_units below ON below.path LIKE u.path || '%'
      LEFT JOIN supervision_nodes n ON n.org_unit_id = below.id AND n.created_at >= ${filter.from} AND n.created_at < ${filter.to}
      WHERE u.path LIKE ${`${filter.orgPath}%`} AND u.path LIKE ${`${scope.orgPath}%`}
      GROUP BY u.id, u.name, u.level, u.path
      ORDER BY u.path`)),
  ];
}
