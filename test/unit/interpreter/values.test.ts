import { ExpressionError } from '../../../workflows/expression';
import { validateFormData } from '../../../workflows/forms';
import { DateTime, Duration } from 'luxon';
import { durationMs, instantMs, timerSchedule } from '../../../workflows/timers';
import { applyMappings, setPath } from '../../../workflows/variables';

describe('timer definitions', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');

  it('turns a duration into one delay', () => {
    expect(timerSchedule({ kind: 'duration', expression: 'PT15M' }, {}, now)).toEqual({ firstDelayMs: 900_000, repetitions: 1, intervalMs: 0 });
  });

  it('waits until a date, and not at all for one in the past', () => {
    expect(timerSchedule({ kind: 'date', expression: '2026-11-25T12:00:00+02:00' }, {}, now).firstDelayMs).toBe(0);
    expect(timerSchedule({ kind: 'date', expression: '2026-11-25T11:00:00Z' }, {}, now).firstDelayMs).toBe(3_600_000);
  });

  it('reads cycles with and without a count and with a start', () => {
    expect(timerSchedule({ kind: 'cycle', expression: 'R3/PT1H' }, {}, now)).toEqual({ firstDelayMs: 3_600_000, repetitions: 3, intervalMs: 3_600_000 });
    expect(timerSchedule({ kind: 'cycle', expression: 'R/PT10M' }, {}, now).repetitions).toBe(Infinity);
    expect(timerSchedule({ kind: 'cycle', expression: 'R2/2026-11-25T10:30:00Z/PT1H' }, {}, now)).toEqual({ firstDelayMs: 1_800_000, repetitions: 2, intervalMs: 3_600_000 });
  });

  it('evaluates an expression timer against the variables', () => {
    expect(timerSchedule({ kind: 'duration', expression: '=sla' }, { sla: 'P1D' }, now).firstDelayMs).toBe(86_400_000);
  });

  it('reads durations and instants exactly as luxon does, with or without it', () => {
    // The common forms are read without luxon (kept out of the workflow's way); every answer must be luxon's.
    const durations = ['PT10S', 'PT1S', 'PT15M', 'PT2H', 'P1D', 'P2W', 'P1M', 'P1Y', 'P1Y2M3W4DT5H6M7S', 'PT0S', 'P0D', 'PT36H', 'P1DT12H', 'PT1.5S', 'P0.5D', 'PT1,5S', 'pt10s', '-PT1S', 'PT-1S', 'P', 'PT', 'P1DT', 'PT1H1H', 'P123456789D'];
    for (const text of durations) {
      const duration = Duration.fromISO(text);
      if (duration.isValid) expect([text, durationMs(text)]).toEqual([text, duration.toMillis()]);
      else expect(() => durationMs(text)).toThrow(ExpressionError);
    }
    const instants = [
      '2026-01-01T09:00:00Z', '2026-01-01T09:00Z', '2026-06-30T23:59:59.999+08:00', '2026-03-29T02:30:00+01:00', '2024-02-29T00:00:00Z', '2026-12-31T12:00:00.5-05:30',
      '2026-02-29T00:00:00Z', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:00:60Z', '2026-01-01T09:00:00+24:00', '2026-01-01T09:00:00.1234Z', '2026-01-01', '2026-01-01T09:00:00',
    ];
    for (const text of instants) {
      const instant = DateTime.fromISO(text, { setZone: true });
      if (instant.isValid) expect([text, instantMs(text)]).toEqual([text, instant.toMillis()]);
      else expect(() => instantMs(text)).toThrow(ExpressionError);
    }
  });

  it('refuses what is not ISO-8601', () => {
    expect(() => durationMs('15 minutes')).toThrow(ExpressionError);
    expect(() => timerSchedule({ kind: 'cycle', expression: 'every hour' }, {}, now)).toThrow(ExpressionError);
  });
});

describe('variable mappings', () => {
  it('writes dotted paths, creating objects on the way', () => {
    const target: Record<string, unknown> = { order: { id: 'O-1' } };
    setPath(target, 'order.address.city', '广州');
    expect(target).toEqual({ order: { id: 'O-1', address: { city: '广州' } } });
  });

  it('refuses prototype-polluting targets', () => {
    expect(() => setPath({}, '__proto__.polluted', true)).toThrow(ExpressionError);
    expect(() => setPath({}, 'a.constructor.prototype', true)).toThrow(ExpressionError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('evaluates each mapping against the context', () => {
    expect(applyMappings([{ source: '=amount * 2', target: 'x.doubled' }], { amount: 21 })).toEqual({ x: { doubled: 42 } });
  });
});

describe('user task form data', () => {
  const form = [
    { id: 'approved', type: 'boolean' as const, required: true },
    { id: 'amount', type: 'number' as const, min: 0, max: 100 },
    { id: 'reason', type: 'enum' as const, values: ['price', 'coverage'] },
    { id: 'visit', type: 'date' as const },
  ];

  it('accepts data that fits', () => {
    expect(validateFormData(form, { approved: false, amount: 100, reason: 'price', visit: '2026-12-01' })).toEqual([]);
  });

  it('reports every problem at once, by field', () => {
    expect(validateFormData(form, { amount: 101, reason: 'other', visit: 'tomorrow' })).toEqual([
      { field: 'approved', message: 'is required' },
      { field: 'amount', message: 'must be at most 100' },
      { field: 'reason', message: 'must be one of price, coverage' },
      { field: 'visit', message: 'must be an ISO-8601 date' },
    ]);
  });
});
