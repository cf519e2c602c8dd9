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

  let day = first.startOf('day');
  while (day.toMillis() < toMs) {
    const date = day.toISODate()!;
    const dayType: DayType = holidays.has(date) ? 'holiday' : weekdays[day.weekday - 1]!;
    const schedule = scheduleOf.get(dayType) ?? scheduleOf.get(weekdays[day.weekday - 1]!);
    if (!schedule) throw new RatingError('INVALID_PLAN', `no time band schedule covers ${dayType}`);
    const next = day.plus({ days: 1 }).startOf('day');
    const at = (clock: string): number => {
      if (clock === '24:00') return next.toMillis();
      const [hour, minute] = clock.split(':').map(Number);
      return DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: timeZone }).toMillis();
    };
    push(day.toMillis(), schedule.band);
    for (const part of schedule.intervals) {
      push(at(part.from), part.band);
      if (part.to !== '24:00') push(at(part.to), schedule.band);
    }
    day = next;
  }
  if (bands.length > 255) throw new RatingError('INVALID_PLAN', 'more than 255 time bands');
  const timeline: BandTimeline = {
    bands,
    starts: Float64Array.from(starts),
    bandOf: Uint8Array.from(bandOf),
    from: first.startOf('day').toMillis(),
    to: day.toMillis(),
  };
  return timeline;
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
