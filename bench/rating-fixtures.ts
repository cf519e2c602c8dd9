import type { RatingPlanInput, UsageEvent } from '../activities/rating';

/**
 * A realistic tariff set for benchmarks: ~240 country codes and ~4,000 Chinese area and mobile
 * prefixes (thousands of prefixes), four bands with holidays, per-minute, 6-second and per-second
 * zones, SMS and tiered data.
 */
export function benchmarkPlan(): RatingPlanInput {
  const destinations: { prefix: string; zone: string }[] = [{ prefix: '86', zone: 'longDistance' }];
  const seen = new Set(['86']);
  const add = (prefix: string, zone: string) => {
    if (seen.has(prefix)) return;
    seen.add(prefix);
    destinations.push({ prefix, zone });
  };
  // Mobile number blocks 86 13x–19x, each split into 10 sub-blocks (e.g. 861380 … 861389).
  for (let block = 130; block <= 199; block += 1) for (let sub = 0; sub < 10; sub += 1) add(`86${block}${sub}`, 'mobile');
  // Area codes 86 10, 86 20–29, 86 3xx–9xx.
  for (let area = 10; area <= 29; area += 1) add(`86${area}`, 'longDistance');
  for (let area = 310; area <= 999; area += 1) add(`86${area}`, 'longDistance');
  // Premium and special-rate blocks inside the area codes.
  for (let area = 310; area <= 999; area += 7) for (let sub = 0; sub < 4; sub += 1) add(`86${area}9${sub}`, 'premium');
  // Country codes: 1 (with Caribbean overrides), 2x, 3x, 4x, 5xx, 6x, 7, 8xx, 9x.
  add('1', 'northAmerica');
  for (const code of ['1242', '1246', '1264', '1268', '1284', '1340', '1345', '1441', '1473', '1649', '1664', '1670', '1671', '1684', '1721', '1758', '1767', '1784', '1787', '1809', '1829', '1849', '1868', '1869', '1876']) add(code, 'caribbean');
  for (let code = 20; code <= 99; code += 1) if (code !== 86) add(String(code), code % 3 === 0 ? 'intlB' : 'intlA');
  for (let code = 200; code <= 999; code += 1) if (!String(code).startsWith('86')) add(String(code), code % 5 === 0 ? 'intlC' : 'intlB');
  for (let code = 2000; code <= 2999; code += 3) add(String(code), 'intlC');
  return {
    schemaVersion: 1,
    currency: 'CNY',
    minorDigits: 2,
    rounding: { mode: 'halfUp', at: 'call' },
    timeBands: {
      schedules: [
        { days: ['mon', 'tue', 'wed', 'thu', 'fri'], band: 'offpeak', intervals: [{ from: '07:00', to: '09:00', band: 'shoulder' }, { from: '09:00', to: '18:00', band: 'peak' }, { from: '18:00', to: '21:00', band: 'shoulder' }] },
        { days: ['sat', 'sun'], band: 'weekend' },
        { days: ['holiday'], band: 'holiday' },
      ],
      holidays: ['2025-01-01', '2025-01-28', '2025-01-29', '2025-01-30', '2025-04-04', '2025-05-01', '2025-05-02', '2025-05-31', '2025-10-01', '2025-10-02', '2025-10-03'],
    },
    voice: {
      zones: {
        local: { name: 'Local', unitSeconds: 60, price: { byBand: { peak: '0.15', shoulder: '0.12', offpeak: '0.08', weekend: '0.06', holiday: '0.05' } } },
        mobile: { name: 'Mobile', unitSeconds: 6, minimumUnits: 10, price: { byBand: { peak: '0.015', shoulder: '0.012', offpeak: '0.01', weekend: '0.008', holiday: '0.006' } } },
        longDistance: { name: 'Long distance', unitSeconds: 6, minimumUnits: 10, price: { flat: '0.012' } },
        premium: { name: 'Premium', unitSeconds: 1, setupFee: '0.20', price: { flat: '0.01' } },
        northAmerica: { name: 'North America', unitSeconds: 60, price: { flat: '1.00' } },
        caribbean: { name: 'Caribbean', unitSeconds: 60, setupFee: '0.50', price: { flat: '4.00' } },
        intlA: { name: 'International A', unitSeconds: 60, setupFee: '0.50', price: { byBand: { peak: '2.00', shoulder: '2.00', offpeak: '1.60', weekend: '1.60', holiday: '1.60' } } },
        intlB: { name: 'International B', unitSeconds: 60, setupFee: '0.50', price: { flat: '3.00' } },
        intlC: { name: 'International C', unitSeconds: 60, setupFee: '0.50', price: { flat: '5.00' } },
      },
      destinations,
      localZone: 'local',
    },
    sms: {
      zones: { domestic: { name: 'Domestic', price: { flat: '0.10' } }, international: { name: 'International', price: { flat: '0.50' } } },
      destinations: [{ prefix: '86', zone: 'domestic' }, ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((prefix) => ({ prefix, zone: 'international' }))].filter(
        (entry, index, all) => all.findIndex((other) => other.prefix === entry.prefix) === index && !(entry.prefix === '8'),
      ),
    },
    data: { name: 'Data', unitBytes: 1024, price: { byBand: { peak: '0.0001', shoulder: '0.0001', offpeak: '0.00005', weekend: '0.00005', holiday: '0.00005' } } },
    bundles: [
      { id: 'localMinutes', description: '1000 local minutes', appliesTo: ['voice.local', 'voice.mobile'], measure: 'seconds', allowance: 60_000 },
      { id: 'data10g', description: '10 GB', appliesTo: ['data'], measure: 'bytes', allowance: 10 * 1024 ** 3 },
    ],
    recurring: [{ id: 'rental', description: 'Monthly rental', amount: '188.00' }],
  };
}

