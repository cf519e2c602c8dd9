// Embedded sub-processes (and event sub-processes, once started): a scope of their own, with their
// inputs as its locals; the activity completes when the scope's last token ends.
import type { SubProcess } from '../../model';
import { applyMappings } from '../../variables';
import { activityProcessor } from './processor';

export const subProcess = activityProcessor<SubProcess>(async (engine, token, node, execution) => {
  const { graph, tokens, variables } = engine;
  const locals = node.inputs?.length ? { ...(execution.locals ?? {}), ...applyMappings(node.inputs, variables.context(execution.locals)) } : execution.locals;
  const inner = tokens.createScope(token.scope, locals, node.id);
  inner.escalationCatcher = token.escalationCatcher;
  const startData = node.triggeredByEvent ? token.fired : undefined;
  token.fired = undefined;
  await tokens.runScope(
    inner,
    graph.startNodes(node.id).slice(0, 1).map((start) => start.id),
    undefined,
    undefined,
    startData,
  );
  engine.compensation.closeScope(node, inner, token.scope);
  if (node.outputs?.length) variables.writeMapped(node.outputs, variables.context(locals), execution.locals);
});
