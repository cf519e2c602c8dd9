// What the signal broadcast workflow, the activity that delivers its pages and the API that starts
// it agree on. Workflow and callers both import this; neither imports the other.
import { defineQuery } from '@temporalio/workflow';
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
