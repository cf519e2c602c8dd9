import { ApplicationFailure, Context } from '@temporalio/activity';
import { DateTime, Duration } from 'luxon';
import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { recordAudit } from '../db/audit';
import { findDefinition } from '../db/definitions';
import {
  addNotice,
  addReport,
  closedNodeStates,
  findNode,
  findTicket,
  insertNodes,
  insertTicket,
  nearestSupervisor,
  ticketNodes,
  updateNode,
  type NewSupervisionTicket,
  type NodeTarget,
  type SupervisionNode,
} from '../db/supervision';
import { startSupervisionInstance, supervisionInstanceId, supervisionNodeKey, supervisionProcessKey } from '../api/engine/supervision';
import type { ActivityDependencies } from './context';
import { endpointFor } from './external/endpoints';
import { createNotifyClient } from './external/notify';
import { defineServiceTask, once, type ServiceTaskCall } from './external/service-task';

/**
 * The supervision ticket's side of processes/supervision.bpmn, supervision-node.bpmn and the
 * recurring models. The processes decide; these write it down: ticket and node states, the
 * branches a pass-down opens, reminders and escalations (SMS through the notify adapter and an
 * inbox notice), weekly work plans, visits by account class, and revenue alerts after a bill run.
 * Ticket and node ids come from the calling instance's workflow id, never from a variable; times
 * from the workflow (`at` = FEEL `now()`), so the clock runs on workflow time under time skipping.
 */

const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 date-time');
const duration = z.string().refine((value) => Duration.fromISO(value).isValid, 'must be an ISO-8601 duration');
const text = (max: number) => z.string().trim().min(1).max(max);
const none = z.object({});
const system = { actor: 'system:supervision' };

/** Failure type when an instance is not the one its ticket or node names (not retried: a wiring error). */
export const supervisionMismatchType = 'SupervisionInstanceMismatch';

function idAfter(workflowId: string, key: string): string {
  const prefix = `${key}:`;
  if (!workflowId.startsWith(prefix)) throw ApplicationFailure.nonRetryable(`${workflowId} is not a ${key} instance`, supervisionMismatchType);
  return workflowId.slice(prefix.length);
}

async function nodeOf(db: CommonQueryMethods, call: ServiceTaskCall, lock = false): Promise<SupervisionNode> {
  const id = idAfter(call.workflowId, supervisionNodeKey);
  const node = await findNode(db, id, lock);
  if (!node) throw ApplicationFailure.nonRetryable(`supervision node ${id} does not exist`, supervisionMismatchType);
  return node;
}

/** The comma-separated list a form field carries (forms hold no lists), trimmed and without repeats. */
export function commaList(value: string | null | undefined): string[] {
  return [...new Set((value ?? '').split(',').map((item) => item.trim()).filter((item) => item.length > 0))];
}

/**
 * Which of the named units and managers a node may pass down to: units strictly below its own,
 * active customer managers within its subtree. Returns the targets and what was refused, by name.
 */
export async function passDownTargets(db: CommonQueryMethods, node: Pick<SupervisionNode, 'orgPath'>, units: string[], managers: string[]): Promise<{ targets: NodeTarget[]; refused: string[] }> {
  const targets: NodeTarget[] = [];
  const refused: string[] = [];
  const known = await db.any(sql.type(z.object({ id: z.string(), path: z.string() }))`
    SELECT id, path FROM org_units WHERE id = ANY (${sql.array(units, 'text')})`);
  for (const unit of units) {
    const row = known.find((candidate) => candidate.id === unit);
    if (!row || row.path === node.orgPath || !row.path.startsWith(node.orgPath)) refused.push(unit);
    else targets.push({ kind: 'unit', orgUnitId: unit, assignee: await nearestSupervisor(db, unit) });
  }
  const people = await db.any(sql.type(z.object({ username: z.string(), orgUnitId: z.string() }))`
    SELECT s.username, s.org_unit_id AS "orgUnitId" FROM staff s JOIN org_units o ON o.id = s.org_unit_id
    WHERE s.username = ANY (${sql.array(managers, 'text')}) AND s.active AND 'customer_manager' = ANY (s.roles) AND o.path LIKE ${`${node.orgPath}%`}`);
  for (const manager of managers) {
    const person = people.find((candidate) => candidate.username === manager);
    if (!person) refused.push(manager);
    else targets.push({ kind: 'manager', orgUnitId: person.orgUnitId, assignee: person.username });
  }
  return { targets, refused };
}

