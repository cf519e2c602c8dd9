import { z } from 'zod';
import { closeCorrelation, registerCorrelation } from '../../db/external';
import { defineServiceTask, type ExternalDependencies } from './service-task';
import { partnerId } from './wire';

/**
 * Service-task activities that subscribe an instance to a service's network alarms: after
 * `alarms.watch`, each alarm about the service arrives as the BPMN message `alarm.raised` or
 * `alarm.cleared` (correlation key = the service id), until `alarms.unwatch`. Nothing is called:
 * the alarm feed pushes every alarm, and Keyflow routes it.
 */
export function createAlarmActivities(deps: Pick<ExternalDependencies, 'pool' | 'logger'>) {
  const input = z.object({ serviceId: partnerId });
  return {
    'alarms.watch': defineServiceTask('alarms.watch', input, deps, async ({ serviceId }, call) => {
      await registerCorrelation(deps.pool, { system: 'alarms', correlationId: serviceId, workflowId: call.workflowId, idempotencyKey: call.idempotencyKey });
      call.logger.info({ serviceId }, 'watching alarms');
      return { watchedServiceId: serviceId };
    }),
    'alarms.unwatch': defineServiceTask('alarms.unwatch', input, deps, async ({ serviceId }, call) => {
      await closeCorrelation(deps.pool, 'alarms', serviceId, call.workflowId);
      return {};
    }),
  };
}
