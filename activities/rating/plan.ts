/**
 * The rating plan: the shape of the `plan jsonb` column of the CRM's `tariffs` table, one version
 * of one product's prices. Amounts are decimal strings in the currency's major unit ("0.15" CNY),
 * read exactly into integers (see money.ts); nothing here is a float.
 *
 * A plan says:
 * - which time band every local instant falls in (`timeBands`: weekly schedules plus holidays);
 * - for each usage type (voice, sms, data) its zones, how a destination number finds its zone
 *   (longest prefix, or the subscriber's own area for the local zone), the charging unit, the
 *   minimum number of units, a set-up fee and a price per unit — by band, flat, or tiered by the
 *   account's volume in the period;
 * - free allowances (`bundles`) pooled across the account's subscriptions of the product;
 * - recurring charges (monthly rental, prorated by days for partial months);
 * - how and where amounts are rounded (`rounding`).
 *
 * The account-level agreement (discounts, caps, minimum commitment, tax) is a separate schema at
 * the end of this file: it belongs to the key account's contract, not to a product.
 */

import { z } from 'zod';
import { roundingModes } from './money';

const identifier = z.string().regex(/^[a-z][a-zA-Z0-9_-]{0,39}$/, 'an identifier such as "peak" or "longDistance"');
const decimal = z.string().regex(/^\d{1,12}(\.\d{1,8})?$/, 'a non-negative decimal such as "0.15"');
const percent = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,4})?$/, 'a percentage such as "12.5"')
  .refine((value) => Number(value) <= 100, 'at most 100');
const clock = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a local time HH:mm (24:00 ends a day)');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const digits = z.string().regex(/^\d{1,15}$/, 'digits of an E.164 number without "+"');

export const dayTypes = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'holiday'] as const;
export type DayType = (typeof dayTypes)[number];

const interval = z.object({ from: clock, to: clock, band: identifier }).strict();

const schedule = z
  .object({
    days: z.array(z.enum(dayTypes)).min(1),
    /** The band of every moment of these days that no interval covers. */
    band: identifier,
    intervals: z.array(interval).default([]),
  })
  .strict();

export const timeBandsSchema = z
  .object({
    schedules: z.array(schedule).min(1),
    /** Local dates that follow the `holiday` schedule instead of their weekday's. */
    holidays: z.array(isoDate).default([]),
  })
  .strict();

const tier = z.object({ fromUnits: z.number().int().min(0), unitPrice: decimal }).strict();

/**
 * Price of one charging unit: by the band the unit starts in, flat, or graduated by the account's
 * billable units of this category in the period (each unit at the price of the tier it falls in).
 */
export const priceSchema = z.union([
  z.object({ byBand: z.record(identifier, decimal) }).strict(),
  z.object({ flat: decimal }).strict(),
  z.object({ tiers: z.array(tier).min(1) }).strict(),
]);

const voiceZone = z
  .object({
    name: z.string().min(1).max(100),
    /** Seconds per charging unit: 1 (per second), 6, 60 (per minute). */
    unitSeconds: z.number().int().min(1).max(3600),
    /** A call of any positive length is charged at least this many units (the "minimum first unit"). */
    minimumUnits: z.number().int().min(1).max(3600).default(1),
    /** Charged once per answered call (duration > 0); never covered by a bundle. */
    setupFee: decimal.default('0'),
    price: priceSchema,
  })
  .strict();

const smsZone = z
  .object({
    name: z.string().min(1).max(100),
    setupFee: decimal.default('0'),
    price: priceSchema,
  })
  .strict();

const destination = z.object({ prefix: digits, zone: identifier }).strict();

const voice = z
  .object({
    zones: z.record(identifier, voiceZone),
    /** Longest prefix wins; a number no prefix matches is rejected (UNKNOWN_DESTINATION). */
    destinations: z.array(destination).default([]),
    /** Zone of a call to the subscriber's own area (its home prefix), when that prefix is longer than any listed match. */
    localZone: identifier.optional(),
  })
  .strict();

