import { sql } from 'slonik';
import { z } from 'zod';
import { passDownTargets } from '../../activities/supervision';
import { recordAudit } from '../../db/audit';
import { getTask, type HumanTask } from '../../db/tasks';
import {
  addReport,
  closedNodeStates,
  findNode,
  findTicketInScope,
  insertNodes,
  insertTicket,
  nodeReports,
  nodeStates,
  statsRow,
  supervisionKinds,
  supervisionStats,
  ticketNodes,
  updateNode,
  type SupervisionNode,
  type SupervisionTicketRow,
} from '../../db/supervision';
import { findDefinition } from '../../db/definitions';
import type { MessageInput } from '../../workflows/contracts';
import { messageSignal } from '../../workflows/handles';
import type { ApiDependencies } from '../dependencies';
import type { AuthenticatedStaff, Role } from '../auth';
import { startSupervisionInstance, supervisionInstanceId, supervisionNodeInstanceId, supervisionProcessKey } from '../engine/supervision';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { entityId, orgUnitId, text } from '../schemas';
import { supervisionReaders } from './supervision-tickets';
import { completeThroughEngine } from './tasks';

/** Who issues tickets and passes them down: supervisors (and admins). */
const issuers: Role[] = ['admin', 'supervisor'];
/** Who works on branches: supervisors pass down and review, customer managers report. */
const workers: Role[] = ['admin', 'supervisor', 'customer_manager'];

const username = z.string().min(1).max(64);
const futureInstant = z.string().datetime({ offset: true }).refine((value) => Date.parse(value) > Date.now() + 60_000, 'must lie in the future');
const attachment = z.object({ name: text(200), url: z.string().url().max(1000).optional(), mimeType: text(100).optional() }).strict();

const issueBody = z
  .object({
    subject: text(200),
    goal: text(4000).optional(),
    description: text(8000).optional(),
    deadline: futureInstant.describe('when every branch must be done; in the future'),
    remindAt: z.string().datetime({ offset: true }).optional().describe('when the open branches are reminded; default a day before the deadline (halfway when sooner)'),
    priority: z.number().int().min(1).max(5).default(3).describe('1 most urgent'),
    attachments: z.array(attachment).max(20).default([]),
    accountIds: z.array(entityId).max(50).default([]).describe('the key accounts it concerns (in your scope)'),
    units: z.array(orgUnitId).max(1000).default([]).describe('units below yours that take it; each passes it on down'),
    managers: z.array(username).max(1000).default([]).describe('customer managers of your subtree who take it themselves'),
  })
  .strict()
  .refine((body) => body.units.length + body.managers.length > 0, { message: 'name at least one unit or customer manager', path: ['units'] })
  .refine((body) => !body.remindAt || Date.parse(body.remindAt) < Date.parse(body.deadline), { message: 'must lie before the deadline', path: ['remindAt'] });

const nodeParams = z.object({ id: entityId, nodeId: entityId }).strict();
const ticketParams = z.object({ id: entityId }).strict();

const passDownBody = z
  .object({
    instructions: text(4000).optional(),
    units: z.array(orgUnitId).max(1000).default([]),
    managers: z.array(username).max(1000).default([]),
  })
  .strict()
  .refine((body) => body.units.length + body.managers.length > 0, { message: 'name at least one unit or customer manager', path: ['units'] });

const reportBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('progress'), text: text(4000), percent: z.number().int().min(0).max(100).optional() }).strict(),
  z.object({ kind: z.literal('result'), text: text(8000), outcome: z.enum(['done', 'partial', 'not_possible']).default('done') }).strict(),
]);

const reviewBody = z
  .object({ accepted: z.boolean(), reason: text(1000).optional() })
  .strict()
  .refine((body) => body.accepted || body.reason !== undefined, { message: 'a branch sent back needs the reason', path: ['reason'] });

const extendBody = z.object({ deadline: futureInstant, reason: text(1000) }).strict();