/** Calendar months from one period (`2026-12`) to a later one: 2026-12 → 2027-01 is 1. */
export function monthsBetween(from: string, to: string): number {
  const [fromYear, fromMonth] = from.split('-').map(Number) as [number, number];
  const [toYear, toMonth] = to.split('-').map(Number) as [number, number];
  return (toYear - fromYear) * 12 + (toMonth - fromMonth);
}

/** ISO week of an instant in the operator's zone: `2026-W50`. */
export function isoWeek(at: string): string {
  return DateTime.fromISO(at, { zone: 'Asia/Shanghai' }).toFormat("kkkk-'W'WW");
}

/** Who an opened recurring or alert ticket goes to: one manager node, reviewed by `reviewer` (or nobody). */
async function openSingleManagerTicket(tx: CommonQueryMethods, ticket: NewSupervisionTicket, manager: { username: string; orgUnitId: string }, reviewer: string | null): Promise<string | null> {
  const id = await insertTicket(tx, ticket, supervisionInstanceId);
  if (id === null) return null;
  await insertNodes(tx, { ticketId: id, parentId: null, reviewer, dueAt: ticket.dueAt, step: `issue:${id}`, targets: [{ kind: 'manager', orgUnitId: manager.orgUnitId, assignee: manager.username }] });
  await recordAudit(tx, system, { action: `supervision.${ticket.kind}.open`, entityType: 'supervision_ticket', entityId: id, orgUnitId: ticket.orgUnitId, accountId: ticket.accountIds[0] ?? null, after: { title: ticket.title, manager: manager.username, cause: ticket.cause } });
  return id;
}

/** What opening an alert needs: the store, Temporal, the task queue and the time. */
export interface AlertDependencies {
  pool: DatabasePool;
  client: Parameters<typeof startSupervisionInstance>[0];
  taskQueue: string;
  now: Date;
}

/** What a KPI alert is about, and the figures that raised it. */
export interface KpiAlert {
  cause: 'revenue_drop' | 'key_contact_left' | 'credit_black' | 'complaint_reopened';
  accountId: string;
  /** The period the cause belongs to (a bill period, a day, a ticket): one ticket per cause and period. */
  period: string;
  title: string;
  figures: Record<string, unknown>;
  dueInHours?: number;
}

/**
 * Opens an alert ticket to the account's manager (reviewed by the nearest supervisor) and starts
 * its process — once per cause, account and period. An account without a manager goes to the
 * nearest supervisor of its unit instead.
 * @returns the ticket id, or null when the cause had opened one already (or nobody can take it)
 */
