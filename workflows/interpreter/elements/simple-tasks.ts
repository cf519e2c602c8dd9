// The tasks that need no outside party: script tasks (FEEL assignments), receive tasks (wait for a
// message) and plain tasks (map their outputs and go on).
import type { PlainTask, ReceiveTask, ScriptTask } from '../../model';
import { activityProcessor } from './processor';

export const scriptTask = activityProcessor<ScriptTask>((engine, _token, node, execution) => {
  engine.variables.writeMapped(node.assignments, engine.variables.context(execution.locals), execution.locals, true);
});

export const receiveTask = activityProcessor<ReceiveTask>(async (engine, token, node, execution) => {
  const data = token.fired ?? (await engine.subscriptions.receive(token, node.id, node.messageRef, node.correlationKey, execution.locals, execution.iteration));
  token.fired = undefined;
  engine.variables.applyEventOutputs(node, data, execution.locals);
});

export const task = activityProcessor<PlainTask>((engine, _token, node, execution) => {
  if (node.outputs?.length) engine.variables.writeMapped(node.outputs, engine.variables.context(execution.locals), execution.locals);
});