const sms = z
  .object({
    zones: z.record(identifier, smsZone),
    destinations: z.array(destination).default([]),
    localZone: identifier.optional(),
  })
  .strict();

const data = z
  .object({
    name: z.string().min(1).max(100).default('Data'),
    /** Bytes per charging unit (1024 = per KB). */
    unitBytes: z.number().int().min(1).max(1024 * 1024 * 1024),
    minimumUnits: z.number().int().min(1).max(1_000_000).default(1),
    setupFee: decimal.default('0'),
    price: priceSchema,
  })
  .strict();

/**
 * Category of a usage charge: `voice.<zone>`, `sms.<zone>` or `data`. Bundles, discounts and bill
 * lines refer to categories; a pattern matches itself and everything below it (`voice` matches
 * `voice.local`).
 */
const categoryPattern = z.string().regex(/^(voice|sms|data)(\.[a-z][a-zA-Z0-9_-]{0,39})?$/, 'a usage category such as "voice.local" or "data"');

export const measures = ['seconds', 'bytes', 'messages'] as const;
export type Measure = (typeof measures)[number];

const bundle = z
  .object({
    /** Bundles with the same id on several subscriptions of an account form one pool. */
    id: identifier,
    description: z.string().min(1).max(200),
    appliesTo: z.array(categoryPattern).min(1),
    measure: z.enum(measures),
    /** Allowance per subscription per full month, in the measure (seconds, bytes, messages). */
    allowance: z.number().int().min(1),
    /** A subscription active part of the month brings that share of the allowance (rounded down). */
    prorate: z.boolean().default(true),
  })
  .strict();

const recurring = z
  .object({
    id: identifier,
    description: z.string().min(1).max(200),
    /** Per subscription per full calendar month. */
    amount: decimal,
    /** Partial months are charged by active days / days in the month. */
    prorate: z.boolean().default(true),
  })
  .strict();

export const roundingSchema = z
  .object({
    mode: z.enum(roundingModes),
    /**
     * - `unit`: every charging unit's price (and the set-up fee) is rounded to the minor unit;
     * - `call`: each record's charge is rounded once;
     * - `bill`: charges keep sub-unit precision and only this product's usage total on the bill
     *   is rounded (spread over its lines so they still add up).
     */
    at: z.enum(['unit', 'call', 'bill']),
  })
  .strict();

