import { CancellationScope, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { opsBatchProgressQuery, type OpsBatchInput, type OpsBatchItemResult, type OpsBatchProgress } from './ops-batch-contract';

const { opsApplyBatchItem, opsRecordBatchItemFailure } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});
const { opsFinishBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

/**
 * Applies one ops action to many instances, durably: a worker restart resumes where it stopped,
 * and each instance's result is written to PostgreSQL by the activity that acted on it. The rate
 * limit works in one-second windows: a window starts at most `ratePerSecond` actions, and the next
 * window starts no earlier than a second after it.
 */
export async function opsBatch(input: OpsBatchInput): Promise<OpsBatchProgress> {
  const progress: OpsBatchProgress = { total: input.workflowIds.length, done: 0, succeeded: 0, failed: 0, skipped: 0, status: 'running' };
  setHandler(opsBatchProgressQuery, () => progress);
  const rate = Math.max(1, Math.floor(input.ratePerSecond));
  try {
    for (let start = 0; start < input.workflowIds.length; start += rate) {
      const windowStart = Date.now();
      const window = input.workflowIds.slice(start, start + rate);
      await Promise.all(
        window.map(async (workflowId) => {
          const item = { batchId: input.batchId, workflowId, action: input.action, params: input.params, actor: input.actor, reason: input.reason, requestId: input.requestId };
          let result: OpsBatchItemResult;
          try {
            result = await opsApplyBatchItem(item);
          } catch (error) {
            if (isCancellation(error)) throw error;
            await opsRecordBatchItemFailure({ ...item, message: error instanceof Error ? error.message : String(error) });
            result = 'failed';
          }
          progress[result] += 1;
          progress.done += 1;
        }),
      );
      const elapsed = Date.now() - windowStart;
      if (start + rate < input.workflowIds.length && elapsed < 1000) await sleep(1000 - elapsed);
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    progress.status = 'cancelled';
    await CancellationScope.nonCancellable(() => opsFinishBatch({ batchId: input.batchId, status: 'cancelled' }));
    return progress;
  }
  progress.status = 'completed';
  await opsFinishBatch({ batchId: input.batchId, status: 'completed' });
  return progress;
}
