import { api } from '../../api/client';
import type { FormField } from '../../../../workflows/model';

/** An inbox row as the API answers it (db/tasks.ts `humanTask`). */
export interface HumanTask {
  id: string;
  workflowId: string;
  processKey: string;
  processVersion: number;
  businessKey: string;
  nodeId: string;
  name: string;
  candidateGroups: string[];
  candidateUsers: string[];
  assignee: string | null;
  orgUnitId: string | null;
  customerId: string | null;
  priority: number;
  dueAt: string | null;
  formKey: string | null;
  formSchema: FormField[] | null;
  context: Record<string, unknown>;
  status: 'open' | 'completed' | 'cancelled';
  completedBy: string | null;
  createdAt: string;
  claimedAt: string | null;
  closedAt: string | null;
  version: number;
}

/** `inbox`: mine and my groups' together (the default); `team`: a supervisor's subtree. */
export type TaskView = 'inbox' | 'mine' | 'group' | 'team';

export interface TaskFilters {
  processKey?: string;
  customerId?: string;
  /** overdue: due before now; today: before the end of today. */
  due?: '' | 'overdue' | 'today';
  minPriority?: number;
}

export interface TaskCounts {
  mine: number;
  group: number;
  team: number | null;
  overdue: number;
}

export interface TaskStep {
  taskId: string;
  nodeId: string;
  name: string;
  status: 'open' | 'completed' | 'cancelled';
  completedBy: string | null;
  outcome: unknown;
  createdAt: string;
  closedAt: string | null;
  events: { at: string; actor: string; action: string; assignee: string | null }[];
}

export interface TaskCandidate {
  username: string;
  displayName: string;
  orgUnitId: string;
  orgUnitName: string;
  roles: string[];
}

/** How many open tasks one list shows at most (pages of 200 read in turn). */
export const listCeiling = 5_000;

function dueBefore(due: TaskFilters['due']): string | undefined {
  if (due === 'overdue') return new Date().toISOString();
  if (due === 'today') {
    const end = new Date();
    end.setHours(24, 0, 0, 0);
    return end.toISOString();
  }
  return undefined;
}

/** The API's urgency order: soonest due first (none last), then higher priority, then id. */
export function byUrgency(a: HumanTask, b: HumanTask): number {
  const due = (task: HumanTask) => (task.dueAt ? Date.parse(task.dueAt) : Number.POSITIVE_INFINITY);
  return due(a) - due(b) || b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Every open task of a view, most urgent first, read page by page. */
export async function fetchTaskList(view: TaskView, filters: TaskFilters, signal?: AbortSignal): Promise<HumanTask[]> {
  if (view === 'inbox') {
    const [mine, group] = await Promise.all([fetchTaskList('mine', filters, signal), fetchTaskList('group', filters, signal)]);
    return [...mine, ...group].sort(byUrgency);
  }
  const items: HumanTask[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<{ items: HumanTask[]; nextCursor: string | null }>(`/api/tasks/${view}`, {
      query: {
        order: 'urgency',
        limit: 200,
        cursor,
        processKey: filters.processKey || undefined,
        customerId: filters.customerId || undefined,
        dueBefore: dueBefore(filters.due),
        minPriority: filters.minPriority,
      },
      signal,
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < listCeiling);
  return items;
}

export const taskPath = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;

export const claimTask = (task: HumanTask) => api<HumanTask>(`${taskPath(task.id)}/claim`, { method: 'POST' });
export const unclaimTask = (task: HumanTask) => api<HumanTask>(`${taskPath(task.id)}/unclaim`, { method: 'POST' });
export const handOnTask = (task: HumanTask, assignee: string) => api<HumanTask>(`${taskPath(task.id)}/hand-on`, { method: 'POST', body: { assignee, version: task.version } });
export const assignTask = (task: HumanTask, assignee: string | null) => api<HumanTask>(`${taskPath(task.id)}/assign`, { method: 'POST', body: { assignee, version: task.version } });
export const completeTask = (task: HumanTask, variables: Record<string, unknown>) =>
  api<{ taskId: string; completedBy: string }>(`${taskPath(task.id)}/complete`, { method: 'POST', body: { variables } });