export async function openKpiAlert(deps: AlertDependencies, alert: KpiAlert): Promise<string | null> {
  // Without the process nothing could work the ticket: no alert then (the cause stays open for the next evaluation).
  if (!(await findDefinition(deps.pool, supervisionProcessKey))) return null;
  const opened = await deps.pool.transaction(async (tx) => {
    const account = await tx.maybeOne(sql.type(z.object({ orgUnitId: z.string(), manager: z.string().nullable(), managerUnit: z.string().nullable(), name: z.string() }))`
      SELECT a.org_unit_id AS "orgUnitId", s.username AS manager, s.org_unit_id AS "managerUnit", a.name
      FROM key_accounts a LEFT JOIN staff s ON s.id = a.customer_manager_id AND s.active WHERE a.id = ${alert.accountId}`);
    if (!account) return null;
    const supervisor = await nearestSupervisor(tx, account.managerUnit ?? account.orgUnitId);
    const taker = account.manager ? { username: account.manager, orgUnitId: account.managerUnit! } : supervisor ? { username: supervisor, orgUnitId: account.orgUnitId } : null;
    if (!taker) return null;
    const due = new Date(deps.now.getTime() + (alert.dueInHours ?? 72) * 3_600_000);
    const id = await openSingleManagerTicket(
      tx,
      {
        kind: 'alert',
        title: `预警 ${alert.title}：${account.name}`,
        goal: 'Find out why and act; report what was done.',
        description: JSON.stringify(alert.figures),
        priority: 2,
        dueAt: due.toISOString(),
        remindAt: new Date(due.getTime() - 24 * 3_600_000).toISOString(),
        accountIds: [alert.accountId],
        attachments: [],
        orgUnitId: account.orgUnitId,
        issuedByUnitId: account.orgUnitId,
        issuedByUsername: null,
        cause: { cause: alert.cause, period: alert.period, figures: alert.figures },
        dedupeKey: `alert:${alert.cause}:${alert.accountId}:${alert.period}`,
      },
      taker,
      taker.username === supervisor ? null : supervisor,
    );
    return id === null ? null : { id, orgUnitId: account.orgUnitId };
  });
  if (!opened) return null;
  await startSupervisionInstance(deps.client, deps.pool, deps.taskQueue, { ticketId: opened.id, orgUnitId: opened.orgUnitId, startedBy: `system:kpi-alert:${alert.cause}` }, { ignoreExisting: true });
  return opened.id;
}

