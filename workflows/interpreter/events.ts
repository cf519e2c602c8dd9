import { condition, patched, scheduleActivity, sleep, type ActivityOptions } from '@temporalio/workflow';
import { engineActivityNames, idempotencyKey, type PublishMessageInput, type PublishMessageResult, type Variables } from '../contracts';
import { evaluateCondition, evaluateValue, ExpressionError } from '../expression';
import type { EventDefinition, FlowNode } from '../model';
import { patches } from '../patches';
import { timerSchedule } from '../timers';
import { applyMappings } from '../variables';
import type { Engine } from './engine';
import { BpmnErrorThrow } from './failures';
import type { EventData, Token } from './types';
import { correlationString } from './values';

/** A message flow's receiver may start waiting a moment after the sender throws: about two minutes of retries, then an incident at the throw. */
const publishMessageActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
};

/** What event definitions do when thrown (end and intermediate throw events) and when waited for (catches, boundaries). */
export class Events {
  constructor(private readonly engine: Engine) {}

  /** Throws the event; false when the token goes no further (an interrupting escalation catch). */
  async throw(token: Token, event: EventDefinition): Promise<boolean> {
    const { state, variables } = this.engine;
    switch (event.kind) {
      case 'terminate':
        token.scope.terminated = true;
        token.scope.cancellation.cancel();
        return true;
      case 'error': {
        const definition = event.errorRef ? state.model.errors[event.errorRef] : undefined;
        const code = definition?.errorCode ?? event.errorRef ?? 'error';
        throw new BpmnErrorThrow(code, definition?.name ?? `BPMN error ${code}`);
      }
      case 'compensation':
        await this.engine.compensation.compensate(event.activityRef, token.scope);
        return true;
      case 'escalation': {
        // Deploy refused escalations before they worked: only an instance migrated onto such a version meets one on old code.
        if (event.escalationCode === undefined || !patched(patches.escalationEvents)) return true;
        const inputs = state.model.nodes[token.nodeId]?.inputs;
        const thrown = inputs?.length ? applyMappings(inputs, variables.context(token.scope.locals)) : {};
        return this.engine.eventSubprocesses.escalate(token.scope, event.escalationCode, { variables: thrown, escalation: { escalationCode: event.escalationCode } }) !== 'interrupting';
      }
      case 'signal':
        // Reaches this instance's own catchers; instances that started before signals worked threw nothing.
        if (this.engine.subscriptions.awaitsSignal(event.signalRef) && patched(patches.signalEvents)) {
          const inputs = state.model.nodes[token.nodeId]?.inputs;
          this.engine.subscriptions.broadcast({ name: event.signalRef, signal: true, variables: inputs?.length ? applyMappings(inputs, variables.context(token.scope.locals)) : {} });
        }
        return true;
      case 'message':
        await this.publishMessage(token, event);
        return true;
      default:
        // A none throw has no behaviour of its own.
        return true;
    }
  }

  /** Waits for the event at `node` (a catch, a receive, an event-based gateway's target). */
  async waitFor(token: Token, node: FlowNode, event: EventDefinition, locals: Variables | undefined): Promise<EventData> {
    const { subscriptions, tokens, variables } = this.engine;
    if (event.kind === 'message') return subscriptions.receive(token, node.id, event.messageRef, event.correlationKey, locals);
    if (event.kind === 'signal' && patched(patches.signalEvents)) return subscriptions.receiveSignal(token, node.id, event.signalRef);
    if (event.kind === 'timer') {
      let deadline: number;
      if (token.resume?.kind === 'timer') {
        deadline = token.resume.deadline;
        token.resume = undefined;
      } else {
        deadline = Date.now() + timerSchedule(event.timer, variables.context(locals), Date.now()).firstDelayMs;
      }
      await tokens.waiting(token, { kind: 'timer', nodeId: node.id, since: token.since, viaFlow: token.viaFlow, deadline }, () => sleep(Math.max(0, deadline - Date.now())));
      return {};
    }
    if (event.kind === 'conditional' && patched(patches.conditionalEvents)) {
      await tokens.waiting(token, undefined, () => this.conditionBecomes(event.condition, locals, true, true));
      return {};
    }
    throw new ExpressionError(node.id, `${event.kind} catch events are not supported`);
  }

  /**
   * Resolves when the condition's value is `wanted` — at once if it is now (`now`), else at the
   * first variable change after which it is. A condition that cannot be evaluated counts as false: it is
   * checked at deploy, and a variable it needs may not exist yet.
   */
  async conditionBecomes(expression: string, locals: Variables | undefined, wanted: boolean, now: boolean): Promise<void> {
    const { state, variables } = this.engine;
    let seen = now ? -1 : state.variableVersion;
    for (;;) {
      await condition(() => state.variableVersion !== seen);
      seen = state.variableVersion;
      let holds = false;
      try {
        holds = evaluateCondition(expression, variables.context(locals));
      } catch {
        holds = false;
      }
      if (holds === wanted) return;
    }
  }

  /**
   * A message throw drawn with message flows to other pools publishes its message to the processes
   * they reach (`engine.publishMessage`), with its correlation key and its inputs (all variables
   * when it maps none). One without message flows has no behaviour of its own, as before.
   */
  private async publishMessage(token: Token, event: Extract<EventDefinition, { kind: 'message' }>): Promise<void> {
    const { state } = this.engine;
    const node = state.model.nodes[token.nodeId];
    const targets = node && (node.type === 'intermediateThrowEvent' || node.type === 'endEvent') ? (node.messageTargets ?? []) : [];
    if (targets.length === 0 || !patched(patches.messageFlows)) return;
    const context = this.engine.variables.context(token.scope.locals);
    const input: PublishMessageInput = {
      name: state.model.messages[event.messageRef]?.name ?? event.messageRef,
      ...(event.correlationKey !== undefined ? { correlationKey: correlationString(evaluateValue(event.correlationKey, context)) } : {}),
      messageId: idempotencyKey(state.workflowId, token.nodeId, String(state.nextExecution(token.nodeId))),
      variables: node!.inputs?.length ? applyMappings(node!.inputs, context) : { ...context },
      targets,
      sentBy: `process:${state.workflowId}`,
      ...(state.input.orgUnitId ? { orgUnitId: state.input.orgUnitId } : {}),
      ...(state.input.customerId ? { customerId: state.input.customerId } : {}),
    };
    await scheduleActivity<PublishMessageResult>(engineActivityNames.publishMessage, [input], publishMessageActivityOptions);
  }
}