const visitBody = z
  .object({
    visitedOn: z.string().date().refine((value) => Date.parse(value) <= Date.now() + 86_400_000, 'a visit cannot lie in the future'),
    contactId: entityId.optional(),
    contactName: text(200).optional(),
    notes: text(4000),
  })
  .strict();

const treeNode = z.object({
  id: z.string(),
  kind: z.enum(['unit', 'manager']),
  orgUnitId: z.string(),
  orgUnitName: z.string(),
  assignee: z.string().nullable(),
  reviewer: z.string().nullable(),
  state: z.enum(nodeStates),
  dueAt: z.string(),
  overdue: z.boolean(),
  escalatedAt: z.string().nullable(),
  instructions: z.string().nullable(),
  result: z.string().nullable(),
  outcome: z.string().nullable(),
  lastReport: z.object({ kind: z.string(), text: z.string(), percent: z.number().nullable(), author: z.string(), at: z.string() }).nullable(),
  sendBackReason: z.string().nullable(),
  sendBacks: z.number(),
  openTaskId: z.string().nullable().describe('the task the branch waits for (pass-down, report, or review), if any'),
  children: z.array(z.unknown()).describe('the branches below, each of this same shape'),
});

const ticketView = z.object({
  id: z.string(),
  kind: z.enum(supervisionKinds),
  subject: z.string(),
  goal: z.string().nullable(),
  description: z.string().nullable(),
  priority: z.number(),
  status: z.string(),
  issuedByUnitId: z.string(),
  issuedBy: z.string().nullable(),
  accountIds: z.array(z.string()),
  attachments: z.array(z.unknown()),
  cause: z.record(z.unknown()).nullable(),
  deadline: z.string(),
  remindAt: z.string().nullable(),
  overdue: z.boolean(),
  processInstanceId: z.string().nullable(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
});

function viewOf(ticket: SupervisionTicketRow) {
  return {
    id: ticket.id,
    kind: ticket.kind,
    subject: ticket.title,
    goal: ticket.goal,
    description: ticket.description,
    priority: ticket.priority,
    status: ticket.status,
    issuedByUnitId: ticket.issuedByUnitId,
    issuedBy: ticket.issuedBy,
    accountIds: ticket.accountIds,
    attachments: ticket.attachments,
    cause: ticket.cause,
    deadline: ticket.dueAt,
    remindAt: ticket.remindAt,
    overdue: !['closed', 'cancelled'].includes(ticket.status) && Date.parse(ticket.dueAt) < Date.now(),
    processInstanceId: ticket.workflowId,
    createdAt: ticket.createdAt,
    closedAt: ticket.closedAt,
  };
}

/** Whether the caller oversees the whole ticket: their subtree holds the issuing unit. */
const overseesTicket = (staff: AuthenticatedStaff, ticket: SupervisionTicketRow) => ticket.issuedByPath.startsWith(staff.orgPath);

/**
 * Supervision tickets (督办工单) down the org tree: issue, pass down, report, review, extend, record
 * a visit, the tree view and statistics. Each action checks the caller against the ticket (404
 * outside its subtree) and the branch (403 when it is not theirs), then completes the branch's open
 * task through the engine, so what the process waits for is the only thing that can move it.
 */
export function createSupervisionRoutes({ pool, temporal, config }: ApiDependencies): ApiRoutes {
  /** The ticket, if the caller may see it (else 404). */
  async function ticketFor(staff: AuthenticatedStaff, id: string): Promise<SupervisionTicketRow> {
    const ticket = await findTicketInScope(pool, staff, id);
    if (!ticket) throw new ApiError('NOT_FOUND', `supervision ticket ${id} not found`);
    return ticket;
  }

  /** The branch of an open ticket that the caller sees (else 404), checked to be in a state to act on. */
  async function nodeFor(staff: AuthenticatedStaff, ticket: SupervisionTicketRow, nodeId: string): Promise<SupervisionNode> {
    const node = await findNode(pool, nodeId);
    if (!node || node.ticketId !== ticket.id || !(overseesTicket(staff, ticket) || node.orgPath.startsWith(staff.orgPath) || node.assignee === staff.username || node.reviewer === staff.username)) {
      throw new ApiError('NOT_FOUND', `branch ${nodeId} of supervision ticket ${ticket.id} not found`);
    }
    if (['closed', 'cancelled'].includes(ticket.status)) throw new ApiError('CONFLICT', `supervision ticket ${ticket.id} is ${ticket.status}`, { reason: 'TICKET_CLOSED' });
    return node;
  }

  /** The open task of a branch at one of `nodeIds` that the caller holds (409 when the branch waits for something else). */
  async function openTaskOf(staff: AuthenticatedStaff, node: SupervisionNode, nodeIds: string[]): Promise<HumanTask> {
    const taskId = await pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
      SELECT id FROM human_tasks WHERE workflow_id = ${supervisionNodeInstanceId(node.id)} AND status = 'open' AND node_id = ANY (${sql.array(nodeIds, 'text')})
      ORDER BY created_at DESC LIMIT 1`);
    if (!taskId) throw new ApiError('CONFLICT', `branch ${node.id} is ${node.state}; it does not wait for this`, { reason: 'NOT_WAITING', state: node.state });
    const task = await getTask(pool, staff, taskId);
    if (!task) throw new ApiError('FORBIDDEN', `branch ${node.id} waits for someone else (${node.state})`, { reason: 'NOT_YOURS' });
    return task;
  }

  const complete = (task: HumanTask, staff: AuthenticatedStaff, variables: Record<string, unknown>) =>
    completeThroughEngine(temporal, task, { taskId: task.id, variables: variables as never, completedBy: staff.username });

  const audit = (staff: AuthenticatedStaff, requestId: string, action: string, ticket: SupervisionTicketRow, details: unknown) =>
    recordAudit(pool, { actor: staff.username, requestId }, { action, entityType: 'supervision_ticket', entityId: ticket.id, orgUnitId: ticket.orgUnitId, accountId: ticket.accountIds[0] ?? null, details });

  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/supervision-tickets/stats',
        summary: 'Per org unit of a subtree: open, overdue, completed on time %, average completion hours of the branches made in a period',
        tags: ['supervision'],
        access: supervisionReaders,
        query: z
          .object({
            orgUnitId: orgUnitId.optional().describe('the subtree (default yours)'),
            from: z.string().datetime({ offset: true }).optional().describe('default 30 days ago'),
            to: z.string().datetime({ offset: true }).optional().describe('default now'),
          })
          .strict(),
        response: { status: 200, description: 'one row per unit, the subtree root first', schema: z.object({ from: z.string(), to: z.string(), units: z.array(statsRow) }) },
      },
      async ({ staff, query }) => {
        const to = query.to ?? new Date().toISOString();
        const from = query.from ?? new Date(Date.parse(to) - 30 * 86_400_000).toISOString();
        if (Date.parse(from) >= Date.parse(to)) throw new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.from', message: 'must lie before to' }]);
        let orgPath = staff.orgPath;
        if (query.orgUnitId) {
          const path = await pool.maybeOneFirst(sql.type(z.object({ path: z.string() }))`SELECT path FROM org_units WHERE id = ${query.orgUnitId}`);
          if (!path || !path.startsWith(staff.orgPath)) throw new ApiError('NOT_FOUND', `org unit ${query.orgUnitId} not found`);
          orgPath = path;
        }
        return { from, to, units: await supervisionStats(pool, staff, { orgPath, from, to }) };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets',
        summary: 'Issue a supervision ticket to units below yours (each passes it down) and/or customer managers of your subtree',
        description:
          'Refused with 400 when the deadline is not in the future or the body is malformed, 422 naming the units, managers or accounts outside your subtree; nothing is written then.',
        tags: ['supervision'],
        access: issuers,
        body: issueBody,
        response: { status: 201, description: 'the ticket, its process started', schema: ticketView },
        errors: ['UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ req, staff, body }) => {
        if (!(await findDefinition(pool, supervisionProcessKey))) throw new ApiError('UNAVAILABLE', 'the supervision process is not deployed');
        const { targets, refused } = await passDownTargets(pool, { orgPath: staff.orgPath }, body.units, body.managers);
        if (refused.length > 0) {
          throw new ApiError('UNPROCESSABLE', `not below you: ${refused.join(', ')}`, { reason: 'OUTSIDE_SUBTREE', refused });
        }
        const accounts = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`
          SELECT a.id FROM key_accounts a JOIN org_units o ON o.id = a.org_unit_id
          WHERE a.id = ANY (${sql.array(body.accountIds, 'text')}) AND o.path LIKE ${`${staff.orgPath}%`}`);
        const unknownAccounts = body.accountIds.filter((id) => !accounts.includes(id));
        if (unknownAccounts.length > 0) throw new ApiError('UNPROCESSABLE', `accounts not in your scope: ${unknownAccounts.join(', ')}`, { reason: 'ACCOUNT_NOT_FOUND', refused: unknownAccounts });
        const deadline = Date.parse(body.deadline);
        const remindAt = body.remindAt ?? new Date(deadline - Math.min(24 * 3_600_000, (deadline - Date.now()) / 2)).toISOString();
        const addressedTo = targets.length === 1 ? targets[0]!.orgUnitId : staff.orgUnitId;
        const ticketId = await pool.transaction(async (tx) => {
          const id = (await insertTicket(
            tx,
            {
              kind: 'supervision',
              title: body.subject,
              goal: body.goal ?? null,
              description: body.description ?? null,
              priority: body.priority,
              dueAt: new Date(deadline).toISOString(),
              remindAt: new Date(Date.parse(remindAt)).toISOString(),
              accountIds: [...new Set(body.accountIds)],
              attachments: body.attachments,
              orgUnitId: addressedTo,
              issuedByUnitId: staff.orgUnitId,
              issuedByUsername: staff.username,
            },
            supervisionInstanceId,
          ))!;
          await insertNodes(tx, { ticketId: id, parentId: null, reviewer: staff.username, dueAt: new Date(deadline).toISOString(), step: `issue:${id}`, targets });
          await recordAudit(tx, { actor: staff.username, requestId: String(req.id) }, {
            action: 'supervision.issue',
            entityType: 'supervision_ticket',
            entityId: id,
            orgUnitId: addressedTo,
            accountId: body.accountIds[0] ?? null,
            after: { subject: body.subject, deadline: body.deadline, units: body.units, managers: body.managers, priority: body.priority },
          });
          return id;
        });
        await startSupervisionInstance(temporal, pool, config.KEYFLOW_TASK_QUEUE, { ticketId, orgUnitId: staff.orgUnitId, startedBy: staff.username });
        return viewOf((await findTicketInScope(pool, staff, ticketId))!);
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/supervision-tickets/:id/tree',
        summary: "The ticket's tree: every branch with its state, assignee, last report and overdue flag",
        description: 'Those who oversee the issuing unit see every branch; others the branches of their subtree. Outside the ticket: 404.',
        tags: ['supervision'],
        access: supervisionReaders,
        params: ticketParams,
        response: { status: 200, description: 'the ticket and its branches, nested', schema: ticketView.extend({ branches: z.array(treeNode) }) },
      },
      async ({ staff, params }) => {
        const ticket = await ticketFor(staff, params.id);
        const [nodes, reports, tasks] = await Promise.all([
          ticketNodes(pool, ticket.id),
          nodeReports(pool, ticket.id),
          pool.any(sql.type(z.object({ id: z.string(), workflowId: z.string() }))`
            SELECT t.id, t.workflow_id AS "workflowId" FROM human_tasks t
            WHERE t.status = 'open' AND t.workflow_id IN (SELECT 'supervision-node:' || n.id FROM supervision_nodes n WHERE n.ticket_id = ${ticket.id})`),
        ]);
        const lastReport = new Map<string, (typeof reports)[number]>();
        for (const report of reports) if (report.kind === 'progress' || report.kind === 'result') lastReport.set(report.nodeId, report);
        const openTask = new Map(tasks.map((task) => [task.workflowId, task.id]));
        const visible = overseesTicket(staff, ticket) ? nodes : nodes.filter((node) => node.orgPath.startsWith(staff.orgPath) || node.assignee === staff.username);
        const visibleIds = new Set(visible.map((node) => node.id));
        const build = (node: SupervisionNode): unknown => {
          const report = lastReport.get(node.id);
          return {
            id: node.id,
            kind: node.kind,
            orgUnitId: node.orgUnitId,
            orgUnitName: node.orgUnitName,
            assignee: node.assignee,
            reviewer: node.reviewer,
            state: node.state,
            dueAt: node.dueAt,
            overdue: node.overdue,
            escalatedAt: node.escalatedAt,
            instructions: node.instructions,
            result: node.result,
            outcome: node.outcome,
            lastReport: report ? { kind: report.kind, text: report.text, percent: report.percent, author: report.author, at: report.at } : null,
            sendBackReason: node.sendBackReason,
            sendBacks: node.sendBacks,
            openTaskId: openTask.get(supervisionNodeInstanceId(node.id)) ?? null,
            children: visible.filter((child) => child.parentId === node.id).map(build),
          };
        };
        // A branch whose parent the caller does not see is shown at the top of what they see.
        const roots = visible.filter((node) => node.parentId === null || !visibleIds.has(node.parentId));
        return { ...viewOf(ticket), branches: roots.map(build) };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets/:id/nodes/:nodeId/pass-down',
        summary: "Pass a unit's branch down: instructions, and the units below and customer managers who take it",
        description: 'Only the branch holder, while it waits to be passed down (409 otherwise); units must lie below the branch, managers within it (422 naming them).',
        tags: ['supervision'],
        access: issuers,
        params: nodeParams,
        body: passDownBody,
        response: { status: 200, description: 'accepted by the process', schema: z.object({ nodeId: z.string(), passedTo: z.array(z.string()) }) },
        errors: ['CONFLICT', 'UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ req, staff, params, body }) => {
        const ticket = await ticketFor(staff, params.id);
        const node = await nodeFor(staff, ticket, params.nodeId);
        const { refused } = await passDownTargets(pool, node, body.units, body.managers);
        if (refused.length > 0) throw new ApiError('UNPROCESSABLE', `not below branch ${node.id} (${node.orgUnitName}): ${refused.join(', ')}`, { reason: 'OUTSIDE_SUBTREE', refused });
        const task = await openTaskOf(staff, node, ['dispatch']);
        await complete(task, staff, { instructions: body.instructions ?? null, units: body.units.join(','), managers: body.managers.join(',') });
        await audit(staff, String(req.id), 'supervision.passDown.request', ticket, { node: node.id, units: body.units, managers: body.managers });
        return { nodeId: node.id, passedTo: [...body.units, ...body.managers] };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets/:id/nodes/:nodeId/reports',
        summary: 'Report progress on a branch (as often as needed), or its result (which sends it up for review)',
        description: 'Only the branch holder; a result only while the branch waits for one (409 otherwise), progress while it is open; a closed ticket takes no reports (409).',
        tags: ['supervision'],
        access: workers,
        params: nodeParams,
        body: reportBody,
        response: { status: 201, description: 'the report', schema: z.object({ nodeId: z.string(), kind: z.string(), state: z.enum(nodeStates) }) },
        errors: ['CONFLICT', 'FORBIDDEN', 'UNAVAILABLE'],
      },
      async ({ req, staff, params, body }) => {
        const ticket = await ticketFor(staff, params.id);
        const node = await nodeFor(staff, ticket, params.nodeId);
        if (node.assignee !== staff.username) throw new ApiError('FORBIDDEN', `branch ${node.id} is held by ${node.assignee ?? 'nobody'}`, { reason: 'NOT_YOURS' });
        if (closedNodeStates.includes(node.state)) throw new ApiError('CONFLICT', `branch ${node.id} is ${node.state}`, { reason: 'BRANCH_CLOSED' });
        if (body.kind === 'progress') {
          await pool.transaction(async (tx) => {
            await addReport(tx, { nodeId: node.id, ticketId: ticket.id, kind: 'progress', text: body.text, percent: body.percent ?? null, author: staff.username });
            await updateNode(tx, { actor: staff.username, requestId: String(req.id) }, node, { lastReport: body.text }, 'supervision.progress');
          });
          return { nodeId: node.id, kind: 'progress', state: node.state };
        }
        const task = await openTaskOf(staff, node, ['work', 'summarise']);
        await complete(task, staff, { result: body.text, outcome: body.outcome });
        await audit(staff, String(req.id), 'supervision.result', ticket, { node: node.id, outcome: body.outcome });
        return { nodeId: node.id, kind: 'result', state: node.state };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets/:id/nodes/:nodeId/review',
        summary: 'Review what came up from a branch: accept it, or send it back with the reason',
        tags: ['supervision'],
        access: issuers,
        params: nodeParams,
        body: reviewBody,
        response: { status: 200, description: 'accepted by the process', schema: z.object({ nodeId: z.string(), accepted: z.boolean() }) },
        errors: ['CONFLICT', 'FORBIDDEN', 'UNAVAILABLE'],
      },
      async ({ req, staff, params, body }) => {
        const ticket = await ticketFor(staff, params.id);
        const node = await nodeFor(staff, ticket, params.nodeId);
        const task = await openTaskOf(staff, node, ['review']);
        await complete(task, staff, { accepted: body.accepted, reason: body.reason ?? null });
        await audit(staff, String(req.id), body.accepted ? 'supervision.review.accept' : 'supervision.review.sendBack', ticket, { node: node.id, reason: body.reason ?? null });
        return { nodeId: node.id, accepted: body.accepted };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets/:id/extend',
        summary: 'Extend the deadline of a ticket (the issuer, or above), with the reason',
        tags: ['supervision'],
        access: issuers,
        params: ticketParams,
        body: extendBody,
        response: { status: 200, description: 'the ticket with its new deadline', schema: ticketView },
        errors: ['CONFLICT', 'FORBIDDEN', 'UNPROCESSABLE'],
      },
      async ({ req, staff, params, body }) => {
        const ticket = await ticketFor(staff, params.id);
        if (!overseesTicket(staff, ticket)) throw new ApiError('FORBIDDEN', `only the issuing unit ${ticket.issuedByUnitId} (or above) extends ticket ${ticket.id}`, { reason: 'NOT_THE_ISSUER' });
        if (['closed', 'cancelled'].includes(ticket.status)) throw new ApiError('CONFLICT', `supervision ticket ${ticket.id} is ${ticket.status}`, { reason: 'TICKET_CLOSED' });
        const deadline = new Date(Date.parse(body.deadline));
        if (deadline.getTime() <= Date.parse(ticket.dueAt)) throw new ApiError('UNPROCESSABLE', `the new deadline must lie after the current one (${ticket.dueAt})`, { field: 'body.deadline', reason: 'NOT_LATER' });
        const remindAt = new Date(deadline.getTime() - Math.min(24 * 3_600_000, (deadline.getTime() - Date.now()) / 2));
        await pool.transaction(async (tx) => {
          await tx.query(sql.type(z.object({}))`
            UPDATE supervision_tickets SET due_at = ${deadline.toISOString()}, remind_at = ${remindAt.toISOString()}, updated_at = now(), version = version + 1 WHERE id = ${ticket.id}`);
          await tx.query(sql.type(z.object({}))`
            UPDATE supervision_nodes SET due_at = ${deadline.toISOString()}, overdue_at = NULL, updated_at = now()
            WHERE ticket_id = ${ticket.id} AND state NOT IN ('accepted', 'cancelled')`);
          await recordAudit(tx, { actor: staff.username, requestId: String(req.id) }, {
            action: 'supervision.extend',
            entityType: 'supervision_ticket',
            entityId: ticket.id,
            orgUnitId: ticket.orgUnitId,
            before: { deadline: ticket.dueAt },
            after: { deadline: deadline.toISOString() },
            details: { reason: body.reason },
          });
        });
        const message: MessageInput = { name: 'supervision.extend', messageId: `supervision.extend:${ticket.id}:${deadline.toISOString()}`, variables: { extendReason: body.reason } };
        await temporal.workflow.getHandle(supervisionInstanceId(ticket.id)).signal(messageSignal, message);
        return viewOf((await findTicketInScope(pool, staff, ticket.id))!);
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/supervision-tickets/:id/visits',
        summary: 'Record the visit a visit ticket asks for (date, contact met, notes): the ticket closes',
        tags: ['supervision'],
        access: workers,
        params: ticketParams,
        body: visitBody,
        response: { status: 201, description: 'the visit, and the branch reported', schema: z.object({ ticketId: z.string(), visitId: z.string() }) },
        errors: ['CONFLICT', 'FORBIDDEN', 'UNPROCESSABLE', 'UNAVAILABLE'],
      },
      async ({ req, staff, params, body }) => {
        const ticket = await ticketFor(staff, params.id);
        if (ticket.kind !== 'visit') throw new ApiError('UNPROCESSABLE', `supervision ticket ${ticket.id} is not a visit ticket`, { reason: 'NOT_A_VISIT' });
        const [first] = (await ticketNodes(pool, ticket.id)).filter((node) => node.parentId === null);
        if (!first) throw new ApiError('CONFLICT', `visit ticket ${ticket.id} has no branch yet`);
        const node = await nodeFor(staff, ticket, first.id);
        if (node.assignee !== staff.username) throw new ApiError('FORBIDDEN', `visit ticket ${ticket.id} is ${node.assignee ?? 'nobody'}'s`, { reason: 'NOT_YOURS' });
        const accountId = ticket.accountIds[0]!;
        let contactName = body.contactName ?? null;
        if (body.contactId) {
          contactName = await pool.maybeOneFirst(sql.type(z.object({ name: z.string() }))`SELECT name FROM contacts WHERE id = ${body.contactId} AND account_id = ${accountId}`);
          if (contactName === null) throw new ApiError('UNPROCESSABLE', `contact ${body.contactId} is not a contact of account ${accountId}`, { field: 'body.contactId' });
        }
        const task = await openTaskOf(staff, node, ['work']);
        // The engine takes the visit first: a refused completion leaves no visit behind.
        await complete(task, staff, { result: `走访 ${body.visitedOn}${contactName ? `，会见 ${contactName}` : ''}：${body.notes}`.slice(0, 8000), outcome: 'done' });
        const visitId = await pool.transaction(async (tx) => {
          const id = await tx.oneFirst(sql.type(z.object({ id: z.coerce.string() }))`
            INSERT INTO supervision_visits (ticket_id, account_id, org_unit_id, manager, visited_on, contact_id, contact_name, notes)
            VALUES (${ticket.id}, ${accountId}, (SELECT org_unit_id FROM key_accounts WHERE id = ${accountId}), ${staff.username}, ${body.visitedOn}, ${body.contactId ?? null}, ${contactName}, ${body.notes})
            RETURNING id`);
          await recordAudit(tx, { actor: staff.username, requestId: String(req.id) }, {
            action: 'supervision.visit',
            entityType: 'supervision_ticket',
            entityId: ticket.id,
            orgUnitId: ticket.orgUnitId,
            accountId,
            after: { visitedOn: body.visitedOn, contact: contactName, notes: body.notes },
          });
          return id;
        });
        return { ticketId: ticket.id, visitId };
      },
    );
}