export function createSupervisionActivities(deps: ActivityDependencies) {
  const { pool } = deps;
  const notify = once(() => createNotifyClient(endpointFor(deps.config, 'notify'), deps.logger));

  /** Notice in the inbox for each person, SMS to those with a mobile number. */
  async function tell(call: ServiceTaskCall, ticketId: string, kind: string, people: string[], message: string): Promise<number> {
    const unique = [...new Set(people)];
    const mobiles = await pool.any(sql.type(z.object({ username: z.string(), mobile: z.string().nullable() }))`
      SELECT username, mobile FROM staff WHERE username = ANY (${sql.array(unique, 'text')}) AND active ORDER BY username`);
    await pool.transaction(async (tx) => {
      for (const person of mobiles) await addNotice(tx, { username: person.username, kind, ticketId, text: message, dedupeKey: `${call.idempotencyKey}/${person.username}` });
    });
    let sent = 0;
    for (const person of mobiles) {
      if (!person.mobile) continue;
      await notify().sendSms({ to: person.mobile, text: message }, { idempotencyKey: `${call.idempotencyKey}/${person.username}`, workflowId: call.workflowId, signal: call.signal });
      sent++;
    }
    return sent;
  }

  return {
    /** The ticket is in progress; its branches are the nodes it was issued to. */
    'supervision.open': defineServiceTask('supervision.open', z.object({ at: instant }), deps, async (_input, call) => {
      const ticketId = idAfter(call.workflowId, supervisionProcessKey);
      return pool.transaction(async (tx) => {
        const ticket = await findTicket(tx, ticketId, true);
        if (!ticket) throw ApplicationFailure.nonRetryable(`supervision ticket ${ticketId} does not exist`, supervisionMismatchType);
        if (ticket.status === 'issued') {
          await tx.query(sql.type(none)`UPDATE supervision_tickets SET status = 'in_progress', updated_at = now(), version = version + 1 WHERE id = ${ticketId}`);
          await recordAudit(tx, system, { action: 'supervision.open', entityType: 'supervision_ticket', entityId: ticketId, orgUnitId: ticket.orgUnitId, before: { status: 'issued' }, after: { status: 'in_progress' } });
        }
        const branches = (await ticketNodes(tx, ticketId)).filter((node) => node.parentId === null).map((node) => ({ nodeId: node.id }));
        return { ticketId, branches, dueAt: ticket.dueAt, remindAt: ticket.remindAt ?? ticket.dueAt };
      });
    }),

    /** A branch starts: who holds it, who reviews it, when it is due. */
    'supervision.node': defineServiceTask('supervision.node', z.object({ at: instant }), deps, async (_input, call) => {
      return pool.transaction(async (tx) => {
        const node = await nodeOf(tx, call, true);
        if (node.state === 'pending') await updateNode(tx, system, node, { state: node.kind === 'unit' ? 'dispatching' : 'in_progress' }, 'supervision.node.reach');
        return { ticketId: node.ticketId, nodeId: node.id, nodeKind: node.kind, assignee: node.assignee, reviewer: node.reviewer, nodeDueAt: node.dueAt };
      });
    }),

    /** A unit's supervisor passed the branch down: one branch per unit below and per manager named. */
    'supervision.passDown': defineServiceTask(
      'supervision.passDown',
      z.object({ at: instant, instructions: z.string().max(4000).nullish(), units: z.string().max(4000).nullish(), managers: z.string().max(4000).nullish() }),
      deps,
      async (input, call) => {
        return pool.transaction(async (tx) => {
          const node = await nodeOf(tx, call, true);
          const { targets, refused } = await passDownTargets(tx, node, commaList(input.units), commaList(input.managers));
          if (targets.length === 0) {
            throw ApplicationFailure.nonRetryable(`the pass-down of ${node.id} names nobody below it${refused.length ? ` (refused: ${refused.join(', ')})` : ''}`, 'SupervisionNobodyBelow');
          }
          const ticket = (await findTicket(tx, node.ticketId))!;
          const children = await insertNodes(tx, { ticketId: node.ticketId, parentId: node.id, reviewer: node.assignee, dueAt: ticket.dueAt, step: call.idempotencyKey, targets });
          if (input.instructions) await addReport(tx, { nodeId: node.id, ticketId: node.ticketId, kind: 'instructions', text: input.instructions, author: node.assignee ?? 'system', dedupeKey: call.idempotencyKey });
          if (node.state !== 'in_progress') await updateNode(tx, { actor: node.assignee ?? system.actor }, node, { state: 'in_progress', instructions: input.instructions ?? null }, 'supervision.passDown');
          return { children: children.map((nodeId) => ({ nodeId })), refusedTargets: refused };
        });
      },
    ),

    /** What came up (report), and the review's verdict (sendBack with its reason, accept). */
    'supervision.record': defineServiceTask(
      'supervision.record',
      z.object({ event: z.enum(['report', 'sendBack', 'accept']), at: instant, result: text(8000).nullish(), outcome: z.enum(['done', 'partial', 'not_possible']).nullish(), reason: z.string().max(1000).nullish() }),
      deps,
      async (input, call) => {
        return pool.transaction(async (tx) => {
          const node = await nodeOf(tx, call, true);
          const at = new Date(Date.parse(input.at)).toISOString();
          if (input.event === 'report') {
            if (node.state !== 'reported') {
              await updateNode(tx, { actor: node.assignee ?? system.actor }, node, { state: 'reported', result: input.result ?? null, outcome: input.outcome ?? null, lastReport: input.result ?? '', reportedAt: at }, 'supervision.report');
            }
            if (input.result) await addReport(tx, { nodeId: node.id, ticketId: node.ticketId, kind: 'result', text: input.result, author: node.assignee ?? 'system', dedupeKey: call.idempotencyKey });
            return { nodeState: 'reported' };
          }
          if (input.event === 'sendBack') {
            const reason = input.reason?.trim() || '退回 Sent back';
            if (node.state !== 'sent_back') await updateNode(tx, { actor: node.reviewer ?? system.actor }, node, { state: 'sent_back', sendBackReason: reason, sentBack: true }, 'supervision.sendBack');
            await addReport(tx, { nodeId: node.id, ticketId: node.ticketId, kind: 'sent_back', text: reason, author: node.reviewer ?? 'system', dedupeKey: call.idempotencyKey });
            return { nodeState: 'sent_back', sendBackReason: reason };
          }
          if (node.state !== 'accepted') await updateNode(tx, { actor: node.reviewer ?? system.actor }, node, { state: 'accepted', completedAt: at }, 'supervision.accept');
          return { nodeState: 'accepted' };
        });
      },
    ),

    'supervision.close': defineServiceTask('supervision.close', z.object({ at: instant }), deps, async ({ at }, call) => {
      const ticketId = idAfter(call.workflowId, supervisionProcessKey);
      return pool.transaction(async (tx) => {
        const ticket = await findTicket(tx, ticketId, true);
        if (ticket && ticket.status !== 'closed') {
          await tx.query(sql.type(none)`
            UPDATE supervision_tickets SET status = 'closed', closed_at = ${new Date(Date.parse(at)).toISOString()}, updated_at = now(), version = version + 1 WHERE id = ${ticketId}`);
          await recordAudit(tx, system, { action: 'supervision.close', entityType: 'supervision_ticket', entityId: ticketId, orgUnitId: ticket.orgUnitId, before: { status: ticket.status }, after: { status: 'closed' } });
        }
        return { ticketStatus: 'closed' };
      });
    }),

    /** Before the deadline: whoever holds an open branch is reminded (notice and SMS). */
    'supervision.remind': defineServiceTask('supervision.remind', z.object({ at: instant }), deps, async ({ at }, call) => {
      const ticketId = idAfter(call.workflowId, supervisionProcessKey);
      const ticket = await findTicket(pool, ticketId);
      if (!ticket) throw ApplicationFailure.nonRetryable(`supervision ticket ${ticketId} does not exist`, supervisionMismatchType);
      const open = (await ticketNodes(pool, ticketId)).filter((node) => !closedNodeStates.includes(node.state) && node.state !== 'reported');
      const people = open.map((node) => node.assignee).filter((name): name is string => name !== null);
      const message = `督办提醒：工单 ${ticketId}「${ticket.title}」将于 ${ticket.dueAt} 到期，请及时处理并反馈 / Supervision ticket ${ticketId} is due ${ticket.dueAt}`;
      const sent = await tell(call, ticketId, 'supervision.reminder', people, message);
      await pool.transaction(async (tx) => {
        await tx.query(sql.type(none)`UPDATE supervision_tickets SET reminded_at = ${new Date(Date.parse(at)).toISOString()}, updated_at = now() WHERE id = ${ticketId}`);
        await recordAudit(tx, system, { action: 'supervision.remind', entityType: 'supervision_ticket', entityId: ticketId, orgUnitId: ticket.orgUnitId, details: { recipients: [...new Set(people)].sort() } });
      });
      return { remindedUsers: [...new Set(people)].sort(), reminderSmsSent: sent };
    }),

    /**
     * At the deadline: every branch not yet accepted is overdue. The issuer hears of all of them,
     * and each overdue unit's supervisor (the nearest above a manager; a unit's own) of theirs.
     */
    'supervision.escalate': defineServiceTask('supervision.escalate', z.object({ at: instant }), deps, async ({ at }, call) => {
      const ticketId = idAfter(call.workflowId, supervisionProcessKey);
      const ticket = await findTicket(pool, ticketId);
      if (!ticket) throw ApplicationFailure.nonRetryable(`supervision ticket ${ticketId} does not exist`, supervisionMismatchType);
      const atIso = new Date(Date.parse(at)).toISOString();
      const overdue = (await ticketNodes(pool, ticketId)).filter((node) => !closedNodeStates.includes(node.state) && Date.parse(node.dueAt) <= Date.parse(atIso));
      const supervisors = new Map<string, string[]>();
      for (const node of overdue) {
        const supervisor = node.kind === 'unit' && node.assignee ? node.assignee : await nearestSupervisor(pool, node.orgUnitId);
        if (supervisor) supervisors.set(supervisor, [...(supervisors.get(supervisor) ?? []), `${node.orgUnitName}${node.kind === 'manager' ? ` ${node.assignee}` : ''}`]);
      }
      let sent = 0;
      if (overdue.length > 0) {
        const names = overdue.map((node) => `${node.orgUnitName}${node.kind === 'manager' ? ` ${node.assignee}` : ''}`);
        if (ticket.issuedBy) sent += await tell(call, ticketId, 'supervision.escalation', [ticket.issuedBy], `督办超期：工单 ${ticketId}「${ticket.title}」已过期 ${ticket.dueAt}，未完成：${names.join('、')}`);
        for (const [supervisor, units] of supervisors) {
          if (supervisor === ticket.issuedBy) continue;
          sent += await tell(call, ticketId, 'supervision.escalation', [supervisor], `督办超期：工单 ${ticketId}「${ticket.title}」已过期，未完成：${units.join('、')}`);
        }
      }
      await pool.transaction(async (tx) => {
        await tx.query(sql.type(none)`
          UPDATE supervision_nodes SET overdue_at = coalesce(overdue_at, ${atIso}), updated_at = now()
          WHERE ticket_id = ${ticketId} AND id = ANY (${sql.array(overdue.map((node) => node.id), 'text')})`);
        await tx.query(sql.type(none)`UPDATE supervision_tickets SET escalated_at = ${atIso}, updated_at = now() WHERE id = ${ticketId}`);
        await recordAudit(tx, system, {
          action: 'supervision.escalate',
          entityType: 'supervision_ticket',
          entityId: ticketId,
          orgUnitId: ticket.orgUnitId,
          details: { overdue: overdue.map((node) => node.id), issuer: ticket.issuedBy, supervisors: [...supervisors.keys()].sort() },
        });
      });
      return { overdueNodes: overdue.map((node) => node.id), escalatedTo: [...new Set([...(ticket.issuedBy ? [ticket.issuedBy] : []), ...supervisors.keys()])].sort(), escalationSmsSent: sent };
    }),

    /** After an extension: the deadline and reminder time the ticket has now. */
    'supervision.deadline': defineServiceTask('supervision.deadline', z.object({ at: instant }), deps, async (_input, call) => {
      const ticket = await findTicket(pool, idAfter(call.workflowId, supervisionProcessKey));
      if (!ticket) throw ApplicationFailure.nonRetryable('the supervision ticket does not exist', supervisionMismatchType);
      return { dueAt: ticket.dueAt, remindAt: ticket.remindAt ?? ticket.dueAt };
    }),

    /** Monday: a work-plan ticket for every active customer manager, once per ISO week. */
    'supervision.openWeeklyPlans': defineServiceTask(
      'supervision.openWeeklyPlans',
      z.object({ at: instant, dueIn: duration.default('P4DT8H'), remindBefore: duration.default('PT24H') }),
      deps,
      async ({ at, dueIn, remindBefore }, call) => {
        const week = isoWeek(at);
        const due = DateTime.fromISO(at).plus(Duration.fromISO(dueIn));
        const managers = await pool.any(sql.type(z.object({ username: z.string(), orgUnitId: z.string(), displayName: z.string() }))`
          SELECT username, org_unit_id AS "orgUnitId", display_name AS "displayName" FROM staff
          WHERE active AND 'customer_manager' = ANY (roles) ORDER BY username`);
        const tickets: string[] = [];
        for (const manager of managers) {
          const id = await pool.transaction(async (tx) =>
            openSingleManagerTicket(
              tx,
              {
                kind: 'work_plan',
                title: `周工作计划 ${week}：${manager.displayName}`,
                goal: 'This week’s plan: visits, opportunities, open issues; and last week’s summary.',
                priority: 3,
                dueAt: due.toUTC().toISO()!,
                remindAt: due.minus(Duration.fromISO(remindBefore)).toUTC().toISO()!,
                accountIds: [],
                attachments: [],
                orgUnitId: manager.orgUnitId,
                issuedByUnitId: manager.orgUnitId,
                issuedByUsername: null,
                cause: { cause: 'weekly_plan', period: week, openedBy: call.workflowId },
                dedupeKey: `work_plan:${manager.username}:${week}`,
              },
              manager,
              null,
            ),
          );
          if (id) tickets.push(id);
        }
        // A retried step finds the tickets it opened the first time.
        const mine = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`
          SELECT id FROM supervision_tickets WHERE kind = 'work_plan' AND cause->>'period' = ${week} AND cause->>'openedBy' = ${call.workflowId} ORDER BY id`);
        return { week, tickets: [...mine] };
      },
    ),

    /**
     * A visit ticket for every active key account whose class is due: its last visit lies at
     * least the class's months back (in calendar months; never visited: due) and no visit ticket
     * is open. Class by tier and months by class are the
     * model's inputs, so a designer changes them.
     */
    'supervision.openVisits': defineServiceTask(
      'supervision.openVisits',
      z.object({
        at: instant,
        monthsByClass: z.record(z.number().int().min(1).max(36)),
        classByTier: z.record(z.string().min(1).max(8)),
        dueIn: duration.default('P21D'),
        remindBefore: duration.default('P3D'),
      }),
      deps,
      async ({ at, monthsByClass, classByTier, dueIn, remindBefore }, call) => {
        const now = DateTime.fromISO(at, { zone: 'Asia/Shanghai' });
        const period = now.toFormat('yyyy-MM');
        const due = now.plus(Duration.fromISO(dueIn));
        const accounts = await pool.any(sql.type(z.object({ id: z.string(), name: z.string(), tier: z.string(), orgUnitId: z.string(), manager: z.string(), managerUnit: z.string(), lastVisit: z.string().nullable() }))`
          SELECT a.id, a.name, a.tier, a.org_unit_id AS "orgUnitId", s.username AS manager, s.org_unit_id AS "managerUnit",
                 (SELECT max(v.visited_on)::text FROM supervision_visits v WHERE v.account_id = a.id) AS "lastVisit"
          FROM key_accounts a JOIN staff s ON s.id = a.customer_manager_id AND s.active
          WHERE a.status = 'active'
            AND NOT EXISTS (SELECT FROM supervision_tickets t WHERE t.kind = 'visit' AND t.account_id = a.id AND t.status NOT IN ('closed', 'cancelled'))
          ORDER BY a.id`);
        for (const account of accounts) {
          const accountClass = classByTier[account.tier];
          const months = accountClass ? monthsByClass[accountClass] : undefined;
          if (!accountClass || months === undefined) continue;
          if (account.lastVisit && monthsBetween(account.lastVisit.slice(0, 7), period) < months) continue;
          await pool.transaction(async (tx) =>
            openSingleManagerTicket(
              tx,
              {
                kind: 'visit',
                title: `客户走访 ${period}（${accountClass} 类）：${account.name}`,
                goal: `Visit the account (class ${accountClass}: every ${months} month${months === 1 ? '' : 's'}) and record the visit: date, contact met, notes.`,
                priority: accountClass === 'A' ? 2 : 3,
                dueAt: due.toUTC().toISO()!,
                remindAt: due.minus(Duration.fromISO(remindBefore)).toUTC().toISO()!,
                accountIds: [account.id],
                attachments: [],
                orgUnitId: account.orgUnitId,
                issuedByUnitId: account.orgUnitId,
                issuedByUsername: null,
                cause: { cause: 'visit', class: accountClass, months, period, lastVisit: account.lastVisit, openedBy: call.workflowId },
                dedupeKey: `visit:${account.id}:${period}`,
              },
              { username: account.manager, orgUnitId: account.managerUnit },
              null,
            ),
          );
        }
        const mine = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`
          SELECT id FROM supervision_tickets WHERE kind = 'visit' AND cause->>'period' = ${period} AND cause->>'openedBy' = ${call.workflowId} ORDER BY id`);
        return { visitPeriod: period, tickets: [...mine] };
      },
    ),

    /**
     * After a bill run: every account whose billed revenue of the period fell more than
     * `thresholdPercent` below its average over the `trailingPeriods` before gets an alert ticket
     * (once per account and period).
     */
    'supervision.revenueAlerts': defineServiceTask(
      'supervision.revenueAlerts',
      z.object({ period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/), thresholdPercent: z.number().min(1).max(100).default(30), trailingPeriods: z.number().int().min(1).max(12).default(3) }),
      deps,
      async (input) => ({
        revenueAlertsOpened: await evaluateRevenueAlerts({ pool, client: Context.current().client, taskQueue: deps.config.KEYFLOW_TASK_QUEUE, now: deps.now() }, input),
      }),
    ),
  };
}

