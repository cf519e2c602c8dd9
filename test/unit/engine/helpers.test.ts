import { ExpressionError } from '../../../workflows/expression';
import { validateFormData } from '../../../workflows/forms';
import { durationMs, timerSchedule } from '../../../workflows/timers';
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
