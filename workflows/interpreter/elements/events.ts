// The event elements: start, end, intermediate throw and catch, and boundary events. What each
// event definition does (timer, message, signal, error, escalation, ...) is in ../events.ts.
import type { BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, StartEvent } from '../../model';
import type { ElementProcessor } from './processor';

export const startEvent: ElementProcessor<StartEvent> = {
  ownStepScope: false,
  step(engine, token, node) {
    // The start of an event sub-process carries what started it: the message's or the error's variables.
    if (token.fired) {
      engine.variables.applyEventOutputs(node, token.fired, token.scope.locals);
      token.fired = undefined;
    }
    return node.outgoing;
  },
};

export const endEvent: ElementProcessor<EndEvent> = {
  ownStepScope: false,
  async step(engine, token, node) {
    await engine.events.throw(token, node.event);
    return [];
  },
};

export const intermediateThrowEvent: ElementProcessor<IntermediateThrowEvent> = {
  ownStepScope: true,
  async step(engine, token, node) {
    // false: an interrupting catch of what it threw ends the thrower with the rest of its scope.
    return (await engine.events.throw(token, node.event)) ? node.outgoing : null;
  },
};

export const intermediateCatchEvent: ElementProcessor<IntermediateCatchEvent> = {
  ownStepScope: true,
  async step(engine, token, node) {
    const data = token.fired ?? (await engine.events.waitFor(token, node, node.event, token.scope.locals));
    token.fired = undefined;
    engine.variables.applyEventOutputs(node, data, token.scope.locals);
    return node.outgoing;
  },
};

/** A boundary's token starts after its event fired (the activity's watch saw it): it only maps what came. */
export const boundaryEvent: ElementProcessor<BoundaryEvent> = {
  ownStepScope: false,
  step(engine, token, node) {
    engine.variables.applyEventOutputs(node, token.fired ?? {}, token.scope.locals);
    return node.outgoing;
  },
};
