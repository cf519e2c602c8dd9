import { ScheduleNotFoundError, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { CommonQueryMethods } from 'slonik';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput } from '../../workflows/contracts';
import { billingProcessKeys, latestModel } from './processes';

export const billingScheduleId = 'billing-cycle-monthly';

/**
 * The monthly bill run as a Temporal Schedule: on the 1st at 02:00 in the operator's zone it starts
 * the latest deployed billing-cycle model with no period, so the run bills the month just ended
 * (billing.openRun). A BPMN timer cycle cannot say "the 1st of every month" (it counts a month as
 * 30 days), hence a calendar schedule of our own. Created or moved to the latest model at start.
 * @returns 'created' or 'updated'
 */
export async function syncBillingSchedule(
  client: Client,
  pool: CommonQueryMethods,
  taskQueue: string,
  options: { scheduleId?: string; timeZone?: string; hour?: number } = {},
): Promise<'created' | 'updated'> {
  const scheduleId = options.scheduleId ?? billingScheduleId;
  const definition = await latestModel(pool, billingProcessKeys.cycle);
  const businessKey = 'scheduled';
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: bpmnProcessWorkflowType,
    // Temporal appends the fire time to the id: one instance per month.
    workflowId: processInstanceId(definition.key, businessKey),
    taskQueue,
    args: [{ definition, businessKey, variables: { cycleDay: 1, requestedBy: `schedule ${scheduleId}` }, startedBy: `schedule ${scheduleId}` } satisfies BpmnProcessInput],
  };
  const spec = { calendars: [{ dayOfMonth: 1, hour: options.hour ?? 2, minute: 0 }], timezone: options.timeZone ?? 'Asia/Shanghai' };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.describe();
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: 'SKIP', catchupWindow: '1 day' }, state: { note: `monthly bill run, ${definition.key} v${definition.version}` } });
    return 'created';
  }
  await handle.update((previous) => ({ ...previous, spec, action, state: { ...previous.state, note: `monthly bill run, ${definition.key} v${definition.version}` } }));
  return 'updated';
}
