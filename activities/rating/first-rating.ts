/**
 * First rating: one usage event, on its own, against one plan version — destination zone, charging
 * units, band split, set-up fee, unit price. It needs nothing from other events, so any stream of
 * events can be cut into batches and rated in any order; everything that depends on the account's
 * other events (bundles, tiers, rounding per call) is second rating (second-rating.ts).
 */

import { segmentAt, type BandTimeline } from './bands';
import { RatingError } from './errors';
import { SUB_PER_MINOR, divRound, toSub } from './money';
import { PrefixTable } from './prefix';
import { bandsOf, measureOf, ratingPlanSchema, type Measure, type Price, type RatingPlan, type RatingPlanInput, type UsageType } from './plan';

/** One usage record as the rating core sees it (preprocessing has validated and normalised it). */
export interface UsageEvent {
  type: UsageType;
  /** UTC epoch milliseconds. */
  startMs: number;
  /** Voice: answered seconds (0 = unanswered, charged nothing). */
  durationSec: number;
  /** Data: bytes up and down. */
  volumeBytes: number;
  /** SMS: message parts (a long SMS is several). */
  messages: number;
  /** Voice and SMS: the called number, E.164 digits without "+". */
  destination: string;
  /** E.164 digits of the subscriber's own area ("86755" for Shenzhen): calls into it are local. */
  homePrefix: string;
}

/** A usage category of a compiled plan: `voice.<zone>`, `sms.<zone>` or `data`. */
export interface Category {
  index: number;
  key: string;
  type: UsageType;
  name: string;
  measure: Measure;
  /** Base measure per charging unit: seconds, bytes, or 1 message. */
  unitSize: number;
  minimumUnits: number;
  setupSub: number;
  /** Null unless priced by tiers of the account's volume (then first rating prices units at 0). */
  tiers: { fromUnits: number; unitPriceSub: number }[] | null;
  /** Unit price in sub units by band name (flat prices repeat one figure for every band). */
  priceByBand: Map<string, number>;
}

/** A plan checked and turned into lookup structures; independent of time zone and period. */
export interface CompiledPlan {
  plan: RatingPlan;
  categories: Category[];
  categoryByKey: Map<string, Category>;
  voice: { prefixes: PrefixTable; local: number } | null;
  sms: { prefixes: PrefixTable; local: number } | null;
  data: number;
}

/**
 * The result of first rating. `segments` is a flat list of triples
 * `[timelineBandIndex, units, unitPriceSub, …]` in time order, so a bundle can take the first
 * units of the event and each unit keeps the price of the band it starts in.
 */
export interface FirstRating {
  category: number;
  units: number;
  setupSub: number;
  /** Set-up fee plus units × price before bundles and rounding, in sub units. */
  amountSub: number;
  segments: number[];
}

/**
 * Checks a plan (zod) and compiles it.
 * @throws RatingError INVALID_PLAN naming every problem when the plan does not parse.
 */
