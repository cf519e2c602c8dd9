import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'slonik';
import { z } from 'zod';
import { decideRun, finishRating, issueBills, openRun, planRun, rateAndBillBatch } from '../../../activities/billing/bill-run';
import { BulkDatabase } from '../../../activities/billing/bulk';
import { collectInbox, inboxLayout } from '../../../activities/billing/collect';
import { GuidingContext } from '../../../activities/billing/guiding';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { projectRoot } from '../../../runtime/config';
import { completeOpenTask, eventually, startBillingCycle } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { billsOf, dropUsageFiles, expectedBills, seedCycleOperator, type CycleOperator } from './operator-fixture';

const filler = 300;

/**
 * The worker running a bill run is killed (SIGKILL, no goodbye) while batches are being rated; a
 * new worker resumes the same process instance. The bills must be exactly those of a run nobody
 * disturbed: no record rated twice, no account billed twice, no number skipped.
 */
describe('a bill run whose worker is killed mid-run', () => {
  let crashed: TestDatabase;
  let reference: TestDatabase;
  let operator: CycleOperator;
  let client: Client;
  let connection: Connection;
  let dir: string;
  const workers: ChildProcess[] = [];
  const taskQueue = `billing-crash-${process.pid}-${Date.now()}`;
  let cycleId: string | undefined;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-crash-'));
    [crashed, reference] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    operator = await seedCycleOperator(crashed.pool, filler);
    await seedCycleOperator(reference.pool, filler);
    await dropUsageFiles(path.join(dir, 'crashed', 'inbox'), operator);
    await dropUsageFiles(path.join(dir, 'reference', 'inbox'), operator);
    // The shipped model, with retry timeouts short enough that a killed attempt is retried in seconds.
    await deployBillingProcesses(crashed.pool, 'test', (xml) => xml.replace(/kf:timeout="PT\d+M"/g, 'kf:timeout="PT15S"'));
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'keyflow' });
  });

  afterAll(async () => {
    if (cycleId) await client?.workflow.getHandle(cycleId).terminate('test over').catch(() => undefined);
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await connection?.close();
    await Promise.all([crashed?.drop(), reference?.drop()]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** A worker process, as `npm run worker` runs it, on the crashed run's database and queue. */
  function startWorker(): ChildProcess {
    const worker = spawn(process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'worker'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: crashed.url, KEYFLOW_TASK_QUEUE: taskQueue, KEYFLOW_USAGE_INBOX: path.join(dir, 'crashed', 'inbox'), LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    workers.push(worker);
    return worker;
  }

  const progress = (database: TestDatabase) =>
    database.pool.maybeOne(sql.type(z.object({ status: z.string(), batches_done: z.number(), batches_total: z.number() }))`
      SELECT status, batches_done, batches_total FROM bill_runs WHERE period = '2025-03'`);

  it('resumes with the same bills as an undisturbed run', async () => {
    // The undisturbed run, step by step.
    const bulk = new BulkDatabase(reference.url);
    try {
      const run = await openRun(bulk, { period: '2025-03', cycleDay: 1, requestedBy: 'test', thresholdPercent: 20, workflowId: 'reference' });
      const guiding = await bulk.transaction((tx) => GuidingContext.load(tx, new Date()));
      await collectInbox(bulk, guiding, { layout: inboxLayout(path.join(dir, 'reference', 'inbox')), now: new Date(), settleMs: 0, fileClockMs: Date.now(), maxFileBytes: 1e9, run: { id: run.id, period: run.period, cycleDay: 1 } });
      const plan = await planRun(bulk, run.id, 4, 50_000);
      for (const batch of plan.batches) await rateAndBillBatch(bulk, run.id, batch);
      await finishRating(bulk, run.id);
      await decideRun(bulk, run.id, { approved: true, by: 'clerk' });
      await issueBills(bulk, run.id, new Date(), 15);
    } finally {
      await bulk.end();
    }

    // The disturbed run: a worker process is killed while batches are being rated.
    const first = startWorker();
    const cycle = await startBillingCycle(client, crashed.pool, taskQueue, `2025-03-crash-test-${process.pid}-${Date.now()}`, {
      period: '2025-03',
      cycleDay: 1,
      accountsPerBatch: 4,
      includeFeed: false,
      dunningAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    cycleId = cycle.workflowId;
    const atKill = await eventually(async () => {
      const now = await progress(crashed);
      return now && now.batches_done >= 3 ? now : null;
    }, 120_000, 'rating to begin');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // killed in the middle, not after the end
    expect(atKill.batches_done).toBeLessThan(atKill.batches_total);
    const afterKill = (await progress(crashed))!;
    expect(afterKill.batches_done).toBeLessThan(afterKill.batches_total);

    startWorker();
    await completeOpenTask(client, crashed.pool, cycle.workflowId, { approved: true }, 'clerk');
    await eventually(async () => (await progress(crashed))?.status === 'completed', 120_000, 'the resumed run to complete');

    // the same bills, line for line, number for number
    const accounts = (await crashed.pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM billing_accounts ORDER BY id`)) as string[];
    const [mine, theirs] = await Promise.all([billsOf(crashed.pool, accounts), billsOf(reference.pool, accounts)]);
    expect(mine.size).toBe(filler + 4);
    expect([...mine.entries()].map(([id, bill]) => [id, bill.billNo, bill.total, bill.lines])).toEqual([...theirs.entries()].map(([id, bill]) => [id, bill.billNo, bill.total, bill.lines]));
    for (const expected of expectedBills(operator, false)) expect(mine.get(expected.billingAccountId)).toMatchObject({ total: expected.total, lines: expected.lines });

    // every record rated exactly once, every batch done once, the books balanced
    const check = await crashed.pool.one(sql.type(z.object({ records: z.coerce.number(), ratings: z.coerce.number(), rated: z.coerce.number(), in: z.coerce.number(), rejected: z.coerce.number(), duplicate: z.coerce.number(), deferred: z.coerce.number() }))`
      SELECT (SELECT count(*) FROM usage_records WHERE period = '2025-03') AS records,
             (SELECT count(*) FROM rated_usage) AS ratings,
             r.records_rated AS rated, r.records_in AS in, r.records_rejected AS rejected, r.records_duplicate AS duplicate, r.records_deferred AS deferred
        FROM bill_runs r`);
    expect(check.ratings).toBe(check.records);
    expect(check.rated).toBe(check.records);
    expect(check.in).toBe(check.rated + check.rejected + check.duplicate + check.deferred);
    const batches = await crashed.pool.one(sql.type(z.object({ total: z.coerce.number(), done: z.coerce.number() }))`SELECT count(*) AS total, count(done_at) AS done FROM bill_run_batches`);
    expect(batches.done).toBe(batches.total);
  });
});
