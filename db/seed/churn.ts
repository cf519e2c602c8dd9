import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { Random } from './random';

/**
 * Synthetic monthly history with accounts that leave, for the churn model to be fitted and judged
 * on, and for the reports to have two years to show. Written straight into the rollups
 * (analytics_account_months, then the unit sums) as if 24 bill runs had left it: these rows are
 * not derived from bills, so a later refresh of an account-month replaces its synthetic row with
 * the figures of its real bills.
 *
 * The generating process, per live account of the seeded operator (deterministic from `seed`):
 *  - base monthly revenue B ~ lognormal(median 300.00 yuan, σ 0.7); base usage (voice minutes) ~ B ×
 *    lognormal(median 0.5 min per fen-hundred, σ 0.5); data ~ 40 MB per minute ± noise; month-to-
 *    month noise lognormal σ 0.12 on each
 *  - the account leaves with probability 15 %: on a day in the three months after the observed
 *    month M (its rows stop at the month it left; `account_departures` records the day)
 *  - a leaver shows signs with noise, each on its own coin: revenue falls 3–12 % a month from 2–6
 *    months before M (65 % of leavers), usage falls 4–15 % a month from 3–7 months before (70 %),
 *    complaints at 0.5 a month instead of 0.15 in the last six months with re-opens at 30 % instead
 *    of 8 % (60 %), arrears of 0.3–2 months' bills at M (30 % against 8 % of stayers), its contract
 *    ending within M..M+3 months (55 %; otherwise anywhere in M−3..M+30 like a stayer's), and
 *    new or changed contacts at 0.9 against 0.25 in six months
 *  - and stayers show the same signs falsely: 12 % have a falling revenue, 12 % a falling usage,
 *    and the rest of the rates above
 * So the signs overlap and no single one gives a leaver away: the model can only be as good as
 * the noise allows, which is what its held-out AUC then says.
 */
export interface ChurnHistoryOptions {
  seed?: number;
  /** The month whose end the model looks from ('YYYY-MM'); history runs 20 months up to it and 3 after. */
  observedMonth: string;
  leaverShare?: number;
}

const noRows = z.object({});

function gaussian(random: Random): number {
  // Box–Muller on two uniforms
  const u = Math.max(random.next(), 1e-12);
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function poisson(random: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random.next();
  while (p > limit) {
    k += 1;
    p *= random.next();
  }
  return k;
}

const monthShift = (month: string, by: number) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + by;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
};

export interface ChurnHistoryResult {
  accounts: number;
  leavers: number;
  rows: number;
  months: string[];
}

