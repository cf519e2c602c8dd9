import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sql } from 'slonik';
import { z } from 'zod';
import { paymentReferenceFor } from '../../../activities/external/bank';
import { callbackSecretFor } from '../../../activities/external/endpoints';
import { signCallback } from '../../../activities/external/signature';
import { createApp } from '../../../api/app';
import type { MessageInput } from '../../../workflows/contracts';
import { externalMessageNames, type CallbackSystem } from '../../../workflows/external';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { ActivationResult, activateService, serviceTaskSteps } from '../../support/workflows/external';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';
import { testLogger } from '../../support/services';

/**
 * Callbacks into Keyflow: signed by the partner, checked, deduplicated, ordered, and delivered to
 * the waiting instance as a BPMN message — or refused, and audited either way.
 */
describe('callbacks from the external systems', () => {
  let database: TestDatabase;
  let stack: ExternalStack;

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startExternalStack(database);
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  afterEach(async () => {
    await stack.control.clearFaults();
  });

  function start(workflowType: 'activateService', args: Parameters<typeof activateService>): Promise<WorkflowHandleWithFirstExecutionRunId<typeof activateService>>;
  function start(workflowType: 'serviceTaskSteps', args: Parameters<typeof serviceTaskSteps>): Promise<WorkflowHandleWithFirstExecutionRunId<typeof serviceTaskSteps>>;
  function start(workflowType: string, args: unknown[]) {
    return stack.workflows.start(workflowType, { taskQueue: stack.config.KEYFLOW_TASK_QUEUE, workflowId: `external-test:${randomUUID()}`, args, workflowExecutionTimeout: '2 minutes' });
  }

  function activation(overrides: Partial<{ callbackTimeoutMs: number; settleMs: number }> = {}) {
    const serviceId = `SVC-${randomUUID().slice(0, 8)}`;
    return { serviceId, input: { serviceId, customerId: 'C-4001', productCode: 'MPLS-VPN', callbackTimeoutMs: 20_000, settleMs: 300, ...overrides } };
  }

  /** An instance waiting for its activation's callback, which the simulator will never send. */
  async function waitingInstance() {
    await stack.control.setFaults({ 'provisioning.activate': { loseCallbackRate: 1 } });
    const { serviceId, input } = activation({ callbackTimeoutMs: 60_000, settleMs: 0 });
    const handle = await start('activateService', [input]);
    const idempotencyKey = `${handle.workflowId}/activate/0`;
    await until(async () => (await stack.control.ledger({ idempotencyKey })).count === 1);
    const event = (overrides: Record<string, unknown> = {}) => ({
      eventId: `evt-${randomUUID()}`,
      requestId: 'ACT-TEST',
      idempotencyKey,
      serviceId,
      status: 'completed',
      sequence: 2,
      occurredAt: new Date().toISOString(),
      ...overrides,
    });
    const received = () => handle.query<{ signals: number; messages: MessageInput[] }>('received');
    return { handle, serviceId, idempotencyKey, event, received };
  }

  async function post(system: CallbackSystem, body: unknown, options: { secret?: string; now?: Date; headers?: Record<string, string>; unsigned?: boolean; url?: string } = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const signature = options.unsigned ? {} : signCallback(options.secret ?? callbackSecretFor(stack.config, system)!, text, options.now ?? new Date());
    const headers = { 'content-type': 'application/json', ...signature, ...options.headers };
    const response = await fetch(`${options.url ?? stack.api.url}/api/callbacks/${system}`, { method: 'POST', headers, body: text });
    return { status: response.status, body: (await response.json()) as any, headers, text };
  }

  const receiptRow = z.object({ event_id: z.string(), outcome: z.string(), sequence: z.number(), message_name: z.string().nullable() });
  const receipts = (correlationId: string) =>
    database.pool.any(sql.type(receiptRow)`
      SELECT event_id, outcome, sequence, message_name FROM callback_receipts WHERE correlation_id = ${correlationId} ORDER BY received_at, sequence`);
  const auditRow = z.object({ actor: z.string(), action: z.string(), entity_id: z.string(), details: z.any() });
  const audits = (entityId: string) =>
    database.pool.any(sql.type(auditRow)`SELECT actor, action, entity_id, details FROM audit_log WHERE entity_type = 'callback' AND entity_id = ${entityId} ORDER BY id`);

  describe('provisioning completions', () => {
    it('delivers the completion to the waiting instance as the message provisioning.result, correlated by service id', async () => {
      const { serviceId, input } = activation();
      const handle = await start('activateService', [input]);

      const result: ActivationResult = await handle.result();

      expect(result.outcome).toBe('completed');
      expect(result.signals).toBe(1);
      expect(result.messages).toEqual([
        {
          name: externalMessageNames.provisioningResult,
          correlationKey: serviceId,
          messageId: expect.stringMatching(/^provisioning:evt-/),
          variables: expect.objectContaining({ provisioningStatus: 'completed', serviceId, provisioningRequestId: expect.any(String) }),
        },
      ]);
      const taken = await receipts(`${handle.workflowId}/activate/0`);
      expect(taken.map((receipt) => [receipt.sequence, receipt.outcome])).toEqual([
        [1, 'recorded'],
        [2, 'delivered'],
      ]);
      const audit = await audits(taken[1]!.event_id);
      expect(audit).toEqual([expect.objectContaining({ actor: 'system:provisioning', action: 'callback.delivered', details: expect.objectContaining({ status: 200, workflowIds: [handle.workflowId] }) })]);
    });

    it('delivers a failed activation with its failure code', async () => {
      await stack.control.setFaults({ 'provisioning.activate': { activationFailureRate: 1 } });
      const handle = await start('activateService', [activation().input]);

      const result: ActivationResult = await handle.result();

      expect(result.outcome).toBe('failed');
      expect(result.messages[0]!.variables).toMatchObject({ provisioningStatus: 'failed', provisioningFailureCode: 'PORT_UNAVAILABLE' });
    });

    it('leaves one effect when the final event comes twice and before its progress event', async () => {
      await stack.control.setFaults({ 'provisioning.activate': { duplicateCallbackRate: 1, outOfOrderCallbackRate: 1 } });
      const handle = await start('activateService', [activation({ settleMs: 1_000 }).input]);

      const result: ActivationResult = await handle.result();
      await stack.control.settled();

      expect(result.outcome).toBe('completed');
      expect(result.signals).toBe(1);
      const key = `${handle.workflowId}/activate/0`;
      const sent = (await stack.control.callbacks({ system: 'provisioning' })).deliveries.filter((delivery) => delivery.body.idempotencyKey === key);
      expect(sent.map((delivery) => [delivery.body.status, delivery.copy, delivery.status, delivery.answer])).toEqual([
        ['completed', 1, 200, 'delivered'],
        ['in_progress', 1, 200, 'stale'],
        ['completed', 2, 200, 'duplicate'],
      ]);
      expect((await receipts(key)).map((receipt) => receipt.outcome)).toEqual(['delivered', 'stale']);
    });

    it("detects a lost callback with the caller's timer, then asks the network, which reports the service active", async () => {
      await stack.control.setFaults({ 'provisioning.activate': { loseCallbackRate: 1 } });
      const handle = await start('activateService', [activation({ callbackTimeoutMs: 1_500 }).input]);

      const result: ActivationResult = await handle.result();

      expect(result).toMatchObject({ outcome: 'callbackLost', serviceStatus: 'active', signals: 0 });
      expect((await stack.control.callbacks({ system: 'provisioning' })).deliveries.filter((delivery) => delivery.body.idempotencyKey === `${handle.workflowId}/activate/0`)).toEqual([]);
    });
  });

  describe('authentication', () => {
    it('refuses a signature made with another secret (401), audits it, and delivers nothing', async () => {
      const instance = await waitingInstance();
      const event = instance.event();

      const response = await post('provisioning', event, { secret: 'not-the-shared-secret-at-all' });

      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'SIGNATURE_INVALID' } });
      expect(await receipts(instance.idempotencyKey)).toEqual([]);
      expect((await instance.received()).signals).toBe(0);
      // an unverified body is never read, so the refusal is filed under the request id
      expect(await audits(response.body.error.requestId)).toEqual([expect.objectContaining({ actor: 'system:provisioning', action: 'callback.refused', details: expect.objectContaining({ status: 401, reason: 'SIGNATURE_INVALID' }) })]);
      await instance.handle.terminate();
    });

    it('refuses a body changed after signing', async () => {
      const instance = await waitingInstance();
      const original = JSON.stringify(instance.event());
      const headers = signCallback(callbackSecretFor(stack.config, 'provisioning')!, original, new Date());

      const response = await fetch(`${stack.api.url}/api/callbacks/provisioning`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: original.replace('"completed"', '"failed"'),
      });

      expect(response.status).toBe(401);
      expect(((await response.json()) as any).error.details.reason).toBe('SIGNATURE_INVALID');
      await instance.handle.terminate();
    });

    it.each([
      ['older', -1],
      ['newer', +1],
    ])('refuses a timestamp %s than the replay window allows as stale', async (_which, direction) => {
      const instance = await waitingInstance();
      const skew = (stack.config.KEYFLOW_CALLBACK_WINDOW_SECONDS + 5) * 1000 * direction;

      const response = await post('provisioning', instance.event(), { now: new Date(Date.now() + skew) });

      expect(response.status).toBe(401);
      expect(response.body.error.details.reason).toBe('SIGNATURE_STALE');
      expect((await instance.received()).signals).toBe(0);
      await instance.handle.terminate();
    });

    it('refuses an unsigned callback', async () => {
      const instance = await waitingInstance();
      const response = await post('provisioning', instance.event(), { unsigned: true });
      expect(response.status).toBe(401);
      expect(response.body.error.details.reason).toBe('SIGNATURE_MISSING');
      await instance.handle.terminate();
    });

    it('refuses the same signed request sent again (a replay), while the first one was delivered', async () => {
      const instance = await waitingInstance();
      const first = await post('provisioning', instance.event());

      const replay = await fetch(`${stack.api.url}/api/callbacks/provisioning`, { method: 'POST', headers: first.headers, body: first.text });

      expect(first.status).toBe(200);
      expect(first.body.status).toBe('delivered');
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as any).error.details.reason).toBe('SIGNATURE_REPLAYED');
      await expect(instance.handle.result()).resolves.toMatchObject({ outcome: 'completed', signals: 1 });
    });

    it('answers 503 for a system whose secret is not configured', async () => {
      const app = createApp({ config: { ...stack.config, KEYFLOW_CALLBACK_SECRET_ALARMS: undefined }, logger: testLogger, pool: database.pool, reads: stack.api.reads, directory: stack.api.directory, temporal: stack.api.temporal });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const response = await post('alarms', { eventId: 'evt-x' }, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
        expect(response.status).toBe(503);
        expect(response.body.error.code).toBe('UNAVAILABLE');
      } finally {
        server.close();
      }
    });
  });

  describe('correlation', () => {
    it('refuses a well-signed event whose body breaks the contract with 400 naming the fields', async () => {
      const instance = await waitingInstance();
      const response = await post('provisioning', instance.event({ sequence: 0, status: 'done' }));
      expect(response.status).toBe(400);
      expect(response.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['body.sequence', 'body.status']);
      await instance.handle.terminate();
    });

    it('answers 404 for an event no instance waits for, and records it', async () => {
      const eventId = `evt-${randomUUID()}`;
      const response = await post('provisioning', {
        eventId,
        requestId: 'ACT-X',
        idempotencyKey: 'nobody:waits/for/this',
        serviceId: 'SVC-X',
        status: 'completed',
        sequence: 2,
        occurredAt: new Date().toISOString(),
      });

      expect(response.status).toBe(404);
      expect(response.body.error.details.reason).toBe('UNKNOWN_CORRELATION');
      expect(await audits(eventId)).toEqual([expect.objectContaining({ action: 'callback.refused', details: expect.objectContaining({ status: 404, reason: 'UNKNOWN_CORRELATION' }) })]);
    });

    it('answers 422 for an event about an instance that has ended', async () => {
      const instance = await waitingInstance();
      await instance.handle.terminate('the order was cancelled');

      const response = await post('provisioning', instance.event());

      expect(response.status).toBe(422);
      expect(response.body.error.details).toMatchObject({ reason: 'INSTANCE_NOT_RUNNING', workflowIds: [instance.handle.workflowId] });
      expect(await receipts(instance.idempotencyKey)).toEqual([]);
    });

    it('delivers one event sent five times at once exactly once', async () => {
      const instance = await waitingInstance();
      const event = instance.event();

      const answers = await Promise.all(Array.from({ length: 5 }, () => post('provisioning', event)));

      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      expect(answers.map((answer) => answer.body.status).sort()).toEqual(['delivered', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
      await expect(instance.handle.result()).resolves.toMatchObject({ outcome: 'completed', signals: 1 });
    });
  });

  describe('bank payments', () => {
    it('delivers a payment against a registered reference once, though the bank reports it twice and re-issues it', async () => {
      const handle = await start('serviceTaskSteps', [
        {
          steps: [{ activity: 'bank.registerPaymentReference', nodeId: 'reference', input: { billingAccountId: 'BA-5001', amountMinor: 128_800, currency: 'CNY', dueDate: '2025-03-15' } }],
          expectMessages: 1,
          listenMs: 30_000,
        },
      ]);
      const reference = paymentReferenceFor(`${handle.workflowId}/reference/0`);
      await until(async () => (await stack.control.ledger({ idempotencyKey: `${handle.workflowId}/reference/0` })).count === 1);

      const payment = await stack.control.pay({ reference, amountMinor: 128_800, duplicate: true });
      const result = await handle.result();
      const reissued = await post('bank', { eventId: `evt-${randomUUID()}`, reference, bankTransactionId: payment.bankTransactionId, amountMinor: 128_800, currency: 'CNY', paidAt: new Date().toISOString() });
      await stack.control.settled();

      expect(result.outcomes[0]).toMatchObject({ ok: true, result: { paymentReference: reference } });
      expect(result.signals).toBe(1);
      expect(result.messages).toEqual([
        {
          name: externalMessageNames.paymentReceived,
          correlationKey: reference,
          messageId: `bank:${payment.eventId}`,
          variables: expect.objectContaining({ paymentReference: reference, paidAmountMinor: 128_800, paymentCurrency: 'CNY', bankTransactionId: payment.bankTransactionId }),
        },
      ]);
      expect((await stack.control.callbacks({ eventId: payment.eventId })).deliveries.map((delivery) => delivery.answer)).toEqual(['delivered', 'duplicate']);
      expect(reissued.body.status).toBe('stale');
    });
  });

  describe('network alarms', () => {
    it('delivers the alarms of a watched service in order, and drops a raise that arrives after its clear', async () => {
      const serviceId = `SVC-${randomUUID().slice(0, 8)}`;
      const first = await start('serviceTaskSteps', [{ steps: [{ activity: 'alarms.watch', nodeId: 'watch', input: { serviceId } }], expectMessages: 2, listenMs: 30_000 }]);
      await until(async () => (await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM external_correlations WHERE correlation_id = ${serviceId}`)).length === 1);

      const raised = await stack.control.alarm({ serviceId, state: 'raised' });
      await until(async () => (await stack.control.callbacks({ eventId: raised.eventId })).deliveries.some((delivery) => delivery.status === 200));
      await stack.control.alarm({ serviceId, state: 'cleared', alarmId: raised.alarmId });
      const result = await first.result();

      expect(result.messages.map((message) => [message.name, message.correlationKey, message.variables?.alarmId])).toEqual([
        [externalMessageNames.alarmRaised, serviceId, raised.alarmId],
        [externalMessageNames.alarmCleared, serviceId, raised.alarmId],
      ]);

      // a second alarm, cleared before its raise arrives: the late raise is stale
      const second = await start('serviceTaskSteps', [{ steps: [{ activity: 'alarms.watch', nodeId: 'watch', input: { serviceId } }], expectMessages: 1, listenMs: 30_000 }]);
      await until(async () => (await database.pool.anyFirst(sql.type(z.object({ workflow_id: z.string() }))`SELECT workflow_id FROM external_correlations WHERE correlation_id = ${serviceId} AND workflow_id = ${second.workflowId}`)).length === 1);
      const cleared = await stack.control.alarm({ serviceId, state: 'cleared', alarmId: `ALM-${randomUUID().slice(0, 8)}` });
      const late = await stack.control.alarm({ serviceId, state: 'raised', alarmId: cleared.alarmId, delayMs: 300 });
      const secondResult = await second.result();
      await stack.control.settled();

      expect(secondResult.messages.map((message) => message.name)).toEqual([externalMessageNames.alarmCleared]);
      expect((await stack.control.callbacks({ eventId: late.eventId })).deliveries.map((delivery) => delivery.answer)).toEqual(['stale']);
    });

    it('answers 404 for an alarm about a service nobody watches', async () => {
      const alarm = await stack.control.alarm({ serviceId: `SVC-UNWATCHED-${randomUUID().slice(0, 8)}` });
      await stack.control.settled();
      expect((await stack.control.callbacks({ eventId: alarm.eventId })).deliveries.map((delivery) => [delivery.status, delivery.answer])).toEqual([[404, 'NOT_FOUND']]);
    });
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
