import { SUB_PER_MINOR, TariffBook, type AccountUsage } from '../../../activities/rating';
import { accountOf, at, bookOf, data, MB, shenzhenPlan, usageOf, voice } from './fixtures';

const fen = (sub: number) => sub / SUB_PER_MINOR;
const line = (usage: AccountUsage, category: string) => usage.lines.find((entry) => entry.category === category)!;
const longDistance = '861012345678';
const metered = '8640012345678';

describe('second rating', () => {
  describe('bundles', () => {
    const plan = shenzhenPlan({ bundles: [{ id: 'localMinutes', description: '5 local minutes', appliesTo: ['voice.local'], measure: 'seconds', allowance: 300 }] });
    const book = bookOf(plan);

    it('frees the first units of the call that exhausts a bundle and charges the rest in their bands', () => {
      const account = accountOf(book, '2025-03', [{ id: 's1' }]);
      const usage = usageOf(account, [
        ['s1', voice(at('2025-03-04T10:00:00'), 240)], // 4 units, all free; 60 s left
        ['s1', voice(at('2025-03-04T20:59:00'), 180)], // 20:59 peak unit free; 21:00 and 21:01 off-peak charged
        ['s1', voice(at('2025-03-05T10:00:00'), 60)], // bundle empty: 0.15
      ]);
      expect(usage.events.map((event) => [event.freeUnits, fen(event.chargeSub)])).toEqual([
        [4, 0],
        [1, 16],
        [0, 15],
      ]);
      expect(usage.events[1]!.bundleId).toBe('localMinutes');
      expect(line(usage, 'voice.local')).toMatchObject({ events: 3, units: 8, freeUnits: 5, quantity: 480 });
      expect(fen(line(usage, 'voice.local').chargeSub)).toBe(31);
      expect(usage.bundles).toEqual([{ id: 'localMinutes', description: '5 local minutes', measure: 'seconds', allowance: 300, used: 300 }]);
    });

    it('consumes bundles in event order, whatever order the records arrived in', () => {
      const account = accountOf(book, '2025-03', [{ id: 's1' }]);
      const late = voice(at('2025-03-20T10:00:00'), 300);
      const early = voice(at('2025-03-02T10:00:00'), 300); // a Sunday: weekend band 0.06
      const arrivedLateFirst = usageOf(account, [
        ['s1', late, 'b'],
        ['s1', early, 'a'],
      ]);
      expect(arrivedLateFirst.events.map((event) => [event.key, event.freeUnits, fen(event.chargeSub)])).toEqual([
        ['a', 5, 0],
        ['b', 0, 75],
      ]);
    });

    it('pools a bundle across the subscriptions of an account', () => {
      const account = accountOf(book, '2025-03', [{ id: 's1' }, { id: 's2' }]);
      const usage = usageOf(account, [
        ['s1', voice(at('2025-03-04T10:00:00'), 500)], // 9 units = 540 s of the pooled 600
        ['s2', voice(at('2025-03-04T11:00:00'), 120)], // 1 free unit, 1 charged at peak
      ]);
      expect(usage.bundles[0]).toMatchObject({ allowance: 600, used: 600 });
      expect(usage.events.map((event) => [event.subscriptionId, event.freeUnits, fen(event.chargeSub)])).toEqual([
        ['s1', 9, 0],
        ['s2', 1, 15],
      ]);
    });

    it('draws from bundles in the order the plan lists them, and keeps a remainder smaller than a unit', () => {
      const ordered = bookOf(
        shenzhenPlan({
          bundles: [
            { id: 'localOnly', description: '2 local minutes', appliesTo: ['voice.local'], measure: 'seconds', allowance: 120 },
            { id: 'anyVoice', description: '3.5 minutes of any call', appliesTo: ['voice'], measure: 'seconds', allowance: 210 },
          ],
        }),
      );
      const account = accountOf(ordered, '2025-03', [{ id: 's1' }]);
      const usage = usageOf(account, [
        // 5 local minutes: 2 from localOnly, 3 from anyVoice (30 s left there)
        ['s1', voice(at('2025-03-04T10:00:00'), 300)],
        // a 6-second-unit call of 60 s: 5 units free from the 30 s left, 5 charged at 0.012
        ['s1', voice(at('2025-03-04T11:00:00'), 60, longDistance)],
      ]);
      expect(usage.events.map((event) => [event.bundleId, event.freeUnits, fen(event.chargeSub)])).toEqual([
        ['localOnly', 5, 0],
        ['anyVoice', 5, 6],
      ]);
      expect(usage.bundles).toEqual([
        expect.objectContaining({ id: 'localOnly', used: 120 }),
        expect.objectContaining({ id: 'anyVoice', used: 210 }),
      ]);
    });

    it('prorates the allowance of a subscription that started mid-month (rounded down)', () => {
      // 17–31 March: 15 of 31 days of 300 s = 145 s
      const account = accountOf(book, '2025-03', [{ id: 's1', activeFrom: '2025-03-17' }]);
      const usage = usageOf(account, [['s1', voice(at('2025-03-18T10:00:00'), 180)]]);
      expect(usage.bundles[0]).toMatchObject({ allowance: 145, used: 120 });
      expect(fen(usage.events[0]!.chargeSub)).toBe(15);
    });

    it('never frees the set-up fee', () => {
      const intl = bookOf(shenzhenPlan({ bundles: [{ id: 'world', description: 'World minutes', appliesTo: ['voice.international'], measure: 'seconds', allowance: 600 }] }));
      const usage = usageOf(accountOf(intl, '2025-03', [{ id: 's1' }]), [['s1', voice(at('2025-03-04T10:00:00'), 120, '85223456789')]]);
      expect(usage.events[0]).toMatchObject({ freeUnits: 2 });
      expect(fen(usage.events[0]!.chargeSub)).toBe(50);
    });
  });

  describe('tiers', () => {
    it('prices data by graduated tiers of the account\'s volume, splitting a session at a tier edge', () => {
      // 0.05/MB below 1000 MB, 0.03 below 5000, 0.01 after
      const account = accountOf(bookOf(shenzhenPlan()), '2025-03', [{ id: 's1' }, { id: 's2' }]);
      const usage = usageOf(account, [
        ['s2', data(at('2025-03-10T09:00:00'), 4000 * MB)], // units 1001–5000: 3999 × 0.03 + 1 × 0.01 = 119.98
        ['s1', data(at('2025-03-03T09:00:00'), 999 * MB)], // units 0–998: 49.95
        ['s1', data(at('2025-03-05T09:00:00'), 2 * MB)], // unit 999 at 0.05, unit 1000 at 0.03
      ]);
      expect(usage.events.map((event) => fen(event.chargeSub))).toEqual([4995, 8, 11998]);
      expect(fen(line(usage, 'data').chargeSub)).toBe(17001);
    });

    it('counts only the units left after bundles toward the tiers', () => {
      const plan = shenzhenPlan({ bundles: [{ id: 'data500', description: '500 MB', appliesTo: ['data'], measure: 'bytes', allowance: 500 * MB }] });
      const usage = usageOf(accountOf(bookOf(plan), '2025-03', [{ id: 's1' }]), [
        ['s1', data(at('2025-03-03T09:00:00'), 1000 * MB)], // 500 free, 500 at 0.05
        ['s1', data(at('2025-03-04T09:00:00'), 600 * MB)], // billable units 500–999 at 0.05, 1000–1099 at 0.03
      ]);
      expect(usage.events.map((event) => [event.freeUnits, fen(event.chargeSub)])).toEqual([
        [500, 2500],
        [0, 2500 + 300],
      ]);
    });
  });

  describe('rounding', () => {
    it.each([
      ['halfUp', 17],
      ['halfEven', 16],
      ['up', 17],
      ['down', 16],
    ] as const)('rounds a 16.5 fen call to %s → %i fen when the plan rounds per call', (mode, expected) => {
      const book = bookOf(shenzhenPlan({ rounding: { mode, at: 'call' } }));
      const usage = usageOf(accountOf(book, '2025-03', [{ id: 's1' }]), [['s1', voice(at('2025-03-04T10:00:00'), 66, metered)]]);
      expect(fen(usage.events[0]!.chargeSub)).toBe(expected);
    });

    it('keeps sub-unit precision per call when the plan rounds on the bill', () => {
      const book = bookOf(shenzhenPlan({ rounding: { mode: 'halfUp', at: 'bill' } }));
      const usage = usageOf(accountOf(book, '2025-03', [{ id: 's1' }]), [
        ['s1', voice(at('2025-03-04T10:00:00'), 66, metered)],
        ['s1', voice(at('2025-03-04T11:00:00'), 66, metered)],
      ]);
      expect(usage.events.map((event) => fen(event.chargeSub))).toEqual([16.5, 16.5]);
      expect(fen(line(usage, 'voice.metered').chargeSub)).toBe(33);
    });
  });

  it('rates usage by the tariff version valid at the start of each event', () => {
    const march10 = at('2025-03-10T00:00:00');
    const cheaper = shenzhenPlan();
    cheaper.voice!.zones.local = { name: 'Local', unitSeconds: 60, price: { flat: '0.10' } };
    const book = new TariffBook([
      { id: 'v1', productId: 'p1', validFrom: Date.UTC(2020, 0, 1), validTo: march10, plan: shenzhenPlan() },
      { id: 'v2', productId: 'p1', validFrom: march10, validTo: null, plan: cheaper },
    ]);
    const usage = usageOf(accountOf(book, '2025-03', [{ id: 's1' }]), [
      ['s1', voice(at('2025-03-09T23:59:00'), 120)], // v1: Sunday 23:59 weekend 0.06, then Monday 00:00 off-peak 0.08
      ['s1', voice(at('2025-03-10T10:00:00'), 120)], // v2: 2 × 0.10
    ]);
    expect(usage.events.map((event) => [event.tariffId, fen(event.chargeSub)])).toEqual([
      ['v1', 6 + 8],
      ['v2', 20],
    ]);
    expect(usage.lines.map((entry) => [entry.tariffId, entry.category])).toEqual([
      ['v1', 'voice.local'],
      ['v2', 'voice.local'],
    ]);
  });
});
