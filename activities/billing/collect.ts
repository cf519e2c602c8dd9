/**
 * Usage collection: mediation files from the inbox directory and deliveries of the simulator's
 * usage feed, each taken exactly once (by sha256) and loaded in one transaction — every record is
 * checked, guided and test-rated, then either accepted into usage_records, refused as a duplicate
 * by the same insert (unique by source + record id and by content), or written to the error table
 * with its reason. A file that is not whole is quarantined with its reason and loads nothing.
 */

import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { copyLine, type BulkClient, type BulkDatabase } from './bulk';
import { ensureUsagePartitions, likelyUsagePeriods, settleUsagePartitions } from './partitions';
import type { GuidedUsage, GuidingContext } from './guiding';
import { inspectMediationFile, MalformedFileError, rawUsageOf, splitCsvLine, stripLineEnd, type FileProblem } from './mediation';
import { checkUsage, contentHash, contentHashSql, isRejection, type RawUsage } from './preprocess';

export interface InboxLayout {
  inbox: string;
  /** Where a loaded (or already taken) file goes. */
  processed: string;
  quarantine: string;
}

/** `<dir>`, with `processed/` and `quarantine/` beside it. */
export function inboxLayout(inbox: string): InboxLayout {
  const parent = path.dirname(inbox);
  return { inbox, processed: path.join(parent, 'processed'), quarantine: path.join(parent, 'quarantine') };
}

/** What one delivery (file or feed page) came to. `in = accepted + rejected + duplicate` always. */
export interface DeliverySummary {
  fileId: number;
  status: 'loaded' | 'quarantined' | 'already_taken';
  reason?: FileProblem;
  recordsIn: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Accepted records of the run's period and cycle (the rest wait for their own run). */
  acceptedForRun: number;
}

export interface CollectionSummary {
  files: number;
  loaded: number;
  quarantined: number;
  alreadyTaken: number;
  skippedUnsettled: number;
  recordsIn: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  acceptedForRun: number;
  deliveries: (DeliverySummary & { name: string })[];
}

export interface CollectOptions {
  layout: InboxLayout;
  /** The collection's clock (future-time checks, settle time). */
  now: Date;
  /** Files changed more recently than this may still be being written and wait for the next collection. */
  settleMs: number;
  /** The file system's idea of now (epoch ms), which mtimes are compared with; not the business clock. */
  fileClockMs: number;
  maxFileBytes: number;
  /** The run this collection is part of: its ledger counts what it collected. */
  run?: { id: number; period: string; cycleDay: number };
  /** Called after each file (activities heartbeat with it). */
  onFile?: (name: string, summary: DeliverySummary) => void;
  /**
   * Files loaded at once, each in its own transaction: one can be parsed here while PostgreSQL
   * indexes another (default 2).
   */
  parallelFiles?: number;
}

const stageColumns =
  'line_no, source, record_id, content_hash, usage_type, service_number, subscription_id, billing_account_id, org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination, reject_reason, reject_message, raw_record';

const counts = z.object({ accepted: z.coerce.number(), duplicates: z.coerce.number(), rejected: z.coerce.number(), for_run: z.coerce.number() });

