import { activeDays, billingPeriod, localDate, nextPeriodId, previousPeriodId } from '../../../activities/rating';

describe('billing periods', () => {
  it('is the calendar month in the account\'s zone, bounded by local midnights', () => {
    const march = billingPeriod('2025-03', 'Asia/Shanghai');
    expect(march).toMatchObject({ startDate: '2025-03-01', endDate: '2025-04-01', days: 31 });
    expect(new Date(march.startMs).toISOString()).toBe('2025-02-28T16:00:00.000Z');
    expect(new Date(march.endMs).toISOString()).toBe('2025-03-31T16:00:00.000Z');
  });

  it('has 31 days but 743 hours in a month where DST starts', () => {
    const berlin = billingPeriod('2025-03', 'Europe/Berlin');
    expect(berlin.days).toBe(31);
    expect((berlin.endMs - berlin.startMs) / 3_600_000).toBe(743);
    expect(new Date(berlin.endMs).toISOString()).toBe('2025-03-31T22:00:00.000Z');
  });

  it('runs from the bill cycle day to the same day of the next month', () => {
    const cycle15 = billingPeriod('2025-02', 'Asia/Shanghai', 15);
    expect(cycle15).toMatchObject({ startDate: '2025-02-15', endDate: '2025-03-15', days: 28 });
    expect(() => billingPeriod('2025-02', 'Asia/Shanghai', 31)).toThrow(/cycle day/);
  });

  it('counts active days on local dates: activation day in, end day out', () => {
    const february = billingPeriod('2025-02', 'Asia/Shanghai');
    expect(activeDays(february, '2025-02-10', null)).toBe(19);
    expect(activeDays(february, null, '2025-02-10')).toBe(9);
    expect(activeDays(february, '2025-03-01', null)).toBe(0);
    expect(activeDays(february, '2024-12-01', '2025-06-01')).toBe(28);
  });

  it('steps between periods and finds the local date of an instant', () => {
    expect(nextPeriodId('2025-12')).toBe('2026-01');
    expect(previousPeriodId('2025-01')).toBe('2024-12');
    expect(localDate(Date.UTC(2025, 2, 31, 16, 30), 'Asia/Shanghai')).toBe('2025-04-01');
    expect(() => billingPeriod('2025-13', 'Asia/Shanghai')).toThrow(/YYYY-MM/);
  });
});
