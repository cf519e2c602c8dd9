/**
 * Money as integers, never binary floating point.
 *
 * Two precisions are used:
 * - **minor units** (fen for CNY, cents for EUR): what bills, lines and payments carry;
 * - **sub units**: 1/10 000 of a minor unit, the precision of unit prices and of charges before
 *   they are rounded. A price of 0.0125 CNY per 6 seconds is 12 500 sub units; rating multiplies
 *   whole charging units by such integers, so a charge is exact until a stated rounding step.
 *
 * Per-event arithmetic uses plain numbers (safe integers, checked where they could overflow);
 * account-level arithmetic (percentages of totals, proration) goes through bigint.
 */

import { RatingError } from './errors';

export const SUB_PER_MINOR = 10_000;
/** Decimal places a price may carry beyond the currency's minor unit. */
export const SUB_DIGITS = 4;

export const roundingModes = ['halfUp', 'halfEven', 'up', 'down'] as const;
/**
 * - `halfUp`: to nearest, halves away from zero (the usual commercial rule);
 * - `halfEven`: to nearest, halves to the even neighbour (banker's rounding);
 * - `up`: away from zero (the operator never under-charges a fraction);
 * - `down`: toward zero (the customer never pays a fraction).
 */
export type RoundingMode = (typeof roundingModes)[number];

/**
 * Parses a decimal string (`"12.5"`, `"-0.0125"`) into an integer scaled by 10^digits, exactly.
 * @throws RatingError INVALID_AMOUNT when it has more decimals than `digits` or is out of range.
 */
export function parseScaled(text: string, digits: number): number {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RatingError('INVALID_AMOUNT', `not a decimal amount: ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > digits) {
    throw new RatingError('INVALID_AMOUNT', `${text} has more than ${digits} decimal places`);
  }
  const value = Number(whole! + fraction.padEnd(digits, '0'));
  if (!Number.isSafeInteger(value)) throw new RatingError('INVALID_AMOUNT', `${text} is out of range`);
  return sign ? -value : value;
}

/** Minor units from a decimal amount in major units (`"88.00"` CNY → 8800 fen). */
export function toMinor(text: string, minorDigits: number): number {
  return parseScaled(text, minorDigits);
}

/** Sub units from a decimal amount in major units (`"0.0125"` CNY → 12 500). */
export function toSub(text: string, minorDigits: number): number {
  return parseScaled(text, minorDigits + SUB_DIGITS);
}

/** Formats minor units as a decimal string in major units (8800, 2 → `"88.00"`). */
export function formatMinor(minor: number | bigint, minorDigits: number): string {
  const value = BigInt(minor);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(minorDigits + 1, '0');
  const whole = digits.slice(0, digits.length - minorDigits);
  const fraction = digits.slice(digits.length - minorDigits);
  return `${negative ? '-' : ''}${whole}${minorDigits > 0 ? `.${fraction}` : ''}`;
}

/**
 * `numerator / denominator` rounded to an integer by `mode`. Numbers must be safe integers and the
 * denominator positive. Used per event, so it avoids bigint.
 */
export function divRound(numerator: number, denominator: number, mode: RoundingMode): number {
  const quotient = Math.trunc(numerator / denominator);
  const remainder = numerator - quotient * denominator;
  if (remainder === 0) return quotient;
  const sign = numerator < 0 ? -1 : 1;
  const twice = 2 * Math.abs(remainder);
  switch (mode) {
    case 'down':
      return quotient;
    case 'up':
      return quotient + sign;
    case 'halfUp':
      return twice >= denominator ? quotient + sign : quotient;
    case 'halfEven':
      if (twice > denominator) return quotient + sign;
      if (twice < denominator) return quotient;
      return quotient % 2 === 0 ? quotient : quotient + sign;
  }
}

/** The bigint twin of `divRound`, for account-level products that may exceed 2^53. */
export function divRoundBig(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  const quotient = numerator / denominator;
  const remainder = numerator - quotient * denominator;
  if (remainder === 0n) return quotient;
  const sign = numerator < 0n ? -1n : 1n;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  switch (mode) {
    case 'down':
      return quotient;
    case 'up':
      return quotient + sign;
    case 'halfUp':
      return twice >= denominator ? quotient + sign : quotient;
    case 'halfEven':
      if (twice > denominator) return quotient + sign;
      if (twice < denominator) return quotient;
      return quotient % 2n === 0n ? quotient : quotient + sign;
  }
}

/** Sub units rounded to whole minor units (still expressed in minor units). */
export function subToMinor(sub: number, mode: RoundingMode): number {
  return divRound(sub, SUB_PER_MINOR, mode);
}

/** `amount × numerator / denominator`, rounded, without overflow. */
export function scaleMinor(amount: number, numerator: number, denominator: number, mode: RoundingMode): number {
  return safe(Number(divRoundBig(BigInt(amount) * BigInt(numerator), BigInt(denominator), mode)));
}

/**
 * Splits `total` over `weights` so the parts add up to `total` exactly: each part gets its floor
 * share, and the remaining units go to the largest remainders (ties to the earlier weight). Used
 * where one rounded figure must be spread over several lines.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  if (weights.some((weight) => weight < 0 || !Number.isSafeInteger(weight))) {
    throw new RatingError('INVALID_AMOUNT', 'allocation weights must be non-negative integers');
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0) return [];
  if (sum === 0) return weights.map((_, index) => (index === 0 ? total : 0));
  const big = BigInt(total);
  const bigSum = BigInt(sum);
  const negative = big < 0n;
  const magnitude = negative ? -big : big;
  const parts = weights.map((weight) => (magnitude * BigInt(weight)) / bigSum);
  const remainders = weights.map((weight, index) => ({ index, remainder: (magnitude * BigInt(weight)) % bigSum }));
  let left = magnitude - parts.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (left === 0n) break;
    parts[index]! += 1n;
    left -= 1n;
  }
  return parts.map((part) => safe(Number(negative ? -part : part)));
}

/** @throws RatingError AMOUNT_OVERFLOW when a figure left the range integers are exact in. */
export function safe(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RatingError('AMOUNT_OVERFLOW', `amount ${value} is outside the exact integer range`);
  return value;
}