/** Writes the history (see above) for every live account; replaces any rollup rows of those months. */
export async function seedChurnHistory(db: CommonQueryMethods, options: ChurnHistoryOptions): Promise<ChurnHistoryResult> {
  const random = new Random(options.seed ?? 7);
  const leaverShare = options.leaverShare ?? 0.15;
  const observed = options.observedMonth;
  const months = Array.from({ length: 24 }, (_, index) => monthShift(observed, index - 20));
  const accounts = await db.any(sql.type(z.object({ id: z.string(), org_unit_id: z.string(), org_path: z.string(), customer_manager_id: z.coerce.number().nullable(), currency: z.string() }))`
    SELECT id, org_unit_id, org_path, customer_manager_id, currency FROM key_accounts WHERE status IN ('active', 'suspended') ORDER BY id`);
  await db.query(sql.type(noRows)`SELECT analytics_ensure_partitions(${sql.array(months.map((month) => `${month}-01`), 'date')})`);
  await db.query(sql.type(noRows)`DELETE FROM analytics_account_months WHERE month = ANY(${sql.array(months.map((month) => `${month}-01`), 'date')})`);

  const rows: unknown[][] = [];
  const departures: unknown[][] = [];
  const contractEnds: unknown[][] = [];
  const contactChanges: unknown[][] = [];
  const observedIndex = 20;
  for (const account of accounts) {
    const leaves = random.chance(leaverShare);
    const leaveOffset = leaves ? random.int(1, 3) : Infinity;
    const base = Math.exp(Math.log(30_000) + 0.7 * gaussian(random));
    const usageBase = (base / 100) * Math.exp(Math.log(0.5) + 0.5 * gaussian(random));
    const revenueFalls = random.chance(leaves ? 0.65 : 0.12);
    const revenueOnset = observedIndex - random.int(2, 6);
    const revenueRate = 0.03 + random.next() * 0.09;
    const usageFalls = random.chance(leaves ? 0.7 : 0.12);
    const usageOnset = observedIndex - random.int(3, 7);
    const usageRate = 0.04 + random.next() * 0.11;
    const complains = leaves && random.chance(0.6);
    const inArrears = random.chance(leaves ? 0.3 : 0.08);
    for (let t = 0; t < months.length; t += 1) {
      if (t > observedIndex + (leaves ? leaveOffset - 1 : 3)) break;
      const revenueFactor = revenueFalls && t >= revenueOnset ? (1 - revenueRate) ** (t - revenueOnset + 1) : 1;
      const usageFactor = usageFalls && t >= usageOnset ? (1 - usageRate) ** (t - usageOnset + 1) : 1;
      const revenue = Math.round(base * revenueFactor * Math.exp(0.12 * gaussian(random)));
      const minutes = usageBase * usageFactor * Math.exp(0.12 * gaussian(random));
      const recent = t > observedIndex - 6 && t <= observedIndex;
      const complaints = poisson(random, complains && recent ? 0.5 : 0.15);
      let reopened = 0;
      for (let c = 0; c < complaints; c += 1) if (random.chance(complains && recent ? 0.3 : 0.08)) reopened += 1;
      const billed = Math.round(revenue * 1.06);
      const outstanding = t === observedIndex && inArrears ? Math.round(billed * (0.3 + random.next() * 1.7)) : 0;
      rows.push([
        `${months[t]}-01`, account.id, account.org_unit_id, account.org_path, account.customer_manager_id, account.currency,
        1, Math.round(revenue / 0.95), revenue - Math.round(revenue / 0.95), revenue, billed - revenue, billed, billed - outstanding, outstanding,
        Math.round(minutes * 60), Math.round(minutes * 40 * 1_048_576 * Math.exp(0.2 * gaussian(random))), random.int(0, 40),
        random.int(1, 4), 0, 0, 0, 0, complaints, 0, Math.max(0, complaints - reopened), 0, reopened,
      ]);
    }
    if (leaves) {
      const leftMonth = monthShift(observed, leaveOffset);
      departures.push([account.id, `${leftMonth}-${String(random.int(1, 28)).padStart(2, '0')}`]);
    }
    const endsWithin = leaves && random.chance(0.55) ? random.int(0, 3) : random.int(-3, 30);
    contractEnds.push([account.id, `${monthShift(observed, endsWithin + 1)}-01`]);
    const changes = poisson(random, leaves ? 0.9 : 0.25);
    for (let c = 0; c < changes; c += 1) contactChanges.push([account.id, `${monthShift(observed, -random.int(0, 5))}-${String(random.int(1, 28)).padStart(2, '0')}T10:00:00+08:00`]);
  }

  const columns = ['month', 'account_id', 'org_unit_id', 'org_path', 'customer_manager_id', 'currency', 'bills', 'charges_minor', 'discounts_minor', 'revenue_minor', 'tax_minor',
    'billed_minor', 'paid_minor', 'outstanding_minor', 'voice_seconds', 'data_bytes', 'sms_messages', 'subscriptions_active', 'subscriptions_new', 'subscriptions_ended',
    'orders_created', 'orders_completed', 'complaints_opened', 'faults_opened', 'tickets_sla_met', 'tickets_sla_breached', 'tickets_reopened'];
  const types = ['date', 'text', 'text', 'text', 'int8', 'text', 'int4', 'int8', 'int8', 'int8', 'int8', 'int8', 'int8', 'int8', 'int8', 'int8', 'int8', 'int4', 'int4', 'int4',
    'int4', 'int4', 'int4', 'int4', 'int4', 'int4', 'int4'];
  for (let start = 0; start < rows.length; start += 5_000) {
    await db.query(sql.type(noRows)`
      INSERT INTO analytics_account_months (${sql.join(columns.map((column) => sql.identifier([column])), sql.fragment`, `)})
      SELECT * FROM ${sql.unnest(rows.slice(start, start + 5_000) as never, types)}`);
  }
  if (departures.length > 0) {
    await db.query(sql.type(noRows)`
      INSERT INTO account_departures (account_id, left_on, reason, source) SELECT a, d, 'synthetic history', 'seed' FROM ${sql.unnest(departures as never, ['text', 'date'])} AS x (a, d)
      ON CONFLICT (account_id) DO UPDATE SET left_on = excluded.left_on`);
    await db.query(sql.type(noRows)`
      UPDATE key_accounts SET status = 'churned' WHERE id IN (SELECT account_id FROM account_departures WHERE source = 'seed')`);
  }
  // The latest active contract of each account ends where the process put it.
  await db.query(sql.type(noRows)`
    UPDATE contracts c SET ends_on = greatest(x.e::date, c.starts_on), status = 'active'
      FROM ${sql.unnest(contractEnds as never, ['text', 'date'])} AS x (a, e)
     WHERE c.id = (SELECT id FROM contracts WHERE account_id = x.a ORDER BY starts_on DESC, id DESC LIMIT 1)`);
  if (contactChanges.length > 0) {
    await db.query(sql.type(noRows)`
      INSERT INTO contacts (account_id, org_unit_id, name, role, created_at, updated_at)
      SELECT x.a, k.org_unit_id, 'New contact', 'other', x.at, x.at FROM ${sql.unnest(contactChanges as never, ['text', 'timestamptz'])} AS x (a, at) JOIN key_accounts k ON k.id = x.a`);
  }
  await resumUnits(db, months);
  return { accounts: accounts.length, leavers: departures.length, rows: rows.length, months };
}

