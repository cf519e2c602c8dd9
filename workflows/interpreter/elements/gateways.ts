// The gateways: exclusive (first true condition), inclusive (every true condition, joined when no
// other token can still arrive), parallel (all flows, joined by count) and event-based (the first
// event to happen wins).
import { CancellationScope, condition } from '@temporalio/workflow';
import { evaluateCondition } from '../../expression';
import type { EventBasedGateway, EventDefinition, ExclusiveGateway, InclusiveGateway, ParallelGateway } from '../../model';
import type { Engine } from '../engine';
import { NoPathError } from '../failures';
import type { StepResult, Token } from '../types';
import type { ElementProcessor } from './processor';

export const exclusiveGateway: ElementProcessor<ExclusiveGateway> = {
  ownStepScope: false,
  step(engine, token, node) {
    const { outgoing, defaultFlowId } = node;
    const flows = engine.state.model.flows;
    if (outgoing.length === 0 || (outgoing.length === 1 && flows[outgoing[0]!]?.condition === undefined)) return outgoing;
    const context = engine.variables.context(token.scope.locals);
    for (const flowId of outgoing) {
      if (flowId === defaultFlowId) continue;
      const flowCondition = flows[flowId]?.condition;
      if (flowCondition === undefined || evaluateCondition(flowCondition, context)) return [flowId];
    }
    if (defaultFlowId) return [defaultFlowId];
    throw new NoPathError(`no outgoing condition of ${token.nodeId} is true and there is no default flow`);
  },
};

export const parallelGateway: ElementProcessor<ParallelGateway> = {
  ownStepScope: false,
  step(_engine, token, node) {
    if (node.incoming.length > 1 && !parallelJoin(token, node.id, node.incoming)) return null;
    return node.outgoing;
  },
};

export const inclusiveGateway: ElementProcessor<InclusiveGateway> = {
  ownStepScope: true,
  async step(engine, token, node) {
    if (node.incoming.length > 1 && !(await inclusiveJoin(engine, token, node.id))) return null;
    return inclusiveSplit(engine, token, node);
  },
};

export const eventBasedGateway: ElementProcessor<EventBasedGateway> = {
  ownStepScope: true,
  async step(engine, token, node) {
    return firstEvent(engine, token, node.outgoing);
  },
};

/** True when this token completes the join (it continues); false when it was absorbed. */
function parallelJoin(token: Token, gatewayId: string, incoming: string[]): boolean {
  const arrivals = token.scope.joins.get(gatewayId) ?? new Map<string, number>();
  token.scope.joins.set(gatewayId, arrivals);
  const via = token.viaFlow ?? '';
  arrivals.set(via, (arrivals.get(via) ?? 0) + 1);
  if (!incoming.every((flowId) => (arrivals.get(flowId) ?? 0) > 0)) return false;
  for (const flowId of incoming) arrivals.set(flowId, arrivals.get(flowId)! - 1);
  return true;
}

function inclusiveSplit(engine: Engine, token: Token, node: InclusiveGateway): string[] {
  const { outgoing, defaultFlowId } = node;
  const flows = engine.state.model.flows;
  if (outgoing.length === 0 || (outgoing.length === 1 && flows[outgoing[0]!]?.condition === undefined)) return outgoing;
  const context = engine.variables.context(token.scope.locals);
  const taken = outgoing.filter((flowId) => {
    if (flowId === defaultFlowId) return false;
    const flowCondition = flows[flowId]?.condition;
    return flowCondition === undefined || evaluateCondition(flowCondition, context);
  });
  if (taken.length > 0) return taken;
  if (defaultFlowId) return [defaultFlowId];
  throw new NoPathError(`no outgoing condition of ${token.nodeId} is true and there is no default flow`);
}

/** The first token to arrive leads; it fires once no other token of the scope can still reach the gateway. */
async function inclusiveJoin(engine: Engine, token: Token, gatewayId: string): Promise<boolean> {
  const scope = token.scope;
  const leader = scope.inclusiveLeaders.get(gatewayId);
  if (leader && leader !== token) return false;
  scope.inclusiveLeaders.set(gatewayId, token);
  const reachers = engine.graph.reachersOf(gatewayId);
  try {
    await condition(() => ![...scope.tokens].some((other) => other !== token && other.nodeId !== gatewayId && reachers.has(other.nodeId)));
  } finally {
    scope.inclusiveLeaders.delete(gatewayId);
  }
  return true;
}

/** Waits for every target's event at once; the first to happen takes the token, and its node runs without waiting again. */
async function firstEvent(engine: Engine, token: Token, outgoing: string[]): Promise<StepResult> {
  const { graph } = engine;
  const race = new CancellationScope();
  try {
    const winner = await race.run(() =>
      Promise.race(
        outgoing.map(async (flowId) => {
          const target = graph.node(graph.flowTarget(flowId));
          const event: EventDefinition =
            target.type === 'receiveTask'
              ? { kind: 'message', messageRef: target.messageRef, correlationKey: target.correlationKey }
              : 'event' in target
                ? target.event
                : { kind: 'none' };
          return { flowId, data: await engine.events.waitFor(token, target, event, token.scope.locals) };
        }),
      ),
    );
    engine.tokens.recordCompletion(token.nodeId, token.since);
    return { jump: graph.flowTarget(winner.flowId), fired: winner.data };
  } finally {
    race.cancel();
  }
}
