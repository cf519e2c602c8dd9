import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  activateRequest,
  closeBillingAccountRequest,
  openBillingAccountRequest,
  postAdjustmentRequest,
  postInvoiceRequest,
  registerPaymentReferenceRequest,
  reserveRequest,
  sendEmailRequest,
  sendSmsRequest,
  serviceChangeRequest,
  usagePageQuery,
} from '../activities/external/wire';
import type { ExternalSystem } from '../workflows/external';
import type { CallbackSender } from './callbacks';
import type { EffectiveFaults } from './faults';
import type { Reply, SimService, SimulatorState } from './state';

export interface HandlerContext<B> {
  body: B;
  params: Record<string, string>;
  query: Record<string, unknown>;
  idempotencyKey?: string;
  faults: EffectiveFaults;
  /** Consumes one of this operation's `noCapacityNext` shortages; true when this request is one. */
  shortage?: () => boolean;
  now: Date;
}

export interface PartnerRoute {
  system: ExternalSystem;
  operation: string;
  method: 'get' | 'post';
  /** Express path below the system's prefix. */
  path: string;
  body?: z.ZodTypeAny;
  query?: z.ZodTypeAny;
  handle(context: HandlerContext<any>): Reply;
}

export interface SystemDependencies {
  state: SimulatorState;
  callbacks: CallbackSender;
  /** Delay before an activation's completion when no fault setting says otherwise. */
  callbackDelayMs: number;
}

/** The products the simulated network can provision, with the largest bandwidth each can take. */
export const simulatedProducts: Record<string, { maxMbps: number }> = {
  DIA: { maxMbps: 10_000 },
  'MPLS-VPN': { maxMbps: 10_000 },
  SDWAN: { maxMbps: 1_000 },
  'IDC-RACK': { maxMbps: 100_000 },
  '5G-SLICE': { maxMbps: 1_000 },
  'VOICE-TRUNK': { maxMbps: 100 },
};

export const refuse = (status: number, code: string, message: string): Reply => ({ status, body: { error: { code, message } } });

