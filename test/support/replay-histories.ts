import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const replayHistoryDir = path.join(__dirname, '..', 'replay', 'histories');

/**
 * With RECORD_REPLAY_HISTORIES=1, keeps the instance's history as test/replay/histories/<name>.json
 * (test/replay/README.md). Task ids and idempotency keys contain the workflow id, so replay needs the original one.
 */
export async function recordReplayHistory(name: string, handle: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_REPLAY_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  fs.mkdirSync(replayHistoryDir, { recursive: true });
  fs.writeFileSync(path.join(replayHistoryDir, `${name}.json`), `${JSON.stringify({ workflowId: handle.workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1)}\n`);
}
