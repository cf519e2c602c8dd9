import { CancellationScope, isCancellation, log, patched, sleep } from '@temporalio/workflow';
import type { Variables } from '../contracts';
import type { Activity, BoundaryEvent } from '../model';
import { patches } from '../patches';
import { timerSchedule } from '../timers';
import type { Engine } from './engine';
import { pickCatcher } from './error-catching';
import { BpmnErrorThrow } from './failures';
import type { EventData, StepResult, Token } from './types';

/**
 * An activity as a step: its body (once, or as a multi-instance) with the boundary events attached
 * to it watching. An interrupting boundary cancels the body and takes the token; a non-interrupting
 * one starts a token of its own; an error boundary catches what the body throws.
 */
export class Boundaries {
  constructor(private readonly engine: Engine) {}

  async runActivity(token: Token, node: Activity): Promise<StepResult> {
    const { graph, state } = this.engine;
    const locals = token.scope.locals;
    const boundaries = node.boundaryEventIds.map((id) => graph.node(id) as BoundaryEvent).filter((boundary) => boundary.event.kind !== 'compensation');
    const run = () =>
      node.multiInstance ? this.engine.multiInstance.run(token, node, locals) : this.engine.executions.body(token, node, { locals, loopCounter: 0, execution: state.nextExecution(node.id) });
    if (boundaries.length === 0) {
      await run();
      this.engine.compensation.remember(node, locals, token.scope);
      return node.outgoing;
    }
    const body = new CancellationScope();
    const watchers = new CancellationScope();
    let interruptedBy: { boundary: BoundaryEvent; data: EventData } | undefined;
    for (const boundary of boundaries) {
      if (boundary.event.kind !== 'timer' && boundary.event.kind !== 'message' && boundary.event.kind !== 'signal' && boundary.event.kind !== 'conditional') continue;
      watchers
        .run(() =>
          this.watch(token, boundary, locals, (data) => {
            if (interruptedBy) return;
            interruptedBy = { boundary, data };
            body.cancel();
          }),
        )
        .catch((error: unknown) => {
          if (!isCancellation(error)) log.warn('boundary event failed', { nodeId: boundary.id, error: String(error) });
        });
    }
    const escalationBoundaries = boundaries.filter((boundary) => boundary.event.kind === 'escalation');
    if (escalationBoundaries.length > 0) {
      token.escalationCatcher = (escalationCode, data) => {
        const boundary = pickCatcher(escalationBoundaries, (candidate) => (candidate.event as { escalationCode?: string }).escalationCode, escalationCode);
        if (!boundary) return undefined;
        if (!boundary.cancelActivity) {
          this.engine.tokens.spawn(token.scope, boundary.id, undefined, { fired: data });
          return 'nonInterrupting';
        }
        if (!interruptedBy) {
          interruptedBy = { boundary, data };
          body.cancel();
        }
        return 'interrupting';
      };
    }
    try {
      await body.run(run);
      // An interrupting escalation whose thrower was the scope's last token can finish it before the cancel lands.
      if (interruptedBy?.boundary.event.kind === 'escalation') return { jump: interruptedBy.boundary.id, fired: interruptedBy.data };
      this.engine.compensation.remember(node, locals, token.scope);
      return node.outgoing;
    } catch (error) {
      if (interruptedBy && isCancellation(error)) return { jump: interruptedBy.boundary.id, fired: interruptedBy.data };
      if (error instanceof BpmnErrorThrow) {
        const boundary = this.engine.catching.errorBoundary(boundaries, error);
        if (boundary) return { jump: boundary.id, fired: { error: { errorCode: error.errorCode, errorMessage: error.message } } };
      }
      throw error;
    } finally {
      watchers.cancel();
      token.escalationCatcher = undefined;
    }
  }

  private async watch(token: Token, boundary: BoundaryEvent, locals: Variables | undefined, interrupt: (data: EventData) => void): Promise<void> {
    const { events, subscriptions, tokens, variables } = this.engine;
    const event = boundary.event;
    if (event.kind === 'timer') {
      const schedule = timerSchedule(event.timer, variables.context(locals), Date.now());
      let delay = schedule.firstDelayMs;
      const times = boundary.cancelActivity ? 1 : schedule.repetitions;
      for (let fired = 0; fired < times; fired++) {
        await sleep(delay);
        if (boundary.cancelActivity) return interrupt({});
        tokens.spawn(token.scope, boundary.id, undefined, { fired: {} });
        delay = schedule.intervalMs;
      }
      return;
    }
    if (event.kind === 'message') {
      for (;;) {
        const data = await subscriptions.receive(token, boundary.id, event.messageRef, event.correlationKey, locals);
        if (boundary.cancelActivity) return interrupt(data);
        tokens.spawn(token.scope, boundary.id, undefined, { fired: data });
      }
    }
    if (event.kind === 'conditional') {
      // Deploy refused conditional events before they worked: only an instance migrated onto such a version meets one on old code.
      if (!patched(patches.conditionalEvents)) return;
      // Fires when the condition turns true (on entry, then after each change that makes it true again).
      let first = true;
      for (;;) {
        await events.conditionBecomes(event.condition, locals, true, first);
        first = false;
        if (boundary.cancelActivity) return interrupt({});
        tokens.spawn(token.scope, boundary.id, undefined, { fired: {} });
        await events.conditionBecomes(event.condition, locals, false, true);
      }
    }
    if (event.kind === 'signal') {
      // Subscribing issues no command: only the patch marker, once a signal boundary is first armed.
      if (!patched(patches.signalEvents)) return;
      await subscriptions.takeSignals(event.signalRef, (data) => {
        if (boundary.cancelActivity) {
          interrupt(data);
          return false;
        }
        tokens.spawn(token.scope, boundary.id, undefined, { fired: data });
        return true;
      });
    }
  }
}