/** The unit rows of these months, summed again from the account rows (every unit). */
export async function resumUnits(db: CommonQueryMethods, months: readonly string[]): Promise<void> {
  const dates = sql.array(months.map((month) => `${month}-01`), 'date');
  await db.query(sql.type(noRows)`DELETE FROM analytics_unit_months WHERE month = ANY(${dates})`);
  await db.query(sql.type(noRows)`
    INSERT INTO analytics_unit_months (month, org_unit_id, org_path, accounts, bills, charges_minor, discounts_minor, revenue_minor, tax_minor, billed_minor,
                                       paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active, subscriptions_new,
                                       subscriptions_ended, orders_created, orders_completed, complaints_opened, faults_opened, tickets_sla_met,
                                       tickets_sla_breached, tickets_reopened)
    SELECT a.month, o.id, o.path, count(*), sum(a.bills), sum(a.charges_minor), sum(a.discounts_minor), sum(a.revenue_minor), sum(a.tax_minor), sum(a.billed_minor),
           sum(a.paid_minor), sum(a.outstanding_minor), sum(a.voice_seconds), sum(a.data_bytes), sum(a.sms_messages), sum(a.subscriptions_active), sum(a.subscriptions_new),
           sum(a.subscriptions_ended), sum(a.orders_created), sum(a.orders_completed), sum(a.complaints_opened), sum(a.faults_opened), sum(a.tickets_sla_met),
           sum(a.tickets_sla_breached), sum(a.tickets_reopened)
      FROM analytics_account_months a JOIN org_units o ON a.org_path LIKE o.path || '%'
     WHERE a.month = ANY(${dates})
     GROUP BY a.month, o.id, o.path`);
}