export function compilePlan(input: RatingPlanInput | unknown): CompiledPlan {
  const parsed = ratingPlanSchema.safeParse(input);
  if (!parsed.success) {
    throw new RatingError(
      'INVALID_PLAN',
      'the rating plan is invalid',
      parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    );
  }
  const plan = parsed.data;
  const digits = plan.minorDigits;
  const bands = bandsOf(plan.timeBands);
  const unitRounded = plan.rounding.at === 'unit';
  // Under `unit` rounding a unit's price is a whole number of minor units from the start.
  const price = (text: string): number => {
    const sub = toSub(text, digits);
    return unitRounded ? divRound(sub, SUB_PER_MINOR, plan.rounding.mode) * SUB_PER_MINOR : sub;
  };
  const categories: Category[] = [];
  const add = (type: UsageType, key: string, name: string, unitSize: number, minimumUnits: number, setupFee: string, zonePrice: Price): number => {
    const priceByBand = new Map<string, number>();
    let tiers: Category['tiers'] = null;
    if ('byBand' in zonePrice) for (const band of bands) priceByBand.set(band, price(zonePrice.byBand[band]!));
    if ('flat' in zonePrice) for (const band of bands) priceByBand.set(band, price(zonePrice.flat));
    if ('tiers' in zonePrice) {
      tiers = zonePrice.tiers.map((tier) => ({ fromUnits: tier.fromUnits, unitPriceSub: price(tier.unitPrice) }));
      for (const band of bands) priceByBand.set(band, 0);
    }
    const category: Category = { index: categories.length, key, type, name, measure: measureOf(type), unitSize, minimumUnits, setupSub: price(setupFee), tiers, priceByBand };
    categories.push(category);
    return category.index;
  };

  const compiled: CompiledPlan = { plan, categories, categoryByKey: new Map(), voice: null, sms: null, data: -1 };
  if (plan.voice) {
    const indexOf = new Map<string, number>();
    for (const [zoneId, zone] of Object.entries(plan.voice.zones)) {
      indexOf.set(zoneId, add('voice', `voice.${zoneId}`, zone.name, zone.unitSeconds, zone.minimumUnits, zone.setupFee, zone.price));
    }
    const prefixes = new PrefixTable(Math.max(64, plan.voice.destinations.length * 4));
    for (const entry of plan.voice.destinations) prefixes.insert(entry.prefix, indexOf.get(entry.zone)!);
    compiled.voice = { prefixes, local: plan.voice.localZone ? indexOf.get(plan.voice.localZone)! : -1 };
  }
  if (plan.sms) {
    const indexOf = new Map<string, number>();
    for (const [zoneId, zone] of Object.entries(plan.sms.zones)) {
      indexOf.set(zoneId, add('sms', `sms.${zoneId}`, zone.name, 1, 1, zone.setupFee, zone.price));
    }
    const prefixes = new PrefixTable(Math.max(64, plan.sms.destinations.length * 4));
    for (const entry of plan.sms.destinations) prefixes.insert(entry.prefix, indexOf.get(entry.zone)!);
    compiled.sms = { prefixes, local: plan.sms.localZone ? indexOf.get(plan.sms.localZone)! : -1 };
  }
  if (plan.data) compiled.data = add('data', 'data', plan.data.name, plan.data.unitBytes, plan.data.minimumUnits, plan.data.setupFee, plan.data.price);
  for (const category of categories) compiled.categoryByKey.set(category.key, category);
  return compiled;
}

/**
 * Rates events of one compiled plan in one time line (one zone, one stretch of time). Prices are
 * laid out as a matrix [category × timeline band] so the hot path is array reads.
 */
export class FirstRater {
  private readonly prices: Float64Array;
  private readonly bandCount: number;
  private readonly matched = { length: 0 };

  constructor(
    readonly compiled: CompiledPlan,
    readonly timeline: BandTimeline,
  ) {
    this.bandCount = timeline.bands.length;
    this.prices = new Float64Array(compiled.categories.length * this.bandCount);
    for (const category of compiled.categories) {
      timeline.bands.forEach((band, bandIndex) => {
        const price = category.priceByBand.get(band);
        if (price === undefined) throw new RatingError('INVALID_PLAN', `the timeline has band "${band}" that the plan does not price`);
        this.prices[category.index * this.bandCount + bandIndex] = price;
      });
    }
  }

  /**
   * Rates one event.
   * @throws RatingError UNKNOWN_DESTINATION, UNSUPPORTED_USAGE_TYPE (the plan has no such usage),
   * OUTSIDE_TIMELINE (the event does not fall in the stretch this rater was built for).
   */
  rate(event: UsageEvent): FirstRating {
    switch (event.type) {
      case 'voice':
        return this.rateVoice(event);
      case 'sms':
        return this.rateSms(event);
      case 'data':
        return this.rateData(event);
      default:
        throw new RatingError('UNSUPPORTED_USAGE_TYPE', `unknown usage type ${JSON.stringify((event as UsageEvent).type)}`);
    }
  }

