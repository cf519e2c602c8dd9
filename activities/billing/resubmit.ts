import { z } from 'zod';
import type { BulkDatabase } from './bulk';
import { GuidingContext } from './guiding';
import { checkUsage, contentHash, isRejection, type RawUsage, type RejectionReason } from './preprocess';

/** Why a rejected record could not be resubmitted (the rejection stays open). */
export class ResubmitError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'NOT_OPEN' | 'STILL_INVALID' | 'DUPLICATE',
    message: string,
    readonly reason?: RejectionReason,
  ) {
    super(message);
    this.name = 'ResubmitError';
  }
}

const rejectionRow = z.object({ id: z.coerce.number(), status: z.string(), raw: z.record(z.unknown()) });

/** The record as it was received, whichever way it was refused (at collection, or later at rating). */
function rawOf(raw: Record<string, unknown>): RawUsage {
  const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
  if ('subscription_id' in raw) {
    // A usage_records row moved to the error table by a bill run.
    return {
      source: text(raw.source),
      recordId: text(raw.record_id),
      usageType: text(raw.usage_type),
      serviceNumber: text(raw.service_number),
      startedAt: text(raw.started_at),
      durationSec: text(raw.duration_sec),
      volumeBytes: text(raw.volume_bytes),
      messages: text(raw.messages),
      destination: text(raw.destination),
    };
  }
  return {
    source: text(raw.source),
    recordId: text(raw.recordId),
    usageType: text(raw.usageType),
    serviceNumber: text(raw.serviceNumber),
    startedAt: text(raw.startedAt),
    durationSec: text(raw.durationSec),
    volumeBytes: text(raw.volumeBytes),
    messages: text(raw.messages),
    destination: text(raw.destination),
  };
}

/**
 * Resubmits a rejected record with corrections: it goes through the same checks and guiding as on
 * collection and, when it passes, becomes a usage record in state `recycled` (rated by the next run
 * of its period); the rejection is marked resubmitted. A record that still fails, or is a duplicate
 * of one already accepted, leaves everything as it was.
 * @throws ResubmitError
 */
export async function resubmitRejection(db: BulkDatabase, id: number, corrections: Partial<RawUsage>, by: string, now: Date): Promise<{ usageRecordId: number; period: string; billingAccountId: string }> {
  return db.transaction(async (client) => {
    const [rejection] = await client.query(rejectionRow, 'SELECT id, status, raw FROM usage_rejections WHERE id = $1 FOR UPDATE', [id]);
    if (!rejection) throw new ResubmitError('NOT_FOUND', `rejected record ${id} not found`);
    if (rejection.status !== 'open') throw new ResubmitError('NOT_OPEN', `rejected record ${id} was ${rejection.status} already`);
    const raw = { ...rawOf(rejection.raw), ...corrections };
    const checked = checkUsage(raw, now.getTime());
    if (isRejection(checked)) throw new ResubmitError('STILL_INVALID', checked.message, checked.reason);
    const guided = (await GuidingContext.load(client, now)).guide(checked);
    if (isRejection(guided)) throw new ResubmitError('STILL_INVALID', guided.message, guided.reason);
    // usage_records is unique per period (partitioned by it): a corrected record that moved to
    // another period is checked against all of them here, which one record can afford.
    const twins = await client.query(z.object({ id: z.coerce.number() }), 'SELECT id FROM usage_records WHERE (source = $1 AND record_id = $2) OR content_hash = $3 LIMIT 1', [
      guided.source,
      guided.recordId,
      contentHash(guided, guided.destination),
    ]);
    if (twins.length > 0) throw new ResubmitError('DUPLICATE', `record ${guided.source}/${guided.recordId} (or one with the same content) was accepted already`);
    const [inserted] = await client.query(
      z.object({ id: z.coerce.number() }),
      `INSERT INTO usage_records (source, record_id, content_hash, usage_type, service_number, subscription_id, billing_account_id, org_unit_id, period,
                                  started_at, duration_sec, volume_bytes, messages, destination, entry_state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'recycled') ON CONFLICT DO NOTHING RETURNING id`,
      [
        guided.source,
        guided.recordId,
        contentHash(guided, guided.destination),
        guided.usageType,
        guided.serviceNumber,
        guided.subscriptionId,
        guided.billingAccountId,
        guided.orgUnitId,
        guided.period,
        new Date(guided.startMs),
        guided.durationSec,
        guided.volumeBytes,
        guided.messages,
        guided.destination,
      ],
    );
    if (!inserted) throw new ResubmitError('DUPLICATE', `record ${guided.source}/${guided.recordId} (or one with the same content) was accepted already`);
    await client.run(`UPDATE usage_rejections SET status = 'resubmitted', resubmitted_as = $2, resolved_by = $3, resolved_at = now() WHERE id = $1`, [id, inserted.id, by]);
    return { usageRecordId: inserted.id, period: guided.period, billingAccountId: guided.billingAccountId };
  });
}

/** Gives up on a rejected record (it will never be billed); recorded with who did it. */
export async function discardRejection(db: BulkDatabase, id: number, by: string): Promise<void> {
  await db.transaction(async (client) => {
    const [rejection] = await client.query(rejectionRow, 'SELECT id, status, raw FROM usage_rejections WHERE id = $1 FOR UPDATE', [id]);
    if (!rejection) throw new ResubmitError('NOT_FOUND', `rejected record ${id} not found`);
    if (rejection.status !== 'open') throw new ResubmitError('NOT_OPEN', `rejected record ${id} was ${rejection.status} already`);
    await client.run(`UPDATE usage_rejections SET status = 'discarded', resolved_by = $2, resolved_at = now() WHERE id = $1`, [id, by]);
  });
}
