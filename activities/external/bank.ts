import { createHash } from 'node:crypto';
import { z } from 'zod';
import { registerCorrelation } from '../../db/external';
import type { Logger } from '../../runtime/logger';
import { callPartner, callOptions, type CallOptions, type PartnerEndpoint } from './http';
import { endpointFor } from './endpoints';
import { defineServiceTask, once, type ExternalDependencies } from './service-task';
import { paymentReferenceResponse, registerPaymentReferenceRequest } from './wire';

/** The bank: registers the references customers pay with; reports payments by callback. */
export function createBankClient(endpoint: PartnerEndpoint, logger?: Logger) {
  return {
    registerPaymentReference: (request: z.input<typeof registerPaymentReferenceRequest>, options: CallOptions) =>
      callPartner(
        endpoint,
        {
          operation: 'bank.registerPaymentReference',
          method: 'POST',
          path: '/payment-references',
          body: registerPaymentReferenceRequest.parse(request),
          response: paymentReferenceResponse,
          ...callOptions(options),
        },
        logger,
      ),
  };
}

export type BankClient = ReturnType<typeof createBankClient>;

/**
 * A payment reference derived from the idempotency key: the same on every retry, 20 characters
 * the bank accepts, different for every task execution.
 */
export function paymentReferenceFor(idempotencyKey: string): string {
  return `KF${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 18).toUpperCase()}`;
}

/**
 * Service-task activity `bank.registerPaymentReference`. The instance is recorded as waiting for
 * payments on the reference before the bank hears of it; each payment arrives as the BPMN
 * message `bank.paymentReceived` with correlation key = the reference.
 */
export function createBankActivities(deps: ExternalDependencies) {
  const client = once(() => createBankClient(endpointFor(deps.config, 'bank'), deps.logger));
  return {
    'bank.registerPaymentReference': defineServiceTask(
      'bank.registerPaymentReference',
      registerPaymentReferenceRequest.partial({ reference: true }).strip(),
      deps,
      async (input, call) => {
        const reference = input.reference ?? paymentReferenceFor(call.idempotencyKey);
        await registerCorrelation(deps.pool, { system: 'bank', correlationId: reference, workflowId: call.workflowId, idempotencyKey: call.idempotencyKey });
        const { body } = await client().registerPaymentReference({ ...input, reference }, call);
        return { paymentReference: body.reference, virtualAccount: body.virtualAccount };
      },
    ),
  };
}
