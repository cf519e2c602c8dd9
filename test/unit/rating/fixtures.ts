import { DateTime } from 'luxon';
import {
  billingPeriod,
  rateAccountUsage,
  TariffBook,
  type AccountUsage,
  type BillingPeriod,
  type FirstRater,
  type RatedEventInput,
  type RatingPlanInput,
  type SubscriptionTerm,
  type UsageEvent,
} from '../../../activities/rating';

/**
 * A Shenzhen key-account voice/SMS/data plan in CNY (fen, 2 digits). Weekdays are peak 08:00–21:00
 * and off-peak otherwise; weekends and holidays have their own bands. Prices per charging unit:
 * - local: per minute, 0.15 peak / 0.08 off-peak / 0.06 weekend / 0.05 holiday;
 * - long distance: 6-second units, at least 10 of them (the "60 + 6" rule), 0.012 per 6 s;
 * - per-second zone ("metered"): 0.0025 per second (0.15 a minute);
 * - international: 0.50 set-up, 2.00 a minute; the Caribbean (1242, 1246, …) 4.00 a minute;
 *   North America (1) 1.00 a minute;
 * - SMS 0.10 domestic, 0.50 international; data 0.05 per MB, graduated tiers.
 */
export function shenzhenPlan(overrides: Partial<RatingPlanInput> = {}): RatingPlanInput {
  const byBand = (peak: string, offpeak: string, weekend: string, holiday: string) => ({ byBand: { peak, offpeak, weekend, holiday } });
  return {
    schemaVersion: 1,
    currency: 'CNY',
    minorDigits: 2,
    rounding: { mode: 'halfUp', at: 'call' },
    timeBands: {
      schedules: [
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], band: 'offpeak', intervals: [{ from: '08:00', to: '21:00', band: 'peak' }] },
        { days: ['sat', 'sun'], band: 'weekend' },
        { days: ['holiday'], band: 'holiday' },
      ],
      holidays: ['2025-05-01', '2025-10-01'],
    },
    voice: {
      zones: {
        local: { name: 'Local', unitSeconds: 60, price: byBand('0.15', '0.08', '0.06', '0.05') },
        longDistance: { name: 'Long distance', unitSeconds: 6, minimumUnits: 10, price: { flat: '0.012' } },
        metered: { name: 'Metered', unitSeconds: 1, price: { flat: '0.0025' } },
        international: { name: 'International', unitSeconds: 60, setupFee: '0.50', price: { flat: '2.00' } },
        northAmerica: { name: 'North America', unitSeconds: 60, price: { flat: '1.00' } },
        caribbean: { name: 'Caribbean', unitSeconds: 60, price: { flat: '4.00' } },
      },
      destinations: [
        { prefix: '86', zone: 'longDistance' },
        { prefix: '86400', zone: 'metered' },
        { prefix: '852', zone: 'international' },
        { prefix: '44', zone: 'international' },
        { prefix: '1', zone: 'northAmerica' },
        { prefix: '1242', zone: 'caribbean' },
        { prefix: '1246', zone: 'caribbean' },
      ],
      localZone: 'local',
    },
    sms: {
      zones: { domestic: { name: 'Domestic', price: { flat: '0.10' } }, international: { name: 'International', price: { flat: '0.50' } } },
      destinations: [
        { prefix: '86', zone: 'domestic' },
        { prefix: '1', zone: 'international' },
        { prefix: '44', zone: 'international' },
        { prefix: '852', zone: 'international' },
      ],
    },
    data: { name: 'Data', unitBytes: 1024 * 1024, price: { tiers: [{ fromUnits: 0, unitPrice: '0.05' }, { fromUnits: 1000, unitPrice: '0.03' }, { fromUnits: 5000, unitPrice: '0.01' }] } },
    bundles: [],
    recurring: [{ id: 'rental', description: 'Monthly rental', amount: '88.00' }],
    ...overrides,
  };
}

export const shanghai = 'Asia/Shanghai';
export const home = '86755';

/** A UTC instant from a local wall-clock time, e.g. at('2025-03-04T20:59:30'). */
export function at(local: string, zone = shanghai): number {
  const instant = DateTime.fromISO(local, { zone });
  if (!instant.isValid) throw new Error(`bad fixture time ${local}`);
  return instant.toMillis();
}

export function voice(startMs: number, durationSec: number, destination = '8675588001234'): UsageEvent {
  return { type: 'voice', startMs, durationSec, volumeBytes: 0, messages: 0, destination, homePrefix: home };
}

export function sms(startMs: number, destination = '8613800138000', messages = 1): UsageEvent {
  return { type: 'sms', startMs, durationSec: 0, volumeBytes: 0, messages, destination, homePrefix: home };
}

export function data(startMs: number, volumeBytes: number): UsageEvent {
  return { type: 'data', startMs, durationSec: 0, volumeBytes, messages: 0, destination: '', homePrefix: home };
}

export const MB = 1024 * 1024;

/** A book with one product `p1` whose only version is valid from 2020 on. */
export function bookOf(plan: RatingPlanInput, productId = 'p1', tariffId = 't1'): TariffBook {
  return new TariffBook([{ id: tariffId, productId, validFrom: Date.UTC(2020, 0, 1), validTo: null, plan }]);
}

/** A first rater of a plan for a Shanghai account's period. */
export function raterFor(plan: RatingPlanInput, periodId = '2025-03', zone = shanghai): FirstRater {
  const book = bookOf(plan);
  const period = billingPeriod(periodId, zone);
  return book.rater(book.versionAt('p1', period.startMs), period);
}

export interface AccountFixture {
  book: TariffBook;
  period: BillingPeriod;
  subscriptions: SubscriptionTerm[];
}

/** An account in Shanghai with the given subscriptions to products of `book`. */
export function accountOf(
  book: TariffBook,
  periodId: string,
  subscriptions: { id: string; productId?: string; quantity?: number; activeFrom?: string | null; activeTo?: string | null }[],
): AccountFixture {
  const period = billingPeriod(periodId, shanghai);
  return {
    book,
    period,
    subscriptions: subscriptions.map((entry) => ({
      id: entry.id,
      productId: entry.productId ?? 'p1',
      quantity: entry.quantity ?? 1,
      activeFrom: entry.activeFrom ?? null,
      activeTo: entry.activeTo ?? null,
      tariff: book.versionAt(entry.productId ?? 'p1', period.startMs),
    })),
  };
}

let sequence = 0;

/** First-rates events of subscriptions (`[subscriptionId, event]`) into second-rating inputs. */
export function firstRated(account: AccountFixture, events: [string, UsageEvent, string?][]): RatedEventInput[] {
  return events.map(([subscriptionId, event, key]) => {
    const subscription = account.subscriptions.find((entry) => entry.id === subscriptionId)!;
    const tariff = account.book.versionAt(subscription.productId, event.startMs);
    return { key: key ?? `k${String((sequence += 1)).padStart(8, '0')}`, startMs: event.startMs, subscriptionId, tariff, rating: account.book.rater(tariff, account.period).rate(event) };
  });
}

export function usageOf(account: AccountFixture, events: [string, UsageEvent, string?][]): AccountUsage {
  return rateAccountUsage(account.period, account.subscriptions, firstRated(account, events));
}
