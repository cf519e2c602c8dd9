import { CancellationScope, isCancellation, log, sleep } from '@temporalio/workflow';
import type { ResumedEventSubscription } from '../engine-state';
import { evaluateValue } from '../expression';
import type { StartEvent, SubProcess } from '../model';
import { timerSchedule } from '../timers';
import type { Engine } from './engine';
import type { EventData, IncidentResolution, Scope } from './types';
import { correlationString } from './values';

/**
 * Event sub-processes: their timer, message and signal starts listen while their scope is active;
 * an error or escalation start waits for a throw. An interrupting one ends the rest of its scope.
 */
export class EventSubprocesses {
  constructor(private readonly engine: Engine) {}

  /** Opens the timer, message and signal starts of the scope's event sub-processes. */
  open(scope: Scope, resumed: ResumedEventSubscription[] | undefined): void {
    const { graph } = this.engine;
    const eventSubprocesses = graph.eventSubprocesses(scope.containerId);
    if (eventSubprocesses.length === 0) return;
    scope.listeners = new CancellationScope({ cancellable: true, parent: scope.cancellation });
    for (const eventSubprocess of eventSubprocesses) {
      const start = graph.eventSubprocessStart(eventSubprocess);
      if (!start || (start.event.kind !== 'timer' && start.event.kind !== 'message' && start.event.kind !== 'signal')) continue;
      // A resumed run reopens only what still listened when the previous run ended.
      const carried = resumed?.find((entry) => entry.nodeId === eventSubprocess.id);
      if (resumed && !carried) continue;
      scope.listeners
        .run(() => this.listen(scope, eventSubprocess, start, carried))
        .catch((error: unknown) => {
          if (!isCancellation(error)) log.warn('event sub-process start failed', { nodeId: start.id, error: String(error) });
        });
    }
  }

  /** Starts an event sub-process for an event that happened, unless its scope is over or interrupted. */
  trigger(scope: Scope, eventSubprocess: SubProcess, interrupting: boolean, data: EventData): void {
    // The scope ended (or was interrupted) in the same activation the event came in: too late.
    if (!scope.settle || scope.interrupted) return;
    if (interrupting) this.interrupt(scope, eventSubprocess, data);
    else this.engine.tokens.spawn(scope, eventSubprocess.id, undefined, { fired: data });
  }

  /**
   * Starts an interrupting event sub-process: every other token of the scope is cancelled (open
   * user tasks closed, timers and subscriptions dropped, as an interrupting boundary does), no
   * event sub-process of the scope starts again, and the scope ends when this one does.
   */
  interrupt(scope: Scope, eventSubprocess: SubProcess, data: EventData): void {
    scope.interrupted = true;
    scope.listeners?.cancel();
    for (const token of scope.tokens) token.phase = 'terminating';
    scope.joins.clear();
    scope.inclusiveLeaders.clear();
    const previous = scope.work;
    scope.work = new CancellationScope({ cancellable: true, parent: scope.cancellation });
    previous.cancel();
    this.engine.tokens.spawn(scope, eventSubprocess.id, undefined, { fired: data });
  }

  /**
   * Hands an escalation to the nearest catcher, searched outwards from the thrower's scope: the
   * scope's escalation event sub-processes, then the escalation boundaries of the sub-process that
   * opened it, and so on up to the process. Nothing catching it is no fault (BPMN, Camunda 8): the
   * thrower goes on. An interrupting catcher ends the thrower with the rest of its scope.
   */
  escalate(from: Scope, escalationCode: string, data: EventData): 'interrupting' | 'nonInterrupting' | undefined {
    for (let scope: Scope | undefined = from; scope; scope = scope.parent) {
      if (!scope.interrupted) {
        const eventSubprocess = this.engine.catching.escalationEventSubprocess(scope.containerId, escalationCode);
        if (eventSubprocess) {
          const interrupting = this.engine.graph.eventSubprocessStart(eventSubprocess)?.isInterrupting !== false;
          this.trigger(scope, eventSubprocess, interrupting, data);
          return interrupting ? 'interrupting' : 'nonInterrupting';
        }
      }
      const caught = scope.escalationCatcher?.(escalationCode, data);
      if (caught) return caught;
    }
    return undefined;
  }

