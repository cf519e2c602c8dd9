import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { refreshTicketRollups } from '../db/analytics';
import { recordAudit } from '../db/audit';
import { bpmnErrorType } from '../workflows/contracts';
import type { ActivityDependencies } from './context';
import { endpointFor } from './external/endpoints';
import { createNotifyClient } from './external/notify';
import { openKpiAlert } from './supervision';
import { defineServiceTask, once } from './external/service-task';
import { renderTemplate } from './external/templates';

/**
 * The trouble ticket's side of processes/complaint.bpmn. The process decides what happens; these
 * write it down: the ticket's TMF621 state and SLA clock (`tickets.record`, one event per step,
 * idempotent by the step's key), the 75 % reminder (`tickets.remind`: SMS and an inbox notice to
 * whoever holds the work) and compensation (`tickets.compensate`: proposed, decided, posted as a
 * credit on the next bill). Times come from the workflow (`at` = FEEL `now()`), so the clock runs
 * on workflow time, also under a time-skipping test server.
 */

export const ticketEvents = [
  'acknowledge',
  'dispatch',
  'transfer',
  'suspend',
  'resume',
  'escalate',
  'escalationDecision',
  'note',
  'resolve',
  'reopen',
  'close',
  'merge',
  'alarmCleared',
] as const;
export type TicketEvent = (typeof ticketEvents)[number];

const instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 date-time');
const text = (max: number) => z.string().trim().min(1).max(max);

const recordInput = z.object({
  event: z.enum(ticketEvents),
  at: instant,
  actor: text(100).optional(),
  slaHours: z.number().positive().max(24 * 365).optional(),
  department: text(64).optional(),
  candidateGroup: text(64).optional(),
  level: z.union([z.literal(1), z.literal(2)]).optional(),
  action: z.enum(['reassign', 'extend', 'takeover']).optional(),
  assignee: text(64).nullish(),
  extendHours: z.number().positive().max(24 * 30).nullish(),
  reason: text(1000).nullish(),
  rootCause: text(64).nullish(),
  resolution: text(8000).nullish(),
  satisfied: z.boolean().nullish(),
  score: z.number().int().min(1).max(5).nullish(),
  comment: text(4000).nullish(),
  mergedInto: text(64).nullish(),
  noteText: text(4000).nullish(),
  noteAuthor: text(100).nullish(),
  attachment: z.object({ name: text(200), url: z.string().url().max(1000).optional(), mimeType: text(100).optional() }).nullish(),
});
type RecordInput = z.infer<typeof recordInput>;

const ticketRow = z.object({
  id: z.string(),
  account_id: z.string(),
  org_unit_id: z.string(),
  status: z.string(),
  severity: z.string(),
  assignee: z.string().nullable(),
  department: z.string().nullable(),
  candidate_group: z.string().nullable(),
  sla_hours: z.coerce.number().nullable(),
  sla_due_at: z.string(),
  sla_reminder_at: z.string().nullable(),
  sla_paused_at: z.string().nullable(),
  sla_paused_seconds: z.coerce.number(),
  sla_reminded_at: z.string().nullable(),
  sla_breached_at: z.string().nullable(),
  escalation_level: z.number(),
  reopen_count: z.number(),
  workflow_id: z.string().nullable(),
});
type TicketRow = z.infer<typeof ticketRow>;

/** What every `tickets.record` hands back to the process: the ticket's state and its SLA clock. */
export interface TicketClock extends Record<string, unknown> {
  ticketStatus: string;
  slaDueAt: string;
  slaReminderAt: string;
  slaPausedSeconds: number;
  slaReminded: boolean;
  slaBreached: boolean;
  escalationLevel: number;
  reopenCount: number;
  department: string | null;
  handlerGroup: string | null;
  handlerAssignee: string | null;
}

const resultRow = z.object({ result: z.record(z.unknown()) });
const none = z.object({});
const hour = 3_600_000;

/** The failure type of a ticket step that names a ticket the process does not own (never retried). */
export const ticketNotFoundType = 'TicketNotFound';

