import { z } from 'zod';
import { registerCorrelation } from '../../db/external';
import type { Logger } from '../../runtime/logger';
import { callPartner, callOptions, type CallOptions, type PartnerEndpoint } from './http';
import { callbackUrlFor, endpointFor } from './endpoints';
import { defineServiceTask, once, type ExternalDependencies } from './service-task';
import {
  activateRequest,
  activateResponse,
  partnerId,
  reserveRequest,
  reserveResponse,
  serviceChangeRequest,
  serviceStatusResponse,
} from './wire';

export type ServiceChange = 'suspend' | 'resume' | 'release';

/**
 * The provisioning / network management system (网管): reserve resources, activate a service
 * (asynchronous: accepted now, completed by a callback), suspend, resume, release, query.
 */
export function createProvisioningClient(endpoint: PartnerEndpoint, logger?: Logger) {
  const post = <S extends z.ZodTypeAny>(operation: string, path: string, body: unknown, response: S, options: CallOptions) =>
    callPartner(endpoint, { operation: `provisioning.${operation}`, method: 'POST', path, body, response, ...callOptions(options) }, logger);
  return {
    reserve: (request: z.input<typeof reserveRequest>, options: CallOptions) => post('reserve', '/reservations', reserveRequest.parse(request), reserveResponse, options),
    activate: (request: z.input<typeof activateRequest>, options: CallOptions) => post('activate', '/activations', activateRequest.parse(request), activateResponse, options),
    change: (change: ServiceChange, serviceId: string, request: z.input<typeof serviceChangeRequest>, options: CallOptions) =>
      post(change, `/services/${encodeURIComponent(serviceId)}/${change}`, serviceChangeRequest.parse(request), serviceStatusResponse, options),
    queryStatus: (serviceId: string, options: Partial<CallOptions> = {}) =>
      callPartner(endpoint, { operation: 'provisioning.queryStatus', method: 'GET', path: `/services/${encodeURIComponent(serviceId)}`, response: serviceStatusResponse, ...callOptions(options) }, logger),
  };
}

export type ProvisioningClient = ReturnType<typeof createProvisioningClient>;

const changeInput = z.object({ serviceId: partnerId, reason: z.string().min(1).max(500).optional() });

/**
 * Service-task activities (`kf:type="provisioning.…"`). `activate` records the instance as waiting
 * for the callback (correlated by this call's idempotency key) before it calls, so a completion
 * that arrives at once still finds it; the completion arrives as the BPMN message
 * `provisioning.result` with correlation key = the service id.
 */
export function createProvisioningActivities(deps: ExternalDependencies) {
  const client = once(() => createProvisioningClient(endpointFor(deps.config, 'provisioning'), deps.logger));
  const change = (name: ServiceChange) =>
    defineServiceTask(`provisioning.${name}`, changeInput, deps, async (input, call) => {
      const { body } = await client().change(name, input.serviceId, { reason: input.reason }, call);
      return { serviceId: body.serviceId, serviceStatus: body.status, serviceStatusChangedAt: body.changedAt };
    });
  return {
    'provisioning.reserve': defineServiceTask('provisioning.reserve', reserveRequest.strip(), deps, async (input, call) => {
      const { body } = await client().reserve(input, call);
      return { reservationId: body.reservationId, serviceId: body.serviceId, reservationExpiresAt: body.expiresAt };
    }),
    'provisioning.activate': defineServiceTask('provisioning.activate', activateRequest.omit({ callbackUrl: true }).strip(), deps, async (input, call) => {
      await registerCorrelation(deps.pool, { system: 'provisioning', correlationId: call.idempotencyKey, workflowId: call.workflowId, idempotencyKey: call.idempotencyKey });
      const callbackUrl = callbackUrlFor(deps.config, 'provisioning');
      const { body } = await client().activate({ ...input, ...(callbackUrl ? { callbackUrl } : {}) }, call);
      return { serviceId: body.serviceId, provisioningRequestId: body.requestId, provisioningStatus: body.status };
    }),
    'provisioning.suspend': change('suspend'),
    'provisioning.resume': change('resume'),
    'provisioning.release': change('release'),
    'provisioning.queryStatus': defineServiceTask('provisioning.queryStatus', z.object({ serviceId: partnerId }), deps, async (input, call) => {
      const { body } = await client().queryStatus(input.serviceId, call);
      return { serviceId: body.serviceId, serviceStatus: body.status, serviceStatusChangedAt: body.changedAt };
    }),
  };
}
