import type { ActivityDependencies } from './context';
import { createEchoActivities } from './echo';
import { createEngineActivities } from './engine';

export type { ActivityDependencies } from './context';

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEchoActivities(deps),
    ...createEngineActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