  private async listen(scope: Scope, eventSubprocess: SubProcess, start: StartEvent, carried: ResumedEventSubscription | undefined): Promise<void> {
    const { state, variables, subscriptions } = this.engine;
    const interrupting = start.isInterrupting !== false;
    const event = start.event;
    try {
      if (event.kind === 'timer') {
        let subscription: ResumedEventSubscription & { kind: 'timer' };
        if (carried?.kind === 'timer') {
          subscription = { ...carried };
        } else {
          const schedule = await this.evaluateForListener(scope, start, () => timerSchedule(event.timer, variables.context(scope.locals), Date.now()));
          if (!schedule) return;
          subscription = { kind: 'timer', nodeId: eventSubprocess.id, deadline: Date.now() + schedule.firstDelayMs, remaining: interrupting ? 1 : schedule.repetitions, intervalMs: schedule.intervalMs };
        }
        scope.subscriptions.set(eventSubprocess.id, subscription);
        while (subscription.remaining > 0) {
          await sleep(Math.max(0, subscription.deadline - Date.now()));
          subscription.remaining--;
          subscription.deadline += subscription.intervalMs;
          if (subscription.remaining <= 0) scope.subscriptions.delete(eventSubprocess.id);
          this.trigger(scope, eventSubprocess, interrupting, {});
        }
        return;
      }
      if (event.kind === 'message') {
        let name: string;
        let correlationKey: string | undefined;
        if (carried?.kind === 'message') {
          ({ name, correlationKey } = carried);
        } else {
          name = state.model.messages[event.messageRef]?.name ?? event.messageRef;
          const expression = event.correlationKey;
          if (expression !== undefined) {
            const key = await this.evaluateForListener(scope, start, () => correlationString(evaluateValue(expression, variables.context(scope.locals))));
            if (key === undefined) return;
            correlationKey = key;
          }
        }
        scope.subscriptions.set(eventSubprocess.id, { kind: 'message', nodeId: eventSubprocess.id, name, ...(correlationKey !== undefined ? { correlationKey } : {}) });
        for (;;) {
          const data = await subscriptions.nextMessage(name, correlationKey);
          if (interrupting) scope.subscriptions.delete(eventSubprocess.id);
          this.trigger(scope, eventSubprocess, interrupting, data);
          if (interrupting) return;
        }
      }
      if (event.kind === 'signal') {
        scope.subscriptions.set(eventSubprocess.id, { kind: 'message', nodeId: eventSubprocess.id, name: event.signalRef, signal: true });
        await subscriptions.takeSignals(event.signalRef, (data) => {
          if (interrupting) scope.subscriptions.delete(eventSubprocess.id);
          this.trigger(scope, eventSubprocess, interrupting, data);
          return !interrupting;
        });
      }
    } finally {
      scope.subscriptions.delete(eventSubprocess.id);
    }
  }

  /**
   * Evaluates what an event sub-process start needs (its timer, its correlation key). A failure
   * raises an incident at the start event, as in Camunda 8, instead of the start silently never
   * listening: retry evaluates again (after merging the given variables), resolve leaves this
   * event sub-process closed for the life of the scope (undefined).
   */
  private async evaluateForListener<T>(scope: Scope, start: StartEvent, evaluate: () => T): Promise<T | undefined> {
    const { tokens } = this.engine;
    for (;;) {
      try {
        return evaluate();
      } catch (error) {
        if (isCancellation(error)) throw error;
        const token = tokens.detached(start.id, scope, {});
        let resolution: IncidentResolution;
        try {
          resolution = await this.engine.incidents.park(token, start.id, error, 1);
        } finally {
          tokens.release(token);
          this.engine.index.mark();
        }
        if (resolution.variables) this.engine.variables.merge(resolution.variables, scope.locals);
        if (resolution.kind === 'resolve') return undefined;
      }
    }
  }
}