async function lockTicket(tx: CommonQueryMethods, ticketId: string, workflowId: string): Promise<TicketRow> {
  const row = await tx.maybeOne(sql.type(ticketRow)`
    SELECT id, account_id, org_unit_id, status, severity, assignee, department, candidate_group, sla_hours, sla_due_at, sla_reminder_at,
           sla_paused_at, sla_paused_seconds, sla_reminded_at, sla_breached_at, escalation_level, reopen_count, workflow_id
    FROM trouble_tickets WHERE id = ${ticketId} FOR UPDATE`);
  // The business key names the ticket; a ticket of another instance is never this one's to change.
  if (!row || (row.workflow_id !== null && row.workflow_id !== workflowId)) {
    throw ApplicationFailure.nonRetryable(`trouble ticket ${ticketId} is not the ticket of ${workflowId}`, ticketNotFoundType);
  }
  return row;
}

function clockOf(row: TicketRow, at: number): TicketClock {
  const due = Date.parse(row.sla_due_at);
  return {
    ticketStatus: row.status,
    slaDueAt: new Date(due).toISOString(),
    slaReminderAt: row.sla_reminder_at ?? new Date(due).toISOString(),
    slaPausedSeconds: row.sla_paused_seconds,
    slaReminded: row.sla_reminded_at !== null,
    slaBreached: row.sla_breached_at !== null || (row.status !== 'pending' && at > due),
    escalationLevel: row.escalation_level,
    reopenCount: row.reopen_count,
    department: row.department,
    handlerGroup: row.candidate_group,
    handlerAssignee: row.assignee,
  };
}

/** A fresh SLA clock of `hours` from `at`: due then, reminder at 75 %. */
function freshClock(at: number, hours: number) {
  return { due: new Date(at + hours * hour).toISOString(), reminder: new Date(at + 0.75 * hours * hour).toISOString() };
}

function invalidStep(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: bpmnErrorType, message, nonRetryable: true, details: [{ errorCode: 'INVALID_TICKET_STEP' }] });
}

