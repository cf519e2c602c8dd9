import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { CallbackSystem } from '../workflows/external';

const nothing = z.object({});

export interface Correlation {
  system: CallbackSystem;
  correlationId: string;
  workflowId: string;
  idempotencyKey: string;
}

/**
 * Records that `workflowId` waits for callbacks about `correlationId`. Idempotent: a retried
 * activity finds its row (and a closed watch is opened again).
 */
export async function registerCorrelation(db: CommonQueryMethods, correlation: Correlation): Promise<void> {
  await db.query(sql.type(nothing)`
    INSERT INTO external_correlations (system, correlation_id, workflow_id, idempotency_key)
    VALUES (${correlation.system}, ${correlation.correlationId}, ${correlation.workflowId}, ${correlation.idempotencyKey})
    ON CONFLICT (system, correlation_id, workflow_id) DO UPDATE SET closed_at = NULL`);
}

/** Stops delivering callbacks about `correlationId` to `workflowId`; true when a watch was open. */
export async function closeCorrelation(db: CommonQueryMethods, system: CallbackSystem, correlationId: string, workflowId: string): Promise<boolean> {
  const closed = await db.any(sql.type(z.object({ workflow_id: z.string() }))`
    UPDATE external_correlations SET closed_at = now()
    WHERE system = ${system} AND correlation_id = ${correlationId} AND workflow_id = ${workflowId} AND closed_at IS NULL
    RETURNING workflow_id`);
  return closed.length > 0;
}

/** The instances still waiting for callbacks about `correlationId`, oldest first. */
export async function openCorrelations(db: CommonQueryMethods, system: CallbackSystem, correlationId: string): Promise<string[]> {
  return [
    ...(await db.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`
      SELECT workflow_id FROM external_correlations
      WHERE system = ${system} AND correlation_id = ${correlationId} AND closed_at IS NULL
      ORDER BY created_at, workflow_id`)),
  ];
}

/**
 * Remembers a callback's nonce; false when it was seen before (a replay). Nonces older than the
 * window are pruned on the way: the timestamp check already refuses anything that old.
 */
export async function rememberNonce(db: CommonQueryMethods, system: CallbackSystem, nonce: string, windowSeconds: number): Promise<boolean> {
  await db.query(sql.type(nothing)`
    DELETE FROM callback_nonces WHERE received_at < now() - make_interval(secs => ${windowSeconds * 2})`);
  const inserted = await db.maybeOne(sql.type(z.object({ nonce: z.string() }))`
    INSERT INTO callback_nonces (system, nonce) VALUES (${system}, ${nonce})
    ON CONFLICT DO NOTHING RETURNING nonce`);
  return inserted !== null;
}

const receiptRow = z.object({
  event_id: z.string(),
  outcome: z.enum(['delivered', 'recorded', 'stale']),
  message_name: z.string().nullable(),
  workflow_ids: z.array(z.string()),
  received_at: z.string(),
});
export type ReceiptRow = z.infer<typeof receiptRow>;

export async function findReceipt(db: CommonQueryMethods, system: CallbackSystem, eventId: string): Promise<ReceiptRow | null> {
  return db.maybeOne(sql.type(receiptRow)`
    SELECT event_id, outcome, message_name, workflow_ids, received_at
    FROM callback_receipts WHERE system = ${system} AND event_id = ${eventId}`);
}

/**
 * Serialises the callbacks about one thing (call inside a transaction): the duplicate and
 * ordering checks that follow then see every event committed before this one.
 */
export async function lockOrderingKey(db: CommonQueryMethods, system: CallbackSystem, orderingKey: string): Promise<void> {
  await db.query(sql.type(nothing)`SELECT pg_advisory_xact_lock(hashtextextended(${`${system}:${orderingKey}`}, 727274300))`);
}

/** The newest sequence taken (delivered or recorded) for `orderingKey`, or 0. */
export async function latestSequence(db: CommonQueryMethods, system: CallbackSystem, orderingKey: string): Promise<number> {
  return db.oneFirst(sql.type(z.object({ latest: z.number() }))`
    SELECT coalesce(max(sequence), 0)::int AS latest FROM callback_receipts
    WHERE system = ${system} AND ordering_key = ${orderingKey} AND outcome <> 'stale'`);
}

export interface Receipt {
  system: CallbackSystem;
  eventId: string;
  correlationId: string;
  orderingKey: string;
  sequence: number;
  outcome: 'delivered' | 'recorded' | 'stale';
  messageName?: string;
  workflowIds: string[];
  payload: unknown;
  requestId?: string;
}

export async function insertReceipt(db: CommonQueryMethods, receipt: Receipt): Promise<void> {
  await db.query(sql.type(nothing)`
    INSERT INTO callback_receipts (system, event_id, correlation_id, ordering_key, sequence, outcome, message_name, workflow_ids, payload, request_id)
    VALUES (${receipt.system}, ${receipt.eventId}, ${receipt.correlationId}, ${receipt.orderingKey}, ${receipt.sequence}, ${receipt.outcome},
            ${receipt.messageName ?? null}, ${sql.array(receipt.workflowIds, 'text')}, ${sql.jsonb(receipt.payload as never)}, ${receipt.requestId ?? null})`);
}

export interface ExternalAuditEntry {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  requestId?: string;
  details?: unknown;
}

/** Appends an audit row (the foundation's `audit_log`) for something an outside system did. */
export async function recordExternalAudit(db: CommonQueryMethods, entry: ExternalAuditEntry): Promise<void> {
  await db.query(sql.type(nothing)`
    INSERT INTO audit_log (actor, action, entity_type, entity_id, request_id, details)
    VALUES (${entry.actor}, ${entry.action}, ${entry.entityType}, ${entry.entityId}, ${entry.requestId ?? null},
            ${entry.details === undefined ? null : sql.jsonb(entry.details as never)})`);
}
