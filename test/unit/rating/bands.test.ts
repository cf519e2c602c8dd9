import { DateTime } from 'luxon';
import { bandAt, buildBandTimeline, compilePlan, type TimeBands } from '../../../activities/rating';
import { at, shenzhenPlan } from './fixtures';

const bands = compilePlan(shenzhenPlan()).plan.timeBands;
const timeline = (zone: string, from: string, to: string, timeBands: TimeBands = bands) =>
  buildBandTimeline(timeBands, zone, DateTime.fromISO(from, { zone }).toMillis(), DateTime.fromISO(to, { zone }).toMillis());

describe('time bands', () => {
  it('puts weekday daytime in peak, evenings in off-peak, weekends and holidays in their own bands', () => {
    const shanghai = timeline('Asia/Shanghai', '2025-04-28', '2025-05-05');
    expect(bandAt(shanghai, at('2025-04-29T07:59:59'))).toBe('offpeak');
    expect(bandAt(shanghai, at('2025-04-29T08:00:00'))).toBe('peak');
    expect(bandAt(shanghai, at('2025-04-29T20:59:59.999'))).toBe('peak');
    expect(bandAt(shanghai, at('2025-04-29T21:00:00'))).toBe('offpeak');
    // 1 May 2025 is a Thursday and a public holiday
    expect(bandAt(shanghai, at('2025-05-01T10:00:00'))).toBe('holiday');
    expect(bandAt(shanghai, at('2025-05-03T10:00:00'))).toBe('weekend');
  });

  it('keeps band boundaries at local wall-clock times across the spring DST change', () => {
    // Europe/Berlin jumps from 02:00 CET to 03:00 CEST on Sunday 30 March 2025; Monday is CEST
    const berlin = timeline('Europe/Berlin', '2025-03-28', '2025-04-02');
    expect(bandAt(berlin, Date.UTC(2025, 2, 28, 6, 59, 59))).toBe('offpeak'); // Fri 07:59:59 CET
    expect(bandAt(berlin, Date.UTC(2025, 2, 28, 7, 0, 0))).toBe('peak'); // Fri 08:00 CET
    expect(bandAt(berlin, Date.UTC(2025, 2, 31, 5, 59, 59))).toBe('offpeak'); // Mon 07:59:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 31, 6, 0, 0))).toBe('peak'); // Mon 08:00 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 21, 59, 59))).toBe('weekend'); // Sun 23:59:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 22, 0, 0))).toBe('offpeak'); // Mon 00:00 CEST
  });

  it('keeps band boundaries at local wall-clock times across the autumn DST change', () => {
    // America/New_York falls back from 02:00 EDT to 01:00 EST on Sunday 2 November 2025
    const newYork = timeline('America/New_York', '2025-10-31', '2025-11-05');
    expect(bandAt(newYork, Date.UTC(2025, 9, 31, 12, 0, 0))).toBe('peak'); // Fri 08:00 EDT
    expect(bandAt(newYork, Date.UTC(2025, 9, 31, 11, 59, 59))).toBe('offpeak');
    expect(bandAt(newYork, Date.UTC(2025, 10, 3, 13, 0, 0))).toBe('peak'); // Mon 08:00 EST
    expect(bandAt(newYork, Date.UTC(2025, 10, 3, 12, 59, 59))).toBe('offpeak'); // Mon 07:59:59 EST
    expect(bandAt(newYork, Date.UTC(2025, 10, 3, 4, 59, 59))).toBe('weekend'); // Sun 23:59:59 EST
  });

  it('moves a boundary that falls in the hour DST skips to the first instant after the gap', () => {
    const night: TimeBands = {
      schedules: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], band: 'day', intervals: [{ from: '02:30', to: '05:00', band: 'night' }] }],
      holidays: [],
    };
    const berlin = timeline('Europe/Berlin', '2025-03-29', '2025-04-01', night);
    // Saturday: 02:30 CET = 01:30 UTC
    expect(bandAt(berlin, Date.UTC(2025, 2, 29, 1, 29, 59))).toBe('day');
    expect(bandAt(berlin, Date.UTC(2025, 2, 29, 1, 30, 0))).toBe('night');
    // Sunday: 02:30 does not exist; the clock jumps from 01:59:59 CET to 03:00 CEST (01:00 UTC),
    // the first instant after the gap — not 03:30 CEST, which is 02:30 read with the old offset
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 0, 59, 59))).toBe('day'); // 01:59:59 CET
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 1, 0, 0))).toBe('night'); // 03:00 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 2, 59, 59))).toBe('night'); // 04:59:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 3, 0, 0))).toBe('day'); // 05:00 CEST

    // Australia/Sydney goes from 02:00 AEST to 03:00 AEDT on Sunday 5 October 2025
    const sydney = timeline('Australia/Sydney', '2025-10-04', '2025-10-07', night);
    expect(bandAt(sydney, Date.UTC(2025, 9, 4, 15, 59, 59))).toBe('day'); // 01:59:59 AEST
    expect(bandAt(sydney, Date.UTC(2025, 9, 4, 16, 0, 0))).toBe('night'); // 03:00 AEDT

    // America/New_York goes from 02:00 EST to 03:00 EDT on Sunday 9 March 2025
    const newYork = timeline('America/New_York', '2025-03-08', '2025-03-11', night);
    expect(bandAt(newYork, Date.UTC(2025, 2, 9, 6, 59, 59))).toBe('day'); // 01:59:59 EST
    expect(bandAt(newYork, Date.UTC(2025, 2, 9, 7, 0, 0))).toBe('night'); // 03:00 EDT
  });

  it('takes a boundary in the hour DST repeats at its first occurrence', () => {
    const night: TimeBands = {
      schedules: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], band: 'day', intervals: [{ from: '01:30', to: '02:30', band: 'night' }] }],
      holidays: [],
    };
    // Europe/Berlin: 03:00 CEST becomes 02:00 CET on Sunday 26 October 2025; 02:30 happens at
    // 00:30 UTC (CEST) and again at 01:30 UTC (CET)
    const berlin = timeline('Europe/Berlin', '2025-10-25', '2025-10-28', night);
    expect(bandAt(berlin, Date.UTC(2025, 9, 25, 23, 29, 59))).toBe('day'); // 01:29:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 9, 25, 23, 30, 0))).toBe('night'); // 01:30 CEST
    expect(bandAt(berlin, Date.UTC(2025, 9, 26, 0, 29, 59))).toBe('night'); // 02:29:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 9, 26, 0, 30, 0))).toBe('day'); // 02:30 CEST, the first one
    expect(bandAt(berlin, Date.UTC(2025, 9, 26, 1, 15, 0))).toBe('day'); // 02:15 CET, the repeat

    // America/New_York: 02:00 EDT becomes 01:00 EST on Sunday 2 November 2025; 01:30 happens at
    // 05:30 UTC (EDT) and again at 06:30 UTC (EST)
    const newYork = timeline('America/New_York', '2025-11-01', '2025-11-04', night);
    expect(bandAt(newYork, Date.UTC(2025, 10, 2, 5, 29, 59))).toBe('day'); // 01:29:59 EDT
    expect(bandAt(newYork, Date.UTC(2025, 10, 2, 5, 30, 0))).toBe('night'); // 01:30 EDT, the first one
    expect(bandAt(newYork, Date.UTC(2025, 10, 2, 7, 29, 59))).toBe('night'); // 02:29:59 EST
    expect(bandAt(newYork, Date.UTC(2025, 10, 2, 7, 30, 0))).toBe('day'); // 02:30 EST

    // Australia/Sydney: 03:00 AEDT becomes 02:00 AEST on Sunday 6 April 2025; 02:30 happens at
    // 15:30 UTC (AEDT) and again at 16:30 UTC (AEST)
    const sydney = timeline('Australia/Sydney', '2025-04-05', '2025-04-08', night);
    expect(bandAt(sydney, Date.UTC(2025, 3, 5, 14, 30, 0))).toBe('night'); // 01:30 AEDT
    expect(bandAt(sydney, Date.UTC(2025, 3, 5, 15, 29, 59))).toBe('night'); // 02:29:59 AEDT
    expect(bandAt(sydney, Date.UTC(2025, 3, 5, 15, 30, 0))).toBe('day'); // 02:30 AEDT, the first one
  });

  describe('agrees minute by minute with an independent reading of the zone (Intl) on DST days', () => {
    // Boundaries in and around the skipped and repeated hours of each zone, Lord Howe's
    // half-hour shift included.
    const plan: TimeBands = {
      schedules: [
        {
          days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
          band: 'day',
          intervals: [
            { from: '00:45', to: '01:15', band: 'a' },
            { from: '01:40', to: '02:10', band: 'b' },
            { from: '02:20', to: '02:45', band: 'c' },
            { from: '03:15', to: '03:45', band: 'd' },
          ],
        },
      ],
      holidays: [],
    };
    const cases: [zone: string, date: string, change: string][] = [
      ['Europe/Berlin', '2025-03-30', 'spring forward'],
      ['Europe/Berlin', '2025-10-26', 'fall back'],
      ['America/New_York', '2025-03-09', 'spring forward'],
      ['America/New_York', '2025-11-02', 'fall back'],
      ['Australia/Sydney', '2025-10-05', 'spring forward'],
      ['Australia/Sydney', '2025-04-06', 'fall back'],
      ['Australia/Lord_Howe', '2025-10-05', 'spring forward by half an hour'],
      ['Australia/Lord_Howe', '2025-04-06', 'fall back by half an hour'],
    ];
    it.each(cases)('%s on %s (%s)', (zone, date) => {
      const reference = intlReference(zone);
      const [year, month, day] = date.split('-').map(Number) as [number, number, number];
      const from = reference.firstInstantAtOrAfter(year, month, day - 1, 0, 0);
      const to = reference.firstInstantAtOrAfter(year, month, day + 2, 0, 0);
      const laidOut = buildBandTimeline(plan, zone, from, to);
      const mismatches: string[] = [];
      for (let instant = from; instant < to; instant += 60_000) {
        const expected = reference.bandAt(plan, instant);
        const actual = bandAt(laidOut, instant);
        if (actual !== expected) mismatches.push(`${new Date(instant).toISOString()}: ${actual}, expected ${expected}`);
      }
      expect(mismatches).toEqual([]);
    });
  });

  it('refuses an unknown time zone and an instant outside the laid-out stretch', () => {
    expect(() => buildBandTimeline(bands, 'Mars/Olympus', 0, 86_400_000)).toThrow(/unknown time zone/);
    const shanghai = timeline('Asia/Shanghai', '2025-03-01', '2025-03-02');
    expect(() => bandAt(shanghai, at('2025-03-05T10:00:00'))).toThrow(/outside/);
  });
});

