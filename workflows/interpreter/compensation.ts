import { patched } from '@temporalio/workflow';
import type { Variables } from '../contracts';
import type { CompensationEntry } from '../engine-state';
import { isEventSubprocess, type Activity } from '../model';
import { patches } from '../patches';
import type { Engine } from './engine';
import type { Scope } from './types';

const rootScopeId = 'root';

/** Completed activities with a compensation handler, and running those handlers (the saga's undo). */
export class Compensation {
  constructor(private readonly engine: Engine) {}

  /** Remembers a completed activity's compensation handlers, with the locals it ran with and the scope it completed in. */
  remember(node: Activity, locals: Variables | undefined, scope: Scope): void {
    if (node.isForCompensation) return;
    const { state } = this.engine;
    for (const id of node.boundaryEventIds) {
      const boundary = state.model.nodes[id];
      if (boundary?.type === 'boundaryEvent' && boundary.event.kind === 'compensation' && boundary.compensationHandlerId) {
        state.compensations.push({ nodeId: node.id, handlerId: boundary.compensationHandlerId, ...(locals ? { locals } : {}), scopeId: scope.id });
      }
    }
  }

  /**
   * A sub-process completed: what completed inside it is compensated with it, as a whole — by
   * its own compensation handler when it has one (its inner handlers are then not run), else by
   * its inner handlers, held in one entry where the sub-process completed.
   */
  closeScope(subProcess: Activity, inner: Scope, outer: Scope): void {
    const { state } = this.engine;
    const completedInside = state.compensations.filter((entry) => entry.scopeId === inner.id);
    if (completedInside.length === 0 || !patched(patches.scopedCompensation)) return;
    state.compensations = state.compensations.filter((entry) => !completedInside.includes(entry));
    const ownHandler = subProcess.boundaryEventIds.some((id) => {
      const boundary = state.model.nodes[id];
      return boundary?.type === 'boundaryEvent' && boundary.event.kind === 'compensation' && boundary.compensationHandlerId;
    });
    if (!ownHandler) state.compensations.push({ nodeId: subProcess.id, scopeId: outer.id, children: completedInside });
  }

  /**
   * A compensation throw in `scope`: the handlers of what completed in that scope (all, or those
   * of one activity), last first. Without a scope (the instance is cancelled): everything.
   * Not `async`: the promise is the handlers' loop itself, as it always was.
   */
  compensate(activityRef: string | undefined, scope?: Scope): Promise<void> {
    const { state } = this.engine;
    // An event sub-process compensates the scope it interrupted or joined (the usual error handler's undo).
    let target = scope;
    while (target?.parent && isEventSubprocess(state.model.nodes[target.containerId ?? ''])) target = target.parent;
    const inScope = (entry: CompensationEntry) => target === undefined || (entry.scopeId ?? rootScopeId) === target.id;
    // Only an instance that could tell the difference consults the patch.
    const scoped = target !== undefined && state.compensations.some((entry) => !inScope(entry)) ? patched(patches.scopedCompensation) : false;
    const due = state.compensations.filter((entry) => (!scoped || inScope(entry)) && (activityRef === undefined || entry.nodeId === activityRef));
    state.compensations = state.compensations.filter((entry) => !due.includes(entry));
    return this.runAll(due.reverse());
  }

  private async runAll(entries: CompensationEntry[]): Promise<void> {
    const { state, graph, tokens } = this.engine;
    for (const entry of entries) {
      if ('children' in entry) {
        await this.runAll([...entry.children].reverse());
        continue;
      }
      const handler = graph.node(entry.handlerId) as Activity;
      const token = tokens.detached(handler.id, state.root, { compensating: true });
      try {
        await this.engine.executions.body(token, handler, { locals: entry.locals, loopCounter: 0, execution: state.nextExecution(handler.id) });
        tokens.recordCompletion(handler.id, token.since);
      } finally {
        tokens.release(token);
        if (token.waits > 0) this.engine.index.mark();
      }
    }
  }
}