/** Collects every settled `*.csv` file of the inbox, oldest first. */
export async function collectInbox(db: BulkDatabase, guiding: GuidingContext, options: CollectOptions): Promise<CollectionSummary> {
  const { layout } = options;
  await Promise.all([fs.mkdir(layout.inbox, { recursive: true }), fs.mkdir(layout.processed, { recursive: true }), fs.mkdir(layout.quarantine, { recursive: true })]);
  const names = (await fs.readdir(layout.inbox)).filter((name) => name.endsWith('.csv'));
  const files: { name: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const stat = await fs.stat(path.join(layout.inbox, name)).catch(() => null);
    if (stat?.isFile()) files.push({ name, mtimeMs: stat.mtimeMs });
  }
  files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));

  const summary: CollectionSummary = { files: 0, loaded: 0, quarantined: 0, alreadyTaken: 0, skippedUnsettled: 0, recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0, acceptedForRun: 0, deliveries: [] };
  const settled = files.filter((file) => options.fileClockMs - file.mtimeMs >= options.settleMs);
  summary.skippedUnsettled = files.length - settled.length;
  if (settled.length > 0) await ensureUsagePartitions(db, likelyUsagePeriods(options.now, options.run?.period));
  let next = 0;
  const loader = async () => {
    while (next < settled.length) {
      const file = settled[next++]!;
      let delivery: DeliverySummary | undefined;
      for (let attempt = 1; !delivery; attempt += 1) {
        try {
          delivery = await collectFile(db, guiding, file.name, options);
        } catch (error) {
          // Two files loading at once with the same duplicates can deadlock on the unique indexes;
          // PostgreSQL rolls one back, and that file is simply loaded again.
          if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
        }
      }
      record(file.name, delivery);
    }
  };
  const record = (name: string, delivery: DeliverySummary) => {
    summary.files += 1;
    if (delivery.status === 'loaded') summary.loaded += 1;
    if (delivery.status === 'quarantined') summary.quarantined += 1;
    if (delivery.status === 'already_taken') summary.alreadyTaken += 1;
    summary.recordsIn += delivery.recordsIn;
    summary.accepted += delivery.accepted;
    summary.rejected += delivery.rejected;
    summary.duplicates += delivery.duplicates;
    summary.acceptedForRun += delivery.acceptedForRun;
    summary.deliveries.push({ name, ...delivery });
    options.onFile?.(name, delivery);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallelFiles ?? 2, settled.length)) }, loader));
  // Records of a period nobody expected went to the default partition; they get their own now.
  if (summary.loaded > 0) await settleUsagePartitions(db);
  // In the order the files were taken, whichever finished first.
  summary.deliveries.sort((a, b) => settled.findIndex((file) => file.name === a.name) - settled.findIndex((file) => file.name === b.name));
  return summary;
}

async function collectFile(db: BulkDatabase, guiding: GuidingContext, name: string, options: CollectOptions): Promise<DeliverySummary> {
  const { layout } = options;
  const filePath = path.join(layout.inbox, name);
  const inspection = await inspectMediationFile(filePath, options.maxFileBytes);
  const known = await db.query(z.object({ id: z.coerce.number(), status: z.string() }), 'SELECT id, status FROM collected_files WHERE checksum = $1', [inspection.checksum]);
  if (known[0]) {
    // Taken before (or quarantined before): move it out of the way, load nothing.
    await moveOut(filePath, known[0].status === 'quarantined' ? layout.quarantine : layout.processed, name, inspection.checksum);
    return { fileId: known[0].id, status: 'already_taken', recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0, acceptedForRun: 0 };
  }
  if (inspection.problem) return quarantine(db, filePath, name, inspection.checksum, inspection.sizeBytes, inspection.problem, options);

  try {
    const delivery = await db.transaction(async (client) => {
      const fileId = await registerDelivery(client, 'inbox', name, inspection.checksum, inspection.sizeBytes, options.run?.id ?? null);
      if (fileId === null) return null;
      return loadRecords(client, guiding, fileId, () => lineBatchesOf(filePath, inspection.records), options);
    });
    if (delivery === null) {
      await moveOut(filePath, layout.processed, name, inspection.checksum);
      return { fileId: 0, status: 'already_taken', recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0, acceptedForRun: 0 };
    }
    await moveOut(filePath, layout.processed, name, inspection.checksum);
    return delivery;
  } catch (error) {
    if (error instanceof MalformedFileError) {
      return quarantine(db, filePath, name, inspection.checksum, inspection.sizeBytes, { code: error.code, message: error.message }, options);
    }
    throw error;
  }
}

