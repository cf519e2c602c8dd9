/**
 * Second rating: an account's first-rated events of one period, taken together, in event order
 * (start instant, then record key — so arrival order and batch boundaries never matter).
 *
 * For each event, in this order:
 * 1. free allowances: the event's plan lists bundles in order; the event draws whole charging units
 *    from the first listed bundle covering its category that still holds at least one unit, then
 *    the next. Pools are shared by every subscription of the account whose plan lists the bundle,
 *    and the free units are the event's *first* units (so a call that exhausts a bundle mid-call
 *    pays for its later units, in the bands those start in). A remainder smaller than one unit
 *    stays in the pool for events with smaller units. Set-up fees are never free;
 * 2. tiered prices: units left after bundles are priced by the tiers of the account's billable
 *    units of that (tariff, category) so far in the period — graduated, a unit at the price of the
 *    tier it falls in;
 * 3. rounding: under the plan's `call` rounding the event's charge is rounded once here; under
 *    `unit` it is already whole minor units; under `bill` it stays in sub units for the bill.
 */

import { RatingError } from './errors';
import type { FirstRating } from './first-rating';
import { SUB_PER_MINOR, divRound, safe } from './money';
import { activeDays, type BillingPeriod } from './period';
import { categoryMatches, type Measure, type RatingPlan } from './plan';
import type { CompiledTariff } from './tariff-book';

/** A subscription as far as one period's charges care. */
export interface SubscriptionTerm {
  id: string;
  productId: string;
  /** Lines, circuits or seats under this one subscription: rentals and allowances are per unit. */
  quantity: number;
  /** First local date of service (inclusive); null = before any period that matters. */
  activeFrom: string | null;
  /** First local date without service (exclusive); null = still running. */
  activeTo: string | null;
  /** The version that sets the subscription's allowances and recurring charges for the period. */
  tariff: CompiledTariff;
}

export interface RatedEventInput {
  /** Stable identity (`source/recordId`): orders events that start at the same instant. */
  key: string;
  startMs: number;
  subscriptionId: string;
  tariff: CompiledTariff;
  rating: FirstRating;
}

export interface SecondRating {
  key: string;
  startMs: number;
  subscriptionId: string;
  tariffId: string;
  category: string;
  units: number;
  freeUnits: number;
  /** The bundle the first free unit came from; null when none. */
  bundleId: string | null;
  /** What the event costs after bundles, tiers and per-call rounding, in sub units. */
  chargeSub: number;
}

export interface UsageLine {
  tariffId: string;
  productId: string;
  /** `voice.local`, `sms.international`, `data`. */
  category: string;
  name: string;
  measure: Measure;
  rounding: RatingPlan['rounding'];
  events: number;
  units: number;
  freeUnits: number;
  /** Base measure (seconds, bytes, messages) of the charged units, free ones included. */
  quantity: number;
  chargeSub: number;
}

export interface BundleUse {
  id: string;
  description: string;
  measure: Measure;
  allowance: number;
  used: number;
}

export interface AccountUsage {
  events: SecondRating[];
  lines: UsageLine[];
  bundles: BundleUse[];
}

interface Pool extends BundleUse {
  remaining: number;
}

/** The allowance pools of an account for a period, from its subscriptions. */
export function bundlePools(period: BillingPeriod, subscriptions: readonly SubscriptionTerm[]): Map<string, Pool> {
  const pools = new Map<string, Pool>();
  for (const subscription of subscriptions) {
    const days = activeDays(period, subscription.activeFrom, subscription.activeTo);
    if (days === 0) continue;
    for (const bundle of subscription.tariff.compiled.plan.bundles) {
      const full = bundle.allowance * subscription.quantity;
      const allowance = safe(bundle.prorate ? Math.floor((full * days) / period.days) : full);
      const pool = pools.get(bundle.id);
      if (pool) {
        if (pool.measure !== bundle.measure) throw new RatingError('INVALID_PLAN', `bundle ${bundle.id} is measured in ${pool.measure} in one plan and ${bundle.measure} in another`);
        pool.allowance = safe(pool.allowance + allowance);
        pool.remaining = pool.allowance;
      } else {
        pools.set(bundle.id, { id: bundle.id, description: bundle.description, measure: bundle.measure, allowance, used: 0, remaining: allowance });
      }
    }
  }
  return pools;
}

