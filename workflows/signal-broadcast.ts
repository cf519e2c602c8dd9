import { defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Variables } from './contracts';

/** Workflow type and id of a signal broadcast: `signal:<signal id>`, so one id is broadcast once. */
export const signalBroadcastWorkflowType = 'signalBroadcast';
export function signalBroadcastWorkflowId(signalId: string): string {
  return `signal:${signalId}`;
}

export interface SignalBroadcastInput {
  signalId: string;
  name: string;
  variables: Variables;
  /** Only instances of this process. */
  processKey?: string;
  /** Only instances of these org units (the sender's scope); absent for senders who see all. */
  orgUnitIds?: string[];
  sentBy: string;
}

/** One page of waiting instances, each handed the signal. */
export interface SignalPageInput extends SignalBroadcastInput {
  pageToken?: string;
}
export interface SignalPageResult {
  delivered: number;
  /** Instances that closed between the search and the delivery. */
  gone: number;
  nextPageToken?: string;
}

export interface SignalBroadcastProgress {
  signalId: string;
  name: string;
  sentBy: string;
  delivered: number;
  gone: number;
  pages: number;
  status: 'running' | 'completed';
}

export const signalBroadcastProgressQuery = defineQuery<SignalBroadcastProgress>('progress');

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
