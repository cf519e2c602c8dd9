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
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { copyLine, type BulkClient, type BulkDatabase } from './bulk';
import type { GuidingContext } from './guiding';
import { inspectMediationFile, MalformedFileError, rawUsageOf, splitCsvLine, stripLineEnd, type FileProblem } from './mediation';
import { checkUsage, isRejection, type RawUsage } from './preprocess';

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
  for (const file of files) {
    if (options.fileClockMs - file.mtimeMs < options.settleMs) {
      summary.skippedUnsettled += 1;
      continue;
    }
    const delivery = await collectFile(db, guiding, file.name, options);
    summary.files += 1;
    if (delivery.status === 'loaded') summary.loaded += 1;
    if (delivery.status === 'quarantined') summary.quarantined += 1;
    if (delivery.status === 'already_taken') summary.alreadyTaken += 1;
    summary.recordsIn += delivery.recordsIn;
    summary.accepted += delivery.accepted;
    summary.rejected += delivery.rejected;
    summary.duplicates += delivery.duplicates;
    summary.acceptedForRun += delivery.acceptedForRun;
    summary.deliveries.push({ name: file.name, ...delivery });
    options.onFile?.(file.name, delivery);
  }
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
      return loadRecords(client, guiding, fileId, linesOf(filePath, inspection.records), options);
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

/** Data lines of a file as [lineNo, text], header and trailer left out. */
async function* linesOf(filePath: string, records: number): AsyncGenerator<[number, string]> {
  const reader = createInterface({ input: createReadStream(filePath, { highWaterMark: 1024 * 1024 }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of reader) {
    lineNo += 1;
    if (lineNo === 1) continue;
    if (lineNo > records + 1) break;
    yield [lineNo, stripLineEnd(line)];
  }
}

/**
 * Loads one delivery's records inside the caller's transaction: stages them (COPY), then accepts,
 * refuses as duplicates and rejects them set-wise. `fileId` names the collected_files row.
 */
export async function loadRecords(
  client: BulkClient,
  guiding: GuidingContext,
  fileId: number,
  lines: AsyncIterable<[number, string | RawUsage]>,
  options: Pick<CollectOptions, 'now' | 'run'>,
): Promise<DeliverySummary> {
  await client.run(`CREATE TEMP TABLE usage_stage (
      line_no integer NOT NULL, source text, record_id text, content_hash uuid, usage_type text, service_number text, subscription_id text,
      billing_account_id text, org_unit_id text, period text, started_at timestamptz, duration_sec integer, volume_bytes bigint, messages integer,
      destination text, reject_reason text, reject_message text, raw_record jsonb) ON COMMIT DROP`);
  const nowMs = options.now.getTime();
  let recordsIn = 0;
  async function* stageLines(): AsyncGenerator<string> {
    for await (const [lineNo, line] of lines) {
      recordsIn += 1;
      let raw: RawUsage;
      if (typeof line === 'string') {
        const fields = splitCsvLine(line);
        if (fields === null) throw new MalformedFileError('MALFORMED_CSV', `line ${lineNo} has an unterminated quote`);
        raw = rawUsageOf(fields);
        if (fields.length !== 9) {
          yield rejectedLine(lineNo, raw, 'INVALID_FIELD', `expected 9 fields, got ${fields.length}`, null);
          continue;
        }
      } else raw = line;
      const checked = checkUsage(raw, nowMs);
      if (isRejection(checked)) {
        yield rejectedLine(lineNo, raw, checked.reason, checked.message, null);
        continue;
      }
      const guided = guiding.guide(checked);
      if (isRejection(guided)) {
        yield rejectedLine(lineNo, raw, guided.reason, guided.message, guiding.orgUnitOf(checked.serviceNumber));
        continue;
      }
      yield copyLine([
        lineNo,
        guided.source,
        guided.recordId,
        guided.contentHash,
        guided.usageType,
        guided.serviceNumber,
        guided.subscriptionId,
        guided.billingAccountId,
        guided.orgUnitId,
        guided.period,
        new Date(guided.startMs).toISOString(),
        guided.durationSec,
        guided.volumeBytes,
        guided.messages,
        guided.destination,
        null,
        null,
        null,
      ]);
    }
  }
  await client.copyIn(`COPY usage_stage (${stageColumns}) FROM STDIN`, stageLines());

  const [result] = await client.query(
    counts,
    `WITH inserted AS (
       INSERT INTO usage_records (source, record_id, content_hash, file_id, line_no, usage_type, service_number, subscription_id, billing_account_id,
                                  org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination)
       SELECT source, record_id, content_hash, $1, line_no, usage_type, service_number, subscription_id, billing_account_id,
              org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination
         FROM usage_stage WHERE reject_reason IS NULL ORDER BY line_no
       ON CONFLICT DO NOTHING
       RETURNING line_no, period, billing_account_id
     ), duplicates AS (
       INSERT INTO usage_duplicates (source, record_id, content_hash, file_id, line_no)
       SELECT s.source, s.record_id, s.content_hash, $1, s.line_no FROM usage_stage s
        WHERE s.reject_reason IS NULL AND NOT EXISTS (SELECT 1 FROM inserted i WHERE i.line_no = s.line_no)
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
  const summary: DeliverySummary = {
    fileId,
    status: 'loaded',
    recordsIn,
    accepted: result!.accepted,
    rejected: result!.rejected,
    duplicates: result!.duplicates,
    acceptedForRun: result!.for_run,
  };
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
