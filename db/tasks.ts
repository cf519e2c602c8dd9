import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import { decodeCursor, toPage, type Page } from './crm/common';
import { DataError, notFound, staleVersion } from './errors';
import { orgScope, type OrgScoped } from './scope';

export const humanTask = z.object({
  id: z.string(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  processKey: z.string(),
  processVersion: z.number().int(),
  businessKey: z.string(),
  nodeId: z.string(),
  name: z.string(),
  candidateGroups: z.array(z.string()),
  candidateUsers: z.array(z.string()),
  assignee: z.string().nullable(),
  orgUnitId: z.string().nullable(),
  customerId: z.string().nullable(),
  priority: z.number().int(),
  dueAt: z.string().nullable(),
  formKey: z.string().nullable(),
  formSchema: z.unknown().nullable(),
  context: z.record(z.unknown()),
  status: z.enum(['open', 'completed', 'cancelled']),
  outcome: z.unknown().nullable(),
  completedBy: z.string().nullable(),
  createdAt: z.string(),
  claimedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  version: z.number().int(),
});
export type HumanTask = z.infer<typeof humanTask>;

const columns = sql.fragment`
  t.id, t.workflow_id AS "workflowId", t.run_id AS "runId", t.process_key AS "processKey", t.process_version AS "processVersion",
  t.business_key AS "businessKey", t.node_id AS "nodeId", t.name, t.candidate_groups AS "candidateGroups",
  t.candidate_users AS "candidateUsers", t.assignee, t.org_unit_id AS "orgUnitId", t.customer_id AS "customerId", t.priority,
  t.due_at AS "dueAt", t.form_key AS "formKey", t.form_schema AS "formSchema", t.context, t.status, t.outcome,
  t.completed_by AS "completedBy", t.created_at AS "createdAt", t.claimed_at AS "claimedAt", t.closed_at AS "closedAt", t.version`;

/** The caller as the inbox sees them: username, roles (= the groups they belong to) and scope. */
export interface TaskCaller extends OrgScoped {
  username: string;
  roles: readonly string[];
}

/**
 * A candidate for a task: one of its candidate groups is a role of theirs and the task's unit lies
 * in their subtree (a task without a unit is not tied to a place: open to its groups anywhere), or
 * the process named them as a candidate user, wherever they sit.
 */
function candidateOf(caller: TaskCaller) {
  return sql.fragment`(
    (t.candidate_groups && ${sql.array([...caller.roles], 'text')}
      AND (t.org_unit_id IS NULL OR ${orgScope(caller, sql.identifier(['t', 'org_unit_id']))}))
    OR ${caller.username} = ANY (t.candidate_users))`;
}

/** Who may see a task: its assignee and its candidates. */
function visibleTo(caller: TaskCaller) {
  return sql.fragment`(t.assignee = ${caller.username} OR ${candidateOf(caller)})`;
}

const cursorKey = z.tuple([z.string().datetime(), z.string().max(1000)]);
/** Urgency order's key: due (null: 'infinity', due never), 100 − priority, id — all ascending. */
const urgencyKey = z.tuple([z.union([z.string().datetime({ offset: true }), z.literal('infinity')]), z.number().int().min(0).max(100), z.string().max(1000)]);

/**
 * The tasks a supervisor oversees: those of units in their subtree. A task without a unit is not
 * tied to a place, so it belongs to no one's team.
 */
function supervisedBy(caller: OrgScoped) {
  return sql.fragment`(t.org_unit_id IS NOT NULL AND ${orgScope(caller, sql.identifier(['t', 'org_unit_id']))})`;
}

/**
 * The due time as the urgency order compares it: to the millisecond, as the cursor carries it (a
 * JavaScript date has no microseconds, so comparing the stored value would repeat a page's last row).
 */
const urgencyDue = sql.fragment`date_trunc('milliseconds', coalesce(t.due_at, 'infinity'::timestamptz))`;
/** The creation time as the queue order compares it: to the millisecond, like the due time above. */
const createdMs = sql.fragment`date_trunc('milliseconds', t.created_at)`;

export type TaskView = 'mine' | 'group' | 'team';
/** `created`: oldest first (a queue). `urgency`: the SLA's order — soonest due first (none last), then higher priority. */
export type TaskOrder = 'created' | 'urgency';

export interface TaskFilter {
  view: TaskView;
  processKey?: string;
  customerId?: string;
  assignee?: string;
  /** Only tasks due before this instant (overdue: now). */
  dueBefore?: string;
  /** Only tasks of at least this priority. */
  minPriority?: number;
  order?: TaskOrder;
  limit: number;
  cursor?: string;
}

function viewConditions(caller: TaskCaller, filter: Omit<TaskFilter, 'limit' | 'cursor' | 'order'>) {
  const conditions = [sql.fragment`t.status = 'open'`];
  if (filter.view === 'mine') conditions.push(sql.fragment`t.assignee = ${caller.username}`);
  else if (filter.view === 'group') conditions.push(sql.fragment`t.assignee IS NULL AND ${candidateOf(caller)}`);
  else conditions.push(supervisedBy(caller));
  if (filter.assignee) conditions.push(sql.fragment`t.assignee = ${filter.assignee}`);
  if (filter.processKey) conditions.push(sql.fragment`t.process_key = ${filter.processKey}`);
  if (filter.customerId) conditions.push(sql.fragment`t.customer_id = ${filter.customerId}`);
  if (filter.dueBefore) conditions.push(sql.fragment`t.due_at < ${filter.dueBefore}::timestamptz`);
  if (filter.minPriority !== undefined) conditions.push(sql.fragment`t.priority >= ${filter.minPriority}`);
  return conditions;
}

/**
 * `mine`: open tasks assigned to the caller. `group`: open, unclaimed tasks the caller is a
 * candidate for. `team`: every open task of the caller's subtree, claimed or not (for a
 * supervisor handing out work). Oldest first (a queue) or by urgency, keyset-paginated; null for a
 * foreign cursor.
 */
export async function listTasks(db: CommonQueryMethods, caller: TaskCaller, filter: TaskFilter): Promise<Page<HumanTask> | null> {
  const conditions = viewConditions(caller, filter);
  const urgency = filter.order === 'urgency';
  if (filter.cursor !== undefined) {
    if (urgency) {
      const after = decodeCursor(filter.cursor, urgencyKey);
      if (!after) return null;
      conditions.push(sql.fragment`(${urgencyDue}, 100 - t.priority, t.id) > (${after[0]}::timestamptz, ${after[1]}, ${after[2]})`);
    } else {
      const after = decodeCursor(filter.cursor, cursorKey);
      if (!after) return null;
      conditions.push(sql.fragment`(${createdMs}, t.id) > (${after[0]}::timestamptz, ${after[1]})`);
    }
  }
  const order = urgency ? sql.fragment`${urgencyDue}, 100 - t.priority, t.id` : sql.fragment`${createdMs}, t.id`;
  const rows = await db.any(sql.type(humanTask)`
    SELECT ${columns} FROM human_tasks t WHERE ${sql.join(conditions, sql.fragment` AND `)}
    ORDER BY ${order} LIMIT ${filter.limit + 1}`);
  return toPage(rows, filter.limit, (row) => (urgency ? [row.dueAt ?? 'infinity', 100 - row.priority, row.id] : [row.createdAt, row.id]));
}

export const taskCounts = z.object({
  mine: z.number().int(),
  group: z.number().int(),
  team: z.number().int().nullable().describe('null unless the caller oversees a team'),
  overdue: z.number().int().describe('of mine and my groups\' tasks, those past their due time'),
});
export type TaskCounts = z.infer<typeof taskCounts>;

/** How many open tasks wait in each view (the navigation's badge); `team` only for those who oversee one. */
export async function countTasks(db: CommonQueryMethods, caller: TaskCaller, withTeam: boolean): Promise<TaskCounts> {
  return db.one(sql.type(taskCounts)`
    SELECT
      count(*) FILTER (WHERE t.assignee = ${caller.username})::int AS mine,
      count(*) FILTER (WHERE t.assignee IS NULL AND ${candidateOf(caller)})::int AS "group",
      ${withTeam ? sql.fragment`(SELECT count(*)::int FROM human_tasks t WHERE t.status = 'open' AND ${supervisedBy(caller)})` : sql.fragment`NULL::int`} AS team,
      count(*) FILTER (WHERE t.due_at < now() AND (t.assignee = ${caller.username} OR (t.assignee IS NULL AND ${candidateOf(caller)})))::int AS overdue
    FROM human_tasks t
    WHERE t.status = 'open' AND (t.assignee = ${caller.username} OR ${candidateOf(caller)})`);
}

/** A task the caller may see, or null (missing, or not theirs to see: the same answer). */
export async function getTask(db: CommonQueryMethods, caller: TaskCaller, id: string, lock = false): Promise<HumanTask | null> {
  return db.maybeOne(sql.type(humanTask)`
    SELECT ${columns} FROM human_tasks t WHERE t.id = ${id} AND ${visibleTo(caller)} ${lock ? sql.fragment`FOR UPDATE` : sql.fragment``}`);
}

/** A task of the supervisor's subtree (their team view), or null. */
export async function getSupervisedTask(db: CommonQueryMethods, supervisor: OrgScoped, id: string): Promise<HumanTask | null> {
  return db.maybeOne(sql.type(humanTask)`SELECT ${columns} FROM human_tasks t WHERE t.id = ${id} AND ${supervisedBy(supervisor)}`);
}

/** Whether the caller may act on the task now: an open task that is theirs or unclaimed. */
export function completableBy(task: HumanTask, caller: TaskCaller): DataError | null {
  if (task.status !== 'open') return new DataError('CONFLICT', `task ${task.id} is already ${task.status}`, { reason: 'TASK_CLOSED', status: task.status });
  if (task.assignee !== null && task.assignee !== caller.username) {
    return new DataError('CONFLICT', `task ${task.id} is claimed by ${task.assignee}`, { reason: 'TASK_CLAIMED', assignee: task.assignee });
  }
  return null;
}

/**
 * Staff `s` (joined with their unit as `so`) may work on task `t`: active, and a member of one of
 * its groups whose unit lies on the task's unit's path, or a user the process named.
 */
const mayWorkOn = sql.fragment`(s.active AND ((s.roles && t.candidate_groups AND (t.org_unit_id IS NULL OR (SELECT path FROM org_units WHERE id = t.org_unit_id) LIKE so.path || '%'))
  OR s.username = ANY (t.candidate_users)))`;

export const taskCandidate = z.object({ username: z.string(), displayName: z.string(), orgUnitId: z.string(), orgUnitName: z.string(), roles: z.array(z.string()) });
export type TaskCandidate = z.infer<typeof taskCandidate>;

/**
 * Who a task may be handed to: staff who may work on it, within `scope` (a supervisor's subtree),
 * the one who holds it excepted; by unit, then name. At most 200.
 */
export async function listTaskCandidates(db: CommonQueryMethods, scope: OrgScoped, task: HumanTask): Promise<readonly TaskCandidate[]> {
  return db.any(sql.type(taskCandidate)`
    SELECT s.username, s.display_name AS "displayName", s.org_unit_id AS "orgUnitId", so.name AS "orgUnitName", s.roles
    FROM staff s JOIN org_units so ON so.id = s.org_unit_id, human_tasks t
    WHERE t.id = ${task.id} AND so.path LIKE ${`${scope.orgPath}%`} AND ${mayWorkOn} AND s.username IS DISTINCT FROM t.assignee
    ORDER BY so.path, s.display_name LIMIT 200`);
}

/**
 * The one who holds a task hands it to a colleague who may work on it (see `listTaskCandidates`;
 * anywhere the task is visible from). `version` is the task's version they saw.
 * @throws DataError NOT_FOUND, STALE_VERSION, CONFLICT (closed, or not held by the caller), INVALID_REFERENCE (not a candidate)
 */
export async function handOnTask(db: CommonQueryMethods, who: Actor, caller: TaskCaller, id: string, change: { assignee: string; version: number }): Promise<HumanTask> {
  return db.transaction(async (tx) => {
    const task = await getTask(tx, caller, id, true);
    if (!task) throw notFound('task', id);
    if (task.version !== change.version) throw staleVersion('task', id, change.version, task.version);
    if (task.status !== 'open') throw new DataError('CONFLICT', `task ${id} is already ${task.status}`, { reason: 'TASK_CLOSED', status: task.status });
    if (task.assignee !== caller.username) throw new DataError('CONFLICT', `task ${id} is not yours to hand on; claim it first`, { reason: 'NOT_CLAIMED_BY_YOU' });
    const candidate = await tx.exists(sql.type(z.object({}))`
      SELECT FROM staff s JOIN org_units so ON so.id = s.org_unit_id, human_tasks t
      WHERE s.username = ${change.assignee} AND s.username <> ${caller.username} AND t.id = ${id} AND ${mayWorkOn}`);
    if (!candidate) {
      throw new DataError('INVALID_REFERENCE', `${change.assignee} is not active staff who may work on task ${id}`, { field: 'assignee', reason: 'NOT_A_CANDIDATE' });
    }
    return setAssignee(tx, who, task, change.assignee, 'task.handOn');
  });
}

export const taskStep = z.object({
  taskId: z.string(),
  nodeId: z.string(),
  name: z.string(),
  status: z.enum(['open', 'completed', 'cancelled']),
  completedBy: z.string().nullable(),
  outcome: z.unknown().nullable(),
  createdAt: z.string(),
  closedAt: z.string().nullable(),
  /** Claims, hand-outs and completions of this step, oldest first. */
  events: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), assignee: z.string().nullable() })),
});
export type TaskStep = z.infer<typeof taskStep>;

