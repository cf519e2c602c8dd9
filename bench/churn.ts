/**
 * `npm run bench:churn`: fits the churn model on the seed's synthetic history and judges it on
 * accounts it never saw. Starts private PostgreSQL (and Temporal, unused) on KEYFLOW_BENCH_PORT_BASE
 * + 1…2 (default 55490), migrates, seeds BENCH_ACCOUNTS (4,000) demo accounts and their 24 months
 * of history with leavers (db/seed/churn.ts: how they are generated), reads the features at the
 * observed month (db/churn.ts), holds out 30 % of the accounts by a stable hash of their id, fits
 * logistic regression on the rest, and prints the held-out AUC and the precision of its top decile
 * (against the base rate: what a random pick of 10 % would find). Stores the model and every
 * account's score. Last line: JSON.
 */
import os from 'node:os';
import { churnProbability, contributions, fitChurnModel, isHeldOut, precisionAtTop, rocAuc } from '../activities/analytics/churn-model';
import { churnRows, saveChurnModel, saveChurnScores, vectorOf } from '../db/churn';
import { createDatabasePool } from '../db/pool';
import { seedChurnHistory } from '../db/seed/churn';
import { runSeed } from '../commands/seed';
import { startBenchServices } from './support/services';

const accounts = Number(process.env.BENCH_ACCOUNTS ?? 4_000);
const base = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 55490);
const observedMonth = '2026-08';
const horizonMonths = 3;

async function main(): Promise<void> {
  const { services, databaseUrl } = await startBenchServices('churn', base);
  let figures: Record<string, unknown> = {};
  try {
    const seeded = await runSeed(databaseUrl, { accounts, seed: 42 });
    const pool = await createDatabasePool(databaseUrl, { applicationName: 'keyflow-bench', maximumPoolSize: 2 });
    try {
      const started = Date.now();
      const history = await seedChurnHistory(pool, { seed: 7, observedMonth });
      const historyMs = Date.now() - started;
      const rows = await churnRows(pool, observedMonth, horizonMonths);
      const train = rows.filter((row) => !isHeldOut(row.account_id));
      const test = rows.filter((row) => isHeldOut(row.account_id));
      const fitStarted = Date.now();
      const model = fitChurnModel(train.map(vectorOf), train.map((row) => (row.left_within ? 1 : 0)));
      const fitMs = Date.now() - fitStarted;
      const scores = test.map((row) => churnProbability(model, vectorOf(row)));
      const labels: number[] = test.map((row) => (row.left_within ? 1 : 0));
      const auc = rocAuc(scores, labels);
      const topDecilePrecision = precisionAtTop(scores, labels, 0.1);
      const baseRate = labels.reduce((sum, label) => sum + label, 0) / labels.length;
      const metrics = { auc: round(auc, 4), topDecilePrecision: round(topDecilePrecision, 4), baseRate: round(baseRate, 4), trainAccounts: train.length, heldOutAccounts: test.length };
      const modelId = await saveChurnModel(pool, observedMonth, horizonMonths, model, metrics);
      const stored = await saveChurnScores(pool, observedMonth, modelId, model, rows);
      const coefficients = Object.fromEntries(model.features.map((feature, index) => [feature, round(model.coefficients[index]!, 3)]));
      const riskiest = test.map((row, index) => ({ row, score: scores[index]! })).sort((a, b) => b.score - a.score)[0]!;
      console.log(`history: ${history.accounts} accounts, ${history.leavers} leavers, ${history.rows} rollup rows in ${historyMs} ms (seed ${seeded.ms} ms)`);
      console.log(`coefficients (per standard deviation): ${JSON.stringify(coefficients)}`);
      console.log(`riskiest held-out account ${riskiest.row.account_id} (${round(riskiest.score, 3)}, left: ${riskiest.row.left_within}): ${JSON.stringify(contributions(model, vectorOf(riskiest.row)).slice(0, 3))}`);
      figures = {
        bench: 'churn',
        observedMonth,
        horizonMonths,
        accounts: rows.length,
        leaversInHorizon: rows.filter((row) => row.left_within).length,
        ...metrics,
        topDecileLift: round(topDecilePrecision / baseRate, 2),
        coefficients,
        fitMs,
        scoresStored: stored,
        loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
      };
    } finally {
      await pool.end();
    }
  } finally {
    await services.stop();
  }
  console.log(JSON.stringify(figures));
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
