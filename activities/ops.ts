import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { recordAudit } from '../db/audit';
import { finishBatch, getBatchItemStatus, instanceEntityType, recordBatchItemResult } from '../db/ops';
import type { DatabasePool } from 'slonik';
import { loadModel } from '../db/definitions';
import { actOnIncidents, cancelInstance, migrateInstance, moveToken, resetBeforeNode, terminateInstance } from '../ops/actions';
import { OpsError } from '../ops/errors';
import type { OpsBatchItemInput, OpsBatchItemResult } from '../workflows/ops-batch-contract';
import type { ActivityDependencies } from './context';

const incidentParams = z.object({ nodeId: z.string().optional(), errorContains: z.string().optional(), variables: z.record(z.unknown()).optional() });
const resetParams = z.object({ nodeId: z.string().optional() });
const migrateParams = z.object({ toVersion: z.number().int().min(1), nodeMapping: z.record(z.string()) });
const moveParams = z.object({ fromNodeId: z.string(), toNodeId: z.string(), variables: z.record(z.unknown()).optional() });

/**
 * Performs one ops action on one instance, the way the single-instance API does, for a batch.
 * Uses the worker's own Temporal client.
 */
export async function applyOpsAction(
  client: Client,
  pool: DatabasePool,
  item: Pick<OpsBatchItemInput, 'workflowId' | 'action' | 'params' | 'reason' | 'actor'>,
): Promise<Record<string, unknown>> {
  const reason = `${item.reason} (by ${item.actor})`;
  switch (item.action) {
    case 'retry':
    case 'skip':
      return actOnIncidents(client, item.workflowId, item.action, incidentParams.parse(item.params));
    case 'cancel':
      return cancelInstance(client, item.workflowId);
    case 'terminate':
      return terminateInstance(client, item.workflowId, reason);
    case 'reset':
      return resetBeforeNode(client, item.workflowId, { ...resetParams.parse(item.params), reason });
    case 'move':
      return { result: await moveToken(client, item.workflowId, moveParams.parse(item.params)) };
    case 'migrate': {
      const params = migrateParams.parse(item.params);
      const result = await migrateInstance(client, item.workflowId, { ...params, loadDefinition: (key, version) => loadModel(pool, key, version) });
      return { ...result };
    }
  }
}

export function createOpsActivities({ pool }: ActivityDependencies) {
  return {
    /**
     * Idempotent: an instance already recorded as succeeded is not acted on again (a retry of this
     * activity after its action went through). A refused action (OpsError) is a result, not a retry.
     */
    async opsApplyBatchItem(item: OpsBatchItemInput): Promise<OpsBatchItemResult> {
      if ((await getBatchItemStatus(pool, item.batchId, item.workflowId)) === 'succeeded') return 'succeeded';
      const who = { actor: item.actor, requestId: item.requestId };
      const audit = { action: `ops.${item.action}`, entityType: instanceEntityType, entityId: item.workflowId };
      try {
        const result = await applyOpsAction(Context.current().client, pool, item);
        await pool.transaction(async (tx) => {
          const incidentIds = Array.isArray(result.incidentIds) ? (result.incidentIds as string[]) : undefined;
          await recordBatchItemResult(tx, item.batchId, item.workflowId, { status: 'succeeded', incidentId: incidentIds?.join(',') });
          await recordAudit(tx, who, { ...audit, details: { reason: item.reason, batchId: item.batchId, params: item.params, result: 'succeeded', ...result } });
        });
        return 'succeeded';
      } catch (error) {
        if (!(error instanceof OpsError) && !(error instanceof z.ZodError)) throw error;
        const code = error instanceof OpsError ? error.code : 'BAD_REQUEST';
        await pool.transaction(async (tx) => {
          await recordBatchItemResult(tx, item.batchId, item.workflowId, { status: 'failed', errorCode: code, message: error.message });
          await recordAudit(tx, who, { ...audit, details: { reason: item.reason, batchId: item.batchId, params: item.params, result: 'failed', error: { code, message: error.message } } });
        });
        return 'failed';
      }
    },

    /** The last word on an item whose action kept failing with an unexpected error. */
    async opsRecordBatchItemFailure(item: OpsBatchItemInput & { message: string }): Promise<void> {
      await pool.transaction(async (tx) => {
        await recordBatchItemResult(tx, item.batchId, item.workflowId, { status: 'failed', errorCode: 'INTERNAL', message: item.message });
        await recordAudit(tx, { actor: item.actor, requestId: item.requestId }, {
          action: `ops.${item.action}`,
          entityType: instanceEntityType,
          entityId: item.workflowId,
          details: { reason: item.reason, batchId: item.batchId, result: 'failed', error: { code: 'INTERNAL', message: item.message } },
        });
      });
    },

    async opsFinishBatch(input: { batchId: string; status: 'completed' | 'cancelled' }): Promise<void> {
      if (!input.batchId) throw ApplicationFailure.nonRetryable('batchId is required');
      await finishBatch(pool, input.batchId, input.status);
    },
  };
}

