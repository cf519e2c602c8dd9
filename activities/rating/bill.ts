/**
 * The lines of one account's bill for one period, from its second-rated usage, its subscriptions,
 * its one-off charges and credits, and its key-account agreement. Pure; the amounts are final
 * minor units and the lines always add up to the total.
 *
 * The order, which is also the order of the lines:
 * 1. recurring charges per subscription (prorated by active days / days in the period, each
 *    subscription's share rounded by its plan's mode, then times its quantity), one line per
 *    (tariff, charge);
 * 2. usage, one line per (tariff, category); under `bill` rounding a tariff's usage total is
 *    rounded once and spread over its lines by largest remainder;
 * 3. bundles used (informational lines of amount 0);
 * 4. one-off charges;
 * 5. account discounts in the agreement's order, each on what the earlier ones left of its scope;
 * 6. the minimum-commitment top-up, when the covered charges after discounts fall short;
 * 7. compensation and other credits, in the order given, never below a zero net (the rest is
 *    carried forward to the next bill);
 * 8. tax on the net.
 */

import { RatingError } from './errors';
import { SUB_PER_MINOR, allocate, divRoundBig, parseScaled, safe, scaleMinor, subToMinor, toMinor } from './money';
import { activeDays, type BillingPeriod } from './period';
import { scopeMatches, type AccountAgreement } from './plan';
import type { AccountUsage, SubscriptionTerm } from './second-rating';

export const billLineKinds = ['recurring', 'usage', 'bundle', 'oneOff', 'discount', 'commitment', 'credit', 'tax'] as const;
export type BillLineKind = (typeof billLineKinds)[number];

export interface BillLine {
  /** 1-based, in bill order. */
  lineNo: number;
  kind: BillLineKind;
  /** What discounts and commitments refer to: `usage.voice.local`, `recurring.rental`, `oneOff.<id>`. */
  key: string;
  description: string;
  tariffId: string | null;
  productId: string | null;
  quantity: number;
  unit: 'seconds' | 'bytes' | 'messages' | 'days' | 'items';
  /** Minor units; discounts and credits are negative. */
  amount: number;
  detail: Record<string, number | string>;
}

export interface OneOffItem {
  /** Stable id of the pending charge or credit (a complaint's compensation, an installation fee). */
  id: string;
  kind: 'charge' | 'credit';
  description: string;
  /** Minor units, positive. */
  amount: number;
}

export interface BillInput {
  period: BillingPeriod;
  currency: string;
  minorDigits: number;
  subscriptions: readonly SubscriptionTerm[];
  usage: AccountUsage;
  oneOffs: readonly OneOffItem[];
  agreement: AccountAgreement;
}

export interface BillTotals {
  /** Recurring + usage + one-off charges. */
  charges: number;
  /** Sum of discount lines (≤ 0). */
  discounts: number;
  commitmentTopUp: number;
  /** Sum of credit lines (≤ 0). */
  credits: number;
  /** charges + discounts + top-up + credits: what tax is levied on. */
  net: number;
  tax: number;
  total: number;
}

export interface BillComputation {
  lines: BillLine[];
  totals: BillTotals;
  /** Per credit: how much this bill used, and what is left for the next one. */
  creditsApplied: { id: string; applied: number; carriedForward: number }[];
}

type Draft = Omit<BillLine, 'lineNo'>;

