import { condition } from '@temporalio/workflow';
import type { MessageInput, Variables } from '../contracts';
import type { Engine } from './engine';
import type { EventData, Iteration, Subscription, Token } from './types';
import { correlationString, messageMatches } from './values';
import { evaluateValue } from '../expression';

const maxBufferedMessages = 500;
const maxSeenMessageIds = 2_000;

/**
 * Messages and signals: the open subscriptions the message handler matches, the buffer of messages
 * that came before anyone waited, and the ids already taken (redeliveries are dropped).
 */
export class Subscriptions {
  constructor(private readonly engine: Engine) {}

  /** Hands a delivered message or signal to its subscription, or buffers a message for a later wait. */
  deliver(message: MessageInput): void {
    const { state } = this.engine;
    const subscription = state.subscriptions.find((candidate) => !candidate.received && !candidate.signal && messageMatches(message, candidate.name, candidate.correlationKey));
    if (subscription) {
      subscription.received = message;
      return;
    }
    // Callbacks may come before the token reaches its receive task: keep the message for it.
    state.buffered.push(message);
    if (state.buffered.length > maxBufferedMessages) state.buffered.shift();
  }

  /** A signal reaches every subscription waiting for its name at this moment. */
  broadcast(signal: MessageInput): void {
    for (const subscription of this.engine.state.subscriptions) {
      if (!subscription.signal || subscription.name !== signal.name) continue;
      if (subscription.queue) subscription.queue.push(signal);
      else subscription.received ??= signal;
    }
  }

  /** Whether anyone in this instance waits for the signal now. */
  awaitsSignal(name: string): boolean {
    return this.engine.state.subscriptions.some((subscription) => subscription.signal && subscription.name === name);
  }

  /** Remembers a message or signal id; false when it was seen before (a redelivery). */
  firstSight(messageId: string): boolean {
    const { state } = this.engine;
    if (state.seenMessageIdSet.has(messageId)) return false;
    state.seenMessageIdSet.add(messageId);
    state.seenMessageIds.push(messageId);
    if (state.seenMessageIds.length > maxSeenMessageIds) state.seenMessageIdSet.delete(state.seenMessageIds.shift()!);
    return true;
  }

  /** Opens a message subscription for a token (or takes a message that came early) and waits for a match. */
  async receive(token: Token, nodeId: string, messageRef: string, correlationKeyExpression: string | undefined, locals: Variables | undefined, iteration?: Iteration): Promise<EventData> {
    let name: string;
    let correlationKey: string | undefined;
    const carrier = iteration ?? token;
    if (carrier.resume?.kind === 'message' && !carrier.resume.signal) {
      ({ name, correlationKey } = carrier.resume);
      carrier.resume = undefined;
    } else {
      name = this.engine.state.model.messages[messageRef]?.name ?? messageRef;
      correlationKey = correlationKeyExpression === undefined ? undefined : correlationString(evaluateValue(correlationKeyExpression, this.engine.variables.context(locals)));
    }
    const early = this.takeBuffered(name, correlationKey);
    if (early) return early;
    return this.subscribed({ name, correlationKey }, async (subscription) => {
      await this.engine.tokens.waiting(
        token,
        { kind: 'message', nodeId, since: token.since, viaFlow: token.viaFlow, name, correlationKey },
        () => condition(() => subscription.received !== undefined),
        iteration,
      );
      return { variables: subscription.received!.variables };
    });
  }

  /** Waits for a BPMN signal: only one sent while it waits counts (signals are never buffered). */
  async receiveSignal(token: Token, nodeId: string, name: string): Promise<EventData> {
    if (token.resume?.kind === 'message' && token.resume.signal) token.resume = undefined;
    return this.subscribed({ name, signal: true }, async (subscription) => {
      await this.engine.tokens.waiting(token, { kind: 'message', nodeId, since: token.since, viaFlow: token.viaFlow, name, signal: true }, () =>
        condition(() => subscription.received !== undefined),
      );
      return { variables: subscription.received!.variables };
    });
  }

  /** A message for a listener that is no token: one that came early, else the next that matches. */
  async nextMessage(name: string, correlationKey: string | undefined): Promise<EventData> {
    const early = this.takeBuffered(name, correlationKey);
    if (early) return early;
    return this.subscribed({ name, correlationKey }, async (subscription) => {
      await condition(() => subscription.received !== undefined);
      return { variables: subscription.received!.variables };
    });
  }

  /** Hands every signal of this name to `take`, in order, until it returns false. */
  async takeSignals(name: string, take: (data: EventData) => boolean): Promise<void> {
    await this.subscribed({ name, signal: true, queue: [] }, async (subscription) => {
      for (;;) {
        await condition(() => subscription.queue!.length > 0);
        while (subscription.queue!.length > 0) {
          if (!take({ variables: subscription.queue!.shift()!.variables })) return;
        }
      }
    });
  }

  /** Whether a delivered message or signal is still on its way into the process (continue-as-new waits for it). */
  inFlight(): boolean {
    return this.engine.state.subscriptions.some((subscription) => subscription.received !== undefined || (subscription.queue?.length ?? 0) > 0);
  }

  /** The first message that came before anyone waited for it and matches, taken out of the buffer. */
  private takeBuffered(name: string, correlationKey: string | undefined): EventData | undefined {
    const { buffered } = this.engine.state;
    const early = buffered.findIndex((message) => messageMatches(message, name, correlationKey));
    if (early < 0) return undefined;
    const [message] = buffered.splice(early, 1);
    return { variables: message!.variables };
  }

  /**
   * Opens `subscription` for as long as `wait` runs: the message handler matches it, and the
   * correlation index lists it. The one place a subscription is opened and closed.
   */
  private async subscribed<T>(subscription: Subscription, wait: (subscription: Subscription) => Promise<T>): Promise<T> {
    const { subscriptions } = this.engine.state;
    subscriptions.push(subscription);
    this.engine.index.mark();
    try {
      return await wait(subscription);
    } finally {
      subscriptions.splice(subscriptions.indexOf(subscription), 1);
      this.engine.index.mark();
    }
  }
}
