import { DateTime } from 'luxon';
import { RatingError } from './errors';
import type { DayType, TimeBands } from './plan';

/**
 * The time bands of one plan in one time zone, laid out as UTC instants over a stretch of time:
 * segment i is `[starts[i], starts[i + 1])` (the last one runs to `to`) and is in band
 * `bands[bandOf[i]]`. Built once per (plan, zone, period) with luxon, which knows the zone's DST
 * rules; rating then finds a band by binary search over plain numbers, with no date library on the
 * hot path. A DST day is simply 23 or 25 hours long here.
 */
export interface BandTimeline {
  readonly bands: readonly string[];
  readonly starts: Float64Array;
  readonly bandOf: Uint8Array;
  readonly from: number;
  readonly to: number;
}

const weekdays: DayType[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * Lays out the bands of `timeBands` in `timeZone` from `fromMs` to `toMs` (UTC epoch ms), whole
 * local days. A boundary that falls in a local time skipped by DST moves forward to the first
 * instant after the gap; one in a repeated hour is taken at its first occurrence.
 * @throws RatingError INVALID_PERIOD for an unknown zone or an empty range.
 */
export function buildBandTimeline(timeBands: TimeBands, timeZone: string, fromMs: number, toMs: number): BandTimeline {
  if (!(toMs > fromMs)) throw new RatingError('INVALID_PERIOD', 'a timeline needs to > from');
  const first = DateTime.fromMillis(fromMs, { zone: timeZone });
  if (!first.isValid) throw new RatingError('INVALID_PERIOD', `unknown time zone ${JSON.stringify(timeZone)}`);

  const bands: string[] = [];
  const bandIndex = (band: string): number => {
    let index = bands.indexOf(band);
    if (index < 0) {
      index = bands.length;
      bands.push(band);
    }
    return index;
  };
  const scheduleOf = new Map<DayType, TimeBands['schedules'][number]>();
  for (const entry of timeBands.schedules) for (const day of entry.days) scheduleOf.set(day, entry);
  const holidays = new Set(timeBands.holidays);

  const starts: number[] = [];
  const bandOf: number[] = [];
  const push = (instant: number, band: string) => {
    const index = bandIndex(band);
    // Merge equal neighbours, and let a later boundary win over one that DST folded onto it.
    while (starts.length > 0 && starts[starts.length - 1]! >= instant) {
      starts.pop();
      bandOf.pop();
    }
    if (bandOf.length > 0 && bandOf[bandOf.length - 1] === index) return;
    starts.push(instant);
    bandOf.push(index);
  };

  const offsetAt = (instant: number): number => DateTime.fromMillis(instant, { zone: timeZone }).offset * 60_000;
  const at = (date: CivilDate, clock: string): number => {
    const [hour, minute] = clock.split(':').map(Number);
    return localInstant(date, hour!, minute!, offsetAt);
  };
  let date: CivilDate = { year: first.year, month: first.month, day: first.day };
  let dayStart = at(date, '00:00');
  const timelineFrom = dayStart;
  while (dayStart < toMs) {
    const iso = isoDate(date);
    const weekday = weekdays[(new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7]!;
    const dayType: DayType = holidays.has(iso) ? 'holiday' : weekday;
    const schedule = scheduleOf.get(dayType) ?? scheduleOf.get(weekday);
    if (!schedule) throw new RatingError('INVALID_PLAN', `no time band schedule covers ${dayType}`);
    const nextDate = nextCivilDate(date);
    const next = at(nextDate, '00:00');
    const boundary = (clock: string): number => (clock === '24:00' ? next : at(date, clock));
    push(dayStart, schedule.band);
    for (const part of schedule.intervals) {
      push(boundary(part.from), part.band);
      if (part.to !== '24:00') push(boundary(part.to), schedule.band);
    }
    date = nextDate;
    dayStart = next;
  }
  if (bands.length > 255) throw new RatingError('INVALID_PLAN', 'more than 255 time bands');
  const timeline: BandTimeline = {
    bands,
    starts: Float64Array.from(starts),
    bandOf: Uint8Array.from(bandOf),
    from: timelineFrom,
    to: dayStart,
  };
  return timeline;
}

interface CivilDate {
  year: number;
  month: number;
  day: number;
}

function nextCivilDate(date: CivilDate): CivilDate {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + 1));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

function isoDate(date: CivilDate): string {
  return `${String(date.year).padStart(4, '0')}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;
}

/**
 * The instant a local wall-clock time names, resolved the way the timeline promises: a time that
 * occurs twice (the hour repeated when clocks go back) at its first occurrence, a time that never
 * occurs (the hour skipped when they go forward) at the first instant after the gap — the
 * transition itself. luxon's own resolution is not usable here: it reads a skipped time with the
 * offset from before the change (02:30 becomes 03:30, one gap-length after the gap ends) and, in
 * zones west of UTC and in Europe, a repeated time at its second occurrence.
 * `offsetAt` gives the zone's UTC offset (ms) at an instant.
 */
export function localInstant(date: CivilDate, hour: number, minute: number, offsetAt: (instant: number) => number): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
  // No zone changes its offset twice within two days, so the offsets a day either side are the
  // only candidates; a candidate is real when the zone's clock shows `wall` at it.
  const offsetBefore = offsetAt(wall - 86_400_000);
  const offsetAfter = offsetAt(wall + 86_400_000);
  const candidates = offsetBefore === offsetAfter ? [wall - offsetBefore] : [wall - offsetBefore, wall - offsetAfter].sort((a, b) => a - b);
  for (const candidate of candidates) if (candidate + offsetAt(candidate) === wall) return candidate;
  if (offsetAfter <= offsetBefore) {
    // Both readings failed with the clock going back: the offsets a day away did not describe this
    // stretch (a zone that changed twice); fall back to the reading with the offset in force then.
    return wall - offsetAt(wall - offsetBefore);
  }
  // In the gap: the transition lies after `wall - offsetAfter` and at or before `wall - offsetBefore`.
  let low = wall - offsetAfter;
  let high = wall - offsetBefore;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetAt(middle) === offsetBefore) low = middle;
    else high = middle;
  }
  return high;
}

/** Index of the segment holding `instant` (binary search). @throws RatingError OUTSIDE_TIMELINE */
export function segmentAt(timeline: BandTimeline, instant: number): number {
  const starts = timeline.starts;
  if (!(instant >= timeline.from && instant < timeline.to)) {
    throw new RatingError('OUTSIDE_TIMELINE', `instant ${new Date(instant).toISOString()} is outside the rated stretch of time`);
  }
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (starts[middle]! <= instant) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The band (name) at an instant. */
export function bandAt(timeline: BandTimeline, instant: number): string {
  return timeline.bands[timeline.bandOf[segmentAt(timeline, instant)]!]!;
}