/** Applies one step to a locked ticket; returns the columns it changes. */
async function applyEvent(tx: CommonQueryMethods, ticket: TicketRow, input: RecordInput, workflowId: string): Promise<Record<string, unknown>> {
  const at = Date.parse(input.at);
  const atIso = new Date(at).toISOString();
  switch (input.event) {
    case 'acknowledge':
      return { status: 'acknowledged', workflow_id: workflowId };
    case 'dispatch': {
      if (!input.slaHours) throw invalidStep('dispatch needs slaHours');
      const clock = freshClock(at, input.slaHours);
      return {
        status: 'inProgress',
        department: input.department ?? null,
        candidate_group: input.candidateGroup ?? null,
        sla_hours: input.slaHours,
        sla_due_at: clock.due,
        sla_reminder_at: clock.reminder,
        sla_reminded_at: null,
        sla_breached_at: null,
        escalation_level: 0,
      };
    }
    case 'transfer':
      return { status: 'inProgress', department: input.department ?? ticket.department, candidate_group: input.candidateGroup ?? ticket.candidate_group, assignee: null };
    case 'suspend':
      if (ticket.status === 'pending') return {};
      return { status: 'pending', sla_paused_at: atIso };
    case 'resume': {
      if (ticket.status !== 'pending' || ticket.sla_paused_at === null) return {};
      const stoodMs = Math.max(0, at - Date.parse(ticket.sla_paused_at));
      return {
        status: 'inProgress',
        sla_paused_at: null,
        sla_paused_seconds: ticket.sla_paused_seconds + Math.round(stoodMs / 1000),
        sla_due_at: new Date(Date.parse(ticket.sla_due_at) + stoodMs).toISOString(),
        sla_reminder_at: ticket.sla_reminder_at === null ? null : new Date(Date.parse(ticket.sla_reminder_at) + stoodMs).toISOString(),
      };
    }
    case 'escalate':
      return { escalation_level: Math.max(ticket.escalation_level, input.level ?? 1), sla_breached_at: ticket.sla_breached_at ?? atIso };
    case 'escalationDecision': {
      if (input.action === 'extend') {
        if (!input.extendHours) throw invalidStep('extending the SLA needs extendHours');
        const due = Date.parse(ticket.sla_due_at) + input.extendHours * hour;
        const hours = (ticket.sla_hours ?? 0) + input.extendHours;
        return {
          sla_hours: hours,
          sla_due_at: new Date(due).toISOString(),
          sla_reminder_at: new Date(due - 0.25 * hours * hour).toISOString(),
          escalation_level: 0,
        };
      }
      if (input.action === 'takeover') {
        // The supervisor who completed the escalation task takes the ticket.
        const by = await tx.maybeOneFirst(sql.type(z.object({ completed_by: z.string().nullable() }))`
          SELECT completed_by FROM human_tasks WHERE workflow_id = ${workflowId} AND node_id IN ('escalation-1', 'escalation-2') AND status = 'completed'
          ORDER BY closed_at DESC, id DESC LIMIT 1`);
        return { assignee: by ?? ticket.assignee, escalation_level: 0 };
      }
      if (input.action === 'reassign') {
        if (!input.assignee) throw invalidStep('reassigning needs an assignee');
        return { assignee: input.assignee, escalation_level: 0 };
      }
      throw invalidStep('an escalation decision needs an action');
    }
    case 'note':
      await tx.query(sql.type(none)`
        INSERT INTO trouble_ticket_notes (ticket_id, author, text, attachment)
        VALUES (${ticket.id}, ${input.noteAuthor ?? input.actor ?? 'system'}, ${input.noteText ?? null}, ${input.attachment ? sql.jsonb(input.attachment as never) : null})`);
      return {};
    case 'resolve':
    case 'alarmCleared': {
      const breached = ticket.sla_breached_at ?? (at > Date.parse(ticket.sla_due_at) ? atIso : null);
      return {
        status: 'resolved',
        resolved_at: atIso,
        root_cause: input.rootCause ?? (input.event === 'alarmCleared' ? 'NETWORK_ALARM_CLEARED' : null),
        resolution: input.resolution ?? (input.event === 'alarmCleared' ? 'The network alarm cleared' : null),
        sla_breached_at: breached,
        sla_paused_at: null,
      };
    }
    case 'reopen': {
      const clock = freshClock(at, ticket.sla_hours ?? 24);
      return {
        status: 'inProgress',
        reopen_count: ticket.reopen_count + 1,
        resolved_at: null,
        sla_due_at: clock.due,
        sla_reminder_at: clock.reminder,
        sla_reminded_at: null,
        escalation_level: 0,
        survey: { satisfied: input.satisfied ?? false, score: input.score ?? null, comment: input.comment ?? null, at: atIso },
      };
    }
    case 'close':
      return {
        status: 'closed',
        closed_at: atIso,
        ...(input.satisfied === undefined || input.satisfied === null ? {} : { survey: { satisfied: input.satisfied, score: input.score ?? null, comment: input.comment ?? null, at: atIso } }),
      };
    case 'merge':
      return { status: 'cancelled', closed_at: atIso, merged_into: input.mergedInto ?? null };
  }
}

const updatable = new Set([
  'status',
  'workflow_id',
  'department',
  'candidate_group',
  'assignee',
  'sla_hours',
  'sla_due_at',
  'sla_reminder_at',
  'sla_paused_at',
  'sla_paused_seconds',
  'sla_reminded_at',
  'sla_breached_at',
  'escalation_level',
  'resolved_at',
  'closed_at',
  'root_cause',
  'resolution',
  'reopen_count',
  'survey',
  'merged_into',
]);

function assignment(column: string, value: unknown) {
  if (!updatable.has(column)) throw new Error(`not a ticket column: ${column}`);
  const target = sql.identifier([column]);
  if (column === 'survey') return sql.fragment`${target} = ${value === null ? null : sql.jsonb(value as never)}`;
  return sql.fragment`${target} = ${value as string | number | null}`;
}

