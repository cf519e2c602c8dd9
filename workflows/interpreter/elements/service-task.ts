// Service and send tasks: the activity registered under `kf:type`, called with the task's inputs
// and an idempotency key; its result maps back through the outputs.
import { ActivityFailure, ApplicationFailure, isCancellation, scheduleActivity, type ActivityOptions } from '@temporalio/workflow';
import { bpmnErrorType, idempotencyKey, type ServiceTaskRequest } from '../../contracts';
import { nonRetryableExternalErrorTypes } from '../../external';
import type { ServiceTask } from '../../model';
import { applyMappings } from '../../variables';
import type { Engine } from '../engine';
import { bpmnErrorOf, BpmnErrorThrow } from '../failures';
import type { Execution } from '../types';
import { isPlainObject, safeDuration } from '../values';
import { activityProcessor } from './processor';

export const serviceTask = activityProcessor<ServiceTask>(async (engine, _token, node, execution) => callService(engine, node, execution));

async function callService(engine: Engine, node: ServiceTask, execution: Execution): Promise<void> {
  const { state, variables } = engine;
  const context = variables.context(execution.locals);
  const request: ServiceTaskRequest = {
    input: node.inputs?.length ? applyMappings(node.inputs, context) : context,
    context: {
      workflowId: state.workflowId,
      processKey: state.model.key,
      processVersion: state.model.version,
      businessKey: state.input.businessKey,
      nodeId: node.id,
      loopCounter: execution.loopCounter,
      idempotencyKey: idempotencyKey(state.workflowId, node.id, String(execution.execution)),
    },
  };
  let result: unknown;
  try {
    result = await scheduleActivity(node.taskType, [request], optionsOf(engine, node));
  } catch (error) {
    if (isCancellation(error)) throw error;
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    const bpmnError = bpmnErrorOf(cause, bpmnErrorType);
    if (bpmnError) throw bpmnError;
    if (engine.catching.hasCatchAllErrorBoundary(node)) {
      throw new BpmnErrorThrow(cause instanceof ApplicationFailure && cause.type ? cause.type : 'TECHNICAL_FAILURE', (cause ?? (error as Error)).message, true);
    }
    throw error;
  }
  const output = isPlainObject(result) ? result : {};
  if (node.outputs?.length) variables.writeMapped(node.outputs, { ...context, ...output }, execution.locals);
  else variables.merge(output, execution.locals);
}

function optionsOf(engine: Engine, node: ServiceTask): ActivityOptions {
  const known = engine.state.activityOptions;
  let options = known.get(node.id);
  if (!options) {
    const timeoutMs = safeDuration(node.timeout, 60_000);
    options = {
      startToCloseTimeout: timeoutMs,
      retry: {
        maximumAttempts: Math.max(1, node.retries),
        initialInterval: safeDuration(node.retryBackoff, 1_000),
        backoffCoefficient: 2,
        // Activities mark these failures non-retryable themselves too; the list says so to Temporal.
        nonRetryableErrorTypes: [...new Set([bpmnErrorType, ...nonRetryableExternalErrorTypes])],
      },
    };
    known.set(node.id, options);
  }
  return options;
}