/** @throws RatingError INVALID_PLAN when a tariff's currency is not the bill's. */
export function computeBill(input: BillInput): BillComputation {
  const { period, agreement, minorDigits } = input;
  for (const subscription of input.subscriptions) {
    const plan = subscription.tariff.compiled.plan;
    if (plan.currency !== input.currency || plan.minorDigits !== minorDigits) {
      throw new RatingError('INVALID_PLAN', `tariff ${subscription.tariff.id} is in ${plan.currency}/${plan.minorDigits}, the bill in ${input.currency}/${minorDigits}`);
    }
  }
  const charges: Draft[] = [];

  // 1. Recurring charges.
  const recurring = new Map<string, Draft>();
  for (const subscription of input.subscriptions) {
    const days = activeDays(period, subscription.activeFrom, subscription.activeTo);
    if (days === 0) continue;
    const plan = subscription.tariff.compiled.plan;
    for (const item of plan.recurring) {
      const monthly = toMinor(item.amount, minorDigits);
      const each = item.prorate && days < period.days ? scaleMinor(monthly, days, period.days, plan.rounding.mode) : monthly;
      const amount = safe(each * subscription.quantity);
      const key = `${subscription.tariff.id}|${item.id}`;
      let line = recurring.get(key);
      if (!line) {
        line = {
          kind: 'recurring',
          key: `recurring.${item.id}`,
          description: item.description,
          tariffId: subscription.tariff.id,
          productId: subscription.productId,
          quantity: 0,
          unit: 'items',
          amount: 0,
          detail: { activeDays: 0, monthlyAmount: monthly },
        };
        recurring.set(key, line);
      }
      line.quantity += subscription.quantity;
      line.amount = safe(line.amount + amount);
      line.detail.activeDays = (line.detail.activeDays as number) + days * subscription.quantity;
    }
  }
  charges.push(...[...recurring.values()].sort(byTariffThenKey));

  // 2. Usage, rounded per tariff where the plan rounds on the bill.
  const usageByTariff = new Map<string, AccountUsage['lines']>();
  for (const line of input.usage.lines) {
    const list = usageByTariff.get(line.tariffId) ?? [];
    list.push(line);
    usageByTariff.set(line.tariffId, list);
  }
  for (const tariffId of [...usageByTariff.keys()].sort()) {
    const lines = usageByTariff.get(tariffId)!;
    const rounding = lines[0]!.rounding;
    let amounts: number[];
    if (rounding.at === 'bill') {
      const total = subToMinor(lines.reduce((sum, line) => safe(sum + line.chargeSub), 0), rounding.mode);
      amounts = allocate(total, lines.map((line) => line.chargeSub));
    } else {
      amounts = lines.map((line) => {
        if (line.chargeSub % SUB_PER_MINOR !== 0) throw new RatingError('INVALID_EVENT', `usage of ${line.category} under ${rounding.at} rounding is not whole minor units`);
        return line.chargeSub / SUB_PER_MINOR;
      });
    }
    lines.forEach((line, index) => {
      charges.push({
        kind: 'usage',
        key: `usage.${line.category}`,
        description: `${typeLabel[line.measure]} — ${line.name}`,
        tariffId: line.tariffId,
        productId: line.productId,
        quantity: line.quantity,
        unit: line.measure,
        amount: amounts[index]!,
        detail: { events: line.events, units: line.units, freeUnits: line.freeUnits },
      });
    });
  }

  // 3. Bundles used: what the allowance covered, for the customer to see.
  const bundleLines: Draft[] = input.usage.bundles
    .filter((bundle) => bundle.allowance > 0)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((bundle) => ({
      kind: 'bundle',
      key: `bundle.${bundle.id}`,
      description: bundle.description,
      tariffId: null,
      productId: null,
      quantity: bundle.used,
      unit: bundle.measure,
      amount: 0,
      detail: { allowance: bundle.allowance, used: bundle.used },
    }));

  // 4. One-off charges.
  for (const item of input.oneOffs) {
    if (!Number.isSafeInteger(item.amount) || item.amount < 0) throw new RatingError('INVALID_AMOUNT', `one-off ${item.id} must be a non-negative number of minor units`);
    if (item.kind !== 'charge') continue;
    charges.push({ kind: 'oneOff', key: `oneOff.${item.id}`, description: item.description, tariffId: null, productId: null, quantity: 1, unit: 'items', amount: item.amount, detail: {} });
  }

  // 5. Discounts, each on what is left of its scope.
  const remaining = charges.map((line) => line.amount);
  const inScope = (patterns: readonly string[]) => charges.map((line, index) => (patterns.some((pattern) => scopeMatches(pattern, line.key)) ? index : -1)).filter((index) => index >= 0);
  const discountLines: Draft[] = [];
  for (const discount of agreement.discounts) {
    const indexes = inScope(discount.appliesTo);
    const base = indexes.reduce((sum, index) => sum + remaining[index]!, 0);
    let amount = 0;
    let detail: Draft['detail'] = { base };
    if (discount.kind === 'percentage') {
      amount = Number(divRoundBig(BigInt(base) * BigInt(parseScaled(discount.percent, 4)), 1_000_000n, agreement.roundingMode));
      const cap = discount.cap === undefined ? undefined : toMinor(discount.cap, minorDigits);
      detail = { base, percent: discount.percent, uncapped: amount };
      if (cap !== undefined && amount > cap) amount = cap;
      if (cap !== undefined) detail.cap = cap;
    } else {
      const cap = toMinor(discount.cap, minorDigits);
      amount = base > cap ? base - cap : 0;
      detail = { base, cap };
    }
    if (amount <= 0) continue;
    const shares = allocate(amount, indexes.map((index) => remaining[index]!));
    indexes.forEach((index, position) => {
      remaining[index]! -= shares[position]!;
    });
    discountLines.push({ kind: 'discount', key: `discount.${discount.id}`, description: discount.description, tariffId: null, productId: null, quantity: 1, unit: 'items', amount: -amount, detail });
  }

  // 6. Minimum commitment.
  const commitmentLines: Draft[] = [];
  if (agreement.minimumCommitment) {
    const commitment = toMinor(agreement.minimumCommitment.amount, minorDigits);
    const covered = inScope(agreement.minimumCommitment.appliesTo).reduce((sum, index) => sum + remaining[index]!, 0);
    if (covered < commitment) {
      commitmentLines.push({
        kind: 'commitment',
        key: 'commitment',
        description: agreement.minimumCommitment.description,
        tariffId: null,
        productId: null,
        quantity: 1,
        unit: 'items',
        amount: commitment - covered,
        detail: { commitment, covered },
      });
    }
  }

  // 7. Credits, up to the net so far.
  const sum = (lines: readonly Draft[]) => lines.reduce((total, line) => safe(total + line.amount), 0);
  let room = sum(charges) + sum(discountLines) + sum(commitmentLines);
  const creditLines: Draft[] = [];
  const creditsApplied: BillComputation['creditsApplied'] = [];
  for (const item of input.oneOffs) {
    if (item.kind !== 'credit') continue;
    const applied = Math.max(0, Math.min(item.amount, room));
    room -= applied;
    creditsApplied.push({ id: item.id, applied, carriedForward: item.amount - applied });
    if (applied > 0) {
      creditLines.push({ kind: 'credit', key: `credit.${item.id}`, description: item.description, tariffId: null, productId: null, quantity: 1, unit: 'items', amount: -applied, detail: { credit: item.amount } });
    }
  }

  // 8. Tax on the net.
  const totals: BillTotals = {
    charges: sum(charges),
    discounts: sum(discountLines),
    commitmentTopUp: sum(commitmentLines),
    credits: sum(creditLines),
    net: 0,
    tax: 0,
    total: 0,
  };
  totals.net = totals.charges + totals.discounts + totals.commitmentTopUp + totals.credits;
  const taxRate = parseScaled(agreement.taxRatePercent, 4);
  totals.tax = totals.net > 0 && taxRate > 0 ? safe(Number(divRoundBig(BigInt(totals.net) * BigInt(taxRate), 1_000_000n, agreement.roundingMode))) : 0;
  const taxLines: Draft[] =
    taxRate > 0
      ? [{ kind: 'tax', key: 'tax', description: `${agreement.taxDescription} ${agreement.taxRatePercent}%`, tariffId: null, productId: null, quantity: 1, unit: 'items', amount: totals.tax, detail: { base: totals.net } }]
      : [];
  totals.total = totals.net + totals.tax;

  const lines = [...charges.filter((line) => line.kind !== 'oneOff'), ...bundleLines, ...charges.filter((line) => line.kind === 'oneOff'), ...discountLines, ...commitmentLines, ...creditLines, ...taxLines].map(
    (line, index): BillLine => ({ lineNo: index + 1, ...line }),
  );
  if (sum(lines) !== totals.total) throw new RatingError('INVALID_AMOUNT', 'bill lines do not add up to the total');
  return { lines, totals, creditsApplied };
}

const typeLabel = { seconds: 'Voice', messages: 'SMS', bytes: 'Data' } as const;

function byTariffThenKey(a: Draft, b: Draft): number {
  const left = `${a.tariffId}|${a.key}`;
  const right = `${b.tariffId}|${b.key}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