/** Who supervises the handling unit (`level` 1: the nearest unit at or above the ticket's with a supervisor) or the unit above it (2). */
async function supervisorsAbove(db: CommonQueryMethods, orgUnitId: string, level: 1 | 2): Promise<{ orgUnitId: string; usernames: string[] } | null> {
  const units = await db.any(sql.type(z.object({ id: z.string(), usernames: z.array(z.string()) }))`
    SELECT o.id, array_agg(s.username ORDER BY s.username) AS usernames
    FROM org_units t JOIN org_units o ON t.path LIKE o.path || '%'
    JOIN staff s ON s.org_unit_id = o.id AND s.active AND 'supervisor' = ANY (s.roles)
    WHERE t.id = ${orgUnitId}
    GROUP BY o.id, o.path ORDER BY length(o.path) DESC`);
  const unit = units[level - 1];
  return unit ? { orgUnitId: unit.id, usernames: unit.usernames } : null;
}

const compensateInput = z.object({
  step: z.enum(['propose', 'approve', 'reject', 'post']),
  kind: z.enum(['credit', 'serviceExtension', 'replacement']).optional(),
  amountMinor: z.number().int().min(0).max(100_000_000).optional(),
  reason: z.enum(['slaBreach', 'handlerProposal']).optional(),
  decidedBy: text(100).nullish(),
  comment: text(1000).nullish(),
});

const compensationRow = z.object({
  id: z.coerce.number(),
  kind: z.string(),
  amount_minor: z.coerce.number(),
  currency: z.string(),
  status: z.string(),
  billing_adjustment_id: z.coerce.number().nullable(),
});

