import type { FeelRange } from 'feelin';

/** Largest range a `for`/`some`/`every` may enumerate. */
export const maxRangeSize = 10_000;

const bounded = Symbol.for('keyflow.feel.boundedRange');

/**
 * Ranges reach iteration through FeelRange#map; bounding it there also covers ranges a built-in
 * returned, whose bounds no static check can see: never beyond `maxRangeSize` nor with fractional
 * bounds (feelin would step past a fractional end for ever). Idempotent: once per loaded feelin.
 */
export function boundRangeIteration(range: typeof FeelRange): void {
  const prototype = range.prototype as FeelRange & { [bounded]?: true };
  if (prototype[bounded]) return;
  const rangeMap = prototype.map;
  prototype.map = function boundedMap<T>(this: FeelRange, fn: (value: unknown) => T): T[] {
    const { start, end } = this as unknown as { start: unknown; end: unknown };
    if (typeof start === 'number' && typeof end === 'number') {
      if (!Number.isInteger(start) || !Number.isInteger(end)) throw new Error(`cannot iterate the range ${start}..${end}: bounds must be whole numbers`);
      if (Math.abs(end - start) + 1 > maxRangeSize) throw new Error(`cannot iterate the range ${start}..${end}: more than ${maxRangeSize} items`);
    }
    return rangeMap.call(this, fn) as T[];
  };
  prototype[bounded] = true;
}
