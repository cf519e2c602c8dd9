import { CancellationScope, CancelledFailure, isCancellation } from '@temporalio/workflow';
import type { Variables } from '../contracts';
import type { ResumedEventSubscription, ResumedToken } from '../engine-state';
import type { FlowNode } from '../model';
import { needsStepScope, step } from './elements/registry';
import type { Engine } from './engine';
import { BpmnErrorThrow, isIncidentCause } from './failures';
import type { EventData, IncidentResolution, Iteration, Scope, StepResult, Token } from './types';
import { nowIso } from './values';

const maxCompletedNodes = 1_000;

/**
 * Tokens and the scopes they run in. Every token is its own async flow; Temporal's deterministic
 * scheduler interleaves them, so parallel branches really wait in parallel. A scope settles when
 * its last token ends: with the first error, or cancelled, or done.
 */
export class Tokens {
  constructor(private readonly engine: Engine) {}

  /** A new scope; `carriedId` reopens a sub-process scope a continue-as-new carried, under the id it had. */
  createScope(parent: Scope | undefined, locals: Variables | undefined, containerId: string | undefined, carriedId?: string): Scope {
    const cancellation = new CancellationScope();
    return {
      id: parent ? (carriedId ?? `scope-${++this.engine.state.scopeSeq}`) : 'root',
      parent,
      ...(containerId !== undefined ? { containerId } : {}),
      locals,
      cancellation,
      // Only scopes with event sub-processes get the extra layer: the others run exactly as before.
      work: this.engine.graph.eventSubprocesses(containerId).length > 0 ? new CancellationScope({ cancellable: true, parent: cancellation }) : cancellation,
      subscriptions: new Map(),
      interrupted: false,
      tokens: new Set(),
      joins: new Map(),
      inclusiveLeaders: new Map(),
      terminated: false,
    };
  }

