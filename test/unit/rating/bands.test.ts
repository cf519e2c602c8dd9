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

  it('moves a boundary that falls in the hour DST skips to the end of the gap', () => {
    const night: TimeBands = {
      schedules: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], band: 'day', intervals: [{ from: '02:30', to: '05:00', band: 'night' }] }],
      holidays: [],
    };
    const berlin = timeline('Europe/Berlin', '2025-03-29', '2025-04-01', night);
    // Saturday: 02:30 CET = 01:30 UTC
    expect(bandAt(berlin, Date.UTC(2025, 2, 29, 1, 29, 59))).toBe('day');
    expect(bandAt(berlin, Date.UTC(2025, 2, 29, 1, 30, 0))).toBe('night');
    // Sunday: 02:30 does not exist; 03:00 CEST (01:00 UTC) is the first instant after the gap,
    // and 02:30 wall-clock read forward is 03:30 CEST = 01:30 UTC
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 1, 29, 59))).toBe('day');
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 1, 30, 0))).toBe('night');
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 2, 59, 59))).toBe('night'); // 04:59:59 CEST
    expect(bandAt(berlin, Date.UTC(2025, 2, 30, 3, 0, 0))).toBe('day'); // 05:00 CEST
  });

  it('refuses an unknown time zone and an instant outside the laid-out stretch', () => {
    expect(() => buildBandTimeline(bands, 'Mars/Olympus', 0, 86_400_000)).toThrow(/unknown time zone/);
    const shanghai = timeline('Asia/Shanghai', '2025-03-01', '2025-03-02');
    expect(() => bandAt(shanghai, at('2025-03-05T10:00:00'))).toThrow(/outside/);
  });
});