const homes = ['86755', '8620', '8610', '86769', '86760'];

/** A deterministic pseudo-random stream (xorshift), so every run rates the same records. */
export function randomOf(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/** A realistic mix: 70 % voice (half local), 15 % SMS, 15 % data, over a month in Shanghai. */
export function benchmarkEvents(count: number, periodStartMs: number, periodDays: number, seed = 42): UsageEvent[] {
  const random = randomOf(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const digits = (length: number) => {
    let text = '';
    for (let index = 0; index < length; index += 1) text += String(Math.floor(random() * 10));
    return text;
  };
  const events: UsageEvent[] = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const homePrefix = pick(homes);
    const startMs = periodStartMs + Math.floor(random() * periodDays * 86_400) * 1000;
    const roll = random();
    if (roll < 0.35) {
      events[index] = { type: 'voice', startMs, durationSec: Math.floor(random() * 600), volumeBytes: 0, messages: 0, destination: homePrefix + digits(8), homePrefix };
    } else if (roll < 0.55) {
      events[index] = { type: 'voice', startMs, durationSec: Math.floor(random() * 900), volumeBytes: 0, messages: 0, destination: `861${3 + Math.floor(random() * 7)}${digits(9)}`, homePrefix };
    } else if (roll < 0.65) {
      events[index] = { type: 'voice', startMs, durationSec: Math.floor(random() * 1800), volumeBytes: 0, messages: 0, destination: `86${pick(['21', '23', '311', '512', '898', '571'])}${digits(8)}`, homePrefix };
    } else if (roll < 0.7) {
      events[index] = { type: 'voice', startMs, durationSec: Math.floor(random() * 1200), volumeBytes: 0, messages: 0, destination: `${pick(['1', '1242', '44', '49', '852', '81', '2348', '971'])}${digits(9)}`, homePrefix };
    } else if (roll < 0.85) {
      events[index] = { type: 'sms', startMs, durationSec: 0, volumeBytes: 0, messages: 1 + Math.floor(random() * 2), destination: random() < 0.9 ? `8613${digits(9)}` : `44${digits(9)}`, homePrefix };
    } else {
      events[index] = { type: 'data', startMs, durationSec: 0, volumeBytes: Math.floor(random() * 200 * 1024 * 1024), messages: 0, destination: '', homePrefix };
    }
  }
  return events;
}
