import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { bpmnErrorType, type BpmnProcessInput, type BpmnProcessResult } from '../contracts';
import { ActivityExecutions } from './activity-executions';
import { Boundaries } from './boundaries';
import { Compensation } from './compensation';
import { ContinueAsNew } from './continue-as-new';
import type { Engine } from './engine';
import { ErrorCatching } from './error-catching';
import { EventSubprocesses } from './event-subprocesses';
import { Events } from './events';
import { BpmnErrorThrow } from './failures';
import { ModelGraph } from './graph';
import { installHandlers } from './handlers';
import { Incidents } from './incidents';
import { restoreJoins } from './joins';
import { MultiInstance } from './multi-instance';
import { SearchAttributeIndex } from './search-attribute-index';
import { InstanceState } from './state';
import { Subscriptions } from './subscriptions';
import { Tokens } from './tokens';
import { VariableStore } from './variable-store';

/** Wires one run's state to its behaviours. */
function createEngine(input: BpmnProcessInput): Engine {
  const state = new InstanceState(input);
  const engine = { state, graph: new ModelGraph(state.model), variables: new VariableStore(state) } as { -readonly [K in keyof Engine]: Engine[K] };
  engine.index = new SearchAttributeIndex(engine);
  engine.tokens = new Tokens(engine);
  engine.subscriptions = new Subscriptions(engine);
  engine.events = new Events(engine);
  engine.incidents = new Incidents(engine);
  engine.catching = new ErrorCatching(engine);
  engine.eventSubprocesses = new EventSubprocesses(engine);
  engine.boundaries = new Boundaries(engine);
  engine.multiInstance = new MultiInstance(engine);
  engine.executions = new ActivityExecutions(engine);
  engine.compensation = new Compensation(engine);
  return engine;
}

/**
 * Runs one instance of a pinned ProcessModel to its end: completed, failed, cancelled (after
 * compensating what it did), or continued as new when its history grew long.
 */
export async function runInstance(input: BpmnProcessInput): Promise<BpmnProcessResult> {
  const engine = createEngine(input);
  const { state, index, tokens, graph } = engine;
  const continuation = new ContinueAsNew(engine);
  installHandlers(engine);
  index.indexIdentity();
  if (index.isEnabled) void CancellationScope.nonCancellable(() => index.run());

  state.root = tokens.createScope(undefined, undefined, undefined);
  if (input.resume?.joins) restoreJoins(state.root, input.resume.joins);
  const resumed = input.resume?.tokens;
  const done = tokens
    .runScope(
      state.root,
      resumed ? [] : graph.startNodes(undefined).slice(0, 1).map((node) => node.id),
      resumed,
      input.resume?.eventSubscriptions,
    )
    .then(
      () => 'done' as const,
      (error: unknown) => ({ error }),
    );
  let outcome: 'done' | 'continue' | { error: unknown };
  for (;;) {
    // The watch for a continue-as-new point must not see the instance's cancellation: the cancel path below compensates first.
    const continuePoint = CancellationScope.nonCancellable(() => continuation.point()).then(() => 'continue' as const);
    outcome = await Promise.race([done, continuePoint]);
    if (outcome !== 'continue') break;
    if (continuation.stillQuiescent()) return continuation.continue();
  }
  if (outcome === 'done') {
    state.status = 'completed';
    return { status: 'completed', variables: state.vars };
  }
  const error = outcome.error;
  if (isCancellation(error)) {
    // Cancel = compensate what was done (the saga), then end as cancelled.
    await CancellationScope.nonCancellable(() => engine.compensation.compensate(undefined));
    state.status = 'cancelled';
    throw error;
  }
  state.status = 'failed';
  if (error instanceof BpmnErrorThrow) {
    throw ApplicationFailure.create({ type: bpmnErrorType, message: error.message, details: [{ errorCode: error.errorCode }], nonRetryable: true });
  }
  throw error;
}
