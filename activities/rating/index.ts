/**
 * The rating engine: pure and deterministic, no I/O. Plans (plan.ts) are compiled once
 * (first-rating.ts, tariff-book.ts); events are first-rated one by one, second-rated per account
 * and period (second-rating.ts), and turned into bill lines with the account's agreement (bill.ts).
 */
export * from './bands';
export * from './bill';
export * from './errors';
export * from './first-rating';
export * from './money';
export * from './period';
export * from './plan';
export * from './prefix';
export * from './second-rating';
export * from './tariff-book';
