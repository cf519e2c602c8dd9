import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { signalBroadcastProgressQuery, type SignalBroadcastInput, type SignalBroadcastProgress } from './signal-broadcast-contract';

const { deliverSignalPage } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Hands a BPMN signal to every running instance that waits for it (KfWaitingFor lists
 * `signal:<name>`), page by page, durably: a worker restart resumes at the page it was on, and a
 * page delivered twice is taken once, since every copy carries the broadcast's id.
 */
export async function signalBroadcast(input: SignalBroadcastInput): Promise<SignalBroadcastProgress> {
  const progress: SignalBroadcastProgress = { signalId: input.signalId, name: input.name, sentBy: input.sentBy, delivered: 0, gone: 0, pages: 0, status: 'running' };
  setHandler(signalBroadcastProgressQuery, () => progress);
  let pageToken: string | undefined;
  do {
    const page = await deliverSignalPage({ ...input, ...(pageToken ? { pageToken } : {}) });
    progress.delivered += page.delivered;
    progress.gone += page.gone;
    progress.pages += 1;
    pageToken = page.nextPageToken;
  } while (pageToken);
  progress.status = 'completed';
  return progress;
}
