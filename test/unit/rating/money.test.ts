import { allocate, divRound, divRoundBig, formatMinor, parseScaled, RatingError, roundingModes, toMinor, toSub } from '../../../activities/rating';

describe('money as integers', () => {
  it('reads decimal strings exactly into minor and sub units', () => {
    expect(toMinor('88.00', 2)).toBe(8800);
    expect(toMinor('0.5', 2)).toBe(50);
    expect(toSub('0.0125', 2)).toBe(12_500);
    expect(toSub('0.15', 2)).toBe(150_000);
    expect(parseScaled('-1.5', 2)).toBe(-150);
    // 0.1 + 0.2 is exact here: no binary floating point is involved
    expect(toMinor('0.1', 2) + toMinor('0.2', 2)).toBe(toMinor('0.3', 2));
  });

  it('refuses more decimals than the precision holds, and non-numbers', () => {
    expect(() => toMinor('1.005', 2)).toThrow(RatingError);
    expect(() => toSub('0.0000001', 2)).toThrow(/more than 6 decimal places/);
    expect(() => toMinor('1e3', 2)).toThrow(RatingError);
    expect(() => toMinor('99999999999999999999', 2)).toThrow(/out of range/);
  });

  it('formats minor units back into major units', () => {
    expect(formatMinor(8800, 2)).toBe('88.00');
    expect(formatMinor(-5, 2)).toBe('-0.05');
    expect(formatMinor(7, 0)).toBe('7');
    expect(formatMinor(1234567, 3)).toBe('1234.567');
  });

  it.each([
    // value × 10 / 10: [numerator, halfUp, halfEven, up, down]
    [24, 2, 2, 3, 2],
    [25, 3, 2, 3, 2],
    [26, 3, 3, 3, 2],
    [35, 4, 4, 4, 3],
    [30, 3, 3, 3, 3],
    [-25, -3, -2, -3, -2],
    [-26, -3, -3, -3, -2],
  ])('rounds %i/10 by each mode', (numerator, halfUp, halfEven, up, down) => {
    const expected = { halfUp, halfEven, up, down };
    for (const mode of roundingModes) {
      expect(divRound(numerator, 10, mode)).toBe(expected[mode]);
      expect(divRoundBig(BigInt(numerator), 10n, mode)).toBe(BigInt(expected[mode]));
    }
  });

  it('allocates a total over weights so the parts add up, remainders to the largest fractions', () => {
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocate(10, [3, 3, 4])).toEqual([3, 3, 4]);
    expect(allocate(-100, [1, 1, 1])).toEqual([-34, -33, -33]);
    expect(allocate(5, [0, 0])).toEqual([5, 0]);
    // 1.5 and 4.5 tie for the last unit: the earlier weight takes it
    expect(allocate(7, [15_000, 45_000, 10_000])).toEqual([2, 4, 1]);
    expect(() => allocate(1, [-1, 2])).toThrow(RatingError);
  });
});
