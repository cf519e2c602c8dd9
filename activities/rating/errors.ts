/**
 * Why a record, a plan or an account could not be rated. The codes double as the reason codes of
 * rejected usage records where the cause is the record itself (UNKNOWN_DESTINATION, …).
 */
export const ratingErrorCodes = [
  'INVALID_PLAN',
  'INVALID_AMOUNT',
  'AMOUNT_OVERFLOW',
  'UNKNOWN_DESTINATION',
  'UNSUPPORTED_USAGE_TYPE',
  'NO_TARIFF',
  'OUTSIDE_TIMELINE',
  'INVALID_EVENT',
  'INVALID_PERIOD',
] as const;
export type RatingErrorCode = (typeof ratingErrorCodes)[number];

export class RatingError extends Error {
  constructor(
    readonly code: RatingErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RatingError';
  }
}