/** Records the delivery; null when another collector took the same content first. */
async function registerDelivery(client: BulkClient, source: 'inbox' | 'feed', name: string, checksum: string, sizeBytes: number, billRunId: number | null): Promise<number | null> {
  const rows = await client.query(
    z.object({ id: z.coerce.number() }),
    `INSERT INTO collected_files (source, file_name, checksum, size_bytes, status, bill_run_id)
     VALUES ($1, $2, $3, $4, 'loaded', $5) ON CONFLICT (checksum) DO NOTHING RETURNING id`,
    [source, name, checksum, sizeBytes, billRunId],
  );
  return rows[0]?.id ?? null;
}

/** One line of a delivery: its line number and its text (a file) or its fields (a feed). */
export type DeliveryLine = readonly [lineNo: number, line: string | RawUsage];

/**
 * Data lines of a file, header and trailer left out, a read buffer (about 1 MB) at a time. Lines
 * travel in batches because everything after the read is synchronous per line: an await per line
 * (readline and a chain of async generators, as before) cost more CPU than checking, guiding and
 * test-rating the line, mostly in promises and the garbage they leave.
 */
async function* lineBatchesOf(filePath: string, records: number): AsyncGenerator<DeliveryLine[]> {
  // utf8 decoding in the stream keeps a character split across two reads whole.
  const input = createReadStream(filePath, { highWaterMark: 1024 * 1024, encoding: 'utf8' });
  let lineNo = 0;
  let rest = '';
  let done = false;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const text = rest + chunk;
      const batch: DeliveryLine[] = [];
      let from = 0;
      for (let newline = text.indexOf('\n'); newline >= 0 && !done; newline = text.indexOf('\n', from)) {
        lineNo += 1;
        const line = text.slice(from, newline);
        from = newline + 1;
        if (lineNo > records + 1) done = true;
        else if (lineNo > 1) batch.push([lineNo, stripLineEnd(line)]);
      }
      rest = text.slice(from);
      if (batch.length > 0) yield batch;
      if (done) return;
    }
    // A last line without a newline.
    const last = lineNo + 1;
    if (rest !== '' && last > 1 && last <= records + 1) yield [[last, stripLineEnd(rest)]];
  } finally {
    input.destroy();
  }
}

/** One record of a delivery after checking and guiding: accepted, or rejected with its reason. */
type Checked = { lineNo: number; guided: GuidedUsage; cycleDay: number } | { lineNo: number; raw: RawUsage; reason: string; message: string; owner: { billingAccountId: string; orgUnitId: string } | null };

/** How many accepted records are held and sorted together before they are written (see `inAccountRuns`). */
const accountRunLength = 50_000;

type Accepted = Extract<Checked, { guided: GuidedUsage }>;
type Refused = Extract<Checked, { raw: RawUsage }>;

/**
 * Rating reads a batch of accounts' usage at a time. Written in arrival order, an account's
 * records lie scattered over the whole month's table, so every batch touched nearly every page
 * and the run's cost grew with the square of the records (more batches, each reading everything).
 * Held back `length` at a time and written sorted by billing account, a batch's records lie in a
 * few runs of adjacent pages: one run per `length` records of the month. Rejections are passed to
 * `onRefused` at once.
 */
async function* inAccountRuns(batches: AsyncIterable<Checked[]>, length: number, onRefused: (entry: Refused) => void): AsyncGenerator<Accepted[]> {
  let held: Accepted[] = [];
  const release = () => {
    const sorted = held.sort((a, b) => (a.guided.billingAccountId < b.guided.billingAccountId ? -1 : a.guided.billingAccountId > b.guided.billingAccountId ? 1 : a.lineNo - b.lineNo));
    held = [];
    return sorted;
  };
  for await (const batch of batches) {
    for (const entry of batch) {
      if ('raw' in entry) onRefused(entry);
      else held.push(entry);
    }
    if (held.length >= length) yield release();
  }
  if (held.length > 0) yield release();
}

