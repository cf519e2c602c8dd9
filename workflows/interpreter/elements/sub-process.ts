// Embedded sub-processes (and event sub-processes, once started): a scope of their own, with their
// inputs as its locals; the activity completes when the scope's last token ends. After a
// continue-as-new the scope reopens with what it held: its locals, joins, id and waiting tokens
// (for a multi-instance sub-process, each iteration's scope).
import type { SubProcess } from '../../model';
import { applyMappings } from '../../variables';
import { restoreJoins } from '../joins';
import { activityProcessor } from './processor';

export const subProcess = activityProcessor<SubProcess>(async (engine, token, node, execution) => {
  const { graph, tokens, variables } = engine;
  const carrier = execution.iteration ?? token;
  const carried = carrier.resume?.kind === 'subProcess' ? carrier.resume : undefined;
  if (carried) carrier.resume = undefined;
  const locals = carried
    ? carried.locals
    : node.inputs?.length
      ? { ...(execution.locals ?? {}), ...applyMappings(node.inputs, variables.context(execution.locals)) }
      : execution.locals;
  const inner = tokens.createScope(token.scope, locals, node.id, carried?.scopeId);
  inner.holder = token;
  if (execution.iteration) {
    inner.iteration = execution.iteration;
    execution.iteration.scope = inner;
  }
  inner.escalationCatcher = token.escalationCatcher;
  if (carried?.joins) restoreJoins(inner, carried.joins);
  const startData = node.triggeredByEvent ? token.fired : undefined;
  token.fired = undefined;
  await tokens.runScope(
    inner,
    carried ? [] : graph.startNodes(node.id).slice(0, 1).map((start) => start.id),
    carried?.tokens,
    undefined,
    startData,
  );
  engine.compensation.closeScope(node, inner, token.scope);
  if (node.outputs?.length) variables.writeMapped(node.outputs, variables.context(locals), execution.locals);
});
