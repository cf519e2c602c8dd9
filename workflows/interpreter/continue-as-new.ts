import { allHandlersFinished, condition, continueAsNew, patched, workflowInfo } from '@temporalio/workflow';
import type { BpmnProcessInput, BpmnProcessResult } from '../contracts';
import type { ResumedToken, ResumeState } from '../engine-state';
import { patches } from '../patches';
import type { Engine } from './engine';
import { isActivityNode } from './graph';
import { carryJoins } from './joins';
import type { Scope, Token } from './types';

const defaultHistoryLimit = 4_000;
/** Ids kept across a run, as the message handler keeps them. */
const maxCarriedTaskIds = 2_000;

/**
 * Keeps a long-lived instance's history bounded: past the limit (or when Temporal suggests it), at
 * the first quiescent point the run hands its tokens and bookkeeping to a new run of itself. Tokens
 * may wait at the process level, inside embedded sub-processes, which the new run reopens around
 * them, and in multi-instance iterations, which it goes on with.
 */
export class ContinueAsNew {
  constructor(private readonly engine: Engine) {}

  /** Resolves at the first moment the run may continue as new. */
  async point(): Promise<void> {
    const limit = this.engine.state.input.historyLimit ?? defaultHistoryLimit;
    await condition(() => {
      const info = workflowInfo();
      return (info.historyLength > limit || info.continueAsNewSuggested) && this.quiescent() && allHandlersFinished();
    });
  }

  /**
   * Whether the run is still quiescent when it comes to continue: jobs of the activation that
   * satisfied the point (a timer firing) may have moved a token on in the meantime.
   */
  stillQuiescent(): boolean {
    return this.quiescent() && allHandlersFinished();
  }

  continue(): Promise<never> {
    const { state } = this.engine;
    const held = this.heldScopes();
    const carrySubProcess = (token: Token, inner: Scope): ResumedToken => {
      const joins = carryJoins(inner);
      return { kind: 'subProcess', nodeId: token.nodeId, since: token.since, ...(token.viaFlow ? { viaFlow: token.viaFlow } : {}), scopeId: inner.id, ...(inner.locals ? { locals: inner.locals } : {}), tokens: carry(inner), ...(joins ? { joins } : {}) };
    };
    const carry = (scope: Scope): ResumedToken[] =>
      [...state.liveTokens.values()]
        .filter((token) => token.scope === scope)
        .map((token): ResumedToken => {
          const progress = token.multiInstance;
          if (progress) {
            return {
              kind: 'multiInstance',
              nodeId: token.nodeId,
              since: token.since,
              ...(token.viaFlow ? { viaFlow: token.viaFlow } : {}),
              items: progress.items,
              results: progress.results,
              completed: [...progress.completed],
              iterations: [...progress.inFlight.values()].map((iteration) => ({
                index: iteration.index,
                execution: iteration.execution,
                body: iteration.scope ? carrySubProcess(token, iteration.scope) : iteration.resumable!,
              })),
            };
          }
          const inner = held.get(token);
          return inner ? carrySubProcess(token, inner) : token.resumable!;
        });
    const rootJoins = carryJoins(state.root);
    const resume: ResumeState = {
      tokens: carry(state.root),
      ...(state.root.listeners ? { eventSubscriptions: [...state.root.subscriptions.values()] } : {}),
      bufferedMessages: state.buffered,
      seenMessageIds: state.seenMessageIds,
      completedTaskIds: [...state.completedTaskIds].slice(-maxCarriedTaskIds),
      counters: state.counters,
      compensations: state.compensations,
      completedNodes: state.completedNodes.slice(-200),
      ...(state.decisions.length > 0 ? { decisions: state.decisions } : {}),
      tokenSeq: state.tokenSeq,
      incidentSeq: state.incidentSeq,
      scopeSeq: state.scopeSeq,
      ...(rootJoins ? { joins: rootJoins } : {}),
      runs: (state.input.resume?.runs ?? 0) + 1,
    };
    return continueAsNew<(input: BpmnProcessInput) => Promise<BpmnProcessResult>>({ ...state.input, variables: state.vars, resume });
  }

