import type { Activity, FlowNode } from '../../model';
import type { Engine } from '../engine';
import type { Execution, StepResult, Token } from '../types';

/**
 * What one kind of element does when a token reaches it. `step` moves the token on (the flows to
 * take, a jump, or null when a join absorbed it); an activity's `execute` is one execution of its
 * behaviour, which the shared activity step wraps with boundaries, multi-instance and compensation.
 *
 * Replays compare commands in order, and when two tokens act in one activation their commands'
 * order follows how many microtask turns each path takes. Processors keep the turns of the
 * interpreter they were split from: steps that never wait are plain functions, and an `async`
 * step that only returns another async call stays an `async` wrapper.
 */
export interface ElementProcessor<N extends FlowNode = FlowNode> {
  /** Whether the step runs in a cancellation scope of its own: ops can move a token away from it, and boundaries interrupt it. */
  readonly ownStepScope: boolean;
  step(engine: Engine, token: Token, node: N): StepResult | Promise<StepResult>;
  execute?(engine: Engine, token: Token, node: N, execution: Execution): void | Promise<void>;
}

/** An activity kind: the shared activity step around the kind's own execution. */
export function activityProcessor<N extends Activity>(execute: (engine: Engine, token: Token, node: N, execution: Execution) => void | Promise<void>): ElementProcessor<N> {
  return {
    ownStepScope: true,
    step: async (engine, token, node) => engine.boundaries.runActivity(token, node),
    execute,
  };
}
