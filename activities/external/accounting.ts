import { z } from 'zod';
import type { Logger } from '../../runtime/logger';
import { callPartner, callOptions, type CallOptions, type PartnerEndpoint } from './http';
import { endpointFor } from './endpoints';
import { defineServiceTask, once, type ExternalDependencies } from './service-task';
import {
  adjustmentResponse,
  billingAccountResponse,
  closeBillingAccountRequest,
  invoiceResponse,
  openBillingAccountRequest,
  partnerId,
  postAdjustmentRequest,
  postInvoiceRequest,
} from './wire';

/** The accounting system (综合营帐): billing accounts, adjustments and invoices, in minor units. */
export function createAccountingClient(endpoint: PartnerEndpoint, logger?: Logger) {
  const post = <S extends z.ZodTypeAny>(operation: string, path: string, body: unknown, response: S, options: CallOptions) =>
    callPartner(endpoint, { operation: `accounting.${operation}`, method: 'POST', path, body, response, ...callOptions(options) }, logger);
  const account = (id: string) => `/billing-accounts/${encodeURIComponent(id)}`;
  return {
    openBillingAccount: (request: z.input<typeof openBillingAccountRequest>, options: CallOptions) =>
      post('openBillingAccount', '/billing-accounts', openBillingAccountRequest.parse(request), billingAccountResponse, options),
    closeBillingAccount: (billingAccountId: string, request: z.input<typeof closeBillingAccountRequest>, options: CallOptions) =>
      post('closeBillingAccount', `${account(billingAccountId)}/close`, closeBillingAccountRequest.parse(request), billingAccountResponse, options),
    postAdjustment: (billingAccountId: string, request: z.input<typeof postAdjustmentRequest>, options: CallOptions) =>
      post('postAdjustment', `${account(billingAccountId)}/adjustments`, postAdjustmentRequest.parse(request), adjustmentResponse, options),
    postInvoice: (billingAccountId: string, request: z.input<typeof postInvoiceRequest>, options: CallOptions) =>
      post('postInvoice', `${account(billingAccountId)}/invoices`, postInvoiceRequest.parse(request), invoiceResponse, options),
  };
}

export type AccountingClient = ReturnType<typeof createAccountingClient>;

const withAccount = { billingAccountId: partnerId };

/** Service-task activities (`kf:type="accounting.…"`). Amounts are integer minor units. */
export function createAccountingActivities(deps: ExternalDependencies) {
  const client = once(() => createAccountingClient(endpointFor(deps.config, 'accounting'), deps.logger));
  return {
    'accounting.openBillingAccount': defineServiceTask(
      'accounting.openBillingAccount',
      openBillingAccountRequest.omit({ name: true }).extend({ billingAccountName: z.string().min(1).max(200) }).strip(),
      deps,
      async ({ billingAccountName, ...input }, call) => {
        const { body } = await client().openBillingAccount({ ...input, name: billingAccountName }, call);
        return { billingAccountId: body.billingAccountId, billingAccountStatus: body.status };
      },
    ),
    'accounting.closeBillingAccount': defineServiceTask(
      'accounting.closeBillingAccount',
      closeBillingAccountRequest.extend(withAccount).strip(),
      deps,
      async ({ billingAccountId, ...input }, call) => {
        const { body } = await client().closeBillingAccount(billingAccountId, input, call);
        return { billingAccountId: body.billingAccountId, billingAccountStatus: body.status };
      },
    ),
    'accounting.postAdjustment': defineServiceTask(
      'accounting.postAdjustment',
      postAdjustmentRequest.extend(withAccount).strip(),
      deps,
      async ({ billingAccountId, ...input }, call) => {
        const { body } = await client().postAdjustment(billingAccountId, input, call);
        return { adjustmentId: body.adjustmentId, billingAccountBalanceMinor: body.balanceMinor };
      },
    ),
    'accounting.postInvoice': defineServiceTask(
      'accounting.postInvoice',
      postInvoiceRequest.innerType().extend(withAccount).strip(),
      deps,
      async ({ billingAccountId, ...input }, call) => {
        const { body } = await client().postInvoice(billingAccountId, input, call);
        return { accountingInvoiceId: body.invoiceId, billingAccountBalanceMinor: body.balanceMinor };
      },
    ),
  };
}