/**
 * Opens an alert ticket for every account whose revenue of `period` dropped beyond the threshold;
 * an account alerted for the period before gets none. Returns the tickets opened now.
 */
export async function evaluateRevenueAlerts(deps: AlertDependencies, input: { period: string; thresholdPercent: number; trailingPeriods: number }): Promise<string[]> {
  const opened: string[] = [];
  for (const drop of await revenueDrops(deps.pool, input)) {
    const id = await openKpiAlert(deps, { cause: 'revenue_drop', accountId: drop.accountId, period: input.period, title: `收入下降 ${drop.dropPercent}%`, figures: drop });
    if (id) opened.push(id);
  }
  return opened;
}

export const revenueDrop = z.object({ accountId: z.string(), periodMinor: z.number(), trailingAverageMinor: z.number(), trailingPeriods: z.number(), dropPercent: z.number() });

/**
 * Accounts whose issued bills of `period` total more than `thresholdPercent` below their average
 * over the `trailingPeriods` periods before it (periods with no bill count as nothing billed; an
 * account with no bill at all before is not compared).
 */
export async function revenueDrops(db: CommonQueryMethods, input: { period: string; thresholdPercent: number; trailingPeriods: number }): Promise<z.infer<typeof revenueDrop>[]> {
  const start = DateTime.fromFormat(input.period, 'yyyy-MM', { zone: 'UTC' });
  const trailing = Array.from({ length: input.trailingPeriods }, (_, index) => start.minus({ months: index + 1 }).toFormat('yyyy-MM'));
  return [
    ...(await db.any(sql.type(revenueDrop)`
      WITH billed AS (
        SELECT account_id, period, sum(total_minor)::float8 AS total FROM bills
        WHERE status NOT IN ('new', 'onHold') AND period = ANY (${sql.array([input.period, ...trailing], 'text')})
        GROUP BY account_id, period),
      compared AS (
        SELECT account_id,
               coalesce(sum(total) FILTER (WHERE period = ${input.period}), 0) AS current,
               coalesce(sum(total) FILTER (WHERE period <> ${input.period}), 0) / ${input.trailingPeriods} AS average,
               count(*) FILTER (WHERE period <> ${input.period}) AS earlier
        FROM billed GROUP BY account_id)
      SELECT account_id AS "accountId", current AS "periodMinor", round(average::numeric)::float8 AS "trailingAverageMinor", ${input.trailingPeriods}::int AS "trailingPeriods",
             round((100 * (average - current) / average)::numeric, 1)::float8 AS "dropPercent"
      FROM compared
      WHERE earlier > 0 AND average > 0 AND 100 * (average - current) / average > ${input.thresholdPercent}
      ORDER BY account_id`)),
  ];
}
