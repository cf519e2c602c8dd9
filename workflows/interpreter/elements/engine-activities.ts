import { ActivityCancellationType, scheduleActivity, type ActivityOptions } from '@temporalio/workflow';
import { engineActivityNames, type CloseUserTaskInput } from '../../contracts';

/** The engine's own activities: short, idempotent, retried until they succeed. */
export const engineActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['DefinitionNotFound', 'DecisionNotFound'] },
};

/** Opening a task is never abandoned half-way: a cancelled open still finishes, so the close that follows finds its row. */
export const openTaskActivityOptions: ActivityOptions = { ...engineActivityOptions, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };

export async function closeTask(input: CloseUserTaskInput): Promise<void> {
  await scheduleActivity(engineActivityNames.closeUserTask, [input], engineActivityOptions);
}