export function createTicketActivities(deps: ActivityDependencies) {
  const { pool } = deps;

  /** A complaint re-opened twice is a KPI alert (预警): a supervision ticket to the account's manager, once per complaint. */
  async function alertOnSecondReopen(ticketId: string): Promise<void> {
    const ticket = await pool.one(sql.type(z.object({ account_id: z.string(), reopen_count: z.number(), title: z.string() }))`
      SELECT account_id, reopen_count, title FROM trouble_tickets WHERE id = ${ticketId}`);
    if (ticket.reopen_count < 2) return;
    await openKpiAlert(
      { pool, client: Context.current().client, taskQueue: deps.config.KEYFLOW_TASK_QUEUE, now: deps.now() },
      { cause: 'complaint_reopened', accountId: ticket.account_id, period: ticketId, title: `投诉二次重开 ${ticketId}`, figures: { troubleTicketId: ticketId, reopenCount: ticket.reopen_count, title: ticket.title } },
    );
  }
  const notify = once(() => createNotifyClient(endpointFor(deps.config, 'notify'), deps.logger));

  return {
    /** The ticket's account: its tier and the SLA terms of its active contract (null where it has none). */
    'tickets.acknowledge': defineServiceTask('tickets.acknowledge', z.object({ at: instant }), deps, async ({ at }, call) => {
      const ticketId = ticketOf(call.workflowId);
      const facts = await pool.transaction(async (tx) => {
        const ticket = await lockTicket(tx, ticketId, call.workflowId);
        await recordStep(tx, ticket, { event: 'acknowledge', at }, call.workflowId, call.idempotencyKey);
        return tx.one(sql.type(z.object({ tier: z.string(), terms: z.record(z.unknown()).nullable(), currency: z.string(), billingAccountId: z.string().nullable() }))`
          SELECT a.tier, a.currency,
                 (SELECT c.sla_terms FROM contracts c WHERE c.account_id = a.id AND c.status = 'active' AND c.sla_terms IS NOT NULL ORDER BY c.starts_on DESC LIMIT 1) AS terms,
                 coalesce((SELECT s.billing_account_id FROM subscriptions s JOIN trouble_tickets t ON t.subscription_id = s.id WHERE t.id = ${ticket.id}),
                          (SELECT b.id FROM billing_accounts b WHERE b.account_id = a.id ORDER BY b.id LIMIT 1)) AS "billingAccountId"
          FROM key_accounts a WHERE a.id = ${ticket.account_id}`);
      });
      const hours = (facts.terms?.hours ?? {}) as Record<string, unknown>;
      const ticket = await pool.one(sql.type(z.object({ severity: z.string() }))`SELECT severity FROM trouble_tickets WHERE id = ${ticketId}`);
      const contractHours = typeof hours[ticket.severity] === 'number' ? (hours[ticket.severity] as number) : null;
      const breachCredit = typeof facts.terms?.breachCreditMinor === 'number' ? (facts.terms.breachCreditMinor as number) : null;
      return { tier: facts.tier, contractSlaHours: contractHours, contractBreachCreditMinor: breachCredit, currency: facts.currency, ticketStatus: 'acknowledged' };
    }),

    /** One step of the ticket's life: its state, SLA clock, audit row and event (once per step, however often retried). */
    'tickets.record': defineServiceTask('tickets.record', recordInput, deps, async (input, call) => {
      const ticketId = ticketOf(call.workflowId);
      const recorded = await pool.transaction(async (tx) => {
        const ticket = await lockTicket(tx, ticketId, call.workflowId);
        return recordStep(tx, ticket, input, call.workflowId, call.idempotencyKey);
      });
      if (input.event === 'reopen') await alertOnSecondReopen(ticketId);
      return recorded;
    }),

    /**
     * Finds who an escalation goes to (level 1: supervisors of the handling unit; 2: of the unit
     * above) and records the escalation. `escalationAssignee` is the first of them for level 2.
     */
    'tickets.escalate': defineServiceTask('tickets.escalate', z.object({ at: instant, level: z.union([z.literal(1), z.literal(2)]) }), deps, async ({ at, level }, call) => {
      const ticketId = ticketOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const ticket = await lockTicket(tx, ticketId, call.workflowId);
        const target = await supervisorsAbove(tx, ticket.org_unit_id, level);
        const clock = await recordStep(tx, ticket, { event: 'escalate', at, level }, call.workflowId, call.idempotencyKey, { escalatedTo: target });
        return { ...clock, escalationUnit: target?.orgUnitId ?? null, escalationAssignee: level === 2 ? (target?.usernames[0] ?? null) : null };
      });
    }),

    /**
     * The reminder at 75 % of the SLA: an SMS and an inbox notice to whoever holds the work — the
     * assignee, else every active member of the handling group who may see the ticket.
     */
    'tickets.remind': defineServiceTask('tickets.remind', z.object({ at: instant }), deps, async ({ at }, call) => {
      const ticketId = ticketOf(call.workflowId);
      const recipients = await pool.transaction(async (tx) => {
        const ticket = await lockTicket(tx, ticketId, call.workflowId);
        const people = await tx.any(sql.type(z.object({ username: z.string(), mobile: z.string().nullable() }))`
          SELECT s.username, s.mobile FROM staff s JOIN org_units so ON so.id = s.org_unit_id, org_units t
          WHERE t.id = ${ticket.org_unit_id} AND s.active
            AND ${ticket.assignee === null ? sql.fragment`${ticket.candidate_group ?? ''} = ANY (s.roles) AND t.path LIKE so.path || '%'` : sql.fragment`s.username = ${ticket.assignee}`}
          ORDER BY s.username LIMIT 20`);
        const notice = `工单 ${ticket.id} 已用去 75% 的处理时限，请于 ${ticket.sla_due_at} 前处理 / Ticket ${ticket.id} has used 75% of its SLA; resolve by ${ticket.sla_due_at}`;
        for (const person of people) {
          await tx.query(sql.type(none)`
            INSERT INTO staff_notices (username, kind, ticket_id, text, dedupe_key)
            VALUES (${person.username}, 'sla.reminder', ${ticket.id}, ${notice}, ${`${call.idempotencyKey}/${person.username}`})
            ON CONFLICT (dedupe_key) DO NOTHING`);
        }
        await tx.query(sql.type(none)`UPDATE trouble_tickets SET sla_reminded_at = coalesce(sla_reminded_at, ${new Date(Date.parse(at)).toISOString()}) WHERE id = ${ticket.id}`);
        await recordAudit(tx, { actor: 'system:complaint' }, {
          action: 'ticket.remind',
          entityType: 'trouble_ticket',
          entityId: ticket.id,
          orgUnitId: ticket.org_unit_id,
          accountId: ticket.account_id,
          details: { recipients: people.map((person) => person.username) },
        });
        return { people, dueAt: ticket.sla_due_at };
      });
      let sent = 0;
      for (const person of recipients.people) {
        if (!person.mobile) continue;
        const { text: message } = renderTemplate('ticket.slaReminder', 'zh-CN', { ticketId, dueAt: recipients.dueAt });
        await notify().sendSms({ to: person.mobile, text: message }, { idempotencyKey: `${call.idempotencyKey}/${person.username}`, workflowId: call.workflowId, signal: call.signal });
        sent++;
      }
      return { slaReminded: true, remindedUsers: recipients.people.map((person) => person.username), reminderSmsSent: sent };
    }),

    /** Compensation: proposed (by the contract's terms or the handler), approved or rejected, then posted — a credit as a billing adjustment on the next bill. */
    'tickets.compensate': defineServiceTask('tickets.compensate', compensateInput, deps, async (input, call) => {
      const ticketId = ticketOf(call.workflowId);
      return pool.transaction(async (tx) => {
        const ticket = await lockTicket(tx, ticketId, call.workflowId);
        const current = await tx.maybeOne(sql.type(compensationRow)`
          SELECT id, kind, amount_minor, currency, status, billing_adjustment_id FROM trouble_ticket_compensations
          WHERE ticket_id = ${ticket.id} ORDER BY id DESC LIMIT 1`);
        const audit = (action: string, after: unknown) =>
          recordAudit(tx, { actor: input.decidedBy ?? 'system:complaint' }, { action, entityType: 'trouble_ticket', entityId: ticket.id, orgUnitId: ticket.org_unit_id, accountId: ticket.account_id, after });
        if (input.step === 'propose') {
          const currency = await tx.oneFirst(sql.type(z.object({ currency: z.string() }))`SELECT currency FROM key_accounts WHERE id = ${ticket.account_id}`);
          const row = await tx.maybeOne(sql.type(compensationRow)`
            INSERT INTO trouble_ticket_compensations (ticket_id, idempotency_key, kind, amount_minor, currency, reason)
            VALUES (${ticket.id}, ${call.idempotencyKey}, ${input.kind ?? 'credit'}, ${input.amountMinor ?? 0}, ${currency}, ${input.reason ?? 'handlerProposal'})
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id, kind, amount_minor, currency, status, billing_adjustment_id`);
          if (row) await audit('ticket.compensation.propose', { id: row.id, kind: row.kind, amountMinor: row.amount_minor });
          const proposed = row ?? current!;
          return { compensationId: proposed.id, compensationStatus: proposed.status };
        }
        if (!current) throw invalidStep(`ticket ${ticket.id} has no compensation to ${input.step}`);
        if (input.step === 'approve' || input.step === 'reject') {
          if (current.status === 'proposed') {
            const status = input.step === 'approve' ? 'approved' : 'rejected';
            await tx.query(sql.type(none)`UPDATE trouble_ticket_compensations SET status = ${status}, decided_by = ${input.decidedBy ?? null}, updated_at = now() WHERE id = ${current.id}`);
            await audit(`ticket.compensation.${input.step}`, { id: current.id, comment: input.comment ?? null });
            return { compensationStatus: status };
          }
          return { compensationStatus: current.status };
        }
        // post
        if (current.status === 'posted') return { compensationStatus: 'posted', billingAdjustmentId: current.billing_adjustment_id };
        if (current.status !== 'approved' && current.status !== 'proposed') throw invalidStep(`compensation ${current.id} is ${current.status}`);
        let adjustmentId: number | null = null;
        if (current.kind === 'credit' && current.amount_minor > 0) {
          const billingAccountId = await tx.maybeOneFirst(sql.type(z.object({ id: z.string() }))`
            SELECT coalesce((SELECT s.billing_account_id FROM subscriptions s WHERE s.id = t.subscription_id),
                            (SELECT b.id FROM billing_accounts b WHERE b.account_id = t.account_id ORDER BY b.id LIMIT 1)) AS id
            FROM trouble_tickets t WHERE t.id = ${ticket.id}`);
          if (!billingAccountId) throw invalidStep(`account ${ticket.account_id} has no billing account to credit`);
          adjustmentId = await tx.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
            INSERT INTO billing_adjustments (idempotency_key, billing_account_id, org_unit_id, kind, description, amount_minor, currency, trouble_ticket_id, created_by)
            VALUES (${call.idempotencyKey}, ${billingAccountId}, ${ticket.org_unit_id}, 'credit', ${`投诉补偿 Compensation, ticket ${ticket.id}`}, ${current.amount_minor}, ${current.currency}, ${ticket.id}, 'system:complaint')
            ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
            RETURNING id`);
        }
        await tx.query(sql.type(none)`UPDATE trouble_ticket_compensations SET status = 'posted', billing_adjustment_id = ${adjustmentId}, updated_at = now() WHERE id = ${current.id}`);
        await audit('ticket.compensation.post', { id: current.id, billingAdjustmentId: adjustmentId, amountMinor: current.amount_minor });
        return { compensationStatus: 'posted', billingAdjustmentId: adjustmentId };
      });
    }),
  };
}

/** The ticket of a complaint instance: its business key (`complaint:<ticket id>`). */
function ticketOf(workflowId: string): string {
  return workflowId.slice(workflowId.indexOf(':') + 1);
}

async function recordStep(
  tx: CommonQueryMethods,
  ticket: TicketRow,
  input: RecordInput,
  workflowId: string,
  idempotencyKey: string,
  details: Record<string, unknown> = {},
): Promise<TicketClock> {
  const done = await tx.maybeOne(sql.type(resultRow)`SELECT result FROM trouble_ticket_events WHERE idempotency_key = ${idempotencyKey}`);
  if (done) return done.result as TicketClock;
  const changes = await applyEvent(tx, ticket, input, workflowId);
  const entries = Object.entries(changes);
  const after = entries.length
    ? await tx.one(sql.type(ticketRow)`
        UPDATE trouble_tickets SET ${sql.join(entries.map(([column, value]) => assignment(column, value)), sql.fragment`, `)}, version = version + 1, updated_at = now()
        WHERE id = ${ticket.id}
        RETURNING id, account_id, org_unit_id, status, severity, assignee, department, candidate_group, sla_hours, sla_due_at, sla_reminder_at,
                  sla_paused_at, sla_paused_seconds, sla_reminded_at, sla_breached_at, escalation_level, reopen_count, workflow_id`)
    : ticket;
  const clock = clockOf(after, Date.parse(input.at));
  const actor = input.actor ?? 'system:complaint';
  const { event, at, ...rest } = input;
  await tx.query(sql.type(none)`
    INSERT INTO trouble_ticket_events (ticket_id, idempotency_key, event, status_before, status_after, actor, details, result, at)
    VALUES (${ticket.id}, ${idempotencyKey}, ${event}, ${ticket.status}, ${after.status}, ${actor}, ${sql.jsonb({ ...rest, ...details } as never)}, ${sql.jsonb(clock as never)}, ${new Date(Date.parse(at)).toISOString()})`);
  await recordAudit(tx, { actor }, {
    action: `ticket.${event}`,
    entityType: 'trouble_ticket',
    entityId: ticket.id,
    orgUnitId: ticket.org_unit_id,
    accountId: ticket.account_id,
    before: { status: ticket.status, slaDueAt: ticket.sla_due_at, assignee: ticket.assignee, department: ticket.department },
    after: { status: after.status, slaDueAt: after.sla_due_at, assignee: after.assignee, department: after.department, slaPausedSeconds: after.sla_paused_seconds },
    details: { workflowId, ...rest, ...details },
  });
  // The ticket's month in the rollups (complaints, SLA compliance), in the step's transaction.
  await refreshTicketRollups(tx, ticket.id);
  return clock;
}

export type TicketActivities = ReturnType<typeof createTicketActivities>;
