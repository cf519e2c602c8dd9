import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { writeEcho } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Writes the message through an activity and returns what PostgreSQL stored. */
export async function echoWorkflow(message: string): Promise<{ message: string; writtenAt: string }> {
  return writeEcho(message);
}
