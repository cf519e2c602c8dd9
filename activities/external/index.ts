import type { DatabasePool } from 'slonik';
import type { Config } from '../../runtime/config';
import type { Logger } from '../../runtime/logger';
import { createAccountingActivities } from './accounting';
import { createAlarmActivities } from './alarms';
import { createBankActivities } from './bank';
import { callbackUrlFor, endpointFor } from './endpoints';
import { createNotifyActivities } from './notify';
import { createProvisioningActivities } from './provisioning';

export { endpointFor, simulatorUrl } from './endpoints';
export { ExternalCallError, type PartnerEndpoint } from './http';

/**
 * Every external-system activity, registered under its service-task name (`kf:type`), each built
 * from config: base URL (the simulator's when unset), bearer token and per-attempt timeout.
 */
export function createExternalActivities(deps: { config: Config; pool: DatabasePool; logger: Logger }) {
  const { config, pool } = deps;
  const logger = deps.logger.child({ component: 'external' });
  return {
    ...createProvisioningActivities({ endpoint: endpointFor(config, 'provisioning'), callbackUrl: callbackUrlFor(config, 'provisioning'), pool, logger }),
    ...createAccountingActivities({ endpoint: endpointFor(config, 'accounting'), logger }),
    ...createNotifyActivities({ endpoint: endpointFor(config, 'notify'), logger }),
    ...createBankActivities({ endpoint: endpointFor(config, 'bank'), pool, logger }),
    ...createAlarmActivities({ pool, logger }),
  };
}

export type ExternalActivities = ReturnType<typeof createExternalActivities>;
