/**
 * The integration contract of the external systems (sim/README.md), run through Keyflow's own
 * adapters. By default against the simulator `keyflow test` started; point it at any other
 * implementation with
 *
 *   KEYFLOW_CONTRACT_URL=https://partner.example   (systems under /provisioning/v1, /accounting/v1, …)
 *   KEYFLOW_CONTRACT_<SYSTEM>_URL=…                 (one system elsewhere, version prefix included)
 *   KEYFLOW_CONTRACT_<SYSTEM>_TOKEN=…               (its bearer token)
 *   KEYFLOW_CONTRACT_PRODUCT=DIA                    (a product code the network provisions)
 *
 * Tests that need the simulator's control API (ledger, fault injection, seeded usage) run only
 * against the simulator; the rest is what any implementation must do.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createAccountingClient } from '../../../activities/external/accounting';
import { createBankClient } from '../../../activities/external/bank';
import { simulatorUrl } from '../../../activities/external/endpoints';
import { callPartner, ExternalCallError, type PartnerEndpoint } from '../../../activities/external/http';
import { createNotifyClient } from '../../../activities/external/notify';
import { createProvisioningClient } from '../../../activities/external/provisioning';
import { usagePage } from '../../../activities/external/wire';
import { loadConfig } from '../../../runtime/config';
import { simControlHeaders } from '../../support/external';
import { bpmnErrorType } from '../../../workflows/contracts';
import { externalErrorTypes, type ExternalSystem } from '../../../workflows/external';
import { simControl } from '../../support/external';

const env = process.env;
const againstSimulator = !env.KEYFLOW_CONTRACT_URL;
const simBase = env.KEYFLOW_CONTRACT_URL ?? simulatorUrl(loadConfig(env));
const product = env.KEYFLOW_CONTRACT_PRODUCT ?? 'DIA';

function endpoint(system: ExternalSystem, timeoutMs = 5_000): PartnerEndpoint {
  const upper = system.toUpperCase();
  return {
    system,
    baseUrl: (env[`KEYFLOW_CONTRACT_${upper}_URL`] ?? `${simBase}/${system}/v1`).replace(/\/+$/, ''),
    token: env[`KEYFLOW_CONTRACT_${upper}_TOKEN`] ?? (againstSimulator ? env[`KEYFLOW_${upper}_TOKEN`] : undefined),
    timeoutMs,
  };
}

const simOnly = againstSimulator ? it : it.skip;
const sim = simControl(simBase);
/** Every key of this run starts with it, so reruns against a long-lived system never collide. */
const run = `contract-${randomUUID()}`;
let counter = 0;
const key = (name: string) => `${run}/${name}/${++counter}`;

async function failure(promise: Promise<unknown>): Promise<ExternalCallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExternalCallError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

const provisioning = createProvisioningClient(endpoint('provisioning'));
const accounting = createAccountingClient(endpoint('accounting'));
const notify = createNotifyClient(endpoint('notify'));
const bank = createBankClient(endpoint('bank'));

afterEach(async () => {
  if (againstSimulator) await sim.clearFaults();
});