/** Orders events canonically: start instant, then key. */
export function compareEvents(a: { startMs: number; key: string }, b: { startMs: number; key: string }): number {
  if (a.startMs !== b.startMs) return a.startMs - b.startMs;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Second-rates all of an account's events of a period. `events` may come in any order and from
 * any number of batches; the result depends only on the set.
 */
export function rateAccountUsage(period: BillingPeriod, subscriptions: readonly SubscriptionTerm[], events: readonly RatedEventInput[]): AccountUsage {
  const pools = bundlePools(period, subscriptions);
  const ordered = [...events].sort(compareEvents);
  const eligible = new Map<string, string[]>();
  const tierUnits = new Map<string, number>();
  const lines = new Map<string, UsageLine>();
  const rated: SecondRating[] = [];

  for (const event of ordered) {
    const { tariff, rating } = event;
    const plan = tariff.compiled.plan;
    const category = tariff.compiled.categories[rating.category];
    if (!category) throw new RatingError('INVALID_EVENT', `event ${event.key} names category ${rating.category} that tariff ${tariff.id} lacks`);
    const lineKey = `${tariff.id}|${category.key}`;

    let free = 0;
    let bundleId: string | null = null;
    if (rating.units > 0) {
      let bundles = eligible.get(lineKey);
      if (!bundles) {
        bundles = plan.bundles.filter((bundle) => bundle.appliesTo.some((pattern) => categoryMatches(pattern, category.key))).map((bundle) => bundle.id);
        eligible.set(lineKey, bundles);
      }
      for (const id of bundles) {
        const pool = pools.get(id);
        if (!pool) continue;
        const take = Math.min(rating.units - free, Math.floor(pool.remaining / category.unitSize));
        if (take <= 0) continue;
        pool.remaining -= take * category.unitSize;
        pool.used += take * category.unitSize;
        free += take;
        bundleId ??= id;
        if (free === rating.units) break;
      }
    }

    let charge = rating.setupSub;
    let freeLeft = free;
    const segments = rating.segments;
    for (let index = 0; index < segments.length; index += 3) {
      const units = segments[index + 1]!;
      const freeHere = freeLeft < units ? freeLeft : units;
      freeLeft -= freeHere;
      const billable = units - freeHere;
      if (billable === 0) continue;
      if (category.tiers) {
        const before = tierUnits.get(lineKey) ?? 0;
        charge += tieredCharge(category.tiers, before, billable);
        tierUnits.set(lineKey, before + billable);
      } else {
        charge += billable * segments[index + 2]!;
      }
    }
    if (plan.rounding.at === 'call') charge = divRound(charge, SUB_PER_MINOR, plan.rounding.mode) * SUB_PER_MINOR;
    safe(charge);

    rated.push({ key: event.key, startMs: event.startMs, subscriptionId: event.subscriptionId, tariffId: tariff.id, category: category.key, units: rating.units, freeUnits: free, bundleId, chargeSub: charge });
    let line = lines.get(lineKey);
    if (!line) {
      line = {
        tariffId: tariff.id,
        productId: tariff.productId,
        category: category.key,
        name: category.name,
        measure: category.measure,
        rounding: plan.rounding,
        events: 0,
        units: 0,
        freeUnits: 0,
        quantity: 0,
        chargeSub: 0,
      };
      lines.set(lineKey, line);
    }
    line.events += 1;
    line.units += rating.units;
    line.freeUnits += free;
    line.quantity += rating.units * category.unitSize;
    line.chargeSub = safe(line.chargeSub + charge);
  }

  return {
    events: rated,
    lines: [...lines.values()].sort((a, b) => (a.tariffId === b.tariffId ? (a.category < b.category ? -1 : 1) : a.tariffId < b.tariffId ? -1 : 1)),
    bundles: [...pools.values()].map(({ remaining: _remaining, ...use }) => use),
  };
}

/** Graduated price of `units` units following `before` already billed ones. */
export function tieredCharge(tiers: readonly { fromUnits: number; unitPriceSub: number }[], before: number, units: number): number {
  let charge = 0;
  const end = before + units;
  for (let index = 0; index < tiers.length; index += 1) {
    const tier = tiers[index]!;
    const tierEnd = index + 1 < tiers.length ? tiers[index + 1]!.fromUnits : Infinity;
    const from = Math.max(before, tier.fromUnits);
    const to = Math.min(end, tierEnd);
    if (to > from) charge += (to - from) * tier.unitPriceSub;
  }
  return charge;
}
