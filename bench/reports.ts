/**
 * `npm run bench:reports`: the reports over two years of rollups, and the rollup refresh a bill run
 * makes. Starts private PostgreSQL and Temporal (ports KEYFLOW_BENCH_PORT_BASE + 1…3, default
 * 55500), migrates, seeds BENCH_ACCOUNTS (11,500: about 10,000 live) demo accounts and 24 months of
 * their rollups (db/seed/churn.ts), then:
 *  - the main report — revenue by city for 12 months with 环比 and 同比, as the province's
 *    supervisor — and a county manager's account list, each for BENCH_DURATION s (10) at
 *    BENCH_CONNECTIONS (20) concurrent clients (autocannon), with p50/p99;
 *  - the refresh after a bill run: BENCH_RECORDS (1,000,000) usage records and one issued bill per
 *    billing account for a new month are written straight into the tables (as the bill run leaves
 *    them), and `refreshRollups` is timed for the run's accounts and month — the call the bill run's
 *    issue step makes.
 * Last line: JSON.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi } from '../api/server';
import { refreshRollups } from '../db/analytics';
import { createDatabasePool } from '../db/pool';
import { demoPassword } from '../db/seed';
import { seedChurnHistory } from '../db/seed/churn';
import { runSeed } from '../commands/seed';
import { startBenchServices } from './support/services';

const accounts = Number(process.env.BENCH_ACCOUNTS ?? 11_500);
const records = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const duration = Number(process.env.BENCH_DURATION ?? 10);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 55500);
const observedMonth = '2026-08';
const nothing = z.object({});

async function main(): Promise<void> {
  const { services, databaseUrl, config, logger } = await startBenchServices('reports', base);
  let figures: Record<string, unknown> = {};
  try {
    const seeded = await runSeed(databaseUrl, { accounts, seed: 42 });
    const pool = await createDatabasePool(databaseUrl, { applicationName: 'keyflow-bench', maximumPoolSize: 2 });
    let history;
    let refresh: Record<string, number>;
    try {
      history = await seedChurnHistory(pool, { seed: 7, observedMonth });
      await pool.query(sql.type(nothing)`VACUUM ANALYZE analytics_account_months`);
      await pool.query(sql.type(nothing)`VACUUM ANALYZE analytics_unit_months`);
      refresh = await billRunRefresh(pool, '2026-12');
    } finally {
      await pool.end();
    }
    console.log(`seeded ${seeded.counts.accounts} accounts in ${seeded.ms} ms; ${history.rows} rollup rows of ${history.accounts} live accounts over ${history.months.length} months`);
    console.log(`refresh after a bill run of ${refresh.records} records and ${refresh.bills} bills: ${refresh.refreshMs} ms (a second time: ${refresh.againMs} ms)`);

    const api = await startApi(config, logger, 0);
    try {
      const tokenOf = async (username: string) => {
        const response = await fetch(`${api.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: demoPassword }) });
        return ((await response.json()) as { token: string }).token;
      };
      const supervisor = await tokenOf('supervisor');
      const manager = await tokenOf('gz-th.cm1');
      const main = `/api/reports/revenue?from=2025-09&to=${observedMonth}&by=unit`;
      const county = `/api/reports/revenue?from=2026-03&to=${observedMonth}&by=account&limit=100`;
      const check = await fetch(`${api.url}${main}`, { headers: { authorization: `Bearer ${supervisor}` } });
      const body = (await check.json()) as { rows: unknown[]; totals: { value: number }[] };
      if (!check.ok || body.rows.length === 0) throw new Error(`the main report answered ${check.status} with ${body.rows?.length} rows`);
      const measure = async (pathname: string, token: string) => {
        const options = { url: api.url, connections, requests: [{ method: 'GET' as const, path: pathname, headers: { authorization: `Bearer ${token}` } }] };
        await run({ ...options, duration: 2 });
        const result = await run({ ...options, duration });
        return { requests: result.requests.total, non2xx: result.non2xx, errors: result.errors, p50Ms: result.latency.p50, p99Ms: result.latency.p99, rps: Math.round(result.requests.average) };
      };
      const mainFigures = await measure(main, supervisor);
      const countyFigures = await measure(county, manager);
      figures = {
        bench: 'reports',
        accounts: history.accounts,
        months: history.months.length,
        rollupRows: history.rows,
        connections,
        durationS: duration,
        mainReport: { path: main, rows: body.rows.length, ...mainFigures },
        countyAccounts: { path: county, ...countyFigures },
        refreshAfterBillRun: refresh,
        loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
        cpus: os.cpus().length,
      };
      if (mainFigures.non2xx + countyFigures.non2xx + mainFigures.errors + countyFigures.errors > 0) console.error('bench:reports: some requests failed; the figures are not meaningful');
    } finally {
      await api.close();
    }
  } finally {
    await services.stop();
  }
  console.log(JSON.stringify(figures));
}

/**
 * A bill run's output for `period`, written set-based: `records` voice records over the live
 * subscriptions and one issued bill (one rental line) per billing account. Then the refresh the
 * issue step makes, timed, and timed again (what a retried step costs).
 */