  /**
   * Every token waits somewhere it can resume — at the process level, or inside embedded
   * sub-processes that can be reopened around it — with nothing else in flight.
   */
  private quiescent(): boolean {
    const { state } = this.engine;
    if (state.liveTokens.size === 0 || state.incidents.size > 0 || state.root.interrupted) return false;
    // A message an event sub-process start just took has not started it yet.
    if (this.engine.subscriptions.inFlight()) return false;
    const held = this.heldScopes();
    let nested = false;
    let resumableTasks = 0;
    for (const token of state.liveTokens.values()) {
      if (token.compensating || !this.watchesNothing(token)) return false;
      if (token.scope !== state.root) {
        if (!this.reopenable(token.scope)) return false;
        nested = true;
      }
      if (token.multiInstance) {
        const tasks = this.iterationsWaiting(token);
        if (tasks === undefined) return false;
        resumableTasks += tasks;
        continue;
      }
      if (token.resumable?.kind === 'userTask') resumableTasks++;
      if (held.has(token)) {
        if (token.waits !== 0) return false;
        continue;
      }
      if (!token.resumable || token.waits !== 1) return false;
    }
    if (state.openTasks.size !== resumableTasks) return false;
    // Instances that started before waits inside sub-processes could be carried keep waiting for the process level.
    return !nested || patched(patches.continueAsNewInScopes);
  }

  /**
   * Whether every iteration in flight of a multi-instance token waits where it can resume — once,
   * in a user task or receive task, or in a sub-process body (whose tokens the caller checks) —
   * and how many of them wait in user tasks; undefined when some iteration is elsewhere.
   */
  private iterationsWaiting(token: Token): number | undefined {
    const progress = token.multiInstance!;
    if (progress.inFlight.size === 0) return undefined;
    let own = 0;
    let tasks = 0;
    for (const iteration of progress.inFlight.values()) {
      if (iteration.scope) {
        if (iteration.waits !== 0) return undefined;
        continue;
      }
      if (!iteration.resumable || iteration.waits !== 1) return undefined;
      own++;
      if (iteration.resumable.kind === 'userTask') tasks++;
    }
    // The token waits once for each iteration that waits itself, and for nothing else (an incident).
    return token.waits === own ? tasks : undefined;
  }

  /** No boundary event watches the token's node (a watch cannot be carried). */
  private watchesNothing(token: Token): boolean {
    const { model } = this.engine.state;
    const node = model.nodes[token.nodeId];
    if (!node) return false;
    return !(isActivityNode(node) && node.boundaryEventIds.some((id) => model.nodes[id]?.type === 'boundaryEvent' && (model.nodes[id] as { event: { kind: string } }).event.kind !== 'compensation'));
  }

  /**
   * A scope the next run can reopen: an embedded sub-process (or one iteration of a multi-instance
   * one) without event sub-processes listening, up to the process.
   */
  private reopenable(scope: Scope): boolean {
    const { state } = this.engine;
    for (let current: Scope | undefined = scope; current && current !== state.root; current = current.parent) {
      const container = state.model.nodes[current.containerId ?? ''];
      const holder = current.holder;
      if (!holder || current.interrupted || current.listeners || current.inclusiveLeaders.size > 0) return false;
      if (container?.type !== 'subProcess' || container.triggeredByEvent) return false;
      if (holder.compensating || holder.nodeId !== container.id) return false;
      const iteration = current.iteration;
      if (container.multiInstance ? !iteration || holder.multiInstance?.inFlight.get(iteration.index) !== iteration : holder.loopCounter) return false;
    }
    return true;
  }

  /** The scopes live tokens run in, by the token at their sub-process (not multi-instance: those are its iterations'). */
  private heldScopes(): Map<Token, Scope> {
    const held = new Map<Token, Scope>();
    for (const token of this.engine.state.liveTokens.values()) {
      for (let scope: Scope | undefined = token.scope; scope?.holder; scope = scope.parent) held.set(scope.holder, scope);
    }
    return held;
  }
}