/**
 * The human steps of the task's process instance before and beside it (who did what, when, with
 * which outcome), oldest first, with each step's claims and hand-outs from the audit trail.
 */
export async function listTaskHistory(db: CommonQueryMethods, task: HumanTask): Promise<readonly TaskStep[]> {
  return db.any(sql.type(taskStep)`
    SELECT t.id AS "taskId", t.node_id AS "nodeId", t.name, t.status, t.completed_by AS "completedBy", t.outcome,
           t.created_at AS "createdAt", t.closed_at AS "closedAt",
           coalesce((SELECT json_agg(json_build_object('at', a.at, 'actor', a.actor, 'action', a.action, 'assignee', a.after->>'assignee') ORDER BY a.id)
                     FROM audit_log a WHERE a.entity_type = 'human_task' AND a.entity_id = t.id), '[]'::json) AS events
    FROM human_tasks t
    WHERE t.workflow_id = ${task.workflowId} AND t.id <> ${task.id}
    ORDER BY t.created_at, t.id LIMIT 200`);
}

/** Gives a locked task to `assignee` (null: back to its groups), bumping its version, with the audit row. */
async function setAssignee(tx: CommonQueryMethods, who: Actor, task: HumanTask, assignee: string | null, action: 'task.claim' | 'task.unclaim' | 'task.assign' | 'task.handOn'): Promise<HumanTask> {
  const after = await tx.one(sql.type(humanTask)`
    UPDATE human_tasks t SET assignee = ${assignee}, claimed_at = ${assignee === null ? null : sql.fragment`now()`}, version = version + 1
    WHERE t.id = ${task.id} RETURNING ${columns}`);
  await recordAudit(tx, who, {
    action,
    entityType: 'human_task',
    entityId: task.id,
    orgUnitId: task.orgUnitId,
    accountId: task.customerId,
    before: { assignee: task.assignee },
    after: { assignee: after.assignee },
  });
  return after;
}