/** Checks and guides a delivery's lines as they stream in, a batch at a time. */
async function* checkedBatches(batches: AsyncIterable<readonly DeliveryLine[]>, guiding: GuidingContext, nowMs: number, counter: { recordsIn: number }): AsyncGenerator<Checked[]> {
  for await (const batch of batches) {
    const checked: Checked[] = new Array(batch.length);
    for (let index = 0; index < batch.length; index += 1) checked[index] = checkLine(batch[index]!, guiding, nowMs);
    counter.recordsIn += batch.length;
    yield checked;
  }
}

/** Checks and guides one line. @throws MalformedFileError for an unterminated quote (the file is quarantined). */
function checkLine([lineNo, line]: DeliveryLine, guiding: GuidingContext, nowMs: number): Checked {
  let raw: RawUsage;
  if (typeof line === 'string') {
    const fields = splitCsvLine(line);
    if (fields === null) throw new MalformedFileError('MALFORMED_CSV', `line ${lineNo} has an unterminated quote`);
    raw = rawUsageOf(fields);
    if (fields.length !== 9) return { lineNo, raw, reason: 'INVALID_FIELD', message: `expected 9 fields, got ${fields.length}`, owner: null };
  } else raw = line;
  const checked = checkUsage(raw, nowMs);
  if (isRejection(checked)) return { lineNo, raw, reason: checked.reason, message: checked.message, owner: null };
  const guided = guiding.guide(checked);
  if (isRejection(guided)) return { lineNo, raw, reason: guided.reason, message: guided.message, owner: guiding.orgUnitOf(checked.serviceNumber) };
  return { lineNo, guided, cycleDay: guiding.cycleDayOf(guided.billingAccountId) };
}

const recordColumns = 'source, record_id, content_hash, file_id, line_no, usage_type, service_number, subscription_id, billing_account_id, org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination';

/**
 * Loads one delivery's records inside the caller's transaction; `fileId` names its collected_files
 * row and `lines` opens its lines (again, if need be). Nothing is lost: every line is accepted,
 * refused as a duplicate or rejected with its reason.
 *
 * Most deliveries hold no duplicate, so the records are first copied straight into usage_records
 * (one pass, the unique indexes as the duplicate check). If an index refuses one, that attempt is
 * rolled back to a savepoint and the delivery is loaded through a staging table instead, where
 * duplicates are set aside one by one. Either way the duplicate check is the insert itself.
 */
export async function loadRecords(
  client: BulkClient,
  guiding: GuidingContext,
  fileId: number,
  lines: () => AsyncIterable<readonly DeliveryLine[]>,
  options: Pick<CollectOptions, 'now' | 'run'>,
): Promise<DeliverySummary> {
  const nowMs = options.now.getTime();
  const counter = { recordsIn: 0 };
  let accepted = 0;
  let acceptedForRun = 0;
  const rejected: Refused[] = [];
  await client.run('SAVEPOINT direct_load');
  let summary: DeliverySummary;
  try {
    await client.copyIn(
      `COPY usage_records (${recordColumns}) FROM STDIN`,
      (async function* () {
        for await (const run of inAccountRuns(checkedBatches(lines(), guiding, nowMs, counter), accountRunLength, (entry) => rejected.push(entry))) {
          let text = '';
          for (const entry of run) {
            const record = entry.guided;
            accepted += 1;
            if (options.run && record.period === options.run.period && entry.cycleDay === options.run.cycleDay) acceptedForRun += 1;
            text += copyLine([record.source, record.recordId, contentHash(record, record.destination), fileId, entry.lineNo, ...usageFields(record)]);
            // COPY takes the text in pieces; a piece of a few MB keeps the string (and the worker) small.
            if (text.length >= 4 * 1024 * 1024) {
              yield text;
              text = '';
            }
          }
          if (text.length > 0) yield text;
        }
      })(),
    );
    await client.run('RELEASE SAVEPOINT direct_load');
    if (rejected.length > 0) {
      await client.copyIn(
        'COPY usage_rejections (source, record_id, file_id, line_no, bill_run_id, raw, reason_code, reason, billing_account_id, org_unit_id) FROM STDIN',
        rejected.map((entry) =>
          copyLine([
            entry.raw.source.trim().slice(0, 100) || null,
            entry.raw.recordId.trim().slice(0, 200) || null,
            fileId,
            entry.lineNo,
            options.run?.id ?? null,
            JSON.stringify(entry.raw),
            entry.reason,
            entry.message,
            entry.owner?.billingAccountId ?? null,
            entry.owner?.orgUnitId ?? null,
          ]),
        ),
      );
    }
    summary = { fileId, status: 'loaded', recordsIn: counter.recordsIn, accepted, rejected: rejected.length, duplicates: 0, acceptedForRun };
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await client.run('ROLLBACK TO SAVEPOINT direct_load');
    summary = await loadStaged(client, guiding, fileId, lines(), options);
  }
  // The table's CHECK holds the books: in = accepted + rejected + duplicate, or the load fails.
  await client.run('UPDATE collected_files SET records_in = $2, records_accepted = $3, records_rejected = $4, records_duplicate = $5 WHERE id = $1', [
    fileId,
    summary.recordsIn,
    summary.accepted,
    summary.rejected,
    summary.duplicates,
  ]);
  if (options.run) {
    await client.run(
      `UPDATE bill_runs SET records_in = records_in + $2, records_rejected = records_rejected + $3, records_duplicate = records_duplicate + $4,
              records_deferred = records_deferred + $5, files_collected = files_collected + 1, updated_at = now() WHERE id = $1`,
      [options.run.id, summary.recordsIn, summary.rejected, summary.duplicates, summary.accepted - summary.acceptedForRun],
    );
  }
  return summary;
}