export const ratingPlanSchema = z
  .object({
    schemaVersion: z.literal(1),
    currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as "CNY"'),
    minorDigits: z.number().int().min(0).max(3),
    rounding: roundingSchema,
    timeBands: timeBandsSchema.default({ schedules: [{ days: [...dayTypes], band: 'standard', intervals: [] }], holidays: [] }),
    voice: voice.optional(),
    sms: sms.optional(),
    data: data.optional(),
    /** In the order they are consumed: an event draws from the first listed bundle that covers it and still has allowance, then the next. */
    bundles: z.array(bundle).default([]),
    recurring: z.array(recurring).default([]),
  })
  .strict()
  .superRefine((plan, ctx) => {
    checkTimeBands(plan.timeBands, ctx);
    const bands = bandsOf(plan.timeBands);
    const checkPrice = (price: z.infer<typeof priceSchema>, path: (string | number)[]) => {
      if ('byBand' in price) {
        for (const band of bands) {
          if (price.byBand[band] === undefined) ctx.addIssue({ code: 'custom', path: [...path, 'byBand', band], message: `no price for band "${band}"` });
        }
      }
      if ('tiers' in price) {
        price.tiers.forEach((tier, index) => {
          if (index === 0 && tier.fromUnits !== 0) ctx.addIssue({ code: 'custom', path: [...path, 'tiers', 0, 'fromUnits'], message: 'the first tier starts at 0' });
          const previous = price.tiers[index - 1];
          if (previous && tier.fromUnits <= previous.fromUnits) {
            ctx.addIssue({ code: 'custom', path: [...path, 'tiers', index, 'fromUnits'], message: 'tiers must start at increasing units' });
          }
        });
      }
    };
    for (const type of ['voice', 'sms'] as const) {
      const usage = plan[type];
      if (!usage) continue;
      for (const [zoneId, zone] of Object.entries(usage.zones)) checkPrice(zone.price, [type, 'zones', zoneId, 'price']);
      usage.destinations.forEach((entry, index) => {
        if (!usage.zones[entry.zone]) ctx.addIssue({ code: 'custom', path: [type, 'destinations', index, 'zone'], message: `unknown zone "${entry.zone}"` });
      });
      const prefixes = new Set<string>();
      usage.destinations.forEach((entry, index) => {
        if (prefixes.has(entry.prefix)) ctx.addIssue({ code: 'custom', path: [type, 'destinations', index, 'prefix'], message: `prefix ${entry.prefix} is listed twice` });
        prefixes.add(entry.prefix);
      });
      if (usage.localZone && !usage.zones[usage.localZone]) ctx.addIssue({ code: 'custom', path: [type, 'localZone'], message: `unknown zone "${usage.localZone}"` });
    }
    if (plan.data) checkPrice(plan.data.price, ['data', 'price']);
    const bundleIds = new Set<string>();
    plan.bundles.forEach((entry, index) => {
      if (bundleIds.has(entry.id)) ctx.addIssue({ code: 'custom', path: ['bundles', index, 'id'], message: `bundle "${entry.id}" is listed twice` });
      bundleIds.add(entry.id);
      entry.appliesTo.forEach((pattern, patternIndex) => {
        const type = pattern.split('.')[0] as 'voice' | 'sms' | 'data';
        if (measureOf(type) !== entry.measure) {
          ctx.addIssue({ code: 'custom', path: ['bundles', index, 'appliesTo', patternIndex], message: `${type} is measured in ${measureOf(type)}, not ${entry.measure}` });
        }
      });
    });
    const recurringIds = new Set<string>();
    plan.recurring.forEach((entry, index) => {
      if (recurringIds.has(entry.id)) ctx.addIssue({ code: 'custom', path: ['recurring', index, 'id'], message: `recurring charge "${entry.id}" is listed twice` });
      recurringIds.add(entry.id);
    });
  });

export type RatingPlan = z.infer<typeof ratingPlanSchema>;
/** What a plan author writes (defaults may be left out). */
export type RatingPlanInput = z.input<typeof ratingPlanSchema>;
export type TimeBands = z.infer<typeof timeBandsSchema>;
export type Price = z.infer<typeof priceSchema>;
export type Bundle = RatingPlan['bundles'][number];
export type RecurringCharge = RatingPlan['recurring'][number];

export const usageTypes = ['voice', 'sms', 'data'] as const;
export type UsageType = (typeof usageTypes)[number];

export function measureOf(type: UsageType): Measure {
  return type === 'voice' ? 'seconds' : type === 'data' ? 'bytes' : 'messages';
}

/** Every band a schedule can produce. */
export function bandsOf(timeBands: TimeBands): string[] {
  const bands = new Set<string>();
  for (const entry of timeBands.schedules) {
    bands.add(entry.band);
    for (const part of entry.intervals) bands.add(part.band);
  }
  return [...bands];
}

/** Whether the category (`voice.local`) falls under the pattern (`voice`, `voice.local`). */
export function categoryMatches(pattern: string, category: string): boolean {
  return category === pattern || category.startsWith(`${pattern}.`);
}

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return hours! * 60 + minutes!;
}

