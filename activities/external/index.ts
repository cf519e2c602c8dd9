import { createAccountingActivities } from './accounting';
import { createAlarmActivities } from './alarms';
import { createBankActivities } from './bank';
import { createNotifyActivities } from './notify';
import { createProvisioningActivities } from './provisioning';
import type { ExternalDependencies } from './service-task';

export { endpointFor, simulatorUrl } from './endpoints';
export { ExternalCallError, type PartnerEndpoint } from './http';
export type { ExternalDependencies } from './service-task';

/**
 * Every external-system activity, registered under its service-task name (`kf:type`), each built
 * from config: base URL (the simulator's when unset), bearer token and per-attempt timeout. Building
 * reads nothing; the first call of each system does.
 */
export function createExternalActivities(deps: ExternalDependencies) {
  return {
    ...createProvisioningActivities(deps),
    ...createAccountingActivities(deps),
    ...createNotifyActivities(deps),
    ...createBankActivities(deps),
    ...createAlarmActivities(deps),
  };
}

export type ExternalActivities = ReturnType<typeof createExternalActivities>;
