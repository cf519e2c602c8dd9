import { z } from 'zod';

/**
 * How an endpoint misbehaves, set at run time with `POST /sim/faults`. Keys are an operation
 * (`provisioning.activate`), a whole system (`provisioning.*`) or everything (`*`); the settings of
 * the matching keys are merged, the most specific winning field by field.
 */
export const faultSettings = z
  .object({
    /** Added before the request is looked at, plus up to `jitterMs` more. */
    latencyMs: z.number().int().min(0).max(120_000),
    jitterMs: z.number().int().min(0).max(120_000),
    /** Share of requests refused with one of `errorStatuses` before anything is done. */
    errorRate: z.number().min(0).max(1),
    errorStatuses: z.array(z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(504)])).min(1),
    /** Sent with 429 and 503 answers. */
    retryAfterSeconds: z.number().int().min(0).max(3600),
    /** Share of requests that are done (ledger written), then left unanswered for `hangMs`. */
    timeoutRate: z.number().min(0).max(1),
    hangMs: z.number().int().min(0).max(600_000),
    /** Every request is refused with 503 (and Retry-After when set). */
    outage: z.boolean(),
    /** The next n requests fail with the first of `errorStatuses` / time out: for deterministic tests. */
    failNext: z.number().int().min(0).max(1_000_000),
    timeoutNext: z.number().int().min(0).max(1_000_000),
    /** Provisioning: delay before an accepted activation is completed and called back. */
    callbackDelayMs: z.number().int().min(0).max(600_000),
    /** Provisioning: share of activations that do the work but never call back. */
    loseCallbackRate: z.number().min(0).max(1),
    /** Share of callbacks delivered twice (same event id, fresh signature). */
    duplicateCallbackRate: z.number().min(0).max(1),
    /** Provisioning: share of activations whose final event is sent before their progress event. */
    outOfOrderCallbackRate: z.number().min(0).max(1),
    /** Provisioning: share of activations that end `failed` (reason PORT_UNAVAILABLE). */
    activationFailureRate: z.number().min(0).max(1),
    /** Provisioning: the next n reservations find no capacity at the site (422 NO_CAPACITY) until the network is built out. */
    noCapacityNext: z.number().int().min(0).max(1_000_000),
  })
  .partial()
  .strict();
export type FaultSettings = z.infer<typeof faultSettings>;

export const faultKey = z.string().regex(/^(\*|[a-z]+\.\*|[a-z]+\.[A-Za-z]+)$/, 'an operation (provisioning.activate), a system (provisioning.*) or *');
export const faultUpdate = z.record(faultKey, faultSettings);

const defaults = {
  latencyMs: 0,
  jitterMs: 0,
  errorRate: 0,
  errorStatuses: [503] as number[],
  retryAfterSeconds: undefined as number | undefined,
  timeoutRate: 0,
  hangMs: 60_000,
  outage: false,
  failNext: 0,
  timeoutNext: 0,
  callbackDelayMs: undefined as number | undefined,
  loseCallbackRate: 0,
  duplicateCallbackRate: 0,
  outOfOrderCallbackRate: 0,
  activationFailureRate: 0,
  noCapacityNext: 0,
};
export type EffectiveFaults = typeof defaults;

/** Small, fast, seedable: the same seed and requests give the same faults. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultStore {
  private settings = new Map<string, FaultSettings>();

  /** `baseline` applies under every key and survives `clear()`: the simulator's everyday manners. */
  constructor(private readonly baseline: FaultSettings = {}) {}

  /** Replaces the settings of each key given; an empty object clears that key. */
  update(update: Record<string, FaultSettings>): void {
    for (const [key, settings] of Object.entries(update)) {
      if (Object.keys(settings).length === 0) this.settings.delete(key);
      else this.settings.set(key, { ...settings });
    }
  }

  clear(): void {
    this.settings.clear();
  }

  snapshot(): Record<string, FaultSettings> {
    return Object.fromEntries(this.settings);
  }

  /** The settings that apply to `operation`: `*`, then `<system>.*`, then the operation itself. */
  resolve(operation: string): EffectiveFaults {
    return Object.assign({}, defaults, this.baseline, ...this.keysFor(operation).map((key) => this.settings.get(key) ?? {}));
  }

  /**
   * Consumes one of a `failNext`/`timeoutNext`/`noCapacityNext` counter from the most specific key that has one
   * left; true when this request is one of them.
   */
  take(operation: string, counter: 'failNext' | 'timeoutNext' | 'noCapacityNext'): boolean {
    for (const key of this.keysFor(operation).reverse()) {
      const settings = this.settings.get(key);
      const left = settings?.[counter] ?? 0;
      if (settings && left > 0) {
        settings[counter] = left - 1;
        return true;
      }
    }
    return false;
  }

  private keysFor(operation: string): string[] {
    return ['*', `${operation.split('.')[0]}.*`, operation];
  }
}