function checkTimeBands(timeBands: TimeBands, ctx: z.RefinementCtx): void {
  const seen = new Map<DayType, number>();
  timeBands.schedules.forEach((entry, index) => {
    for (const day of entry.days) {
      if (seen.has(day)) ctx.addIssue({ code: 'custom', path: ['timeBands', 'schedules', index, 'days'], message: `${day} is in schedules ${seen.get(day)} and ${index}` });
      seen.set(day, index);
    }
    let previousEnd = 0;
    entry.intervals.forEach((part, partIndex) => {
      const from = minutesOf(part.from);
      const to = minutesOf(part.to);
      if (from >= to) ctx.addIssue({ code: 'custom', path: ['timeBands', 'schedules', index, 'intervals', partIndex], message: 'an interval ends after it starts' });
      if (from < previousEnd) {
        ctx.addIssue({ code: 'custom', path: ['timeBands', 'schedules', index, 'intervals', partIndex], message: 'intervals must be in order and must not overlap' });
      }
      previousEnd = to;
    });
  });
  for (const day of dayTypes) {
    if (day === 'holiday' && timeBands.holidays.length === 0 && !seen.has(day)) continue;
    if (!seen.has(day)) ctx.addIssue({ code: 'custom', path: ['timeBands', 'schedules'], message: `no schedule covers ${day === 'holiday' ? 'the holidays' : day}` });
  }
}

/* ----------------------------------------------------------------------------------------------
 * The account-level agreement of a key account: discounts, caps, minimum commitment and tax. It is
 * applied to the whole bill after every product's charges, in the order written here.
 * -------------------------------------------------------------------------------------------- */

/**
 * Which charges a discount or commitment covers: `usage` (all usage), `usage.voice`,
 * `usage.voice.international`, `recurring`, `recurring.<id>`, `oneOff`. A scope matches a line
 * whose key is the scope or starts with it and a dot.
 */
const scope = z.string().regex(/^(usage(\.(voice|sms|data)(\.[a-z][a-zA-Z0-9_-]{0,39})?)?|recurring(\.[a-z][a-zA-Z0-9_-]{0,39})?|oneOff)$/, 'a charge scope such as "usage", "usage.voice" or "recurring"');

const percentageDiscount = z
  .object({
    kind: z.literal('percentage'),
    id: identifier,
    description: z.string().min(1).max(200),
    percent,
    appliesTo: z.array(scope).min(1),
    /** The most this discount gives in one period (major units). */
    cap: decimal.optional(),
  })
  .strict();

/** The customer pays at most `cap` for the covered charges; the excess comes off as a discount. */
const spendCap = z
  .object({
    kind: z.literal('spendCap'),
    id: identifier,
    description: z.string().min(1).max(200),
    appliesTo: z.array(scope).min(1),
    cap: decimal,
  })
  .strict();

export const accountAgreementSchema = z
  .object({
    /**
     * Applied in this order, each to what the earlier ones left of its scope (so two 10 %
     * discounts on the same charges give 19 %, not 20 %).
     */
    discounts: z.array(z.discriminatedUnion('kind', [percentageDiscount, spendCap])).default([]),
    /**
     * If the covered charges after discounts fall short of `amount`, the difference is charged
     * as a top-up line. Compensation credits are applied after it, so they never raise a top-up.
     */
    minimumCommitment: z
      .object({ amount: decimal, appliesTo: z.array(scope).min(1), description: z.string().min(1).max(200).default('Minimum monthly commitment top-up') })
      .strict()
      .optional(),
    /** How percentages of totals (discounts, tax) are rounded to the minor unit. */
    roundingMode: z.enum(roundingModes).default('halfUp'),
    /** Tax on the net of the bill (charges − discounts + top-up − credits). */
    taxRatePercent: percent.default('0'),
    taxDescription: z.string().min(1).max(200).default('VAT'),
  })
  .strict()
  .superRefine((agreement, ctx) => {
    const ids = new Set<string>();
    agreement.discounts.forEach((entry, index) => {
      if (ids.has(entry.id)) ctx.addIssue({ code: 'custom', path: ['discounts', index, 'id'], message: `discount "${entry.id}" is listed twice` });
      ids.add(entry.id);
    });
  });

export type AccountAgreement = z.infer<typeof accountAgreementSchema>;
export type AccountAgreementInput = z.input<typeof accountAgreementSchema>;

export function scopeMatches(scopePattern: string, lineKey: string): boolean {
  return lineKey === scopePattern || lineKey.startsWith(`${scopePattern}.`);
}
