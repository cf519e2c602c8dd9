import { createBillingActivities } from './billing';
import type { ActivityDependencies } from './context';
import { createEchoActivities } from './echo';
import { createEngineActivities } from './engine';
import { createExternalActivities } from './external';
import { createMessageActivities } from './messages';
import { createOpsActivities } from './ops';
import { createOrderActivities } from './orders';
import { createSignalActivities } from './signals';
import { createCampaignActivities } from './campaigns';
import { createRetentionActivities } from './retention';
import { createSupervisionActivities } from './supervision';
import { createTicketActivities } from './tickets';

export type { ActivityDependencies } from './context';

/** Every activity the worker registers, built from its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createEchoActivities(deps),
    ...createEngineActivities(deps),
    ...createMessageActivities(deps),
    ...createExternalActivities(deps),
    ...createOpsActivities(deps),
    ...createBillingActivities(deps),
    ...createTicketActivities(deps),
    ...createOrderActivities(deps),
    ...createRetentionActivities(deps),
    ...createCampaignActivities(deps),
    ...createSignalActivities(),
    ...createSupervisionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
