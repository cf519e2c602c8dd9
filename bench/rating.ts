/**
 * `npm run bench:rating`: first rating of in-memory CDRs on one core over a realistic tariff set
 * (thousands of prefixes, five bands, holidays), then second rating (bundles, tiers, rounding) of
 * the same CDRs grouped into accounts. The last line is JSON with `cdrPerSecPerCore`.
 */
import { billingPeriod, compilePlan, rateAccountUsage, TariffBook, type FirstRating, type RatedEventInput } from '../activities/rating';
import { benchmarkEvents, benchmarkPlan } from './rating-fixtures';

const count = Number(process.env.BENCH_CDRS ?? 2_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

const plan = benchmarkPlan();
const compiled = compilePlan(plan);
const book = new TariffBook([{ id: 't1', productId: 'p1', validFrom: Date.UTC(2020, 0, 1), validTo: null, plan }]);
const period = billingPeriod('2025-05', 'Asia/Shanghai');
const tariff = book.versionAt('p1', period.startMs);
const rater = book.rater(tariff, period);
const events = benchmarkEvents(count, period.startMs, period.days);

// Results go to columns, as the bill run turns them into COPY rows at once: every rating is
// kept, none is thrown away unread. Warm up the JIT, then take the median of several rounds (the
// machine is shared with other work, so single rounds are noisy).
const category = new Uint16Array(count);
const units = new Int32Array(count);
const amountSub = new Float64Array(count);
const segments = new Uint8Array(count);
let checksum = 0;
for (let index = 0; index < Math.min(count, 200_000); index += 1) checksum += rater.rate(events[index]!).amountSub;
const timings: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) {
    const rating = rater.rate(events[index]!);
    category[index] = rating.category;
    units[index] = rating.units;
    amountSub[index] = rating.amountSub;
    segments[index] = rating.segments.length / 3;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  timings.push(seconds);
  console.log(`round ${round + 1}: ${count} CDRs first-rated in ${seconds.toFixed(3)} s (${Math.round(count / seconds).toLocaleString('en')} /s)`);
}
for (let index = 0; index < count; index += 1) checksum += amountSub[index]! + units[index]! + category[index]! + segments[index]!;
const median = [...timings].sort((a, b) => a - b)[Math.floor(timings.length / 2)]!;
const best = Math.min(...timings);

// Second rating keeps the first ratings of an account (objects) until its bill is made.
const ratings: FirstRating[] = events.map((event) => rater.rate(event));

// Second rating: 100 events per account, as the bill run groups them.
const perAccount = 100;
const inputs: RatedEventInput[] = ratings.map((rating, index) => ({ key: String(index), startMs: events[index]!.startMs, subscriptionId: 's1', tariff, rating }));
const subscriptions = [{ id: 's1', productId: 'p1', quantity: 1, activeFrom: null, activeTo: null, tariff }];
const secondStarted = process.hrtime.bigint();
for (let from = 0; from < count; from += perAccount) {
  const usage = rateAccountUsage(period, subscriptions, inputs.slice(from, from + perAccount));
  checksum += usage.lines.length;
}
const secondSeconds = Number(process.hrtime.bigint() - secondStarted) / 1e9;

const prefixes = (plan.voice?.destinations?.length ?? 0) + (plan.sms?.destinations?.length ?? 0);
console.log(`checksum ${checksum}`);
console.log(
  JSON.stringify({
    benchmark: 'rating',
    cdrs: count,
    prefixes,
    bands: rater.timeline.bands.length,
    categories: compiled.categories.length,
    cdrPerSecPerCore: Math.round(count / median),
    bestRoundCdrPerSec: Math.round(count / best),
    nsPerCdr: Math.round((median * 1e9) / count),
    multiSegmentShare: Number((segments.reduce((sum, value) => sum + (value > 1 ? 1 : 0), 0) / count).toFixed(4)),
    secondRatingCdrPerSec: Math.round(count / secondSeconds),
    node: process.version,
  }),
);
