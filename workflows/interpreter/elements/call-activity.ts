// Call activities: the called process (its latest or a pinned version) runs as a child workflow;
// a BPMN error it does not catch comes back to the call activity's boundaries.
import { ChildWorkflowFailure, executeChild, scheduleActivity } from '@temporalio/workflow';
import { bpmnErrorType, bpmnProcessWorkflowType, engineActivityNames, processInstanceId, type BpmnProcessInput, type BpmnProcessResult } from '../../contracts';
import { evaluateValue } from '../../expression';
import type { CallActivity, ProcessModel } from '../../model';
import { applyMappings } from '../../variables';
import type { Engine } from '../engine';
import { bpmnErrorOf } from '../failures';
import type { Execution } from '../types';
import { engineActivityOptions } from './engine-activities';
import { activityProcessor } from './processor';

export const callActivity = activityProcessor<CallActivity>(async (engine, _token, node, execution) => callProcess(engine, node, execution));

async function callProcess(engine: Engine, node: CallActivity, execution: Execution): Promise<void> {
  const { state, variables } = engine;
  const context = variables.context(execution.locals);
  const calledKey = String(evaluateValue(node.calledElement, context));
  const version = typeof node.calledVersion === 'number' ? node.calledVersion : undefined;
  const definition = await scheduleActivity<ProcessModel>(engineActivityNames.loadDefinition, [{ key: calledKey, version }], engineActivityOptions);
  const childBusinessKey = node.businessKey
    ? String(evaluateValue(node.businessKey, context))
    : `${state.input.businessKey}/${node.id}${execution.loopCounter ? `/${execution.loopCounter}` : ''}`;
  const propagate = node.propagateAllVariables !== false;
  const input = node.inputs?.length ? applyMappings(node.inputs, context) : propagate ? { ...context } : {};
  let result: BpmnProcessResult;
  try {
    result = await executeChild<(input: BpmnProcessInput) => Promise<BpmnProcessResult>>(bpmnProcessWorkflowType, {
      workflowId: processInstanceId(calledKey, childBusinessKey),
      args: [
        {
          definition,
          businessKey: childBusinessKey,
          variables: input,
          parent: { workflowId: state.workflowId, nodeId: node.id },
          startedBy: state.input.startedBy,
          customerId: state.input.customerId,
          orgUnitId: state.input.orgUnitId,
          indexSearchAttributes: state.input.indexSearchAttributes,
          historyLimit: state.input.historyLimit,
        },
      ],
    });
  } catch (error) {
    const bpmnError = bpmnErrorOf(error instanceof ChildWorkflowFailure ? error.cause : undefined, bpmnErrorType);
    if (bpmnError) throw bpmnError;
    throw error;
  }
  const childVariables = result.variables ?? {};
  if (node.outputs?.length) variables.writeMapped(node.outputs, { ...context, ...childVariables }, execution.locals);
  else if (propagate) variables.merge(childVariables, execution.locals);
}
