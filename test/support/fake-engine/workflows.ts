/**
 * A stand-in for the engine's user-task wait, for testing the inbox API before (and beside) the real
 * interpreter: it answers the `completeTask` update exactly as the contract says the engine does.
 */
import { ApplicationFailure, condition, defineUpdate, setHandler } from '@temporalio/workflow';
import { completeTaskUpdateName, updateRejections, type CompleteTaskInput } from '../../../workflows/contracts';

export const completeTaskUpdate = defineUpdate<{ accepted: true }, [CompleteTaskInput]>(completeTaskUpdateName);

/** Waits for each of `taskIds` to be completed with `{ approved: boolean }`; returns the completions. */
export async function fakeUserTasks(taskIds: string[]): Promise<Record<string, CompleteTaskInput>> {
  const completed: Record<string, CompleteTaskInput> = {};
  setHandler(
    completeTaskUpdate,
    (input) => {
      completed[input.taskId] = input;
      return { accepted: true };
    },
    {
      validator: (input) => {
        if (!taskIds.includes(input.taskId)) {
          throw ApplicationFailure.create({ type: updateRejections.taskNotFound, message: `no open task ${input.taskId}`, nonRetryable: true });
        }
        if (completed[input.taskId]) {
          throw ApplicationFailure.create({ type: updateRejections.taskAlreadyCompleted, message: `task ${input.taskId} is already completed`, nonRetryable: true });
        }
        if (typeof input.variables.approved !== 'boolean') {
          throw ApplicationFailure.create({
            type: updateRejections.taskFormInvalid,
            message: 'the form is not filled in correctly',
            details: [[{ field: 'approved', message: 'choose yes or no' }]],
            nonRetryable: true,
          });
        }
      },
    },
  );
  await condition(() => taskIds.every((id) => completed[id] !== undefined));
  return completed;
}
