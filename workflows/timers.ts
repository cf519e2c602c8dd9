import type { Variables } from './contracts';
import { evaluateValue, ExpressionError } from './expression';
import { luxon } from './lazy-modules';
import type { TimerDefinition } from './model';

/** When a timer fires: the first delay, and for a cycle how many times in all (Infinity for `R/…`) and how far apart. */
export interface TimerSchedule {
  firstDelayMs: number;
  repetitions: number;
  intervalMs: number;
}

const second = 1_000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;
// Whole numbers of each unit, as models write them: read here, with luxon's own casual conversion
// (a month 30 days, a year 365), so a service task's timeout does not load luxon into the workflow.
const wholeDuration = /^P(?!$)(?:(\d{1,9})Y)?(?:(\d{1,9})M)?(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?=\d)(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$/;
const durationUnits = [365 * day, 30 * day, 7 * day, day, hour, minute, second];
// An instant to the millisecond with its offset: what Date.parse reads exactly as luxon does.
const plainInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds of an ISO-8601 duration (`PT15M`, `P2D`; a month counts 30 days, a year 365). */
export function durationMs(text: string): number {
  const whole = wholeDuration.exec(text.trim());
  if (whole) return durationUnits.reduce((sum, unit, index) => sum + Number(whole[index + 1] ?? 0) * unit, 0);
  const duration = luxon().Duration.fromISO(text.trim());
  if (!duration.isValid) throw new ExpressionError(text, `${JSON.stringify(text)} is not an ISO-8601 duration`);
  return duration.toMillis();
}

/** Epoch milliseconds of an ISO-8601 instant. */
export function instantMs(text: string): number {
  const trimmed = text.trim();
  if (plainInstant.test(trimmed) && fieldsInRange(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) return ms;
  }
  const instant = luxon().DateTime.fromISO(trimmed, { setZone: true });
  if (!instant.isValid) throw new ExpressionError(text, `${JSON.stringify(text)} is not an ISO-8601 date-time`);
  return instant.toMillis();
}

/** The date and time fields name a real moment (no 30 February, no 24:00), as luxon requires. */
function fieldsInRange(instant: string): boolean {
  const [year, month, date, hours, minutes, seconds] = [0, 5, 8, 11, 14, 17].map((at, index) => Number(instant.slice(at, index === 0 ? 4 : at + 2)));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(instant);
  const offsetInRange = !offset || (Number(offset[2]) <= 23 && Number(offset[3]) <= 59);
  return month! >= 1 && month! <= 12 && date! >= 1 && date! <= daysInMonth && hours! <= 23 && minutes! <= 59 && (instant[16] !== ':' || seconds! <= 59) && offsetInRange;
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
