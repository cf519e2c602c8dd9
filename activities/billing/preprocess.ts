/**
 * Preprocessing of one usage record, pure: required fields, numbers, instants, limits, number
 * normalisation. What needs the CRM (the subscriber, the period, the tariff) is guiding
 * (directory.ts); both report a reason code from `rejectionReasons` when they refuse a record.
 */

import crypto from 'node:crypto';

export const rejectionReasons = [
  'MISSING_FIELD',
  'INVALID_FIELD',
  'NEGATIVE_QUANTITY',
  'QUANTITY_TOO_LARGE',
  'INVALID_TIME',
  'FUTURE_TIME',
  'UNKNOWN_SUBSCRIBER',
  'PERIOD_CLOSED',
  'INVALID_DESTINATION',
  'UNKNOWN_DESTINATION',
  'UNSUPPORTED_USAGE_TYPE',
  'NO_TARIFF',
  'RATING_FAILED',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

/** A record as received: every field a string (CSV) or whatever the feed sent, before checking. */
export interface RawUsage {
  source: string;
  recordId: string;
  usageType: string;
  serviceNumber: string;
  startedAt: string;
  durationSec: string;
  volumeBytes: string;
  messages: string;
  destination: string;
}

/** A record that passed preprocessing: typed, normalised, not yet guided. */
export interface CheckedUsage {
  source: string;
  recordId: string;
  usageType: 'voice' | 'sms' | 'data';
  /** E.164 digits without "+". */
  serviceNumber: string;
  startMs: number;
  durationSec: number;
  volumeBytes: number;
  messages: number;
  /** As received but cleaned; made E.164 once the subscriber's area is known (`normaliseDestination`). */
  destination: string;
}

export interface Rejection {
  reason: RejectionReason;
  message: string;
}

export const limits = {
  /** One call longer than a day is a switch fault, not usage. */
  maxDurationSec: 86_400,
  maxVolumeBytes: 1024 ** 4,
  maxMessages: 255,
  /** Clocks drift; usage from further ahead than this is refused. */
  futureToleranceMs: 60 * 60_000,
  maxIdLength: 100,
} as const;

const integerPattern = /^-?\d{1,16}$/;
const plainDigits = /^\+?\d+$/;
// ISO-8601 with a zone: an instant. A local time without offset is ambiguous and refused.
const instantPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const idPattern = /^[\x21-\x7e]+$/;

/**
 * Checks one raw record. `nowMs` is the collection's clock (injected: activities never read the
 * wall clock themselves).
 */
export function checkUsage(raw: RawUsage, nowMs: number, countryCode = '86'): CheckedUsage | Rejection {
  // Written for a million records a minute: no per-record arrays or closures.
  const source = raw.source.trim();
  const recordId = raw.recordId.trim();
  const typeText = raw.usageType.trim();
  const serviceText = raw.serviceNumber.trim();
  const startedAt = raw.startedAt.trim();
  if (source === '') return reject('MISSING_FIELD', 'source is empty');
  if (recordId === '') return reject('MISSING_FIELD', 'record_id is empty');
  if (typeText === '') return reject('MISSING_FIELD', 'usage_type is empty');
  if (serviceText === '') return reject('MISSING_FIELD', 'service_number is empty');
  if (startedAt === '') return reject('MISSING_FIELD', 'started_at is empty');
  if (source.length > 50 || !idPattern.test(source)) return reject('INVALID_FIELD', 'source must be 1–50 printable characters without spaces');
  if (recordId.length > limits.maxIdLength || !idPattern.test(recordId)) return reject('INVALID_FIELD', `record_id must be 1–${limits.maxIdLength} printable characters without spaces`);

  const usageType = typeText === 'voice' || typeText === 'sms' || typeText === 'data' ? typeText : typeText.toLowerCase();
  if (usageType !== 'voice' && usageType !== 'sms' && usageType !== 'data') return reject('UNSUPPORTED_USAGE_TYPE', `usage_type ${JSON.stringify(raw.usageType)} is not voice, sms or data`);

  const serviceNumber = normaliseNumber(serviceText, countryCode);
  if (serviceNumber === null) return reject('INVALID_FIELD', `service_number ${JSON.stringify(raw.serviceNumber)} is not a phone number`);

  if (!instantPattern.test(startedAt)) return reject('INVALID_TIME', `started_at ${JSON.stringify(raw.startedAt)} is not an ISO-8601 instant with a UTC offset`);
  const startMs = Date.parse(startedAt);
  if (Number.isNaN(startMs)) return reject('INVALID_TIME', `started_at ${JSON.stringify(raw.startedAt)} is not a real date`);
  if (startMs > nowMs + limits.futureToleranceMs) return reject('FUTURE_TIME', `started_at ${startedAt} is in the future`);

  const durationSec = quantity('duration_sec', raw.durationSec, usageType === 'voice', limits.maxDurationSec, usageType);
  if (typeof durationSec !== 'number') return durationSec;
  const volumeBytes = quantity('volume_bytes', raw.volumeBytes, usageType === 'data', limits.maxVolumeBytes, usageType);
  if (typeof volumeBytes !== 'number') return volumeBytes;
  let messages = quantity('messages', raw.messages, false, limits.maxMessages, usageType);
  if (typeof messages !== 'number') return messages;
  if (usageType === 'sms' && messages === 0 && raw.messages.trim() === '') messages = 1;

  const destination = raw.destination.trim();
  if (usageType !== 'data' && destination === '') return reject('MISSING_FIELD', `destination is empty for ${usageType}`);
  if (destination !== '' && !destinationPattern.test(destination)) return reject('INVALID_DESTINATION', `destination ${JSON.stringify(raw.destination)} is not a number`);

  return { source, recordId, usageType, serviceNumber, startMs, durationSec, volumeBytes, messages, destination };
}

const destinationPattern = /^\+?[\d\s()-]{1,40}$/;

function quantity(field: string, text: string, required: boolean, max: number, usageType: string): number | Rejection {
  const value = text.length === 0 ? text : text.trim();
  if (value === '') return required ? reject('MISSING_FIELD', `${field} is empty for ${usageType}`) : 0;
  if (!integerPattern.test(value)) return reject('INVALID_FIELD', `${field} ${JSON.stringify(text)} is not a whole number`);
  const number = Number(value);
  if (number < 0) return reject('NEGATIVE_QUANTITY', `${field} is negative (${number})`);
  if (number > max) return reject('QUANTITY_TOO_LARGE', `${field} ${number} is over the limit of ${max}`);
  return number;
}

export function isRejection(value: CheckedUsage | Rejection): value is Rejection {
  return 'reason' in value;
}

function reject(reason: RejectionReason, message: string): Rejection {
  return { reason, message };
}

/**
 * A dialled or subscriber number as E.164 digits without "+", or null when it cannot be one.
 * `+…` and `00…` are international; a single leading `0` is the national trunk prefix; an
 * 11-digit number starting 13–19 is a Chinese mobile; a 7–8 digit number is local to `homePrefix`
 * (country code + area code) when that is known. Short service numbers (10086) stay as they are.
 */
export function normaliseNumber(text: string, countryCode = '86', homePrefix?: string): string | null {
  const cleaned = plainDigits.test(text) ? text : text.replace(/[\s()-]/g, '');
  let digits: string;
  if (cleaned.startsWith('+')) digits = cleaned.slice(1);
  else if (cleaned.startsWith('00')) digits = cleaned.slice(2);
  else if (cleaned.startsWith('0')) digits = countryCode + cleaned.slice(1);
  else if (/^1[3-9]\d{9}$/.test(cleaned)) digits = countryCode + cleaned;
  else if (homePrefix && /^[2-9]\d{6,7}$/.test(cleaned)) digits = homePrefix + cleaned;
  else digits = cleaned;
  return /^\d{3,15}$/.test(digits) ? digits : null;
}

/**
 * The destination as rating matches it. A local number needs the subscriber's area (homePrefix).
 * @returns null when it is not a sane number (INVALID_DESTINATION)
 */
export function normaliseDestination(destination: string, countryCode: string, homePrefix: string | null): string | null {
  if (destination === '') return '';
  return normaliseNumber(destination, countryCode, homePrefix ?? undefined);
}

/**
 * Identity of a record's content, whatever its source and id: a second delivery of the same call
 * under another record id is still a duplicate. md5 is enough here (not a security boundary) and
 * fits a uuid column. Bulk collection computes the same digest in PostgreSQL (`contentHashSql`),
 * which is cheaper there than a Node hash object per record; the two must stay identical.
 */
export function contentHash(record: Pick<CheckedUsage, 'usageType' | 'serviceNumber' | 'startMs' | 'durationSec' | 'volumeBytes' | 'messages'>, destination: string): string {
  const hex = md5Hex(`${record.usageType}|${record.serviceNumber}|${record.startMs}|${record.durationSec}|${record.volumeBytes}|${record.messages}|${destination}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// crypto.hash (Node 20.12+) digests in one call, without a Hash object per record: a third of the
// cost at a million records a run. Older Node falls back to createHash.
const md5Hex: (text: string) => string =
  typeof crypto.hash === 'function' ? (text) => crypto.hash('md5', text, 'hex') : (text) => crypto.createHash('md5').update(text).digest('hex');

/**
 * `contentHash` as a SQL expression over a row with the usage_records column names (every piece
 * cast explicitly, so the expression is immutable and equal to the JavaScript one).
 */
export const contentHashSql = `md5(usage_type || '|' || service_number || '|' || ((extract(epoch FROM started_at) * 1000)::bigint)::text || '|' ||
  duration_sec::text || '|' || volume_bytes::text || '|' || messages::text || '|' || destination)::uuid`;
