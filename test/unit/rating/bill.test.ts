import { accountAgreementSchema, computeBill, type AccountAgreementInput, type BillComputation, type OneOffItem } from '../../../activities/rating';
import { accountOf, at, bookOf, data, MB, shenzhenPlan, usageOf, voice, type AccountFixture } from './fixtures';

const metered = '8640012345678';

function bill(account: AccountFixture, usage = usageOf(account, []), agreement: AccountAgreementInput = {}, oneOffs: OneOffItem[] = []): BillComputation {
  return computeBill({ period: account.period, currency: 'CNY', minorDigits: 2, subscriptions: account.subscriptions, usage, oneOffs, agreement: accountAgreementSchema.parse(agreement) });
}

const amounts = (computed: BillComputation) => computed.lines.map((line) => [line.key, line.amount]);

describe('bill lines', () => {
  describe('recurring charges and proration', () => {
    const book = bookOf(shenzhenPlan());
    const rental = (periodId: string, activeFrom: string | null, activeTo: string | null) =>
      bill(accountOf(book, periodId, [{ id: 's1', activeFrom, activeTo }])).lines.find((line) => line.kind === 'recurring')?.amount;

    it('charges a full month in full', () => {
      expect(rental('2025-03', '2024-06-01', null)).toBe(8800);
    });

    it('charges one day of 31 for a subscription activated on the 31st', () => {
      // 88.00 × 1/31 = 2.8387… → 2.84
      expect(rental('2025-01', '2025-01-31', null)).toBe(284);
      expect(rental('2025-03', '2025-03-31', null)).toBe(284);
    });

    it('prorates February by 28 days, and by 29 in a leap year', () => {
      // ended on the 15th (first day without service): 14 days
      expect(rental('2025-02', null, '2025-02-15')).toBe(4400);
      // 88.00 × 14/29 = 42.4827… → 42.48
      expect(rental('2024-02', null, '2024-02-15')).toBe(4248);
      // activated 1 February 2025: the whole of February
      expect(rental('2025-02', '2025-02-01', null)).toBe(8800);
    });

    it('charges nothing for a subscription that ended before the period, and one line per charge for many subscriptions', () => {
      expect(rental('2025-03', null, '2025-03-01')).toBeUndefined();
      const many = bill(accountOf(book, '2025-03', [{ id: 's1' }, { id: 's2', activeFrom: '2025-03-17' }, { id: 's3', activeTo: '2025-03-02' }]));
      const recurring = many.lines.filter((line) => line.kind === 'recurring');
      // 8800 + 88.00 × 15/31 (42.58) + 88.00 × 1/31 (2.84)
      expect(recurring).toEqual([expect.objectContaining({ key: 'recurring.rental', quantity: 3, amount: 8800 + 4258 + 284, detail: { activeDays: 31 + 15 + 1, monthlyAmount: 8800 } })]);
    });
  });

  it('multiplies rentals and allowances by a subscription\'s quantity', () => {
    const book = bookOf(shenzhenPlan({ bundles: [{ id: 'localMinutes', description: '5 local minutes', appliesTo: ['voice.local'], measure: 'seconds', allowance: 300 }] }));
    const account = accountOf(book, '2025-03', [{ id: 's1', quantity: 3 }]);
    const computed = bill(account, usageOf(account, [['s1', voice(at('2025-03-04T10:00:00'), 960)]]));
    expect(amounts(computed)).toEqual([
      ['recurring.rental', 3 * 8800],
      // 16 minutes: 15 free from the pooled 3 × 5, one at 0.15
      ['usage.voice.local', 15],
      ['bundle.localMinutes', 0],
    ]);
  });

  describe('usage lines', () => {
    it('rounds a bill-rounded tariff once on its usage total and spreads it so the lines add up', () => {
      const book = bookOf(shenzhenPlan({ rounding: { mode: 'halfUp', at: 'bill' }, recurring: [] }));
      const account = accountOf(book, '2025-03', [{ id: 's1' }]);
      const usage = usageOf(account, [
        ['s1', voice(at('2025-03-04T10:00:00'), 66, metered)], // 16.5 fen
        ['s1', voice(at('2025-03-04T11:00:00'), 66, metered)], // 16.5 fen
        ['s1', voice(at('2025-03-04T12:00:00'), 65, '861012345678')], // 11 × 1.2 = 13.2 fen
      ]);
      const computed = bill(account, usage);
      // 33 + 13.2 = 46.2 → 46, spread 33 / 13
      expect(amounts(computed)).toEqual([
        ['usage.voice.longDistance', 13],
        ['usage.voice.metered', 33],
      ]);
      // per-call rounding of the same calls costs 17 + 17 + 13
      const perCall = bookOf(shenzhenPlan({ rounding: { mode: 'halfUp', at: 'call' }, recurring: [] }));
      const perCallAccount = accountOf(perCall, '2025-03', [{ id: 's1' }]);
      const perCallBill = bill(
        perCallAccount,
        usageOf(perCallAccount, [
          ['s1', voice(at('2025-03-04T10:00:00'), 66, metered)],
          ['s1', voice(at('2025-03-04T11:00:00'), 66, metered)],
          ['s1', voice(at('2025-03-04T12:00:00'), 65, '861012345678')],
        ]),
      );
      expect(perCallBill.totals.total).toBe(47);
    });

    it('shows what each bundle covered as a line of amount 0', () => {
      const book = bookOf(shenzhenPlan({ bundles: [{ id: 'localMinutes', description: '5 local minutes', appliesTo: ['voice.local'], measure: 'seconds', allowance: 300 }] }));
      const account = accountOf(book, '2025-03', [{ id: 's1' }]);
      const computed = bill(account, usageOf(account, [['s1', voice(at('2025-03-04T10:00:00'), 120)]]));
      expect(computed.lines.find((line) => line.kind === 'bundle')).toMatchObject({ key: 'bundle.localMinutes', amount: 0, quantity: 120, unit: 'seconds', detail: { allowance: 300, used: 120 } });
    });
  });

  describe('account discounts, commitment, credits and tax', () => {
    /**
     * Two subscriptions (2 × 88.00 rental), a 10-minute international call (0.50 + 10 × 2.00 =
     * 20.50), 999 MB of data (49.95), an installation fee of 200.00 and a complaint compensation
     * of 30.00.
     */
    const book = bookOf(shenzhenPlan());
    const account = accountOf(book, '2025-03', [{ id: 's1' }, { id: 's2' }]);
    const usage = usageOf(account, [
      ['s1', voice(at('2025-03-04T10:00:00'), 600, '85223456789')],
      ['s2', data(at('2025-03-05T10:00:00'), 999 * MB)],
    ]);
    const oneOffs: OneOffItem[] = [
      { id: 'install-1', kind: 'charge', description: 'Installation', amount: 20000 },
      { id: 'complaint-7', kind: 'credit', description: 'Compensation for complaint TT-7', amount: 3000 },
    ];

    it('works the whole example: capped discount, discount on rental, commitment top-up, credit after it, tax on the net', () => {
      const computed = bill(
        account,
        usage,
        {
          discounts: [
            // 10 % of 70.45 = 7.045 → 7.05, capped at 5.00
            { kind: 'percentage', id: 'usage10', description: '10 % off usage', percent: '10', appliesTo: ['usage'], cap: '5.00' },
            // 5 % of 176.00 = 8.80
            { kind: 'percentage', id: 'rental5', description: '5 % off rental', percent: '5', appliesTo: ['recurring'] },
          ],
          // covered after discounts: 70.45 − 5.00 + 176.00 − 8.80 = 232.65 → top-up 267.35
          minimumCommitment: { amount: '500.00', appliesTo: ['usage', 'recurring'] },
          taxRatePercent: '6',
        },
        oneOffs,
      );
      expect(amounts(computed)).toEqual([
        ['recurring.rental', 17600],
        ['usage.data', 4995],
        ['usage.voice.international', 2050],
        ['oneOff.install-1', 20000],
        ['discount.usage10', -500],
        ['discount.rental5', -880],
        ['commitment', 26735],
        ['credit.complaint-7', -3000],
        // 6 % of 670.00
        ['tax', 4020],
      ]);
      expect(computed.totals).toEqual({ charges: 44645, discounts: -1380, commitmentTopUp: 26735, credits: -3000, net: 67000, tax: 4020, total: 71020 });
      expect(computed.lines.find((line) => line.key === 'discount.usage10')!.detail).toEqual({ base: 7045, percent: '10', uncapped: 705, cap: 500 });
      expect(computed.lines.reduce((sum, line) => sum + line.amount, 0)).toBe(computed.totals.total);
    });

    it('applies discounts one after the other, each on what the earlier left', () => {
      const computed = bill(account, usage, {
        discounts: [
          { kind: 'percentage', id: 'a', description: 'A', percent: '10', appliesTo: ['recurring'] },
          { kind: 'percentage', id: 'b', description: 'B', percent: '10', appliesTo: ['recurring'] },
        ],
      });
      // 10 % of 176.00, then 10 % of 158.40
      expect(amounts(computed).filter(([key]) => String(key).startsWith('discount'))).toEqual([
        ['discount.a', -1760],
        ['discount.b', -1584],
      ]);
    });

    it('rounds a discount by the agreement\'s mode', () => {
      const discount = (roundingMode: 'halfUp' | 'halfEven') =>
        bill(account, usage, { roundingMode, discounts: [{ kind: 'percentage', id: 'u', description: 'U', percent: '10', appliesTo: ['usage'] }] }).totals.discounts;
      // 10 % of 70.45 = 7.045
      expect(discount('halfUp')).toBe(-705);
      expect(discount('halfEven')).toBe(-704);
    });

    it('caps spending on covered charges', () => {
      const computed = bill(account, usage, { discounts: [{ kind: 'spendCap', id: 'dataCap', description: 'Data capped at 30.00', appliesTo: ['usage.data'], cap: '30.00' }] });
      expect(amounts(computed).find(([key]) => key === 'discount.dataCap')).toEqual(['discount.dataCap', -1995]);
    });

    it('adds no top-up when the commitment is met', () => {
      const computed = bill(account, usage, { minimumCommitment: { amount: '100.00', appliesTo: ['recurring'] } });
      expect(computed.totals.commitmentTopUp).toBe(0);
    });

    it('never takes a bill below zero with credits, and carries the rest forward', () => {
      const small = accountOf(bookOf(shenzhenPlan()), '2025-03', [{ id: 's1', activeFrom: '2025-03-31' }]);
      const computed = bill(small, undefined, { taxRatePercent: '9' }, [
        { id: 'c1', kind: 'credit', description: 'Compensation', amount: 200 },
        { id: 'c2', kind: 'credit', description: 'Compensation', amount: 500 },
      ]);
      // rental 2.84: c1 takes 2.00, c2 takes 0.84 and carries 4.16
      expect(computed.creditsApplied).toEqual([
        { id: 'c1', applied: 200, carriedForward: 0 },
        { id: 'c2', applied: 84, carriedForward: 416 },
      ]);
      expect(computed.totals).toMatchObject({ net: 0, tax: 0, total: 0 });
    });

    it('refuses an agreement with unknown scopes or a percentage over 100', () => {
      expect(accountAgreementSchema.safeParse({ discounts: [{ kind: 'percentage', id: 'x', description: 'X', percent: '120', appliesTo: ['usage'] }] }).success).toBe(false);
      expect(accountAgreementSchema.safeParse({ discounts: [{ kind: 'percentage', id: 'x', description: 'X', percent: '10', appliesTo: ['everything'] }] }).success).toBe(false);
    });
  });
});
