/**
 * One billing account's period, from loaded rows to rated records and bill lines: first rating of
 * every record, second rating of the lot in event order, then the bill. Pure (no I/O), shared by
 * the bill run and by rerating, so a rerating computes exactly what the run would have.
 */

import {
  accountAgreementSchema,
  computeBill,
  localDate,
  RatingError,
  rateAccountUsage,
  type BillComputation,
  type BillingPeriod,
  type OneOffItem,
  type RatedEventInput,
  type SecondRating,
  type SubscriptionTerm,
  type TariffBook,
} from '../rating';
import { minorDigitsOf } from './catalogue';
import { rejectionFor } from './guiding';
import type { RejectionReason } from './preprocess';

export interface AccountRow {
  billingAccountId: string;
  accountId: string;
  orgUnitId: string;
  currency: string;
  cycleDay: number;
  timeZone: string;
  homePrefix: string | null;
  agreement: unknown;
}

export interface SubscriptionRow {
  id: string;
  productId: string;
  quantity: number;
  activatedMs: number;
  terminatedMs: number | null;
}

export interface UsageRow {
  id: number;
  /** `source/recordId`: the canonical tie-break of events that start together. */
  key: string;
  subscriptionId: string;
  startMs: number;
  usageType: 'voice' | 'sms' | 'data';
  durationSec: number;
  volumeBytes: number;
  messages: number;
  destination: string;
}

export interface AdjustmentRow {
  id: number;
  kind: 'charge' | 'credit';
  description: string;
  /** What is left of it to bill (all of a charge; a credit may have been partly used). */
  remainingMinor: number;
  currency: string;
}

export interface RatedRecord extends SecondRating {
  usageRecordId: number;
}

export interface AccountBilling {
  rated: RatedRecord[];
  rejected: { usageRecordId: number; reason: RejectionReason; message: string }[];
  /** Null when the account has nothing to bill this period. */
  bill: BillComputation | null;
  minorDigits: number;
}

/** Something about the account itself (not one record) keeps it from being billed. */
export class AccountBillingError extends Error {
  constructor(
    readonly billingAccountId: string,
    message: string,
  ) {
    super(`billing account ${billingAccountId}: ${message}`);
    this.name = 'AccountBillingError';
  }
}

/**
 * Rates and bills one account for `period` (in the account's zone and cycle). A record that cannot
 * be rated any more (its tariff changed since collection) is returned in `rejected` and left out.
 * @throws AccountBillingError for an invalid agreement, a tariff in another currency or a
 *   subscription without a tariff — problems an operator must fix before the account can be billed.
 */
export function billAccount(
  account: AccountRow,
  period: BillingPeriod,
  book: TariffBook,
  subscriptions: readonly SubscriptionRow[],
  usage: readonly UsageRow[],
  adjustments: readonly AdjustmentRow[],
): AccountBilling {
  const agreement = accountAgreementSchema.safeParse(account.agreement ?? {});
  if (!agreement.success) {
    throw new AccountBillingError(account.billingAccountId, `its agreement is invalid: ${agreement.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const minorDigits = minorDigitsOf(account.currency);

  const terms: SubscriptionTerm[] = [];
  for (const subscription of subscriptions) {
    if (subscription.activatedMs >= period.endMs || (subscription.terminatedMs !== null && subscription.terminatedMs <= period.startMs)) continue;
    try {
      terms.push({
        id: subscription.id,
        productId: subscription.productId,
        quantity: subscription.quantity,
        activeFrom: localDate(subscription.activatedMs, period.timeZone),
        activeTo: subscription.terminatedMs === null ? null : localDate(subscription.terminatedMs, period.timeZone),
        tariff: book.versionAt(subscription.productId, Math.max(subscription.activatedMs, period.startMs)),
      });
    } catch (error) {
      if (error instanceof RatingError) throw new AccountBillingError(account.billingAccountId, `subscription ${subscription.id}: ${error.message}`);
      throw error;
    }
  }

  const productOf = new Map(subscriptions.map((subscription) => [subscription.id, subscription.productId]));
  const events: RatedEventInput[] = [];
  const idOf = new Map<string, number>();
  const rejected: AccountBilling['rejected'] = [];
  for (const record of usage) {
    try {
      const productId = productOf.get(record.subscriptionId);
      if (!productId) throw new RatingError('NO_TARIFF', `subscription ${record.subscriptionId} is not on this account any more`);
      const tariff = book.versionAt(productId, record.startMs);
      const rating = book.rater(tariff, period).rate({
        type: record.usageType,
        startMs: record.startMs,
        durationSec: record.durationSec,
        volumeBytes: record.volumeBytes,
        messages: record.messages,
        destination: record.destination,
        homePrefix: account.homePrefix ?? '',
      });
      events.push({ key: record.key, startMs: record.startMs, subscriptionId: record.subscriptionId, tariff, rating });
      idOf.set(record.key, record.id);
    } catch (error) {
      if (!(error instanceof RatingError)) throw error;
      rejected.push({ usageRecordId: record.id, reason: rejectionFor(error), message: error.message });
    }
  }

  let usageResult;
  try {
    usageResult = rateAccountUsage(period, terms, events);
  } catch (error) {
    if (error instanceof RatingError) throw new AccountBillingError(account.billingAccountId, error.message);
    throw error;
  }
  const oneOffs: OneOffItem[] = [];
  for (const adjustment of adjustments) {
    if (adjustment.currency !== account.currency) throw new AccountBillingError(account.billingAccountId, `adjustment ${adjustment.id} is in ${adjustment.currency}, the account in ${account.currency}`);
    if (adjustment.remainingMinor > 0) oneOffs.push({ id: `adj-${adjustment.id}`, kind: adjustment.kind, description: adjustment.description, amount: adjustment.remainingMinor });
  }
  // Spelled out rather than spread: a spread plus a key is several times slower per record in V8, and this runs for every record of a run.
  const rated = usageResult.events.map(
    (event): RatedRecord => ({
      key: event.key,
      startMs: event.startMs,
      subscriptionId: event.subscriptionId,
      tariffId: event.tariffId,
      category: event.category,
      units: event.units,
      freeUnits: event.freeUnits,
      bundleId: event.bundleId,
      chargeSub: event.chargeSub,
      usageRecordId: idOf.get(event.key)!,
    }),
  );
  if (terms.length === 0 && rated.length === 0 && oneOffs.length === 0) return { rated, rejected, bill: null, minorDigits };

  let bill: BillComputation;
  try {
    bill = computeBill({ period, currency: account.currency, minorDigits, subscriptions: terms, usage: usageResult, oneOffs, agreement: agreement.data });
  } catch (error) {
    if (error instanceof RatingError) throw new AccountBillingError(account.billingAccountId, error.message);
    throw error;
  }
  return { rated, rejected, bill, minorDigits };
}

/** The adjustment id behind a one-off or credit line key (`oneOff.adj-12`, `credit.adj-12`). */
export function adjustmentIdOf(lineKey: string): number | null {
  const match = /^(?:oneOff|credit)\.adj-(\d+)$/.exec(lineKey);
  return match ? Number(match[1]) : null;
}