/** The path for a delivery with duplicates: stage everything, then accept, refuse and reject set-wise. */
async function loadStaged(
  client: BulkClient,
  guiding: GuidingContext,
  fileId: number,
  lines: AsyncIterable<readonly DeliveryLine[]>,
  options: Pick<CollectOptions, 'now' | 'run'>,
): Promise<DeliverySummary> {
  await client.run(`CREATE TEMP TABLE usage_stage (
      line_no integer NOT NULL, source text, record_id text, content_hash uuid, usage_type text, service_number text, subscription_id text,
      billing_account_id text, org_unit_id text, period text, started_at timestamptz, duration_sec integer, volume_bytes bigint, messages integer,
      destination text, reject_reason text, reject_message text, raw_record jsonb) ON COMMIT DROP`);
  const counter = { recordsIn: 0 };
  await client.copyIn(
    `COPY usage_stage (${stageColumns}) FROM STDIN`,
    (async function* () {
      for await (const batch of checkedBatches(lines, guiding, options.now.getTime(), counter)) {
        let text = '';
        for (const entry of batch) {
          if ('raw' in entry) text += rejectedLine(entry.lineNo, entry.raw, entry.reason, entry.message, entry.owner);
          else text += copyLine([entry.lineNo, entry.guided.source, entry.guided.recordId, null, ...usageFields(entry.guided), null, null, null]);
        }
        yield text;
      }
    })(),
  );
  const [result] = await client.query(
    counts,
    `WITH staged AS (
       SELECT s.*, ${contentHashSql} AS hash FROM usage_stage s WHERE s.reject_reason IS NULL
     ), inserted AS (
       INSERT INTO usage_records (source, record_id, content_hash, file_id, line_no, usage_type, service_number, subscription_id, billing_account_id,
                                  org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination)
       SELECT source, record_id, hash, $1, line_no, usage_type, service_number, subscription_id, billing_account_id,
              org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination
         FROM staged ORDER BY line_no
       ON CONFLICT DO NOTHING
       RETURNING line_no, period, billing_account_id
     ), duplicates AS (
       INSERT INTO usage_duplicates (source, record_id, content_hash, file_id, line_no)
       SELECT s.source, s.record_id, s.hash, $1, s.line_no FROM staged s
        WHERE NOT EXISTS (SELECT 1 FROM inserted i WHERE i.line_no = s.line_no)
       RETURNING 1
     ), rejected AS (
       INSERT INTO usage_rejections (source, record_id, file_id, line_no, bill_run_id, raw, reason_code, reason, billing_account_id, org_unit_id)
       SELECT nullif(s.source, ''), nullif(s.record_id, ''), $1, s.line_no, $2, s.raw_record, s.reject_reason, s.reject_message, s.billing_account_id, s.org_unit_id
         FROM usage_stage s WHERE s.reject_reason IS NOT NULL
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM inserted) AS accepted,
            (SELECT count(*) FROM duplicates) AS duplicates,
            (SELECT count(*) FROM rejected) AS rejected,
            (SELECT count(*) FROM inserted i JOIN billing_accounts b ON b.id = i.billing_account_id
              WHERE i.period = $3 AND b.bill_cycle_day = $4) AS for_run`,
    [fileId, options.run?.id ?? null, options.run?.period ?? null, options.run?.cycleDay ?? null],
  );
  return {
    fileId,
    status: 'loaded',
    recordsIn: counter.recordsIn,
    accepted: result!.accepted,
    rejected: result!.rejected,
    duplicates: result!.duplicates,
    acceptedForRun: result!.for_run,
  };
}

