import { ScheduleNotFoundError, type Client, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput } from '../../workflows/contracts';
import type { ProcessModel, StartEvent } from '../../workflows/model';
import { timerSchedule } from '../../workflows/timers';
import { instanceSearchAttributes } from './instances';

/**
 * Timer start events become Temporal Schedules: one per process key (`kf-start:<key>`), starting
 * `bpmnProcess` with the latest deployed model. Deploying a new version moves the schedule to it;
 * a version without a timer start removes it. Instances it starts have the business key
 * `scheduled`; Temporal appends the fire time to the workflow id, so each run's id is unique
 * (`<key>:scheduled-2026-01-31T09:00:00Z`).
 */

export const scheduledBusinessKey = 'scheduled';

export function startScheduleId(processKey: string): string {
  return `kf-start:${processKey}`;
}

/** The process-level timer start event, if the model has one. */
export function timerStartEvent(model: ProcessModel): StartEvent | undefined {
  return Object.values(model.nodes).find((node): node is StartEvent => node.type === 'startEvent' && !node.parentId && node.event.kind === 'timer');
}

/**
 * Creates, moves or removes the start schedule of a process to match `model` (the latest version).
 * @returns what it did, for the deploy answer and the log
 */
export async function syncStartSchedule(client: Client, taskQueue: string, model: ProcessModel, now: Date = new Date()): Promise<'created' | 'updated' | 'removed' | 'none'> {
  const scheduleId = startScheduleId(model.key);
  const handle = client.schedule.getHandle(scheduleId);
  const start = timerStartEvent(model);
  const exists = await handle.describe().then(
    () => true,
    (error: unknown) => {
      if (error instanceof ScheduleNotFoundError) return false;
      throw error;
    },
  );
  if (!start || start.event.kind !== 'timer') {
    if (!exists) return 'none';
    await handle.delete();
    return 'removed';
  }
  const { spec, remainingActions } = scheduleSpec(start, now);
  const input: BpmnProcessInput = { definition: model, businessKey: scheduledBusinessKey, variables: {}, startedBy: `schedule ${scheduleId}` };
  const searchAttributes: SearchAttributePair[] = [
    { key: instanceSearchAttributes.processKey, value: model.key },
    { key: instanceSearchAttributes.businessKey, value: scheduledBusinessKey },
    { key: instanceSearchAttributes.processVersion, value: model.version },
    { key: instanceSearchAttributes.incident, value: false },
  ];
  const action = {
    type: 'startWorkflow' as const,
    workflowType: bpmnProcessWorkflowType,
    workflowId: processInstanceId(model.key, scheduledBusinessKey),
    taskQueue,
    args: [input],
    typedSearchAttributes: searchAttributes,
  };
  const state = { note: `timer start ${start.id} of ${model.key} v${model.version}`, ...(remainingActions !== undefined ? { remainingActions } : {}) };
  if (!exists) {
    const options: ScheduleOptions = {
      scheduleId,
      spec,
      action,
      // A timer start that was missed while the service was down is not made up for later.
      policies: { overlap: 'ALLOW_ALL', catchupWindow: '1 minute' },
      state,
    };
    await client.schedule.create(options);
    return 'created';
  }
  await handle.update((previous) => ({ ...previous, spec, action, state: { ...previous.state, ...state } }));
  return 'updated';
}

/** The timer of the start event as a schedule spec: a cycle as an interval, a duration or date as one fire time. */
function scheduleSpec(start: StartEvent, now: Date): { spec: ScheduleSpec; remainingActions?: number } {
  if (start.event.kind !== 'timer') throw new Error('not a timer start event');
  const timer = timerSchedule(start.event.timer, {}, now.getTime());
  const firstAt = now.getTime() + timer.firstDelayMs;
  if (timer.intervalMs > 0) {
    return {
      // Temporal's intervals count from the epoch: the offset puts a fire time exactly at `firstAt`.
      spec: { intervals: [{ every: timer.intervalMs, offset: firstAt % timer.intervalMs }], startAt: new Date(firstAt) },
      ...(Number.isFinite(timer.repetitions) ? { remainingActions: timer.repetitions } : {}),
    };
  }
  const at = new Date(Math.ceil(firstAt / 1000) * 1000);
  return {
    spec: {
      calendars: [
        {
          year: at.getUTCFullYear(),
          month: monthNames[at.getUTCMonth()]!,
          dayOfMonth: at.getUTCDate(),
          hour: at.getUTCHours(),
          minute: at.getUTCMinutes(),
          second: at.getUTCSeconds(),
        },
      ],
    },
    remainingActions: 1,
  };
}

const monthNames = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;
