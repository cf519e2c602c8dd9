/**
 * The mediation file format Keyflow collects (one CSV per delivery, UTF-8):
 *
 *   source,record_id,usage_type,service_number,started_at,duration_sec,volume_bytes,messages,destination
 *   MSC-SZ-01,000000001,voice,13800138000,2025-03-04T10:00:00+08:00,125,,,075588001234
 *   MSC-SZ-01,000000002,sms,13800138000,2025-03-04T10:01:00+08:00,,,1,13900139000
 *   GGSN-SZ-02,000000003,data,13800138000,2025-03-04T10:02:00Z,,52428800,,
 *   #END,3
 *
 * The header names the columns exactly; the trailer `#END,<records>` closes the file and counts
 * its records. A file without its trailer was not finished (a writer died, or is still writing) and
 * is quarantined, never half-loaded; so is one whose count does not match, whose header is wrong or
 * whose quoting is broken. Writers should write `name.csv.tmp` and rename it when done; the
 * collector takes only `*.csv` files that have not changed for a moment.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { RawUsage } from './preprocess';

export const mediationColumns = ['source', 'record_id', 'usage_type', 'service_number', 'started_at', 'duration_sec', 'volume_bytes', 'messages', 'destination'] as const;
export const mediationHeader = mediationColumns.join(',');
const trailerPattern = /^#END,(\d{1,12})$/;

export const quarantineReasons = ['TRUNCATED', 'BAD_HEADER', 'COUNT_MISMATCH', 'MALFORMED_CSV', 'EMPTY', 'TOO_LARGE', 'BAD_ENCODING'] as const;
export type QuarantineReason = (typeof quarantineReasons)[number];

export interface FileProblem {
  code: QuarantineReason;
  message: string;
}

export interface FileInspection {
  checksum: string;
  sizeBytes: number;
  /** Record lines between header and trailer. */
  records: number;
  problem: FileProblem | null;
}

/** A file that turned out malformed while it was being loaded (its load is rolled back). */
export class MalformedFileError extends Error {
  constructor(
    readonly code: QuarantineReason,
    message: string,
  ) {
    super(message);
    this.name = 'MalformedFileError';
  }
}

/**
 * First pass over a file: its sha256 (the identity that makes collection exactly-once), its size,
 * and whether its header, trailer and record count hold. Reads in chunks; memory stays small.
 */
export async function inspectMediationFile(path: string, maxBytes: number): Promise<FileInspection> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let lines = 0;
  let header: string | null = null;
  let lastLine = '';
  let partial: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
    const data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
    let start = 0;
    let lastStart = -1;
    let lastEnd = -1;
    for (let newline = data.indexOf(10, start); newline !== -1; newline = data.indexOf(10, start)) {
      lines += 1;
      if (header === null) header = data.toString('utf8', 0, newline);
      lastStart = start;
      lastEnd = newline;
      start = newline + 1;
    }
    if (lastStart >= 0) lastLine = data.toString('utf8', lastStart, lastEnd);
    partial = Buffer.from(data.subarray(start));
  }
  const checksum = hash.digest('hex');
  const result = (problem: FileProblem | null, records = 0): FileInspection => ({ checksum, sizeBytes, records, problem });
  if (sizeBytes === 0) return result({ code: 'EMPTY', message: 'the file is empty' });
  if (sizeBytes > maxBytes) return result({ code: 'TOO_LARGE', message: `the file has ${sizeBytes} bytes; the limit is ${maxBytes}` });
  if (partial.length > 0) {
    // The last line has no newline: acceptable only if it is the trailer itself.
    const tail = partial.toString('utf8');
    if (header === null) header = tail;
    lines += 1;
    lastLine = tail;
  }
  if (stripLineEnd(header ?? '').replace(/^\uFEFF/, '') !== mediationHeader) {
    return result({ code: 'BAD_HEADER', message: `the first line must be "${mediationHeader}"` });
  }
  const trailer = trailerPattern.exec(stripLineEnd(lastLine));
  if (!trailer || lines < 2) return result({ code: 'TRUNCATED', message: 'the file does not end with its "#END,<records>" trailer: it was not finished' });
  const records = lines - 2;
  if (Number(trailer[1]) !== records) {
    return result({ code: 'COUNT_MISMATCH', message: `the trailer counts ${trailer[1]} records but the file holds ${records}` });
  }
  return result(null, records);
}

export function stripLineEnd(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines); null when a quote is left open. */
export function splitCsvLine(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let index = 0;
  let quoted = false;
  while (index < line.length) {
    const character = line[index]!;
    if (quoted) {
      if (character === '"') {
        if (line[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        quoted = false;
        index += 1;
        continue;
      }
      field += character;
      index += 1;
      continue;
    }
    if (character === '"' && field === '') quoted = true;
    else if (character === ',') {
      fields.push(field);
      field = '';
    } else field += character;
    index += 1;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}

export function rawUsageOf(fields: readonly string[]): RawUsage {
  return {
    source: fields[0] ?? '',
    recordId: fields[1] ?? '',
    usageType: fields[2] ?? '',
    serviceNumber: fields[3] ?? '',
    startedAt: fields[4] ?? '',
    durationSec: fields[5] ?? '',
    volumeBytes: fields[6] ?? '',
    messages: fields[7] ?? '',
    destination: fields[8] ?? '',
  };
}

/** The text of a complete mediation file (for the simulator, tests and benchmarks). */
export function mediationFileText(records: readonly RawUsage[]): string {
  const quote = (value: string) => (/[",]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  const lines = records.map((record) =>
    [record.source, record.recordId, record.usageType, record.serviceNumber, record.startedAt, record.durationSec, record.volumeBytes, record.messages, record.destination].map(quote).join(','),
  );
  return `${mediationHeader}\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}#END,${records.length}\n`;
}