  /**
   * Resolves when every token of the scope has ended; rejects with the first error (after the
   * others ended). The scope's event sub-processes listen from its start to its end.
   */
  runScope(scope: Scope, startNodeIds: string[], resumed?: ResumedToken[], resumedSubscriptions?: ResumedEventSubscription[], startData?: EventData): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      scope.settle = { resolve, reject };
      this.engine.eventSubprocesses.open(scope, resumedSubscriptions);
      for (const nodeId of startNodeIds) this.spawn(scope, nodeId, undefined, startData ? { fired: startData } : {});
      for (const resume of resumed ?? []) this.spawn(scope, resume.nodeId, resume.viaFlow, { resume, since: resume.since });
      if (scope.tokens.size === 0) {
        scope.settle = undefined;
        scope.listeners?.cancel();
        resolve();
      }
    });
  }

  spawn(scope: Scope, nodeId: string, viaFlow: string | undefined, extra: Partial<Token>): Token {
    const token: Token = { id: `t${++this.engine.state.tokenSeq}`, nodeId, phase: 'activating', scope, since: nowIso(), viaFlow, waits: 0, ...extra };
    scope.tokens.add(token);
    this.engine.state.liveTokens.set(token.id, token);
    scope.work.run(() => this.runToken(token)).then(
      () => this.ended(token, undefined),
      (error: unknown) => this.ended(token, error ?? new Error('token failed')),
    );
    return token;
  }

  /**
   * A token outside the scopes' flow (an event sub-process start's incident, a compensation
   * handler): live, so queries and incidents see it, until `release`.
   */
  detached(nodeId: string, scope: Scope, extra: Partial<Token>): Token {
    const token: Token = { id: `t${++this.engine.state.tokenSeq}`, nodeId, phase: 'active', scope, since: nowIso(), waits: 0, ...extra };
    this.engine.state.liveTokens.set(token.id, token);
    return token;
  }

  release(token: Token): void {
    this.engine.state.liveTokens.delete(token.id);
  }

  place(token: Token, nodeId: string, viaFlow: string | undefined): void {
    token.phase = 'activating';
    token.nodeId = nodeId;
    token.viaFlow = viaFlow;
    token.since = nowIso();
    token.fired = undefined;
  }

  recordCompletion(nodeId: string, startedAt: string): void {
    const completed = this.engine.state.completedNodes;
    completed.push({ nodeId, startedAt, completedAt: nowIso() });
    if (completed.length > maxCompletedNodes) completed.splice(0, completed.length - maxCompletedNodes);
  }

  /**
   * Runs a wait with the token counted as waiting (KfActiveNodes) and, when given, resumable across
   * continue-as-new — as the token, or as one multi-instance iteration of it.
   */
  async waiting<T>(token: Token, resumable: ResumedToken | undefined, wait: () => Promise<T>, iteration?: Iteration): Promise<T> {
    token.waits++;
    if (iteration) {
      iteration.waits++;
      if (resumable && iteration.waits === 1) iteration.resumable = resumable;
    } else if (resumable && token.waits === 1) token.resumable = resumable;
    this.engine.index.mark();
    try {
      return await wait();
    } finally {
      token.waits--;
      if (iteration) {
        iteration.waits--;
        iteration.resumable = undefined;
      } else token.resumable = undefined;
      this.engine.index.mark();
    }
  }

  /**
   * Runs a wait of a node that has no step scope of its own (an end event) in one, so ops can move
   * the token away (moveToken, migrateInstance) as from any other wait.
   */
  async parkMovable<T>(token: Token, wait: () => Promise<T>): Promise<T | { jump: string }> {
    const stepScope = new CancellationScope();
    token.stepScope = stepScope;
    try {
      return await stepScope.run(wait);
    } catch (error) {
      if (token.moveTo !== undefined && isCancellation(error)) {
        const target = token.moveTo;
        token.moveTo = undefined;
        return { jump: target };
      }
      throw error;
    } finally {
      token.stepScope = undefined;
    }
  }

  private async runToken(token: Token): Promise<void> {
    const { graph } = this.engine;
    for (;;) {
      const node = graph.node(token.nodeId);
      token.phase = 'active';
      let result: StepResult;
      if (needsStepScope(node)) {
        const stepScope = new CancellationScope();
        token.stepScope = stepScope;
        try {
          result = await stepScope.run(() => this.stepWithIncidents(token, node));
        } catch (error) {
          if (token.moveTo !== undefined && isCancellation(error)) {
            const target = token.moveTo;
            token.moveTo = undefined;
            this.place(token, target, undefined);
            continue;
          }
          throw error;
        } finally {
          token.stepScope = undefined;
        }
      } else {
        result = await this.stepWithIncidents(token, node);
      }
      if (result === null) return;
      if (!Array.isArray(result)) {
        this.place(token, result.jump, undefined);
        token.fired = result.fired;
        continue;
      }
      token.phase = 'completing';
      this.recordCompletion(node.id, token.since);
      if (result.length === 0) return;
      for (let index = 1; index < result.length; index++) {
        const flowId = result[index]!;
        this.spawn(token.scope, graph.flowTarget(flowId), flowId, {});
      }
      this.place(token, graph.flowTarget(result[0]!), result[0]);
    }
  }

  /**
   * A failing step parks its token as an incident; retry re-runs the step, resolve takes the
   * outgoing flows. An error end event whose error nothing catches parks too: retry throws it
   * again, resolve ends the token there (its path completes).
   */
  private async stepWithIncidents(token: Token, node: FlowNode): Promise<StepResult> {
    const { incidents } = this.engine;
    for (;;) {
      try {
        return await step(this.engine, token, node);
      } catch (error) {
        let resolution: IncidentResolution;
        if (isIncidentCause(error)) {
          resolution = await incidents.park(token, node.id, error, 1);
        } else if (node.type === 'endEvent' && this.engine.catching.unhandledError(node, error)) {
          const parked = await this.parkMovable(token, () => incidents.park(token, node.id, error, 1));
          if ('jump' in parked) return parked;
          resolution = parked;
        } else {
          throw error;
        }
        if (resolution.variables) this.engine.variables.merge(resolution.variables, token.scope.locals);
        if (resolution.kind === 'resolve') return node.outgoing;
      }
    }
  }

  private ended(token: Token, error: unknown): void {
    const scope = token.scope;
    scope.tokens.delete(token);
    this.engine.state.liveTokens.delete(token.id);
    if (token.waits > 0) this.engine.index.mark();
    const expected = token.phase === 'terminating';
    token.phase = error === undefined ? 'completed' : 'terminating';
    if (error !== undefined && scope.error === undefined && !expected) {
      const handler = error instanceof BpmnErrorThrow && !scope.interrupted ? this.engine.catching.errorEventSubprocess(scope.containerId, error) : undefined;
      if (handler && error instanceof BpmnErrorThrow) {
        this.engine.eventSubprocesses.interrupt(scope, handler, { error: { errorCode: error.errorCode, errorMessage: error.message } });
      } else {
        const expectedCancel = isCancellation(error) && (scope.terminated || scope.cancellation.consideredCancelled);
        if (!expectedCancel) {
          scope.error = error;
          scope.cancellation.cancel();
        }
      }
    }
    if (scope.tokens.size > 0 || !scope.settle) return;
    const { resolve, reject } = scope.settle;
    scope.settle = undefined;
    scope.listeners?.cancel();
    if (scope.error !== undefined) reject(scope.error);
    else if (scope.terminated) resolve();
    else if (scope.cancellation.consideredCancelled) reject(error ?? new CancelledFailure('scope cancelled'));
    else resolve();
  }
}