/**
 * The time bands worked out from first principles, sharing nothing with bands.ts: a boundary at
 * local `hh:mm` of a date is the first instant (on the minute grid DST transitions keep to) whose
 * wall clock, as Intl shows it, reads that date and time or later. That is the first instant after
 * a gap when the time is skipped, and the first occurrence when it is repeated.
 */
function intlReference(zone: string) {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  const wallOf = (instant: number) => {
    const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
    return { date: Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)), wall: Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute)) };
  };
  const firstInstantAtOrAfter = (year: number, month: number, day: number, hour: number, minute: number): number => {
    const target = Date.UTC(year, month - 1, day, hour, minute);
    // No zone is more than 14 hours ahead of UTC: 15 hours before, its clock still reads earlier.
    let instant = target - 15 * 3_600_000;
    while (wallOf(instant).wall < target) instant += 60_000;
    return instant;
  };
  const boundaries = new Map<string, number>();
  const boundary = (date: number, clock: string): number => {
    const key = `${date}|${clock}`;
    let instant = boundaries.get(key);
    if (instant === undefined) {
      const local = new Date(date);
      const [hour, minute] = clock.split(':').map(Number) as [number, number];
      instant = firstInstantAtOrAfter(local.getUTCFullYear(), local.getUTCMonth() + 1, local.getUTCDate(), hour, minute);
      boundaries.set(key, instant);
    }
    return instant;
  };
  const bandAt = (plan: TimeBands, instant: number): string => {
    const date = wallOf(instant).date;
    const schedule = plan.schedules[0]!;
    for (const part of schedule.intervals) if (boundary(date, part.from) <= instant && instant < boundary(date, part.to)) return part.band;
    return schedule.band;
  };
  return { firstInstantAtOrAfter, bandAt };
}
