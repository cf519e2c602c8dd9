// A deliberately non-deterministic edit of ../fixtures.ts, as a careless change would make it:
// `opsStepsWorkflow` now calls a different activity first. Replaying a history recorded with the
// original code against this one must fail, and the replay check must say so.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FixtureActivities } from '../../ops-fixtures';

export const proceedSignal = defineSignal('proceed');

const activities = proxyActivities<FixtureActivities>({ startToCloseTimeout: '10 seconds' });

export async function opsStepsWorkflow(key: string): Promise<string> {
  let proceed = false;
  setHandler(proceedSignal, () => void (proceed = true));
  await activities.fixtureFlaky(`${key}:prepare`);
  await condition(() => proceed);
  await activities.fixtureStep(`${key}:finish`);
  return 'done';
}

export async function opsFailingWorkflow(key: string): Promise<string> {
  await activities.fixtureStep(`${key}:prepare`);
  await activities.fixtureFlaky(key);
  return 'activated';
}