/**
 * Claims an open, unclaimed task for the caller. Claiming one's own task again changes nothing.
 * @throws DataError NOT_FOUND (missing or not visible), CONFLICT (closed, or claimed by someone else)
 */
export async function claimTask(db: CommonQueryMethods, who: Actor, caller: TaskCaller, id: string): Promise<HumanTask> {
  return db.transaction(async (tx) => {
    const task = await getTask(tx, caller, id, true);
    if (!task) throw notFound('task', id);
    const refusal = completableBy(task, caller);
    if (refusal) throw refusal;
    if (task.assignee === caller.username) return task;
    return setAssignee(tx, who, task, caller.username, 'task.claim');
  });
}

/**
 * Gives a claimed task back to its group.
 * @throws DataError NOT_FOUND, CONFLICT (closed, or not claimed by the caller)
 */
export async function unclaimTask(db: CommonQueryMethods, who: Actor, caller: TaskCaller, id: string): Promise<HumanTask> {
  return db.transaction(async (tx) => {
    const task = await getTask(tx, caller, id, true);
    if (!task) throw notFound('task', id);
    if (task.status !== 'open') throw new DataError('CONFLICT', `task ${id} is already ${task.status}`, { reason: 'TASK_CLOSED' });
    if (task.assignee !== caller.username) {
      throw new DataError('CONFLICT', task.assignee ? `task ${id} is claimed by ${task.assignee}, not you` : `task ${id} is not claimed`, {
        reason: 'NOT_CLAIMED_BY_YOU',
      });
    }
    return setAssignee(tx, who, task, null, 'task.unclaim');
  });
}

