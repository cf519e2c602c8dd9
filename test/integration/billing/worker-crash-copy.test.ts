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

// 60 records per filler account: a mediation file of some 60,000 lines, whose COPY into
// usage_records lasts long enough (a second or more) to be caught in the middle.
const filler = 1000;

/**
 * The worker is killed (SIGKILL) while collection is streaming a mediation file into usage_records
 * with COPY: the COPY's transaction dies with the connection, nothing of the file is taken, and
 * the retried collection on a new worker loads it once. The run must end with exactly the bills
 * of a run nobody disturbed.
 */
describe('a bill run whose worker is killed in the middle of a COPY batch', () => {
  let crashed: TestDatabase;
  let reference: TestDatabase;
  let operator: CycleOperator;
  let client: Client;
  let connection: Connection;
  let dir: string;
  const workers: ChildProcess[] = [];
  const taskQueue = `billing-copy-crash-${process.pid}-${Date.now()}`;
  let cycleId: string | undefined;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-copy-crash-'));
    [crashed, reference] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    operator = await seedCycleOperator(crashed.pool, filler);
    await seedCycleOperator(reference.pool, filler);
    await dropUsageFiles(path.join(dir, 'crashed', 'inbox'), operator);
    await dropUsageFiles(path.join(dir, 'reference', 'inbox'), operator);
    // Retry timeouts short enough that the killed attempt is retried in seconds.
    await deployBillingProcesses(crashed.pool, 'test', (xml) => xml.replace(/kf:timeout="PT\d+M"/g, 'kf:timeout="PT15S"'));
    connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'keyflow' });
  }, 300_000);

  afterAll(async () => {
    if (cycleId) await client?.workflow.getHandle(cycleId).terminate('test over').catch(() => undefined);
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await connection?.close();
    await Promise.all([crashed?.drop(), reference?.drop()]);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  function startWorker(): ChildProcess {
    const worker = spawn(process.execPath, [path.join(projectRoot, 'bin', 'keyflow.js'), 'worker'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: crashed.url, KEYFLOW_TASK_QUEUE: taskQueue, KEYFLOW_USAGE_INBOX: path.join(dir, 'crashed', 'inbox'), LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    workers.push(worker);
    return worker;
  }

  /** The backend streaming a COPY into usage_records (in collection's transaction), if there is one now. */
  const copyInFlight = () =>
    crashed.pool.maybeOne(sql.type(z.object({ pid: z.number(), tuples: z.coerce.number().nullable() }))`
      SELECT a.pid, p.tuples_processed AS tuples
        FROM pg_stat_activity a LEFT JOIN pg_stat_progress_copy p ON p.pid = a.pid
       WHERE a.datname = current_database() AND a.state = 'active' AND a.query LIKE 'COPY usage_records %'
       LIMIT 1`);

  it('resumes with the same bills as an undisturbed run, each record collected once', async () => {
    const bulk = new BulkDatabase(reference.url);
    try {
      const run = await openRun(bulk, { period: '2025-03', cycleDay: 1, requestedBy: 'test', thresholdPercent: 20, workflowId: 'reference' });
      const guiding = await bulk.transaction((tx) => GuidingContext.load(tx, new Date()));
      await collectInbox(bulk, guiding, { layout: inboxLayout(path.join(dir, 'reference', 'inbox')), now: new Date(), settleMs: 0, fileClockMs: Date.now(), maxFileBytes: 1e9, run: { id: run.id, period: run.period, cycleDay: 1 } });
      const plan = await planRun(bulk, run.id, 50, 50_000);
      for (const batch of plan.batches) await rateAndBillBatch(bulk, run.id, batch);
      await finishRating(bulk, run.id);
      await decideRun(bulk, run.id, { approved: true, by: 'clerk' });
      await issueBills(bulk, run.id, new Date(), 15);
    } finally {
      await bulk.end();
    }

    // when: the worker is killed while a COPY batch is streaming
    const first = startWorker();
    const cycle = await startBillingCycle(client, crashed.pool, taskQueue, `2025-03-copy-crash-test-${process.pid}-${Date.now()}`, {
      period: '2025-03',
      cycleDay: 1,
      accountsPerBatch: 50,
      includeFeed: false,
      dunningAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    cycleId = cycle.workflowId;
    const deadline = Date.now() + 120_000;
    let inFlight: { pid: number; tuples: number | null } | null = null;
    while (!inFlight) {
      if (Date.now() > deadline) throw new Error('timed out waiting for a COPY into usage_records');
      inFlight = await copyInFlight();
      if (!inFlight) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    // then: the COPY's backend goes, taking its transaction with it — nothing of the file was taken
    await eventually(
      async () => (await crashed.pool.oneFirst(sql.type(z.object({ count: z.coerce.number() }))`SELECT count(*) FROM pg_stat_activity WHERE pid = ${inFlight.pid}`)) === 0,
      30_000,
      'the killed COPY to end',
    );
    const afterKill = await crashed.pool.one(sql.type(z.object({ records: z.coerce.number(), files: z.coerce.number() }))`
      SELECT (SELECT count(*) FROM usage_records) AS records, (SELECT count(*) FROM collected_files WHERE status = 'loaded') AS files`);
    expect(afterKill).toEqual({ records: 0, files: 0 });

    startWorker();
    await completeOpenTask(client, crashed.pool, cycle.workflowId, { approved: true }, 'clerk', 240_000);
    await eventually(
      async () => (await crashed.pool.maybeOneFirst(sql.type(z.object({ status: z.string() }))`SELECT status FROM bill_runs WHERE period = '2025-03'`)) === 'completed',
      240_000,
      'the resumed run to complete',
    );

    // the same bills, line for line, number for number
    const accounts = (await crashed.pool.anyFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM billing_accounts ORDER BY id`)) as string[];
    const [mine, theirs] = await Promise.all([billsOf(crashed.pool, accounts), billsOf(reference.pool, accounts)]);
    expect(mine.size).toBe(filler + 4);
    expect([...mine.entries()].map(([id, bill]) => [id, bill.billNo, bill.total, bill.lines])).toEqual([...theirs.entries()].map(([id, bill]) => [id, bill.billNo, bill.total, bill.lines]));
    for (const expected of expectedBills(operator, false)) expect(mine.get(expected.billingAccountId)).toMatchObject({ total: expected.total, lines: expected.lines });

    // the file taken once, every record collected and rated once, the books balanced
    const check = await crashed.pool.one(sql.type(z.object({ files: z.coerce.number(), records: z.coerce.number(), ratings: z.coerce.number(), rated: z.coerce.number(), in: z.coerce.number(), rejected: z.coerce.number(), duplicate: z.coerce.number(), deferred: z.coerce.number() }))`
      SELECT (SELECT count(*) FROM collected_files WHERE status = 'loaded') AS files,
             (SELECT count(*) FROM usage_records WHERE period = '2025-03') AS records,
             (SELECT count(*) FROM rated_usage) AS ratings,
             r.records_rated AS rated, r.records_in AS in, r.records_rejected AS rejected, r.records_duplicate AS duplicate, r.records_deferred AS deferred
        FROM bill_runs r`);
    expect(check.files).toBe(1);
    expect(check.in).toBe(operator.fileRecords.length);
    expect(check.ratings).toBe(check.records);
    expect(check.rated).toBe(check.records);
    expect(check.in).toBe(check.rated + check.rejected + check.duplicate + check.deferred);
  }, 420_000);
});
