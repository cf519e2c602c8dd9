// Small hand-written workflows for the ops tests: they exercise the generic Temporal operations
// (timeline, reset, terminate, replay check) without the BPMN interpreter. Their activities are
// test fixtures registered by the test's worker (test/support/ops-fixtures.ts).
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { FixtureActivities } from '../ops-fixtures';

export const proceedSignal = defineSignal('proceed');

function nodeActivities(nodeId: string, maximumAttempts = 2) {
  // The activity id carries the node, as the interpreter's do: `<nodeId>/<loop counter>`.
  return proxyActivities<FixtureActivities>({
    activityId: `${nodeId}/0`,
    startToCloseTimeout: '10 seconds',
    retry: { maximumAttempts, initialInterval: '50 milliseconds' },
  });
}

/** prepare → (wait for `proceed`) → finish: a running instance with a step behind it. */
export async function opsStepsWorkflow(key: string): Promise<string> {
  let proceed = false;
  setHandler(proceedSignal, () => void (proceed = true));
  await nodeActivities('prepare').fixtureStep(`${key}:prepare`);
  await condition(() => proceed);
  await nodeActivities('finish').fixtureStep(`${key}:finish`);
  return 'done';
}

/** prepare → activate (fails while the fault for `key` is set) → done; fails when retries run out. */
export async function opsFailingWorkflow(key: string): Promise<string> {
  await nodeActivities('prepare').fixtureStep(`${key}:prepare`);
  await nodeActivities('activate').fixtureFlaky(key);
  return 'activated';
}
