// User tasks: a row in the task list (opened and closed by idempotent activities), completed by
// the `completeTask` update; what the person entered maps back through the outputs.
import { CancellationScope, condition, isCancellation, scheduleActivity } from '@temporalio/workflow';
import { engineActivityNames, humanTaskId, type OpenTask, type OpenUserTaskInput } from '../../contracts';
import type { ResumedToken } from '../../engine-state';
import { evaluateValue } from '../../expression';
import type { UserTask } from '../../model';
import { applyMappings } from '../../variables';
import type { Engine } from '../engine';
import type { Execution, OpenTaskEntry, Token } from '../types';
import { dueInstant, optionalString, toStringList } from '../values';
import { closeTask, openTaskActivityOptions } from './engine-activities';
import { activityProcessor } from './processor';

export const userTask = activityProcessor<UserTask>(async (engine, token, node, execution) => runUserTask(engine, token, node, execution));

async function runUserTask(engine: Engine, token: Token, node: UserTask, execution: Execution): Promise<void> {
  const { state, variables, tokens } = engine;
  let task: OpenTask;
  // A multi-instance iteration resumes (and is carried) on its own; otherwise the token does.
  const carrier = execution.iteration ?? token;
  const resumed = carrier.resume?.kind === 'userTask' ? carrier.resume : undefined;
  if (resumed) {
    carrier.resume = undefined;
    task = resumed.task;
  } else {
    const context = variables.context(execution.locals);
    const taskId = humanTaskId(state.workflowId, node.id, execution.execution);
    const candidateGroups = node.candidateGroups === undefined ? [] : toStringList(evaluateValue(node.candidateGroups, context));
    const assignee = node.assignee === undefined ? undefined : optionalString(evaluateValue(node.assignee, context));
    const dueAt = node.dueDate === undefined ? undefined : dueInstant(evaluateValue(node.dueDate, context));
    task = {
      taskId,
      nodeId: node.id,
      name: node.name ?? node.id,
      candidateGroups,
      ...(assignee ? { assignee } : {}),
      ...(dueAt ? { dueAt } : {}),
      ...(node.formKey ? { formKey: node.formKey } : {}),
    };
    const taskContext = node.inputs?.length ? applyMappings(node.inputs, context) : {};
    const open: OpenUserTaskInput = {
      taskId,
      workflowId: state.workflowId,
      runId: state.runId,
      processKey: state.model.key,
      processVersion: state.model.version,
      businessKey: state.input.businessKey,
      nodeId: node.id,
      name: task.name,
      candidateGroups,
      assignee,
      dueAt,
      formKey: node.formKey,
      formSchema: node.form,
      priority: node.priority,
      orgUnitId: state.input.orgUnitId,
      customerId: state.input.customerId,
      context: { ...taskContext, ...(execution.loopCounter ? { loopCounter: execution.loopCounter } : {}) },
    };
    try {
      await scheduleActivity(engineActivityNames.openUserTask, [open], openTaskActivityOptions);
    } catch (error) {
      if (isCancellation(error)) await CancellationScope.nonCancellable(() => closeTask({ taskId, status: 'cancelled' }));
      throw error;
    }
  }
  const entry: OpenTaskEntry = { task, node, token };
  state.openTasks.set(task.taskId, entry);
  const resumable: ResumedToken | undefined =
    !node.multiInstance || execution.iteration
      ? { kind: 'userTask', nodeId: node.id, since: token.since, viaFlow: token.viaFlow, execution: execution.execution, task }
      : undefined;
  try {
    await tokens.waiting(token, resumable, () => condition(() => entry.completion !== undefined), execution.iteration);
  } catch (error) {
    state.openTasks.delete(task.taskId);
    if (isCancellation(error)) await CancellationScope.nonCancellable(() => closeTask({ taskId: task.taskId, status: 'cancelled' }));
    throw error;
  }
  const completion = entry.completion!;
  state.openTasks.delete(task.taskId);
  state.completedTaskIds.add(task.taskId);
  if (node.outputs?.length) variables.writeMapped(node.outputs, { ...variables.context(execution.locals), ...completion.variables }, execution.locals);
  else variables.merge(completion.variables, execution.locals);
  await closeTask({ taskId: task.taskId, status: 'completed', completedBy: completion.completedBy, outcome: completion.variables });
}
