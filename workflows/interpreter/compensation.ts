import type { Variables } from '../contracts';
import type { Activity } from '../model';
import type { Engine } from './engine';

/** Completed activities with a compensation handler, and running those handlers (the saga's undo). */
export class Compensation {
  constructor(private readonly engine: Engine) {}

  /** Remembers a completed activity's compensation handlers, with the locals it ran with. */
  remember(node: Activity, locals: Variables | undefined): void {
    if (node.isForCompensation) return;
    const { state } = this.engine;
    for (const id of node.boundaryEventIds) {
      const boundary = state.model.nodes[id];
      if (boundary?.type === 'boundaryEvent' && boundary.event.kind === 'compensation' && boundary.compensationHandlerId) {
        state.compensations.push({ nodeId: node.id, handlerId: boundary.compensationHandlerId, ...(locals ? { locals } : {}) });
      }
    }
  }

  /** Runs the handlers of completed activities (all, or those of one activity) in reverse completion order. */
  async compensate(activityRef: string | undefined): Promise<void> {
    const { state, graph, tokens } = this.engine;
    const due = state.compensations.filter((entry) => activityRef === undefined || entry.nodeId === activityRef);
    state.compensations = state.compensations.filter((entry) => !due.includes(entry));
    for (const entry of due.reverse()) {
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