/** Every partner endpoint the simulator implements (sim/README.md documents each). */
export function partnerRoutes({ state, callbacks, callbackDelayMs }: SystemDependencies): PartnerRoute[] {
  const serviceView = (service: SimService) => ({
    serviceId: service.serviceId,
    customerId: service.customerId,
    productCode: service.productCode,
    status: service.status,
    changedAt: service.changedAt,
  });
  const change = (operation: 'suspend' | 'resume' | 'release', from: SimService['status'][], to: SimService['status']): PartnerRoute => ({
    system: 'provisioning',
    operation: `provisioning.${operation}`,
    method: 'post',
    path: `/services/:serviceId/${operation}`,
    body: serviceChangeRequest,
    handle: ({ params, now }) => {
      const service = state.services.get(params.serviceId!);
      if (!service) return refuse(404, 'SERVICE_NOT_FOUND', `no service ${params.serviceId}`);
      if (!from.includes(service.status)) return refuse(409, 'INVALID_STATE', `cannot ${operation} a service that is ${service.status}`);
      service.status = to;
      service.changedAt = now.toISOString();
      return { status: 200, body: serviceView(service) };
    },
  });
  const account = (id: string | undefined) => (id === undefined ? undefined : state.accounts.get(id));

  return [
    // --- provisioning ---
    {
      system: 'provisioning',
      operation: 'provisioning.reserve',
      method: 'post',
      path: '/reservations',
      body: reserveRequest,
      handle: ({ body, now, shortage }: HandlerContext<z.infer<typeof reserveRequest>>) => {
        const product = simulatedProducts[body.productCode];
        if (!product) return refuse(422, 'UNKNOWN_PRODUCT', `the network offers no product ${body.productCode}`);
        if (shortage?.()) return refuse(422, 'NO_CAPACITY', `no capacity at ${body.siteAddress ?? 'the site'} until the network is built out`);
        if ((body.bandwidthMbps ?? 0) > product.maxMbps) return refuse(422, 'NO_CAPACITY', `no capacity for ${body.bandwidthMbps} Mbps of ${body.productCode}`);
        const service: SimService = {
          serviceId: state.nextId('SVC'),
          customerId: body.customerId,
          productCode: body.productCode,
          status: 'reserved',
          changedAt: now.toISOString(),
          reservationId: state.nextId('RSV'),
        };
        state.services.set(service.serviceId, service);
        return {
          status: 201,
          body: { reservationId: service.reservationId, serviceId: service.serviceId, status: 'reserved', expiresAt: new Date(now.getTime() + 86_400_000).toISOString() },
        };
      },
    },
    {
      system: 'provisioning',
      operation: 'provisioning.activate',
      method: 'post',
      path: '/activations',
      body: activateRequest,
      handle: ({ body, idempotencyKey, faults, now }: HandlerContext<z.infer<typeof activateRequest>>) => {
        if (!simulatedProducts[body.productCode]) return refuse(422, 'UNKNOWN_PRODUCT', `the network offers no product ${body.productCode}`);
        let service = state.services.get(body.serviceId);
        if (body.reservationId && service?.reservationId !== body.reservationId) {
          return refuse(404, 'RESERVATION_NOT_FOUND', `no reservation ${body.reservationId} for service ${body.serviceId}`);
        }
        if (service && !['reserved', 'failed'].includes(service.status)) return refuse(409, 'INVALID_STATE', `service ${service.serviceId} is ${service.status}`);
        if (!service) {
          service = { serviceId: body.serviceId, customerId: body.customerId, productCode: body.productCode, status: 'activating', changedAt: now.toISOString() };
          state.services.set(service.serviceId, service);
        }
        service.status = 'activating';
        service.changedAt = now.toISOString();
        const requestId = state.nextId('ACT');
        planActivation(service, requestId, idempotencyKey!, body.callbackUrl, faults);
        return { status: 202, body: { requestId, serviceId: service.serviceId, status: 'accepted' } };
      },
    },
    change('suspend', ['active'], 'suspended'),
    change('resume', ['suspended'], 'active'),
    change('release', ['reserved', 'activating', 'active', 'suspended', 'failed'], 'released'),
    {
      system: 'provisioning',
      operation: 'provisioning.queryStatus',
      method: 'get',
      path: '/services/:serviceId',
      handle: ({ params }) => {
        const service = state.services.get(params.serviceId!);
        return service ? { status: 200, body: serviceView(service) } : refuse(404, 'SERVICE_NOT_FOUND', `no service ${params.serviceId}`);
      },
    },

    // --- accounting ---
    {
      system: 'accounting',
      operation: 'accounting.openBillingAccount',
      method: 'post',
      path: '/billing-accounts',
      body: openBillingAccountRequest,
      handle: ({ body }: HandlerContext<z.infer<typeof openBillingAccountRequest>>) => {
        const created = { billingAccountId: state.nextId('BA'), customerId: body.customerId, name: body.name, currency: body.currency, status: 'open' as const, balanceMinor: 0 };
        state.accounts.set(created.billingAccountId, { ...created, invoiceNumbers: new Set() });
        return { status: 201, body: { billingAccountId: created.billingAccountId, customerId: created.customerId, status: created.status, currency: created.currency, balanceMinor: 0 } };
      },
    },
    {
      system: 'accounting',
      operation: 'accounting.closeBillingAccount',
      method: 'post',
      path: '/billing-accounts/:billingAccountId/close',
      body: closeBillingAccountRequest,
      handle: ({ params }) => {
        const found = account(params.billingAccountId);
        if (!found) return refuse(404, 'ACCOUNT_NOT_FOUND', `no billing account ${params.billingAccountId}`);
        if (found.status === 'closed') return refuse(409, 'ACCOUNT_CLOSED', `billing account ${found.billingAccountId} is already closed`);
        if (found.balanceMinor !== 0) return refuse(409, 'BALANCE_OUTSTANDING', `billing account ${found.billingAccountId} has a balance of ${found.balanceMinor}`);
        found.status = 'closed';
        return { status: 200, body: { billingAccountId: found.billingAccountId, customerId: found.customerId, status: 'closed', currency: found.currency, balanceMinor: 0 } };
      },
    },
    {
      system: 'accounting',
      operation: 'accounting.postAdjustment',
      method: 'post',
      path: '/billing-accounts/:billingAccountId/adjustments',
      body: postAdjustmentRequest,
      handle: ({ params, body }: HandlerContext<z.infer<typeof postAdjustmentRequest>>) => {
        const found = account(params.billingAccountId);
        if (!found) return refuse(404, 'ACCOUNT_NOT_FOUND', `no billing account ${params.billingAccountId}`);
        if (found.status === 'closed') return refuse(409, 'ACCOUNT_CLOSED', `billing account ${found.billingAccountId} is closed`);
        if (found.currency !== body.currency) return refuse(422, 'CURRENCY_MISMATCH', `billing account ${found.billingAccountId} is in ${found.currency}`);
        found.balanceMinor += body.amountMinor;
        return { status: 201, body: { adjustmentId: state.nextId('ADJ'), billingAccountId: found.billingAccountId, balanceMinor: found.balanceMinor } };
      },
    },
    {
      system: 'accounting',
      operation: 'accounting.postInvoice',
      method: 'post',
      path: '/billing-accounts/:billingAccountId/invoices',
      body: postInvoiceRequest,
      handle: ({ params, body }: HandlerContext<z.infer<typeof postInvoiceRequest>>) => {
        const found = account(params.billingAccountId);
        if (!found) return refuse(404, 'ACCOUNT_NOT_FOUND', `no billing account ${params.billingAccountId}`);
        if (found.status === 'closed') return refuse(409, 'ACCOUNT_CLOSED', `billing account ${found.billingAccountId} is closed`);
        if (found.currency !== body.currency) return refuse(422, 'CURRENCY_MISMATCH', `billing account ${found.billingAccountId} is in ${found.currency}`);
        if (found.invoiceNumbers.has(body.invoiceNumber)) return refuse(409, 'DUPLICATE_INVOICE', `invoice ${body.invoiceNumber} was posted before`);
        found.invoiceNumbers.add(body.invoiceNumber);
        found.balanceMinor += body.amountMinor + body.taxMinor;
        return { status: 201, body: { invoiceId: state.nextId('INV'), invoiceNumber: body.invoiceNumber, billingAccountId: found.billingAccountId, balanceMinor: found.balanceMinor } };
      },
    },

    // --- notify ---
    {
      system: 'notify',
      operation: 'notify.sendSms',
      method: 'post',
      path: '/sms',
      body: sendSmsRequest,
      handle: ({ body }: HandlerContext<z.infer<typeof sendSmsRequest>>) => {
        if (body.to.endsWith('0000')) return refuse(422, 'RECIPIENT_UNREACHABLE', `${body.to} cannot receive messages`);
        return { status: 202, body: { messageId: state.nextId('SMS'), segments: smsSegments(body.text) } };
      },
    },
    {
      system: 'notify',
      operation: 'notify.sendEmail',
      method: 'post',
      path: '/email',
      body: sendEmailRequest,
      handle: ({ body }: HandlerContext<z.infer<typeof sendEmailRequest>>) => {
        if (body.to.endsWith('@unreachable.example')) return refuse(422, 'RECIPIENT_UNREACHABLE', `${body.to} cannot receive messages`);
        return { status: 202, body: { messageId: state.nextId('EML') } };
      },
    },

    // --- bank ---
    {
      system: 'bank',
      operation: 'bank.registerPaymentReference',
      method: 'post',
      path: '/payment-references',
      body: registerPaymentReferenceRequest,
      handle: ({ body, idempotencyKey }: HandlerContext<z.infer<typeof registerPaymentReferenceRequest>>) => {
        if (state.references.has(body.reference)) return refuse(409, 'REFERENCE_IN_USE', `reference ${body.reference} is registered already`);
        state.references.set(body.reference, { reference: body.reference, billingAccountId: body.billingAccountId, amountMinor: body.amountMinor, currency: body.currency, idempotencyKey: idempotencyKey! });
        return { status: 201, body: { reference: body.reference, status: 'registered', virtualAccount: `6222${state.nextId('VA').slice(2).padStart(12, '0')}` } };
      },
    },

    // --- usage feed ---
    {
      system: 'usage',
      operation: 'usage.listRecords',
      method: 'get',
      path: '/records',
      query: usagePageQuery,
      handle: ({ query }: HandlerContext<unknown>) => {
        const { after, limit } = usagePageQuery.parse(query);
        // A record's cursor is its position (from 1): the feed only ever appends.
        const from = after === undefined ? 0 : Number(after);
        const records = state.usage.slice(from, from + limit);
        return { status: 200, body: { records, nextCursor: records.length > 0 ? records[records.length - 1]!.cursor : (after ?? null) } };
      },
    },
  ];

  /**
   * Plans an activation's callbacks: a progress event (sequence 1) and the final one (sequence 2),
   * delayed; sometimes in the wrong order, sometimes the final one twice, sometimes none at all —
   * as the fault settings say. The service changes state when the final event is due, sent or not.
   */
  function planActivation(service: SimService, requestId: string, idempotencyKey: string, callbackUrl: string | undefined, faults: EffectiveFaults): void {
    const delay = faults.callbackDelayMs ?? callbackDelayMs;
    const failed = state.random() < faults.activationFailureRate;
    const lost = state.random() < faults.loseCallbackRate;
    const outOfOrder = state.random() < faults.outOfOrderCallbackRate;
    const duplicate = state.random() < faults.duplicateCallbackRate;
    const event = (status: 'in_progress' | 'completed' | 'failed', sequence: number) => ({
      eventId: `evt-${randomUUID()}`,
      requestId,
      idempotencyKey,
      serviceId: service.serviceId,
      status,
      sequence,
      occurredAt: new Date().toISOString(),
      ...(status === 'failed' ? { reason: { code: 'PORT_UNAVAILABLE', message: 'no free port on the access switch' } } : {}),
    });
    const progress = event('in_progress', 1);
    const final = event(failed ? 'failed' : 'completed', 2);
    const [first, second] = outOfOrder ? [final, progress] : [progress, final];
    const finalAt = outOfOrder ? Math.floor(delay / 2) : delay;
    callbacks.scheduleAction(finalAt, () => {
      service.status = failed ? 'failed' : 'active';
      service.changedAt = new Date().toISOString();
      final.occurredAt = service.changedAt;
    });
    if (lost) return;
    callbacks.schedule('provisioning', callbackUrl, first, Math.floor(delay / 2));
    callbacks.schedule('provisioning', callbackUrl, second, delay);
    if (duplicate) callbacks.schedule('provisioning', callbackUrl, final, delay + Math.max(50, Math.floor(delay / 2)), 2);
  }
}

/** GSM-7 text fits 160 characters (153 per part); anything else, Chinese included, 70 (67). */
export function smsSegments(text: string): number {
  const chars = [...text].length;
  const gsm = /^[\x20-\x7e\n\r]*$/.test(text);
  const single = gsm ? 160 : 70;
  const part = gsm ? 153 : 67;
  return chars <= single ? 1 : Math.ceil(chars / part);
}
