// Business rule tasks: a DMN decision evaluated inside the workflow, its result in a variable and
// its evaluation kept in the state (the recent ones explain the route taken).
import { patched, scheduleActivity } from '@temporalio/workflow';
import { engineActivityNames, type LoadDecisionInput, type Variables } from '../../contracts';
import { evaluateDecision } from '../../dmn/evaluate';
import type { DecisionGraph } from '../../dmn/model';
import type { BusinessRuleTask } from '../../model';
import { patches } from '../../patches';
import { applyMappings, setPath } from '../../variables';
import type { Engine } from '../engine';
import type { Execution } from '../types';
import { nowIso } from '../values';
import { engineActivityOptions } from './engine-activities';
import { activityProcessor } from './processor';

/** Decision evaluations kept in the state (and across a continue-as-new). */
const maxDecisionRecords = 100;

export const businessRuleTask = activityProcessor<BusinessRuleTask>(async (engine, _token, node, execution) => decide(engine, node, execution));

/**
 * The pinned graph travels in the model, and the evaluator is pure, so a replay computes the same
 * result and no command is issued. Only `kf:decisionVersion="latest"` loads the graph, through an
 * activity whose result the history keeps. Inputs, when mapped, are all the decision sees.
 */
async function decide(engine: Engine, node: BusinessRuleTask, execution: Execution): Promise<void> {
  if (!patched(patches.businessRuleTasks)) throw new Error(`business rule task ${node.id} cannot run on the code this instance started with`);
  const { state, variables } = engine;
  const graph =
    node.decision ??
    (await scheduleActivity<DecisionGraph>(engineActivityNames.loadDecision, [{ key: node.decisionRef } satisfies LoadDecisionInput], engineActivityOptions));
  const context = variables.context(execution.locals);
  const evaluation = evaluateDecision(graph, node.inputs?.length ? applyMappings(node.inputs, context) : context);
  state.decisions.push({
    nodeId: node.id,
    decisionKey: evaluation.decisionKey,
    decisionVersion: evaluation.version,
    evaluatedAt: nowIso(),
    ...(execution.loopCounter ? { loopCounter: execution.loopCounter } : {}),
    result: evaluation.result,
    decisions: evaluation.decisions,
  });
  if (state.decisions.length > maxDecisionRecords) state.decisions.splice(0, state.decisions.length - maxDecisionRecords);
  if (node.outputs?.length) {
    const scope: Variables = { ...context };
    setPath(scope, node.resultVariable, evaluation.result);
    variables.writeMapped(node.outputs, scope, execution.locals);
  } else {
    variables.write(node.resultVariable, evaluation.result, execution.locals);
  }
}
