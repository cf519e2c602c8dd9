import { compilePlan, RatingError, SUB_PER_MINOR, type FirstRater, type FirstRating } from '../../../activities/rating';
import { at, data, MB, raterFor, shenzhenPlan, sms, voice } from './fixtures';

/** Fen (minor units) of a sub-unit amount; fixtures are chosen so these stay exact where asserted. */
const fen = (sub: number) => sub / SUB_PER_MINOR;

/** The per-band split as readable [band, units] pairs. */
function split(rater: FirstRater, rating: FirstRating): [string, number][] {
  const pairs: [string, number][] = [];
  for (let index = 0; index < rating.segments.length; index += 3) pairs.push([rater.timeline.bands[rating.segments[index]!]!, rating.segments[index + 1]!]);
  return pairs;
}

const categoryOf = (rater: FirstRater, rating: FirstRating) => rater.compiled.categories[rating.category]!.key;

describe('first rating', () => {
  const rater = raterFor(shenzhenPlan());

  describe('charging units', () => {
    it('charges per started minute: 125 s local at peak is 3 minutes, 0.45', () => {
      const rating = rater.rate(voice(at('2025-03-04T10:00:00'), 125));
      expect(categoryOf(rater, rating)).toBe('voice.local');
      expect(rating.units).toBe(3);
      expect(fen(rating.amountSub)).toBe(45);
    });

    it('charges 6-second units with a 60-second minimum first unit (the "60 + 6" rule)', () => {
      // 125 s → 21 units of 6 s at 0.012 = 0.252
      const long = rater.rate(voice(at('2025-03-04T10:00:00'), 125, '861012345678'));
      expect(categoryOf(rater, long)).toBe('voice.longDistance');
      expect(long.units).toBe(21);
      expect(fen(long.amountSub)).toBe(25.2);
      // 10 s → the minimum 10 units (60 s) = 0.12
      const short = rater.rate(voice(at('2025-03-04T10:00:00'), 10, '861012345678'));
      expect(short.units).toBe(10);
      expect(fen(short.amountSub)).toBe(12);
      // 61 s → 11 units
      expect(rater.rate(voice(at('2025-03-04T10:00:00'), 61, '861012345678')).units).toBe(11);
    });

    it('charges per second: 66 s at 0.0025 is 16.5 fen before rounding', () => {
      const rating = rater.rate(voice(at('2025-03-04T10:00:00'), 66, '8640012345678'));
      expect(categoryOf(rater, rating)).toBe('voice.metered');
      expect(rating.units).toBe(66);
      expect(fen(rating.amountSub)).toBe(16.5);
    });

    it('honours a minimum first unit on per-second charging', () => {
      const plan = shenzhenPlan();
      plan.voice!.zones.metered = { name: 'Metered', unitSeconds: 1, minimumUnits: 30, price: { flat: '0.0025' } };
      const minimum = raterFor(plan);
      expect(minimum.rate(voice(at('2025-03-04T10:00:00'), 5, '8640012345678')).units).toBe(30);
      expect(minimum.rate(voice(at('2025-03-04T10:00:00'), 31, '8640012345678')).units).toBe(31);
    });

    it('charges nothing, not even the set-up fee, for an unanswered call', () => {
      const rating = rater.rate(voice(at('2025-03-04T10:00:00'), 0, '85223456789'));
      expect(rating).toMatchObject({ units: 0, setupSub: 0, amountSub: 0 });
    });

    it('adds the set-up fee once per answered call', () => {
      // international: 0.50 set-up + 2 minutes × 2.00
      const rating = rater.rate(voice(at('2025-03-04T10:00:00'), 61, '85223456789'));
      expect(categoryOf(rater, rating)).toBe('voice.international');
      expect(fen(rating.setupSub)).toBe(50);
      expect(fen(rating.amountSub)).toBe(450);
    });

    it('rounds each charging unit price when the plan rounds per unit', () => {
      // 0.0025 per second rounds to 0.00 (half-up) or 0.01 (up) per unit
      const halfUp = raterFor(shenzhenPlan({ rounding: { mode: 'halfUp', at: 'unit' } }));
      expect(fen(halfUp.rate(voice(at('2025-03-04T10:00:00'), 66, '8640012345678')).amountSub)).toBe(0);
      const up = raterFor(shenzhenPlan({ rounding: { mode: 'up', at: 'unit' } }));
      expect(fen(up.rate(voice(at('2025-03-04T10:00:00'), 66, '8640012345678')).amountSub)).toBe(66);
      // long distance 0.012 per 6 s → 0.01 half-up: 21 units = 0.21
      expect(fen(halfUp.rate(voice(at('2025-03-04T10:00:00'), 125, '861012345678')).amountSub)).toBe(21);
    });

    it('rates SMS per message part and data per started charging unit', () => {
      const text = rater.rate(sms(at('2025-03-04T10:00:00'), '447700900123', 2));
      expect(categoryOf(rater, text)).toBe('sms.international');
      expect(fen(text.amountSub)).toBe(100);
      const session = rater.rate(data(at('2025-03-04T10:00:00'), 3 * MB + 1));
      expect(categoryOf(rater, session)).toBe('data');
      expect(session.units).toBe(4);
      // tiered: priced in second rating, so first rating carries units only
      expect(session.amountSub).toBe(0);
    });
  });

  describe('band splits', () => {
    it('splits a per-second call crossing the 21:00 peak boundary at the boundary', () => {
      // 20:59:30 + 90 s: 30 s peak, 60 s off-peak (metered is flat, so use a per-second local zone)
      const plan = shenzhenPlan();
      plan.voice!.zones.local = { name: 'Local', unitSeconds: 1, price: { byBand: { peak: '0.0025', offpeak: '0.0020', weekend: '0.0010', holiday: '0.0005' } } };
      const perSecond = raterFor(plan);
      const rating = perSecond.rate(voice(at('2025-03-04T20:59:30'), 90));
      expect(split(perSecond, rating)).toEqual([
        ['peak', 30],
        ['offpeak', 60],
      ]);
      expect(fen(rating.amountSub)).toBe(30 * 0.25 + 60 * 0.2);
    });

    it('prices each per-minute unit by the band it starts in, adding no unit for the split', () => {
      // 20:59:00 + 150 s: units start 20:59 (peak), 21:00 and 21:01 (off-peak) → 0.15 + 2 × 0.08
      const whole = rater.rate(voice(at('2025-03-04T20:59:00'), 150));
      expect(split(rater, whole)).toEqual([
        ['peak', 1],
        ['offpeak', 2],
      ]);
      expect(fen(whole.amountSub)).toBe(31);
      // 20:59:30 + 90 s: 2 units, starting 20:59:30 (peak) and 21:00:30 (off-peak)
      const straddling = rater.rate(voice(at('2025-03-04T20:59:30'), 90));
      expect(straddling.units).toBe(2);
      expect(split(rater, straddling)).toEqual([
        ['peak', 1],
        ['offpeak', 1],
      ]);
    });

    it('splits a call across midnight from a Friday evening into the weekend', () => {
      // Friday 7 March 2025 23:58:30 + 200 s: units at 23:58:30, 23:59:30 (off-peak),
      // 00:00:30, 00:01:30 (Saturday, weekend) → 2 × 0.08 + 2 × 0.06
      const rating = rater.rate(voice(at('2025-03-07T23:58:30'), 200));
      expect(split(rater, rating)).toEqual([
        ['offpeak', 2],
        ['weekend', 2],
      ]);
      expect(fen(rating.amountSub)).toBe(28);
    });

    it('splits a call across midnight into a public holiday and out of it', () => {
      const may = raterFor(shenzhenPlan(), '2025-05');
      // Wednesday 30 April 23:59:00 + 121 s → 1 off-peak unit, 2 holiday units
      const into = may.rate(voice(at('2025-04-30T23:59:00'), 121));
      expect(split(may, into)).toEqual([
        ['offpeak', 1],
        ['holiday', 2],
      ]);
      // Thursday 1 May 23:59:00 + 60 s … 120 s: the second unit starts on Friday 2 May 00:00 (off-peak)
      expect(split(may, may.rate(voice(at('2025-05-01T23:59:00'), 120)))).toEqual([
        ['holiday', 1],
        ['offpeak', 1],
      ]);
    });

    it('splits a long call over several boundaries', () => {
      // 07:00 to 22:00 on a Tuesday, per minute: 60 off-peak, 780 peak, 60 off-peak
      const rating = rater.rate(voice(at('2025-03-04T07:00:00'), 15 * 3600));
      expect(split(rater, rating)).toEqual([
        ['offpeak', 60],
        ['peak', 780],
        ['offpeak', 60],
      ]);
      expect(fen(rating.amountSub)).toBe(60 * 8 + 780 * 15 + 60 * 8);
    });

    it('rates a data session whole in the band it starts in', () => {
      const plan = shenzhenPlan({ data: { unitBytes: MB, price: { byBand: { peak: '0.05', offpeak: '0.02', weekend: '0.02', holiday: '0.01' } } } });
      const banded = raterFor(plan);
      const rating = banded.rate(data(at('2025-03-04T20:59:59'), 10 * MB));
      expect(split(banded, rating)).toEqual([['peak', 10]]);
      expect(fen(rating.amountSub)).toBe(50);
    });
  });

  describe('destinations', () => {
    it('takes the longest matching prefix', () => {
      // 1 → North America, 1242 → Caribbean
      expect(categoryOf(rater, rater.rate(voice(at('2025-03-04T10:00:00'), 60, '12125550100')))).toBe('voice.northAmerica');
      expect(categoryOf(rater, rater.rate(voice(at('2025-03-04T10:00:00'), 60, '12423570000')))).toBe('voice.caribbean');
      // 86 → long distance, 86400 → metered
      expect(categoryOf(rater, rater.rate(voice(at('2025-03-04T10:00:00'), 60, '8621555501234')))).toBe('voice.longDistance');
      expect(categoryOf(rater, rater.rate(voice(at('2025-03-04T10:00:00'), 60, '8640012345678')))).toBe('voice.metered');
    });

    it('rates a call into the subscriber\'s own area as local, unless a longer listed prefix matches', () => {
      expect(categoryOf(rater, rater.rate(voice(at('2025-03-04T10:00:00'), 60, '8675583001234')))).toBe('voice.local');
      const plan = shenzhenPlan();
      plan.voice!.destinations!.push({ prefix: '867558', zone: 'international' });
      const special = raterFor(plan);
      expect(categoryOf(special, special.rate(voice(at('2025-03-04T10:00:00'), 60, '8675588001234')))).toBe('voice.international');
      expect(categoryOf(special, special.rate(voice(at('2025-03-04T10:00:00'), 60, '8675571001234')))).toBe('voice.local');
      // a subscriber from another area calling Shenzhen pays long distance
      const visitor = { ...voice(at('2025-03-04T10:00:00'), 60, '8675583001234'), homePrefix: '8610' };
      expect(categoryOf(rater, rater.rate(visitor))).toBe('voice.longDistance');
    });

    it('rejects a destination no prefix matches, and usage the plan does not rate', () => {
      expect(() => rater.rate(voice(at('2025-03-04T10:00:00'), 60, '99912345'))).toThrow(expect.objectContaining({ code: 'UNKNOWN_DESTINATION' }));
      const voiceOnly = raterFor(shenzhenPlan({ data: undefined }));
      expect(() => voiceOnly.rate(data(at('2025-03-04T10:00:00'), MB))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_USAGE_TYPE' }));
    });

    it('refuses an event outside the stretch of time the rater was built for', () => {
      expect(() => rater.rate(voice(at('2025-06-04T10:00:00'), 60))).toThrow(expect.objectContaining({ code: 'OUTSIDE_TIMELINE' }));
    });
  });

  describe('plans', () => {
    it('names every problem of an invalid plan at once', () => {
      const plan = shenzhenPlan();
      plan.voice!.destinations!.push({ prefix: '33', zone: 'nowhere' });
      plan.voice!.zones.local = { name: 'Local', unitSeconds: 60, price: { byBand: { peak: '0.15' } } };
      plan.data = { unitBytes: MB, price: { tiers: [{ fromUnits: 5, unitPrice: '0.01' }] } };
      try {
        compilePlan(plan);
        throw new Error('expected a RatingError');
      } catch (error) {
        expect(error).toBeInstanceOf(RatingError);
        const paths = ((error as RatingError).details as { path: string }[]).map((issue) => issue.path);
        expect(paths).toEqual(
          expect.arrayContaining(['voice.destinations.7.zone', 'voice.zones.local.price.byBand.offpeak', 'voice.zones.local.price.byBand.weekend', 'data.price.tiers.0.fromUnits']),
        );
      }
    });

    it('refuses float prices, overlapping bands and days without a schedule', () => {
      expect(() => compilePlan({ ...shenzhenPlan(), voice: { zones: { local: { name: 'L', unitSeconds: 60, price: { flat: 0.15 } } } } })).toThrow(RatingError);
      const overlapping = shenzhenPlan({
        timeBands: {
          schedules: [
            { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], band: 'offpeak', intervals: [{ from: '08:00', to: '12:00', band: 'peak' }, { from: '11:00', to: '13:00', band: 'weekend' }] },
          ],
          holidays: ['2025-05-01'],
        },
      });
      expect(() => compilePlan(overlapping)).toThrow(RatingError);
    });
  });
});