/** A guided record's columns from usage_type to destination, as both load paths write them. */
function usageFields(record: GuidedUsage): (string | number)[] {
  return [
    record.usageType,
    record.serviceNumber,
    record.subscriptionId,
    record.billingAccountId,
    record.orgUnitId,
    record.period,
    new Date(record.startMs).toISOString(),
    record.durationSec,
    record.volumeBytes,
    record.messages,
    record.destination,
  ];
}

function rejectedLine(lineNo: number, raw: RawUsage, reason: string, message: string, owner: { billingAccountId: string; orgUnitId: string } | null): string {
  return copyLine([
    lineNo,
    raw.source.trim().slice(0, 100),
    raw.recordId.trim().slice(0, 200),
    null,
    null,
    null,
    null,
    owner?.billingAccountId ?? null,
    owner?.orgUnitId ?? null,
    null,
    null,
    null,
    null,
    null,
    null,
    reason,
    message,
    JSON.stringify(raw),
  ]);
}

async function quarantine(
  db: BulkDatabase,
  filePath: string,
  name: string,
  checksum: string,
  sizeBytes: number,
  problem: FileProblem,
  options: CollectOptions,
): Promise<DeliverySummary> {
  const target = await moveOut(filePath, options.layout.quarantine, name, checksum);
  await fs.writeFile(`${target}.reason.txt`, `${problem.code}: ${problem.message}\n`);
  const rows = await db.transaction(async (client) => {
    const inserted = await client.query(
      z.object({ id: z.coerce.number() }),
      `INSERT INTO collected_files (source, file_name, checksum, size_bytes, status, reason_code, reason, quarantine_path, bill_run_id)
       VALUES ('inbox', $1, $2, $3, 'quarantined', $4, $5, $6, $7) ON CONFLICT (checksum) DO NOTHING RETURNING id`,
      [name, checksum, sizeBytes, problem.code, problem.message, target, options.run?.id ?? null],
    );
    if (inserted[0] && options.run) {
      await client.run('UPDATE bill_runs SET files_quarantined = files_quarantined + 1, updated_at = now() WHERE id = $1', [options.run.id]);
    }
    return inserted;
  });
  return { fileId: rows[0]?.id ?? 0, status: 'quarantined', reason: problem, recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0, acceptedForRun: 0 };
}

/** Moves a file into `dir`, keeping its name unless a different file already has it there. */
async function moveOut(filePath: string, dir: string, name: string, checksum: string): Promise<string> {
  let target = path.join(dir, name);
  const existing = await fs.stat(target).catch(() => null);
  if (existing) target = path.join(dir, `${path.basename(name, '.csv')}.${checksum.slice(0, 12)}.csv`);
  await fs.rename(filePath, target).catch(async (error: NodeJS.ErrnoException) => {
    // Another collector moved it first: the database row decided who loaded it.
    if (error.code !== 'ENOENT') throw error;
  });
  return target;
}
