import fc from 'fast-check';
import { accountAgreementSchema, computeBill, rateAccountUsage, roundingModes, TariffBook, type RatingPlanInput, type UsageEvent } from '../../../activities/rating';
import { accountOf, home, MB, shenzhenPlan } from './fixtures';

/**
 * However a month's records arrive — in any order, cut into any number of batches, each batch
 * first-rated by a rater of its own — the account's bill comes out the same, to the minor unit.
 */
describe('splitting or reordering a usage stream', () => {
  const destinations = ['8675588001234', '861012345678', '8640012345678', '85223456789', '12125550100', '12423570000', '8613800138000', '447700900123'];
  const periodStart = Date.UTC(2025, 1, 28, 16); // 1 March 2025 00:00 in Shanghai
  const periodMs = 31 * 86_400_000;

  const eventArbitrary = fc.record({
    subscription: fc.constantFrom('s1', 's2', 's3'),
    type: fc.constantFrom('voice', 'voice', 'voice', 'sms', 'data'),
    // coarse instants make equal start times (ties) common
    startMs: fc.integer({ min: 0, max: periodMs / 60_000 - 1 }).map((minute) => periodStart + minute * 60_000),
    durationSec: fc.integer({ min: 0, max: 7200 }),
    volumeBytes: fc.integer({ min: 0, max: 3000 * MB }),
    messages: fc.integer({ min: 1, max: 3 }),
    destination: fc.constantFrom(...destinations),
  });

  const planArbitrary = fc.record({ mode: fc.constantFrom(...roundingModes), at: fc.constantFrom('unit', 'call', 'bill') }).map(
    (rounding): RatingPlanInput =>
      shenzhenPlan({
        rounding,
        bundles: [
          { id: 'localMinutes', description: 'Local minutes', appliesTo: ['voice.local'], measure: 'seconds', allowance: 1800 },
          { id: 'anyVoice', description: 'Any call', appliesTo: ['voice'], measure: 'seconds', allowance: 2700 },
          { id: 'data1g', description: '1 GB', appliesTo: ['data'], measure: 'bytes', allowance: 1024 * MB },
        ],
      }),
  );

  const bookOf = (plan: RatingPlanInput) => new TariffBook([{ id: 't1', productId: 'p1', validFrom: Date.UTC(2020, 0, 1), validTo: null, plan }]);
  const agreement = accountAgreementSchema.parse({
    discounts: [{ kind: 'percentage', id: 'ka', description: 'Key account', percent: '7.5', appliesTo: ['usage'], cap: '80.00' }],
    minimumCommitment: { amount: '300.00', appliesTo: ['usage', 'recurring'] },
    taxRatePercent: '9',
  });

  /** Rates `batches` of keyed events, each with a fresh book, and bills the lot. */
  function billTotal(plan: RatingPlanInput, batches: { key: string; subscription: string; event: UsageEvent }[][]) {
    const account = accountOf(bookOf(plan), '2025-03', [{ id: 's1' }, { id: 's2', activeFrom: '2025-03-12' }, { id: 's3', activeTo: '2025-03-20' }]);
    const rated = batches.flatMap((batch) => {
      const book = bookOf(plan);
      return batch.map(({ key, subscription, event }) => {
        const tariff = book.versionAt('p1', event.startMs);
        return { key, startMs: event.startMs, subscriptionId: subscription, tariff, rating: book.rater(tariff, account.period).rate(event) };
      });
    });
    const usage = rateAccountUsage(account.period, account.subscriptions, rated);
    const bill = computeBill({ period: account.period, currency: 'CNY', minorDigits: 2, subscriptions: account.subscriptions, usage, oneOffs: [], agreement });
    return { total: bill.totals.total, lines: bill.lines.map((line) => [line.key, line.amount]), events: usage.events };
  }

  it('never changes the account\'s bill', () => {
    fc.assert(
      fc.property(
        planArbitrary,
        fc.array(eventArbitrary, { minLength: 1, maxLength: 80 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.infiniteStream(fc.nat()),
        (plan, generated, cuts, noise) => {
          const events = generated.map((entry, index) => ({
            key: `mediation-1/${String(index).padStart(6, '0')}`,
            subscription: entry.subscription,
            event: { ...entry, homePrefix: home } as UsageEvent,
          }));
          const expected = billTotal(plan, [events]);

          // reorder (a deterministic shuffle driven by the generated noise), then cut into batches
          const shuffled = [...events];
          const random = noise[Symbol.iterator]();
          for (let index = shuffled.length - 1; index > 0; index -= 1) {
            const other = random.next().value % (index + 1);
            [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
          }
          const positions = [...new Set(cuts.map((cut) => cut % shuffled.length))].sort((a, b) => a - b);
          const batches = [0, ...positions, shuffled.length].slice(1).map((end, index, ends) => shuffled.slice(index === 0 ? 0 : ends[index - 1], end));

          const actual = billTotal(plan, batches.filter((batch) => batch.length > 0));
          expect(actual.total).toBe(expected.total);
          expect(actual.lines).toEqual(expected.lines);
          expect(actual.events).toEqual(expected.events);
        },
      ),
      { numRuns: 100 },
    );
  });
});
