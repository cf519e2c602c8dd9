import { randomUUID } from 'node:crypto';
import { bpmnErrorType } from '../../../workflows/contracts';
import { externalErrorTypes } from '../../../workflows/external';
import type { ServiceTaskStep, StepsInput, TaskOutcome } from '../../support/workflows/external';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';

/**
 * The adapters as BPMN service tasks call them: from a workflow, through Temporal's retries,
 * against this file's own simulator — each call and its retry leave one ledger entry, and each
 * failure kind is retried or not as its type says.
 */
describe('external-system activities called from a workflow', () => {
  let database: TestDatabase;
  let stack: ExternalStack;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Short HTTP timeouts, so an injected hang costs a second, not ten.
    stack = await startExternalStack(database, {
      KEYFLOW_PROVISIONING_TIMEOUT_MS: '1000',
      KEYFLOW_ACCOUNTING_TIMEOUT_MS: '1000',
      KEYFLOW_NOTIFY_TIMEOUT_MS: '1000',
      KEYFLOW_BANK_TIMEOUT_MS: '1000',
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  afterEach(async () => {
    await stack.control.clearFaults();
  });

  async function runSteps(input: StepsInput): Promise<{ workflowId: string; outcomes: TaskOutcome[] }> {
    const workflowId = `external-test:${randomUUID()}`;
    const result = await stack.workflows.execute('serviceTaskSteps', { taskQueue: stack.config.KEYFLOW_TASK_QUEUE, workflowId, args: [input], workflowExecutionTimeout: '2 minutes' });
    return { workflowId, outcomes: result.outcomes };
  }

  const account: ServiceTaskStep = {
    activity: 'accounting.openBillingAccount',
    nodeId: 'openAccount',
    input: { customerId: 'C-3001', billingAccountName: '深圳某某物流有限公司', currency: 'CNY', billingCycleDay: 1 },
  };
  const activate: ServiceTaskStep = { activity: 'provisioning.activate', nodeId: 'activate', input: { customerId: 'C-3001', productCode: 'DIA' } };
  /** A fresh service id for the first step; the later ones see it as a variable. */
  const withService = ([first, ...rest]: ServiceTaskStep[]) => [{ ...first!, input: { serviceId: `SVC-${randomUUID().slice(0, 8)}`, ...first!.input } }, ...rest];

  const cases: [string, ServiceTaskStep[]][] = [
    ['provisioning.reserve', [{ activity: 'provisioning.reserve', nodeId: 'reserve', input: { customerId: 'C-3001', productCode: 'SDWAN', bandwidthMbps: 200 } }]],
    ['provisioning.activate', [activate]],
    ['provisioning.suspend', [activate, { activity: 'provisioning.suspend', nodeId: 'suspend', input: { reason: '欠费停机' } }]],
    ['provisioning.resume', [activate, { activity: 'provisioning.suspend', nodeId: 'suspend', input: {} }, { activity: 'provisioning.resume', nodeId: 'resume', input: {} }]],
    ['provisioning.release', [activate, { activity: 'provisioning.release', nodeId: 'release', input: {} }]],
    ['accounting.openBillingAccount', [account]],
    ['accounting.postAdjustment', [account, { activity: 'accounting.postAdjustment', nodeId: 'credit', input: { amountMinor: -5_000, currency: 'CNY', reason: '投诉补偿' } }]],
    [
      'accounting.postInvoice',
      [
        account,
        {
          activity: 'accounting.postInvoice',
          nodeId: 'invoice',
          input: { invoiceNumber: `INV-${randomUUID().slice(0, 8)}`, periodStart: '2025-01-01', periodEnd: '2025-01-31', amountMinor: 880_000, taxMinor: 52_800, currency: 'CNY', dueDate: '2025-02-15' },
        },
      ],
    ],
    ['accounting.closeBillingAccount', [account, { activity: 'accounting.closeBillingAccount', nodeId: 'close', input: {} }]],
    ['notify.sendSms', [{ activity: 'notify.sendSms', nodeId: 'sms', input: { to: '+8613900139000', template: 'order.accepted', params: { customerName: '王经理', orderId: 'ORD-1' } } }]],
    ['notify.sendEmail', [{ activity: 'notify.sendEmail', nodeId: 'email', input: { to: 'ops@customer.example', template: 'bill.issued', locale: 'en', params: { customerName: 'Ms Li', period: '2025-01', billNumber: 'B-1', amountMinor: 123_456, dueDate: '2025-02-15' } } }]],
    ['bank.registerPaymentReference', [{ activity: 'bank.registerPaymentReference', nodeId: 'reference', input: { billingAccountId: 'BA-1', amountMinor: 93_280, currency: 'CNY', dueDate: '2025-02-15' } }]],
  ];

  it.each(cases)('%s: the first attempt times out after the partner did the work, the retry is answered from its dedupe store, and the ledger has one entry', async (operation, steps) => {
    // given the call under test does its work and then never answers, once
    await stack.control.setFaults({ 'provisioning.activate': { callbackDelayMs: 0 } });
    await stack.control.setFaults({ [operation]: { timeoutNext: 1, ...(operation === 'provisioning.activate' ? { callbackDelayMs: 0 } : {}) } });

    // when
    const { workflowId, outcomes } = await runSteps({ steps: withService(steps), options: { retry: { maximumAttempts: 3 } } });

    // then every step succeeded
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const nodeId = steps[steps.length - 1]!.nodeId;
    const key = `${workflowId}/${nodeId}/0`;
    const attempts = await stack.control.requests({ idempotencyKey: key });
    expect(attempts.entries.map((entry) => entry.outcome)).toEqual(['timeout', 'replayed']);
    const ledger = await stack.control.ledger({ idempotencyKey: key });
    expect(ledger.count).toBe(1);
    expect(ledger.entries[0]!.operation).toBe(operation);
  });

  it('provisioning.queryStatus reads the service the activation created', async () => {
    await stack.control.setFaults({ 'provisioning.activate': { callbackDelayMs: 0 } });
    const { outcomes } = await runSteps({ steps: withService([activate, { activity: 'provisioning.queryStatus', nodeId: 'query', input: {} }]) });
    expect(outcomes[1]).toMatchObject({ ok: true, result: { serviceStatus: expect.stringMatching(/^(activating|active)$/) } });
  });

  it('retries 5xx until the partner answers: three attempts, one ledger entry', async () => {
    await stack.control.setFaults({ 'accounting.openBillingAccount': { failNext: 2, errorStatuses: [503] } });
    const { workflowId, outcomes } = await runSteps({ steps: [account] });

    expect(outcomes[0]!.ok).toBe(true);
    const key = `${workflowId}/openAccount/0`;
    expect((await stack.control.requests({ idempotencyKey: key })).entries.map((entry) => entry.outcome)).toEqual(['fault', 'fault', 'accepted']);
    expect((await stack.control.ledger({ idempotencyKey: key })).count).toBe(1);
  });

  it("waits for a 429's Retry-After before the next attempt, instead of the policy's short backoff", async () => {
    await stack.control.setFaults({ 'notify.sendSms': { failNext: 1, errorStatuses: [429], retryAfterSeconds: 2 } });
    const sms: ServiceTaskStep = { activity: 'notify.sendSms', nodeId: 'sms', input: { to: '+8613900139001', template: 'ticket.resolved', params: { customerName: '张工', ticketId: 'T-1', resolution: '光缆已修复' } } };

    // the retry policy alone would try again after 200 ms
    const { workflowId, outcomes } = await runSteps({ steps: [sms], options: { retry: { initialInterval: '200 milliseconds' } } });

    expect(outcomes[0]!.ok).toBe(true);
    const [first, second] = (await stack.control.requests({ idempotencyKey: `${workflowId}/sms/0` })).entries;
    expect(first!.status).toBe(429);
    expect(second!.outcome).toBe('accepted');
    expect(second!.atMs - first!.atMs).toBeGreaterThanOrEqual(2_000);
  });

  it('retries a 503 without Retry-After after the policy backoff', async () => {
    await stack.control.setFaults({ 'notify.sendSms': { failNext: 1, errorStatuses: [503] } });
    const sms: ServiceTaskStep = { activity: 'notify.sendSms', nodeId: 'sms', input: { to: '+8613900139002', template: 'order.accepted', params: { customerName: '李总', orderId: 'ORD-2' } } };

    const { workflowId } = await runSteps({ steps: [sms], options: { retry: { initialInterval: '200 milliseconds' } } });

    const [first, second] = (await stack.control.requests({ idempotencyKey: `${workflowId}/sms/0` })).entries;
    expect(second!.atMs - first!.atMs).toBeLessThan(1_800);
  });

  it.each([
    { kind: 'a timeout', faults: { timeoutNext: 5 }, errorType: externalErrorTypes.timeout },
    { kind: 'an outage', faults: { outage: true }, errorType: externalErrorTypes.unavailable },
    { kind: 'a 429', faults: { failNext: 5, errorStatuses: [429 as const] }, errorType: externalErrorTypes.rateLimited },
    { kind: 'a 500', faults: { failNext: 5, errorStatuses: [500 as const] }, errorType: externalErrorTypes.unavailable },
  ])('gives up on $kind only when the policy runs out of attempts, as a retryable $errorType', async ({ faults, errorType }) => {
    await stack.control.setFaults({ 'accounting.openBillingAccount': faults });
    const { workflowId, outcomes } = await runSteps({ steps: [account], options: { retry: { maximumAttempts: 2, initialInterval: '100 milliseconds' } } });

    expect(outcomes[0]).toMatchObject({ ok: false, errorType, nonRetryable: false });
    expect((await stack.control.requests({ idempotencyKey: `${workflowId}/openAccount/0` })).count).toBe(2);
  });

  it('turns a business refusal into a BpmnError with the partner code, tried once', async () => {
    const { workflowId, outcomes } = await runSteps({
      steps: withService([{ activity: 'provisioning.reserve', nodeId: 'reserve', input: { customerId: 'C-3002', productCode: 'SDWAN', bandwidthMbps: 5_000 } }]),
      options: { retry: { maximumAttempts: 5 } },
    });

    expect(outcomes[0]).toMatchObject({ ok: false, errorType: bpmnErrorType, nonRetryable: true, details: [expect.objectContaining({ errorCode: 'NO_CAPACITY' })] });
    expect((await stack.control.requests({ idempotencyKey: `${workflowId}/reserve/0` })).count).toBe(1);
  });

  it.each([
    { kind: 'a 404', step: { activity: 'provisioning.suspend', nodeId: 'suspend', input: { serviceId: 'NO-SUCH-SERVICE' } }, errorType: externalErrorTypes.notFound },
    {
      kind: 'an adjustment of zero',
      step: { activity: 'accounting.postAdjustment', nodeId: 'adjust', input: { billingAccountId: 'BA-1', amountMinor: 0, currency: 'CNY', reason: 'zero' } },
      errorType: externalErrorTypes.invalidInput,
    },
  ] as { kind: string; step: ServiceTaskStep; errorType: string }[])('does not retry $kind: it fails as $errorType', async ({ step, errorType }) => {
    const { outcomes } = await runSteps({ steps: [step], options: { retry: { maximumAttempts: 5 } } });
    expect(outcomes[0]).toMatchObject({ ok: false, errorType, nonRetryable: true });
  });

  it('refuses invalid task input before calling anyone (ExternalInvalidInput, not retried)', async () => {
    const { workflowId, outcomes } = await runSteps({
      steps: [
        { activity: 'notify.sendSms', nodeId: 'sms', input: { to: 'not a number', template: 'order.accepted', params: {} } },
      ],
      options: { retry: { maximumAttempts: 5 } },
    });

    expect(outcomes[0]).toMatchObject({ ok: false, errorType: externalErrorTypes.invalidInput, nonRetryable: true });
    expect(outcomes[0]!.ok === false && outcomes[0]!.message).toMatch(/to .*phone number/);
    expect((await stack.control.requests({ idempotencyKeyPrefix: workflowId })).count).toBe(0);
  });

  it('refuses a template with missing parameters, naming them', async () => {
    const { outcomes } = await runSteps({
      steps: [{ activity: 'notify.sendSms', nodeId: 'sms', input: { to: '+8613900139003', template: 'bill.issued', params: { customerName: '赵总' } } }],
    });
    expect(outcomes[0]).toMatchObject({ ok: false, errorType: externalErrorTypes.invalidInput });
    expect(outcomes[0]!.ok === false && outcomes[0]!.message).toMatch(/period is missing.*billNumber is missing|billNumber is missing.*period is missing/);
  });

  it('sends the rendered Chinese text to the gateway', async () => {
    const { workflowId } = await runSteps({
      steps: [{ activity: 'notify.sendSms', nodeId: 'sms', input: { to: '+8613900139004', template: 'payment.received', params: { customerName: '陈经理', amountMinor: 1_050_00, reference: 'KF123' } } }],
    });
    const [entry] = (await stack.control.ledger({ idempotencyKey: `${workflowId}/sms/0` })).entries;
    expect(entry!.request).toEqual({ to: '+8613900139004', text: '【Keyflow】尊敬的陈经理，我们已收到您缴纳的¥1,050.00（参考号KF123），谢谢。' });
  });
});
