import { signCallback } from '../activities/external/signature';
import type { Logger } from '../runtime/logger';
import type { CallbackSystem } from '../workflows/external';

/** One attempt to deliver one callback, as `GET /sim/callbacks` lists it. */
export interface CallbackDelivery {
  seq: number;
  at: string;
  system: CallbackSystem;
  eventId: string;
  url: string;
  /** 1 for the first attempt; the sender retries a 5xx, a 429 or an unreachable receiver. */
  attempt: number;
  /** 2 for the deliberate duplicate of an event. */
  copy: number;
  status?: number;
  /** The receiver's `status` field (`delivered`, `duplicate`, …) or error code. */
  answer?: string;
  error?: string;
  body: Record<string, unknown>;
}

export interface CallbackSenderOptions {
  secrets: Partial<Record<CallbackSystem, string>>;
  /** Keyflow's base URL: events go to `<base>/api/callbacks/<system>` unless a request named a URL. */
  defaultBaseUrl: string;
  now: () => Date;
  logger?: Logger;
  maxAttempts?: number;
}

/**
 * Sends signed callbacks to Keyflow after a delay, retrying as a real partner would (5xx, 429 and
 * connection failures, with backoff; never a 4xx), and keeps every attempt for tests to read.
 */
export class CallbackSender {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly log: CallbackDelivery[] = [];
  private seq = 0;
  private inFlight = 0;
  private closed = false;

  constructor(private readonly options: CallbackSenderOptions) {}

  setDefaultBaseUrl(url: string): void {
    this.options.defaultBaseUrl = url;
  }

  /** Callbacks go to the configured Keyflow API only: a request naming another address is refused. */
  allows(url: string | undefined): boolean {
    if (url === undefined) return true;
    try {
      return new URL(url).origin === new URL(this.options.defaultBaseUrl).origin;
    } catch {
      return false;
    }
  }

  schedule(system: CallbackSystem, url: string | undefined, body: Record<string, unknown> & { eventId: string }, delayMs: number, copy = 1): void {
    // Signed with the real secret: never sent anywhere but the configured API.
    if (!this.allows(url)) {
      this.options.logger?.warn({ system, url }, 'callback to an address other than the configured API dropped');
      return;
    }
    this.later(delayMs, () => this.deliver(system, url ?? `${this.options.defaultBaseUrl}/api/callbacks/${system}`, body, copy, 1));
  }

  /** Runs `action` after `delayMs` unless the simulator is reset or closed first. */
  scheduleAction(delayMs: number, action: () => void): void {
    this.later(delayMs, async () => action());
  }

  deliveries(filter: { system?: string; eventId?: string } = {}): CallbackDelivery[] {
    return this.log.filter((entry) => (!filter.system || entry.system === filter.system) && (!filter.eventId || entry.eventId === filter.eventId));
  }

  /** Callbacks scheduled or being sent: tests wait for 0 before they conclude nothing more will come. */
  get pending(): number {
    return this.timers.size + this.inFlight;
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.log.length = 0;
  }

  close(): void {
    this.closed = true;
    this.clear();
  }

  private later(delayMs: number, run: () => Promise<void>): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void run();
    }, delayMs);
    this.timers.add(timer);
  }

  private async deliver(system: CallbackSystem, url: string, body: Record<string, unknown> & { eventId: string }, copy: number, attempt: number): Promise<void> {
    if (this.closed) return;
    const text = JSON.stringify(body);
    const secret = this.options.secrets[system];
    // Without a secret the callback goes unsigned, as a misconfigured partner's would: Keyflow refuses it.
    const headers = { 'content-type': 'application/json', ...(secret ? signCallback(secret, text, this.options.now()) : {}) };
    const entry: CallbackDelivery = { seq: ++this.seq, at: this.options.now().toISOString(), system, eventId: body.eventId, url, attempt, copy, body };
    this.log.push(entry);
    this.inFlight += 1;
    let retry = false;
    try {
      const response = await fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(10_000) });
      entry.status = response.status;
      const answer = (await response.json().catch(() => undefined)) as { status?: string; error?: { code?: string } } | undefined;
      entry.answer = answer?.status ?? answer?.error?.code;
      retry = response.status >= 500 || response.status === 429;
    } catch (error) {
      entry.error = (error as Error).message;
      retry = true;
    } finally {
      this.inFlight -= 1;
    }
    this.options.logger?.debug({ system, eventId: body.eventId, attempt, status: entry.status, error: entry.error }, 'callback sent');
    if (retry && attempt < (this.options.maxAttempts ?? 6)) {
      this.later(Math.min(200 * 2 ** (attempt - 1), 5_000), () => this.deliver(system, url, body, copy, attempt + 1));
    }
  }
}