/**
 * A supervisor hands an open task of their subtree to someone, or back to its groups (`assignee`
 * null), whoever holds it now. The new assignee must be active staff of the supervisor's subtree
 * and a candidate for the task (one of its groups within their own subtree, or named by the
 * process), so they can see and complete it. `version` is the task's version the supervisor saw.
 * @throws DataError NOT_FOUND (missing or outside the subtree), STALE_VERSION, CONFLICT (closed),
 *   INVALID_REFERENCE (the assignee is not active staff here, or not a candidate)
 */
export async function assignTask(
  db: CommonQueryMethods,
  who: Actor,
  supervisor: OrgScoped,
  id: string,
  change: { assignee: string | null; version: number },
): Promise<HumanTask> {
  return db.transaction(async (tx) => {
    const task = await tx.maybeOne(sql.type(humanTask)`SELECT ${columns} FROM human_tasks t WHERE t.id = ${id} AND ${supervisedBy(supervisor)} FOR UPDATE`);
    if (!task) throw notFound('task', id);
    if (task.version !== change.version) throw staleVersion('task', id, change.version, task.version);
    if (task.status !== 'open') throw new DataError('CONFLICT', `task ${id} is already ${task.status}`, { reason: 'TASK_CLOSED', status: task.status });
    if (change.assignee !== null) {
      const candidate = await tx.exists(sql.type(z.object({}))`
        SELECT FROM staff s JOIN org_units so ON so.id = s.org_unit_id, human_tasks t
        WHERE s.username = ${change.assignee} AND so.path LIKE ${`${supervisor.orgPath}%`} AND t.id = ${id} AND ${mayWorkOn}`);
      if (!candidate) {
        throw new DataError('INVALID_REFERENCE', `${change.assignee} is not active staff of your units who may work on task ${id}`, {
          field: 'assignee',
          reason: 'NOT_A_CANDIDATE',
        });
      }
    }
    if (task.assignee === change.assignee) return task;
    return setAssignee(tx, who, task, change.assignee, 'task.assign');
  });
}
