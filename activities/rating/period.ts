import { DateTime } from 'luxon';
import { RatingError } from './errors';

/**
 * A billing period: one month in the account's time zone, from its bill cycle day (1–28) to the
 * same day of the next month — a calendar month for cycle day 1. Its bounds are local midnights as
 * UTC instants, so a March bill in Europe/Berlin is 743 hours long, and usage belongs to the period
 * of its local date.
 */
export interface BillingPeriod {
  /** `YYYY-MM`: the month the period starts in. */
  id: string;
  timeZone: string;
  cycleDay: number;
  /** First local date of the period, `YYYY-MM-DD`. */
  startDate: string;
  /** First local date after it (exclusive). */
  endDate: string;
  startMs: number;
  endMs: number;
  /** Calendar days, the denominator of proration (28–31, whatever DST does to the hours). */
  days: number;
}

const periodPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

/** @throws RatingError INVALID_PERIOD for a malformed month, cycle day or an unknown zone. */
export function billingPeriod(id: string, timeZone: string, cycleDay = 1): BillingPeriod {
  const match = periodPattern.exec(id);
  if (!match) throw new RatingError('INVALID_PERIOD', `a period is YYYY-MM, not ${JSON.stringify(id)}`);
  if (!Number.isInteger(cycleDay) || cycleDay < 1 || cycleDay > 28) throw new RatingError('INVALID_PERIOD', `a bill cycle day is 1–28, not ${cycleDay}`);
  const start = DateTime.fromObject({ year: Number(match[1]), month: Number(match[2]), day: cycleDay }, { zone: timeZone });
  if (!start.isValid) throw new RatingError('INVALID_PERIOD', `unknown time zone ${JSON.stringify(timeZone)}`);
  const end = start.plus({ months: 1 });
  return {
    id,
    timeZone,
    cycleDay,
    startDate: start.toISODate()!,
    endDate: end.toISODate()!,
    startMs: start.toMillis(),
    endMs: end.toMillis(),
    days: daysBetween(start.toISODate()!, end.toISODate()!),
  };
}

/** The period that follows. */
export function nextPeriodId(id: string): string {
  const match = periodPattern.exec(id);
  if (!match) throw new RatingError('INVALID_PERIOD', `a period is YYYY-MM, not ${JSON.stringify(id)}`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  return month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
}

/** The period before. */
export function previousPeriodId(id: string): string {
  const match = periodPattern.exec(id);
  if (!match) throw new RatingError('INVALID_PERIOD', `a period is YYYY-MM, not ${JSON.stringify(id)}`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/** Whole calendar days from one local date to another (dates, not instants: DST cannot skew it). */
export function daysBetween(from: string, to: string): number {
  if (!datePattern.test(from) || !datePattern.test(to)) throw new RatingError('INVALID_PERIOD', `not dates: ${from}, ${to}`);
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * Days of the period a subscription was active: from its activation date (inclusive) to its end
 * date (exclusive, the first day it no longer runs), both local dates, either open.
 */
export function activeDays(period: BillingPeriod, activeFrom: string | null, activeTo: string | null): number {
  const from = activeFrom && activeFrom > period.startDate ? activeFrom : period.startDate;
  const to = activeTo && activeTo < period.endDate ? activeTo : period.endDate;
  return to > from ? daysBetween(from, to) : 0;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The local date (`YYYY-MM-DD`) of an instant in a zone. */
export function localDate(instantMs: number, timeZone: string): string {
  let format = dateFormats.get(timeZone);
  if (!format) {
    // en-CA writes dates as YYYY-MM-DD; one formatter per zone, reused (building one is the slow part).
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, format);
  }
  return format.format(instantMs);
}

/**
 * Finds the billing period of an instant for accounts of one zone and cycle day, fast: the period
 * starts are computed once (luxon) and searched as plain numbers, as preprocessing does for every
 * record.
 */
export class PeriodLocator {
  private readonly starts: number[] = [];
  private readonly ids: string[] = [];
  private readonly periods = new Map<string, BillingPeriod>();

  /** Covers the periods starting from `firstPeriodId` through `lastPeriodId`. */
  constructor(
    readonly timeZone: string,
    readonly cycleDay: number,
    firstPeriodId: string,
    lastPeriodId: string,
  ) {
    for (let id = firstPeriodId; id <= lastPeriodId; id = nextPeriodId(id)) {
      const period = billingPeriod(id, timeZone, cycleDay);
      this.starts.push(period.startMs);
      this.ids.push(id);
      this.periods.set(id, period);
    }
    const last = this.periods.get(this.ids[this.ids.length - 1]!);
    if (last) this.starts.push(last.endMs);
  }

  /** The period id of an instant, or null outside the covered range. */
  periodOf(instantMs: number): string | null {
    const starts = this.starts;
    if (starts.length < 2 || instantMs < starts[0]! || instantMs >= starts[starts.length - 1]!) return null;
    let low = 0;
    let high = starts.length - 2;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (starts[middle]! <= instantMs) low = middle;
      else high = middle - 1;
    }
    return this.ids[low]!;
  }

  period(id: string): BillingPeriod {
    let period = this.periods.get(id);
    if (!period) {
      period = billingPeriod(id, this.timeZone, this.cycleDay);
      this.periods.set(id, period);
    }
    return period;
  }
}
