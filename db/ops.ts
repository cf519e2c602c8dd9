import { sql, type CommonQueryMethods, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { opsActions, type OpsBatchAction } from '../workflows/ops-batch-contract';

/** The ops actions, as the batch workflow names them (the table's CHECK constraint lists the same). */
export { opsActions };
export type OpsAction = OpsBatchAction;

export const batchStatuses = ['running', 'completed', 'failed', 'cancelled'] as const;
export type BatchStatus = (typeof batchStatuses)[number];
export const itemStatuses = ['pending', 'succeeded', 'failed', 'skipped'] as const;
export type BatchItemStatus = (typeof itemStatuses)[number];

export const batchRow = z.object({
  id: z.string(),
  action: z.enum(opsActions),
  filter: z.record(z.unknown()),
  params: z.record(z.unknown()),
  rate_per_second: z.number().int(),
  reason: z.string(),
  actor: z.string(),
  request_id: z.string().nullable(),
  status: z.enum(batchStatuses),
  total: z.number().int(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});
export type BatchRow = z.infer<typeof batchRow>;

export const batchItemRow = z.object({
  workflow_id: z.string(),
  position: z.number().int(),
  status: z.enum(itemStatuses),
  incident_id: z.string().nullable(),
  error_code: z.string().nullable(),
  message: z.string().nullable(),
  attempted_at: z.string().nullable(),
});
export type BatchItemRow = z.infer<typeof batchItemRow>;

const batchColumns = sql.fragment`id, action, filter, params, rate_per_second, reason, actor, request_id, status, total, created_at, finished_at`;

export interface NewBatch {
  id: string;
  action: OpsAction;
  filter: Record<string, unknown>;
  params: Record<string, unknown>;
  ratePerSecond: number;
  reason: string;
  actor: string;
  requestId?: string;
  workflowIds: string[];
}

/** Stores a batch and its targets (all pending) in one transaction, before its workflow starts. */
export async function createBatch(pool: DatabasePool, batch: NewBatch): Promise<BatchRow> {
  return pool.transaction(async (tx) => {
    const row = await tx.one(sql.type(batchRow)`
      INSERT INTO ops_batches (id, action, filter, params, rate_per_second, reason, actor, request_id, total)
      VALUES (${batch.id}, ${batch.action}, ${sql.jsonb(batch.filter as never)}, ${sql.jsonb(batch.params as never)}, ${batch.ratePerSecond},
              ${batch.reason}, ${batch.actor}, ${batch.requestId ?? null}, ${batch.workflowIds.length})
      RETURNING ${batchColumns}`);
    if (batch.workflowIds.length > 0) {
      await tx.query(sql.type(z.object({}))`
        INSERT INTO ops_batch_items (batch_id, workflow_id, position)
        SELECT ${batch.id}, workflow_id, position - 1
        FROM ${sql.unnest([...batch.workflowIds.map((id) => [id])], ['text'])} WITH ORDINALITY AS t(workflow_id, position)`);
    }
    return row;
  });
}

export async function getBatch(db: CommonQueryMethods, id: string): Promise<BatchRow | null> {
  return db.maybeOne(sql.type(batchRow)`SELECT ${batchColumns} FROM ops_batches WHERE id = ${id}`);
}

export async function listBatches(db: CommonQueryMethods, limit: number): Promise<BatchRow[]> {
  return [...(await db.any(sql.type(batchRow)`SELECT ${batchColumns} FROM ops_batches ORDER BY created_at DESC, id LIMIT ${limit}`))];
}

export const batchCountsRow = z.object({ status: z.enum(itemStatuses), count: z.number().int() });

export async function countBatchItems(db: CommonQueryMethods, batchId: string): Promise<Record<BatchItemStatus, number>> {
  const rows = await db.any(sql.type(batchCountsRow)`
    SELECT status, count(*)::int AS count FROM ops_batch_items WHERE batch_id = ${batchId} GROUP BY status`);
  const counts: Record<BatchItemStatus, number> = { pending: 0, succeeded: 0, failed: 0, skipped: 0 };
  for (const row of rows) counts[row.status] = row.count;
  return counts;
}

export async function listBatchItems(
  db: CommonQueryMethods,
  batchId: string,
  options: { status?: BatchItemStatus; after?: number; limit: number },
): Promise<BatchItemRow[]> {
  const conditions = [sql.fragment`batch_id = ${batchId}`];
  if (options.status) conditions.push(sql.fragment`status = ${options.status}`);
  if (options.after !== undefined) conditions.push(sql.fragment`position > ${options.after}`);
  return [
    ...(await db.any(sql.type(batchItemRow)`
      SELECT workflow_id, position, status, incident_id, error_code, message, attempted_at
      FROM ops_batch_items WHERE ${sql.join(conditions, sql.fragment` AND `)}
      ORDER BY position LIMIT ${options.limit}`)),
  ];
}

/**
 * Records one target's result. Idempotent: a retried activity writes the same row again, and a
 * result already recorded as succeeded is never downgraded by a late duplicate.
 */
export async function recordBatchItemResult(
  db: CommonQueryMethods,
  batchId: string,
  workflowId: string,
  result: { status: Exclude<BatchItemStatus, 'pending'>; incidentId?: string; errorCode?: string; message?: string },
): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE ops_batch_items
    SET status = ${result.status}, incident_id = ${result.incidentId ?? null}, error_code = ${result.errorCode ?? null},
        message = ${result.message ?? null}, attempted_at = now()
    WHERE batch_id = ${batchId} AND workflow_id = ${workflowId} AND status <> 'succeeded'`);
}

export async function finishBatch(db: CommonQueryMethods, batchId: string, status: Exclude<BatchStatus, 'running'>): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE ops_batches SET status = ${status}, finished_at = now() WHERE id = ${batchId} AND status = 'running'`);
}

const auditRow = z.object({
  id: z.coerce.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  request_id: z.string().nullable(),
  details: z.unknown(),
});
export type InstanceAuditRow = z.infer<typeof auditRow>;

/** Entity type of ops audit rows: the entity id is the workflow id. */
export const instanceEntityType = 'process_instance';

/** The ops trail of one instance, newest first. */
export async function listInstanceAudit(db: CommonQueryMethods, workflowId: string, options: { limit: number; before?: number }): Promise<InstanceAuditRow[]> {
  return [
    ...(await db.any(sql.type(auditRow)`
      SELECT id, at, actor, action, request_id, details FROM audit_log
      WHERE entity_type = ${instanceEntityType} AND entity_id = ${workflowId}
        ${options.before === undefined ? sql.fragment`` : sql.fragment`AND id < ${options.before}`}
      ORDER BY id DESC LIMIT ${options.limit}`)),
  ];
}

export async function getBatchItemStatus(db: CommonQueryMethods, batchId: string, workflowId: string): Promise<BatchItemStatus | null> {
  return db.maybeOneFirst(sql.type(z.object({ status: z.enum(itemStatuses) }))`
    SELECT status FROM ops_batch_items WHERE batch_id = ${batchId} AND workflow_id = ${workflowId}`);
}
