import { createBillingActivities } from './billing';
import type { ActivityDependencies } from './context';
import { createEchoActivities } from './echo';
import { createEngineActivities } from './engine';
import { createExternalActivities } from './external';
import { createOpsActivities } from './ops';

export type { ActivityDependencies } from './context';

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEchoActivities(deps),
    ...createEngineActivities(deps),
    ...createExternalActivities(deps),
    ...createOpsActivities(deps),
    ...createBillingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
