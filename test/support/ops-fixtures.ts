import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

/**
 * Faults the fixture activity `fixtureFlaky` raises while its key is in here: a test "breaks the
 * outside system" by adding the key and "repairs it" by deleting it. The worker runs in the test's
 * own process, so the set is shared.
 */
export const injectedFaults = new Set<string>();

export const fixtureActivities = {
  async fixtureStep(step: string): Promise<string> {
    return step;
  },
  async fixtureFlaky(key: string): Promise<string> {
    if (injectedFaults.has(key)) throw ApplicationFailure.retryable(`provisioning timeout for ${key}`, 'ProvisioningTimeout');
    return key;
  },
};
export type FixtureActivities = typeof fixtureActivities;

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (message: string) => console.error(message) };

/** Keyflow's workflows plus the ops fixtures; `changed` uses the non-deterministic edit. */
export function bundleOpsFixtures(variant: 'original' | 'changed'): Promise<WorkflowBundle> {
  const workflowsPath = path.join(__dirname, 'workflows', ...(variant === 'changed' ? ['changed'] : []), 'index.ts');
  return bundleWorkflowCode({ workflowsPath, logger: quiet });
}

/** Compensations the ops BPMN fixtures ran, by business key (the saga's undo steps). */
export const compensated: string[] = [];

/** Service tasks of the ops BPMN fixtures; `opsProvision` fails while a fault is injected for the business key. */
export const bpmnFixtureActivities = {
  async opsReserve(): Promise<Record<string, unknown>> {
    return { reserved: true };
  },
  async opsRelease(request: { context: { businessKey: string } }): Promise<Record<string, unknown>> {
    compensated.push(request.context.businessKey);
    return {};
  },
  async opsProvision(request: { input: Record<string, unknown>; context: { businessKey: string } }): Promise<Record<string, unknown>> {
    if (injectedFaults.has(request.context.businessKey)) {
      throw ApplicationFailure.retryable(`provisioning timeout for ${request.context.businessKey}`, 'ProvisioningTimeout');
    }
    return { provisioned: true };
  },
};