describe('contract: every system', () => {
  const guarded = (
    [
      ['provisioning', '/reservations'],
      ['accounting', '/billing-accounts'],
      ['notify', '/sms'],
      ['bank', '/payment-references'],
    ] as const
  ).filter(([system]) => endpoint(system).token);
  // Only systems we hold a token for can show that another one is refused.
  (guarded.length > 0 ? it.each(guarded) : it.skip.each([['(no token configured)', '']] as const))('%s refuses a request with a wrong token with 401 (ExternalUnauthorized, not retried)', async (system, path) => {
    const target = endpoint(system as ExternalSystem);
    const error = await failure(
      callPartner({ ...target, token: 'not-the-token' }, { operation: `${system}.probe`, method: 'POST', path, body: {}, idempotencyKey: key('auth'), response: z.unknown() }),
    );
    expect(error.type).toBe(externalErrorTypes.unauthorized);
    expect(error.info).toMatchObject({ status: 401, retryable: false });
  });

  it('refuses a POST without an Idempotency-Key with 400', async () => {
    const target = endpoint('accounting');
    const response = await fetch(`${target.baseUrl}/billing-accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
      body: JSON.stringify({ customerId: 'C1', name: 'x', currency: 'CNY', billingCycleDay: 1 }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('IDEMPOTENCY_KEY_MISSING');
  });

  it('answers a malformed body with 400 VALIDATION_FAILED naming the fields (ExternalInvalidRequest, not retried)', async () => {
    const error = await failure(
      callPartner(endpoint('accounting'), {
        operation: 'accounting.openBillingAccount',
        method: 'POST',
        path: '/billing-accounts',
        body: { customerId: 'C1', currency: 'yuan', billingCycleDay: 31 },
        idempotencyKey: key('invalid'),
        response: z.unknown(),
      }),
    );
    expect(error.type).toBe(externalErrorTypes.invalidRequest);
    expect(error.info).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', retryable: false });
    expect(error.info.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'currency' }), expect.objectContaining({ field: 'name' })]));
  });

  it('refuses the same idempotency key with a different request (409 IDEMPOTENCY_KEY_REUSED → ExternalIdempotencyConflict)', async () => {
    const reused = key('reused');
    await accounting.openBillingAccount({ customerId: 'C-REUSE', name: '甲公司', currency: 'CNY', billingCycleDay: 1 }, { idempotencyKey: reused });
    const error = await failure(accounting.openBillingAccount({ customerId: 'C-REUSE', name: '乙公司', currency: 'CNY', billingCycleDay: 1 }, { idempotencyKey: reused }));
    expect(error.type).toBe(externalErrorTypes.idempotencyConflict);
    expect(error.info.retryable).toBe(false);
  });
});

describe('contract: provisioning', () => {
  it('reserves once per idempotency key: a retry answers the first reservation', async () => {
    const reservationKey = key('reserve');
    const first = await provisioning.reserve({ customerId: 'C-1001', productCode: product, bandwidthMbps: 100 }, { idempotencyKey: reservationKey });
    const retry = await provisioning.reserve({ customerId: 'C-1001', productCode: product, bandwidthMbps: 100 }, { idempotencyKey: reservationKey });

    expect(first.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(first.body).toMatchObject({ status: 'reserved', serviceId: expect.any(String), reservationId: expect.any(String) });
    if (againstSimulator) {
      expect(retry.replayed).toBe(true);
      expect((await sim.ledger({ idempotencyKey: reservationKey })).count).toBe(1);
    }
  });

  it('refuses an unknown product as a business refusal (422 UNKNOWN_PRODUCT → BpmnError)', async () => {
    const error = await failure(provisioning.reserve({ customerId: 'C-1001', productCode: 'NO-SUCH-PRODUCT' }, { idempotencyKey: key('unknown-product') }));
    expect(error.type).toBe(bpmnErrorType);
    expect(error.info).toMatchObject({ status: 422, code: 'UNKNOWN_PRODUCT', retryable: false });
  });

  it('accepts an activation (202), then reports the service activating or active', async () => {
    const reservation = await provisioning.reserve({ customerId: 'C-1002', productCode: product }, { idempotencyKey: key('reserve') });
    const activationKey = key('activate');
    const accepted = await provisioning.activate(
      { serviceId: reservation.body.serviceId, reservationId: reservation.body.reservationId, customerId: 'C-1002', productCode: product },
      { idempotencyKey: activationKey },
    );
    const again = await provisioning.activate(
      { serviceId: reservation.body.serviceId, reservationId: reservation.body.reservationId, customerId: 'C-1002', productCode: product },
      { idempotencyKey: activationKey },
    );
    const status = await provisioning.queryStatus(reservation.body.serviceId);

    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'accepted', serviceId: reservation.body.serviceId });
    expect(again.body.requestId).toBe(accepted.body.requestId);
    expect(['activating', 'active']).toContain(status.body.status);
  });

  it('refuses to suspend a service that is not active (409 INVALID_STATE → BpmnError) and names an unknown one 404', async () => {
    const reservation = await provisioning.reserve({ customerId: 'C-1003', productCode: product }, { idempotencyKey: key('reserve') });
    const refused = await failure(provisioning.change('suspend', reservation.body.serviceId, {}, { idempotencyKey: key('suspend') }));
    const missing = await failure(provisioning.queryStatus(`NO-SUCH-SERVICE-${counter}`));

    expect(refused.type).toBe(bpmnErrorType);
    expect(refused.info).toMatchObject({ status: 409, code: 'INVALID_STATE' });
    expect(missing.type).toBe(externalErrorTypes.notFound);
    expect(missing.info.retryable).toBe(false);
  });

  simOnly('suspends, resumes and releases an active service, each once per key', async () => {
    await sim.setFaults({ 'provisioning.activate': { callbackDelayMs: 0 } });
    const serviceId = `SVC-${run.slice(-12)}-${counter}`;
    await provisioning.activate({ serviceId, customerId: 'C-1004', productCode: product }, { idempotencyKey: key('activate') });
    await waitFor(async () => (await provisioning.queryStatus(serviceId)).body.status === 'active');

    const suspendKey = key('suspend');
    expect((await provisioning.change('suspend', serviceId, { reason: '欠费' }, { idempotencyKey: suspendKey })).body.status).toBe('suspended');
    expect((await provisioning.change('suspend', serviceId, { reason: '欠费' }, { idempotencyKey: suspendKey })).body.status).toBe('suspended');
    expect((await provisioning.change('resume', serviceId, {}, { idempotencyKey: key('resume') })).body.status).toBe('active');
    expect((await provisioning.change('release', serviceId, {}, { idempotencyKey: key('release') })).body.status).toBe('released');
    expect((await sim.ledger({ idempotencyKey: suspendKey })).count).toBe(1);
  });
});

describe('contract: accounting', () => {
  it('opens an account, posts an invoice and adjustments in minor units, and closes it only at a zero balance', async () => {
    const opened = await accounting.openBillingAccount({ customerId: 'C-2001', name: '广州某某科技有限公司', currency: 'CNY', billingCycleDay: 1 }, { idempotencyKey: key('open') });
    const id = opened.body.billingAccountId;
    const invoiced = await accounting.postInvoice(
      id,
      { invoiceNumber: `INV-${counter}-${run.slice(-8)}`, periodStart: '2025-01-01', periodEnd: '2025-01-31', amountMinor: 1_234_56, taxMinor: 7_407, currency: 'CNY', dueDate: '2025-02-20' },
      { idempotencyKey: key('invoice') },
    );
    const refused = await failure(accounting.closeBillingAccount(id, {}, { idempotencyKey: key('close') }));
    const credited = await accounting.postAdjustment(id, { amountMinor: -(1_234_56 + 7_407), currency: 'CNY', reason: '结清' }, { idempotencyKey: key('adjust') });
    const closed = await accounting.closeBillingAccount(id, { reason: 'contract ended' }, { idempotencyKey: key('close') });

    expect(opened.body).toMatchObject({ status: 'open', balanceMinor: 0, currency: 'CNY' });
    expect(invoiced.body.balanceMinor).toBe(1_234_56 + 7_407);
    expect(refused.type).toBe(bpmnErrorType);
    expect(refused.info).toMatchObject({ status: 409, code: 'BALANCE_OUTSTANDING' });
    expect(credited.body.balanceMinor).toBe(0);
    expect(closed.body.status).toBe('closed');
  });

  it('refuses an adjustment in another currency (422 CURRENCY_MISMATCH) and an unknown account (404)', async () => {
    const opened = await accounting.openBillingAccount({ customerId: 'C-2002', name: 'Acme Ltd', currency: 'CNY', billingCycleDay: 15 }, { idempotencyKey: key('open') });
    const mismatch = await failure(accounting.postAdjustment(opened.body.billingAccountId, { amountMinor: 100, currency: 'USD', reason: 'x' }, { idempotencyKey: key('adjust') }));
    const unknown = await failure(accounting.postAdjustment(`NO-SUCH-${counter}`, { amountMinor: 100, currency: 'CNY', reason: 'x' }, { idempotencyKey: key('adjust') }));

    expect(mismatch.info).toMatchObject({ status: 422, code: 'CURRENCY_MISMATCH' });
    expect(mismatch.type).toBe(bpmnErrorType);
    expect(unknown.type).toBe(externalErrorTypes.notFound);
  });
});

describe('contract: notify', () => {
  it('sends an SMS in Chinese and counts its segments, and an e-mail', async () => {
    const sms = await notify.sendSms({ to: '+8613800138000', text: '【Keyflow】尊敬的客户，您的业务已开通。' }, { idempotencyKey: key('sms') });
    const long = await notify.sendSms({ to: '+8613800138000', text: '开'.repeat(71) }, { idempotencyKey: key('sms') });
    const email = await notify.sendEmail({ to: 'it@customer.example', subject: 'Service activated', text: 'Your service is active.' }, { idempotencyKey: key('email') });

    expect(sms.body.segments).toBe(1);
    expect(long.body.segments).toBe(2);
    expect(email.body.messageId).toEqual(expect.any(String));
  });

  simOnly('refuses a number that cannot receive messages (422 RECIPIENT_UNREACHABLE → BpmnError)', async () => {
    const error = await failure(notify.sendSms({ to: '+8613800000000', text: 'hello' }, { idempotencyKey: key('sms') }));
    expect(error.type).toBe(bpmnErrorType);
    expect(error.info.code).toBe('RECIPIENT_UNREACHABLE');
  });
});

describe('contract: bank', () => {
  it('registers a payment reference once per key and refuses it under another key (409 REFERENCE_IN_USE)', async () => {
    const reference = `KF${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
    const request = { reference, billingAccountId: 'BA-3001', amountMinor: 50_000, currency: 'CNY', dueDate: '2025-03-01' };
    const registerKey = key('register');
    const first = await bank.registerPaymentReference(request, { idempotencyKey: registerKey });
    const retry = await bank.registerPaymentReference(request, { idempotencyKey: registerKey });
    const other = await failure(bank.registerPaymentReference(request, { idempotencyKey: key('register') }));

    expect(first.body).toMatchObject({ reference, status: 'registered', virtualAccount: expect.any(String) });
    expect(retry.body).toEqual(first.body);
    expect(other.type).toBe(bpmnErrorType);
    expect(other.info.code).toBe('REFERENCE_IN_USE');
  });
});

describe('contract: usage feed', () => {
  it('pages through records in order with a cursor', async () => {
    const target = endpoint('usage');
    if (againstSimulator) {
      await fetch(`${simBase}/sim/usage/generate`, {
        method: 'POST',
        headers: { ...simControlHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify({ serviceNumber: '8613800138000', count: 25, from: '2025-01-01T00:00:00+08:00', to: '2025-02-01T00:00:00+08:00' }),
      });
    }
    const page = (after?: string) => callPartner(target, { operation: 'usage.listRecords', method: 'GET', path: '/records', query: { after, limit: '10' }, response: usagePage });

    const first = await page();
    const second = await page(first.body.nextCursor ?? undefined);

    expect(first.body.records.length).toBeLessThanOrEqual(10);
    if (first.body.records.length > 0) expect(first.body.nextCursor).toBe(first.body.records[first.body.records.length - 1]!.cursor);
    const cursors = [...first.body.records, ...second.body.records].map((record) => Number(record.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    expect(new Set(cursors).size).toBe(cursors.length);
  });

  simOnly('answers a read past the end with no records and the same cursor', async () => {
    const target = endpoint('usage');
    const response = await callPartner(target, { operation: 'usage.listRecords', method: 'GET', path: '/records', query: { after: '999999999' }, response: usagePage });
    expect(response.body).toEqual({ records: [], nextCursor: '999999999' });
  });
});

describe('contract: how failures are classified (simulator faults)', () => {
  const open = (timeoutMs = 5_000) =>
    createAccountingClient(endpoint('accounting', timeoutMs)).openBillingAccount({ customerId: 'C-FAULT', name: 'Fault Ltd', currency: 'CNY', billingCycleDay: 1 }, { idempotencyKey: key('fault') });

  simOnly.each([500, 502, 503, 504] as const)('%i is ExternalUnavailable and retryable', async (status) => {
    await sim.setFaults({ 'accounting.openBillingAccount': { failNext: 1, errorStatuses: [status] } });
    const error = await failure(open());
    expect(error.type).toBe(externalErrorTypes.unavailable);
    expect(error.info).toMatchObject({ status, retryable: true });
  });

  simOnly('429 is ExternalRateLimited, retryable, carrying Retry-After in milliseconds', async () => {
    await sim.setFaults({ 'accounting.*': { failNext: 1, errorStatuses: [429], retryAfterSeconds: 7 } });
    const error = await failure(open());
    expect(error.type).toBe(externalErrorTypes.rateLimited);
    expect(error.info).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7_000 });
  });

  simOnly('an outage is 503 ExternalUnavailable, with Retry-After when the partner sends one', async () => {
    await sim.setFaults({ '*': { outage: true, retryAfterSeconds: 30 } });
    const error = await failure(open());
    expect(error.type).toBe(externalErrorTypes.unavailable);
    expect(error.info).toMatchObject({ status: 503, code: 'OUTAGE', retryAfterMs: 30_000 });
  });

  simOnly('no answer in time is ExternalTimeout and retryable — the partner may have done the work, and the retry returns it', async () => {
    await sim.setFaults({ 'accounting.openBillingAccount': { timeoutNext: 1 } });
    const timeoutKey = key('timeout');
    const client = createAccountingClient(endpoint('accounting', 500));
    const request = { customerId: 'C-TIMEOUT', name: 'Slow Ltd', currency: 'CNY', billingCycleDay: 1 };

    const error = await failure(client.openBillingAccount(request, { idempotencyKey: timeoutKey }));
    const retry = await client.openBillingAccount(request, { idempotencyKey: timeoutKey });

    expect(error.type).toBe(externalErrorTypes.timeout);
    expect(error.info.retryable).toBe(true);
    expect(retry.replayed).toBe(true);
    expect((await sim.ledger({ idempotencyKey: timeoutKey })).count).toBe(1);
    expect((await sim.requests({ idempotencyKey: timeoutKey })).entries.map((entry) => entry.outcome)).toEqual(['timeout', 'replayed']);
  });

  simOnly('added latency delays the answer without failing it', async () => {
    await sim.setFaults({ 'accounting.openBillingAccount': { latencyMs: 300 } });
    const started = Date.now();
    await open();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('an unreachable partner is ExternalUnavailable and retryable', async () => {
    const error = await failure(
      createAccountingClient({ system: 'accounting', baseUrl: 'http://127.0.0.1:9/accounting/v1', timeoutMs: 2_000 }).openBillingAccount(
        { customerId: 'C-X', name: 'x', currency: 'CNY', billingCycleDay: 1 },
        { idempotencyKey: key('unreachable') },
      ),
    );
    expect(error.type).toBe(externalErrorTypes.unavailable);
    expect(error.info.retryable).toBe(true);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
