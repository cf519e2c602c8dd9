/**
 * Collection from the usage feed (the simulator's `GET /usage/v1/records?after=&limit=`, or a real
 * mediation system's of the same shape): page by page, each page loaded like a file — checked,
 * guided, deduplicated — in the transaction that advances the feed's cursor, so a page is taken
 * exactly once even when two collectors run or one dies half-way.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../runtime/logger';
import { callPartner, type PartnerEndpoint } from '../external/http';
import { usagePage, type UsageRecord } from '../external/wire';
import type { BulkDatabase } from './bulk';
import { loadRecords, type CollectOptions, type DeliveryLine } from './collect';
import { ensureUsagePartitions, likelyUsagePeriods, settleUsagePartitions } from './partitions';
import type { GuidingContext } from './guiding';
import type { RawUsage } from './preprocess';

export type UsagePage = z.infer<typeof usagePage>;

export interface UsageFeedClient {
  /** The records after `after` (null: from the beginning), at most `limit`. */
  page(after: string | null, limit: number): Promise<UsagePage>;
}

export function createUsageFeedClient(endpoint: PartnerEndpoint, logger?: Logger): UsageFeedClient {
  return {
    async page(after, limit) {
      const { body } = await callPartner(
        endpoint,
        { operation: 'usage.listRecords', method: 'GET', path: '/records', query: { after: after ?? undefined, limit: String(limit) }, response: usagePage },
        logger,
      );
      return body;
    },
  };
}

/** A feed record in the shape preprocessing checks (its number fields as text, like a CSV's). */
export function rawUsageOfFeed(record: UsageRecord): RawUsage {
  return {
    source: record.source,
    recordId: record.recordId,
    usageType: record.usageType,
    serviceNumber: record.serviceNumber,
    startedAt: record.startedAt,
    durationSec: record.durationSec === undefined ? '' : String(record.durationSec),
    volumeBytes: record.volumeBytes === undefined ? '' : String(record.volumeBytes),
    messages: record.messages === undefined ? '' : String(record.messages),
    destination: record.destination ?? '',
  };
}

export interface FeedSummary {
  pages: number;
  recordsIn: number;
  accepted: number;
  rejected: number;
  duplicates: number;
}

const feedName = 'usage';

/** Reads the feed to its end (or `maxPages`), one transaction per page. */
export async function collectFeed(
  db: BulkDatabase,
  guiding: GuidingContext,
  client: UsageFeedClient,
  options: Pick<CollectOptions, 'now' | 'run'> & { pageSize?: number; maxPages?: number; onPage?: () => void },
): Promise<FeedSummary> {
  const summary: FeedSummary = { pages: 0, recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0 };
  const cursorRow = z.object({ cursor: z.string().nullable() });
  await ensureUsagePartitions(db, likelyUsagePeriods(options.now, options.run?.period));
  for (let pages = 0; pages < (options.maxPages ?? 1_000); pages += 1) {
    const [current] = await db.query(cursorRow, 'SELECT cursor FROM usage_feed_cursors WHERE feed = $1', [feedName]);
    const after = current?.cursor ?? null;
    const page = await client.page(after, options.pageSize ?? 5_000);
    if (page.records.length === 0 || page.nextCursor === null || page.nextCursor === after) break;
    const body = JSON.stringify(page.records);
    const loaded = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO usage_feed_cursors (feed, cursor) VALUES ($1, NULL) ON CONFLICT (feed) DO NOTHING', [feedName]);
      const [locked] = await tx.query(cursorRow, 'SELECT cursor FROM usage_feed_cursors WHERE feed = $1 FOR UPDATE', [feedName]);
      // Another collector took this page meanwhile: read on from where it left off.
      if ((locked?.cursor ?? null) !== after) return null;
      const [file] = await tx.query(
        z.object({ id: z.coerce.number() }),
        `INSERT INTO collected_files (source, file_name, checksum, size_bytes, status, bill_run_id)
         VALUES ('feed', $1, $2, $3, 'loaded', $4) ON CONFLICT (checksum) DO NOTHING RETURNING id`,
        [`${feedName}:${after ?? '0'}..${page.nextCursor}`, createHash('sha256').update(`${feedName}|${after}|${body}`).digest('hex'), Buffer.byteLength(body), options.run?.id ?? null],
      );
      await tx.run('UPDATE usage_feed_cursors SET cursor = $2, updated_at = now() WHERE feed = $1', [feedName, page.nextCursor]);
      if (!file) return null;
      return loadRecords(
        tx,
        guiding,
        file.id,
        async function* () {
          // A page is one batch of lines.
          yield page.records.map((record, index): DeliveryLine => [index + 1, rawUsageOfFeed(record)]);
        },
        options,
      );
    });
    options.onPage?.();
    if (!loaded) continue;
    summary.pages += 1;
    summary.recordsIn += loaded.recordsIn;
    summary.accepted += loaded.accepted;
    summary.rejected += loaded.rejected;
    summary.duplicates += loaded.duplicates;
  }
  if (summary.pages > 0) await settleUsagePartitions(db);
  return summary;
}
