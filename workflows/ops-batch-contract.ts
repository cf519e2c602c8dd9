// What the ops batch workflow, the activities that act for it and the API that starts it agree
// on: its actions, ids, input, progress query and per-item payloads. Workflow and callers both
// import this; neither imports the other.
import { defineQuery } from '@temporalio/workflow';

/** The actions ops may take on instances, one by one or as a batch (0500_ops.sql's CHECK constraint lists them too). */
export const opsActions = ['retry', 'skip', 'cancel', 'terminate', 'reset', 'move', 'migrate'] as const;
export type OpsBatchAction = (typeof opsActions)[number];

/** Workflow type and id of an ops batch: `ops-batch:<batch id>`. */
export const opsBatchWorkflowType = 'opsBatch';
export function opsBatchWorkflowId(batchId: string): string {
  return `ops-batch:${batchId}`;
}

export interface OpsBatchInput {
  batchId: string;
  action: OpsBatchAction;
  /** Targets, in order; stored beforehand as pending rows of `ops_batch_items`. */
  workflowIds: string[];
  params: Record<string, unknown>;
  /** At most this many actions start in any one second. */
  ratePerSecond: number;
  actor: string;
  reason: string;
  requestId?: string;
}

export interface OpsBatchProgress {
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  skipped: number;
  status: 'running' | 'completed' | 'cancelled';
}

export const opsBatchProgressQuery = defineQuery<OpsBatchProgress>('progress');

export interface OpsBatchItemInput {
  batchId: string;
  workflowId: string;
  action: OpsBatchAction;
  params: Record<string, unknown>;
  actor: string;
  reason: string;
  requestId?: string;
}
export type OpsBatchItemResult = 'succeeded' | 'failed' | 'skipped';