  private zoneOf(table: { prefixes: PrefixTable; local: number } | null, event: UsageEvent): number {
    if (!table) throw new RatingError('UNSUPPORTED_USAGE_TYPE', `the plan does not rate ${event.type}`);
    let category = table.prefixes.lookup(event.destination, this.matched);
    const home = event.homePrefix;
    if (table.local >= 0 && home.length > 0 && home.length >= this.matched.length && event.destination.startsWith(home)) category = table.local;
    if (category < 0) throw new RatingError('UNKNOWN_DESTINATION', `no zone matches destination ${event.destination}`);
    return category;
  }

  private rateVoice(event: UsageEvent): FirstRating {
    const categoryIndex = this.zoneOf(this.compiled.voice, event);
    const category = this.compiled.categories[categoryIndex]!;
    const duration = event.durationSec;
    if (duration <= 0) return { category: categoryIndex, units: 0, setupSub: 0, amountSub: 0, segments: [] };
    const unitSeconds = category.unitSize;
    const units = Math.max(category.minimumUnits, Math.ceil(duration / unitSeconds));
    const unitMs = unitSeconds * 1000;
    const timeline = this.timeline;
    const starts = timeline.starts;
    const start = event.startMs;
    let segment = segmentAt(timeline, start);
    const segments: number[] = [];
    let amount = category.setupSub;
    let assigned = 0;
    // Each unit is priced by the band it starts in: the units starting before the next boundary
    // belong to this segment. Cutting at boundaries never adds a unit to the call.
    while (assigned < units) {
      const next = segment + 1 < starts.length ? starts[segment + 1]! : timeline.to;
      let upTo = Math.ceil((next - start) / unitMs);
      if (upTo > units) upTo = units;
      else if (segment + 1 >= starts.length && upTo < units) {
        throw new RatingError('OUTSIDE_TIMELINE', 'the call runs past the rated stretch of time');
      }
      if (upTo > assigned) {
        const band = timeline.bandOf[segment]!;
        const price = this.prices[categoryIndex * this.bandCount + band]!;
        segments.push(band, upTo - assigned, price);
        amount += (upTo - assigned) * price;
        assigned = upTo;
      }
      segment += 1;
    }
    if (!Number.isSafeInteger(amount)) throw new RatingError('AMOUNT_OVERFLOW', 'the charge of one call left the exact integer range');
    return { category: categoryIndex, units, setupSub: category.setupSub, amountSub: amount, segments };
  }

  private rateSms(event: UsageEvent): FirstRating {
    const categoryIndex = this.zoneOf(this.compiled.sms, event);
    const category = this.compiled.categories[categoryIndex]!;
    const units = event.messages;
    if (units <= 0) return { category: categoryIndex, units: 0, setupSub: 0, amountSub: 0, segments: [] };
    const band = this.timeline.bandOf[segmentAt(this.timeline, event.startMs)]!;
    const price = this.prices[categoryIndex * this.bandCount + band]!;
    return { category: categoryIndex, units, setupSub: category.setupSub, amountSub: category.setupSub + units * price, segments: [band, units, price] };
  }

  /** A data session is rated whole in the band it starts in. */
  private rateData(event: UsageEvent): FirstRating {
    const categoryIndex = this.compiled.data;
    if (categoryIndex < 0) throw new RatingError('UNSUPPORTED_USAGE_TYPE', 'the plan does not rate data');
    const category = this.compiled.categories[categoryIndex]!;
    const volume = event.volumeBytes;
    if (volume <= 0) return { category: categoryIndex, units: 0, setupSub: 0, amountSub: 0, segments: [] };
    const units = Math.max(category.minimumUnits, Math.ceil(volume / category.unitSize));
    const band = this.timeline.bandOf[segmentAt(this.timeline, event.startMs)]!;
    const price = this.prices[categoryIndex * this.bandCount + band]!;
    const amount = category.setupSub + units * price;
    if (!Number.isSafeInteger(amount)) throw new RatingError('AMOUNT_OVERFLOW', 'the charge of one session left the exact integer range');
    return { category: categoryIndex, units, setupSub: category.setupSub, amountSub: amount, segments: [band, units, price] };
  }
}