async function billRunRefresh(pool: Awaited<ReturnType<typeof createDatabasePool>>, period: string) {
  const subscriptions = await pool.oneFirst(sql.type(z.object({ n: z.coerce.number() }))`SELECT count(*) AS n FROM subscriptions WHERE status IN ('active', 'suspended')`);
  await pool.query(sql.type(nothing)`
    WITH s AS (SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, service_number, billing_account_id, org_unit_id FROM subscriptions WHERE status IN ('active', 'suspended'))
    INSERT INTO usage_records (source, record_id, content_hash, usage_type, service_number, subscription_id, billing_account_id, org_unit_id, period, started_at, duration_sec, destination)
    SELECT 'bench', 'r' || g, md5('bench' || g)::uuid, 'voice', s.service_number, s.id, s.billing_account_id, s.org_unit_id, ${period},
           to_date(${period}, 'YYYY-MM')::timestamptz + (g % 2592000) * interval '1 second', 30 + g % 600, '075588001234'
      FROM generate_series(1, ${records}) g JOIN s ON s.k = g % ${subscriptions}`);
  await pool.query(sql.type(nothing)`
    INSERT INTO bills (billing_account_id, account_id, org_unit_id, period, period_start, period_end, time_zone, currency, minor_digits, status,
                       charges_minor, discounts_minor, commitment_minor, credits_minor, net_minor, tax_minor, total_minor)
    SELECT b.id, b.account_id, b.org_unit_id, ${period}, to_date(${period}, 'YYYY-MM'), (to_date(${period}, 'YYYY-MM') + interval '1 month')::date, 'Asia/Shanghai', 'CNY', 2, 'new',
           10000, 0, 0, 0, 10000, 0, 10000
      FROM billing_accounts b JOIN key_accounts a ON a.id = b.account_id WHERE a.status IN ('active', 'suspended')`);
  await pool.query(sql.type(nothing)`
    INSERT INTO bill_lines (bill_id, line_no, kind, key, description, quantity, unit, amount_minor)
    SELECT id, 1, 'recurring', 'recurring.rental', 'Monthly rental', 1, 'items', 10000 FROM bills WHERE period = ${period}`);
  await pool.query(sql.type(nothing)`UPDATE bills SET status = 'validated', bill_no = 'BN-' || id, issued_at = now(), due_date = current_date + 15 WHERE period = ${period}`);
  await pool.query(sql.type(nothing)`ANALYZE usage_records`);
  await pool.query(sql.type(nothing)`ANALYZE bills`);
  const accountIds = await pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT DISTINCT account_id AS id FROM bills WHERE period = ${period}`);
  const time = async () => {
    const started = process.hrtime.bigint();
    await refreshRollups(pool, accountIds, [period]);
    return Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  };
  const refreshMs = await time();
  const againMs = await time();
  return { records, bills: accountIds.length, accounts: accountIds.length, refreshMs, againMs };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
