import { DateTime, Duration } from 'luxon';
import type { Variables } from './contracts';
import { evaluateValue, ExpressionError } from './expression';
import type { TimerDefinition } from './model';

/** When a timer fires: the first delay, and for a cycle how many times in all (Infinity for `R/…`) and how far apart. */
export interface TimerSchedule {
  firstDelayMs: number;
  repetitions: number;
  intervalMs: number;
}

/** Milliseconds of an ISO-8601 duration (`PT15M`, `P2D`; a month counts 30 days, a year 365). */
export function durationMs(text: string): number {
  const duration = Duration.fromISO(text.trim());
  if (!duration.isValid) throw new ExpressionError(text, `${JSON.stringify(text)} is not an ISO-8601 duration`);
  return duration.toMillis();
}

/** Epoch milliseconds of an ISO-8601 instant. */
export function instantMs(text: string): number {
  const instant = DateTime.fromISO(text.trim(), { setZone: true });
  if (!instant.isValid) throw new ExpressionError(text, `${JSON.stringify(text)} is not an ISO-8601 date-time`);
  return instant.toMillis();
}

/**
 * Evaluates a timer definition at the moment the timer starts (`now` is workflow time). Expressions
 * (`=…`) may yield a duration, an instant or a cycle string.
 */
export function timerSchedule(timer: TimerDefinition, variables: Variables, now: number): TimerSchedule {
  const value = String(evaluateValue(timer.expression, variables));
  switch (timer.kind) {
    case 'duration':
      return { firstDelayMs: Math.max(0, durationMs(value)), repetitions: 1, intervalMs: 0 };
    case 'date':
      return { firstDelayMs: Math.max(0, instantMs(value) - now), repetitions: 1, intervalMs: 0 };
    case 'cycle': {
      const match = /^R(\d*)\/(.+)$/.exec(value.trim());
      if (!match) throw new ExpressionError(value, `${JSON.stringify(value)} is not an ISO-8601 repeating interval (R3/PT1H)`);
      const repetitions = match[1] === '' ? Infinity : Number(match[1]);
      const parts = match[2]!.split('/');
      if (parts.length === 2) {
        const start = instantMs(parts[0]!);
        const intervalMs = durationMs(parts[1]!);
        return { firstDelayMs: Math.max(0, start - now), repetitions, intervalMs };
      }
      const intervalMs = durationMs(parts[0]!);
      if (intervalMs <= 0) throw new ExpressionError(value, 'a timer cycle needs a positive interval');
      return { firstDelayMs: intervalMs, repetitions, intervalMs };
    }
  }
}
