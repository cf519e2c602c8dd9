/**
 * Small hand-written workflows that drive the external-system activities the way a BPMN service
 * task does (a `ServiceTaskRequest` whose idempotency key starts with the workflow id) and receive
 * callbacks the way the engine does (signal `message` with a `MessageInput`). Test and bench only.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import { messageSignalName, type MessageInput, type ServiceTaskRequest, type ServiceTaskResult, type Variables } from '../../../workflows/contracts';
import { externalMessageNames, externalRetryPolicy } from '../../../workflows/external';

type ServiceTaskName = Extract<keyof Activities, `${string}.${string}`>;

export const messageSignal = defineSignal<[MessageInput]>(messageSignalName);
export const receivedQuery = defineQuery<{ signals: number; messages: MessageInput[] }>('received');

/** A service task's request as the engine builds it: the key is `<workflowId>/<nodeId>/<loop>`. */
export function serviceTaskRequest(nodeId: string, input: Variables, loopCounter = 0): ServiceTaskRequest {
  const { workflowId } = workflowInfo();
  return {
    input,
    context: {
      workflowId,
      processKey: 'external-test',
      processVersion: 1,
      businessKey: workflowId,
      nodeId,
      loopCounter,
      idempotencyKey: `${workflowId}/${nodeId}/${loopCounter}`,
    },
  };
}

/** Collects the messages delivered to this instance; a redelivered `messageId` is counted, not kept. */
function listen(): { signals: () => number; messages: MessageInput[] } {
  let signals = 0;
  const messages: MessageInput[] = [];
  setHandler(messageSignal, (message) => {
    signals += 1;
    if (message.messageId === undefined || !messages.some((seen) => seen.messageId === message.messageId)) messages.push(message);
  });
  setHandler(receivedQuery, () => ({ signals, messages }));
  return { signals: () => signals, messages };
}

export type TaskOutcome =
  | { ok: true; result: ServiceTaskResult }
  | { ok: false; errorType?: string; nonRetryable?: boolean; message: string; details?: unknown[] };

export interface ServiceTaskStep {
  activity: ServiceTaskName;
  nodeId: string;
  input: Variables;
}

export interface StepsInput {
  steps: ServiceTaskStep[];
  /** Activity options; the retry policy defaults to `externalRetryPolicy`. */
  options?: Partial<Pick<ActivityOptions, 'startToCloseTimeout' | 'retry' | 'scheduleToCloseTimeout'>>;
  /** After the steps, wait for this many messages (or `listenMs`), then return what came. */
  expectMessages?: number;
  listenMs?: number;
}

/**
 * Runs service tasks in order, each seeing the variables of those before, stopping at the first failure, which it returns classified (the
 * ApplicationFailure's type, nonRetryable flag and details) instead of failing the workflow; then
 * optionally listens for callbacks.
 */
export async function serviceTaskSteps(input: StepsInput): Promise<{ outcomes: TaskOutcome[]; signals: number; messages: MessageInput[] }> {
  const received = listen();
  const activities = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    ...input.options,
    retry: { ...externalRetryPolicy, initialInterval: '200 milliseconds', maximumInterval: '2 seconds', ...input.options?.retry },
  });
  const outcomes: TaskOutcome[] = [];
  // Like a BPMN task without input mappings: each step sees every variable produced so far.
  let variables: Variables = {};
  for (const step of input.steps) {
    const run = activities[step.activity] as (request: ServiceTaskRequest) => Promise<ServiceTaskResult>;
    try {
      const result = await run(serviceTaskRequest(step.nodeId, { ...variables, ...step.input }));
      variables = { ...variables, ...result };
      outcomes.push({ ok: true, result });
    } catch (error) {
      outcomes.push(describeFailure(error));
      break;
    }
  }
  if (input.expectMessages !== undefined || input.listenMs !== undefined) {
    await condition(() => received.messages.length >= (input.expectMessages ?? Infinity), input.listenMs ?? '1 minute');
  }
  return { outcomes, signals: received.signals(), messages: received.messages };
}

function describeFailure(error: unknown): TaskOutcome {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) return { ok: false, errorType: cause.type ?? undefined, nonRetryable: cause.nonRetryable ?? undefined, message: cause.message, details: cause.details ?? undefined };
  return { ok: false, message: (cause as Error)?.message ?? String(cause) };
}

export interface ActivationInput {
  serviceId: string;
  customerId: string;
  productCode: string;
  /** How long the process waits for the completion callback before it asks the network itself. */
  callbackTimeoutMs: number;
  /** After the result, keep listening this long so late duplicates would be seen. */
  settleMs?: number;
}

export type ActivationResult =
  | { outcome: 'completed' | 'failed'; signals: number; messages: MessageInput[] }
  | { outcome: 'callbackLost'; serviceStatus: unknown; signals: number; messages: MessageInput[] };

/**
 * The small order-fulfilment step the issue describes: activate a service, wait for the network's
 * completion callback under a timer, and when the timer fires first, ask the network for the
 * service's status instead of waiting forever.
 */
export async function activateService(input: ActivationInput): Promise<ActivationResult> {
  const received = listen();
  const activities = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { ...externalRetryPolicy, initialInterval: '200 milliseconds' } });
  await activities['provisioning.activate'](
    serviceTaskRequest('activate', { serviceId: input.serviceId, customerId: input.customerId, productCode: input.productCode }),
  );
  const result = () =>
    received.messages.find((message) => message.name === externalMessageNames.provisioningResult && message.correlationKey === input.serviceId);
  if (!(await condition(() => result() !== undefined, input.callbackTimeoutMs))) {
    const status = await activities['provisioning.queryStatus'](serviceTaskRequest('queryStatus', { serviceId: input.serviceId }));
    return { outcome: 'callbackLost', serviceStatus: status.serviceStatus, signals: received.signals(), messages: received.messages };
  }
  if (input.settleMs) await sleep(input.settleMs);
  const status = result()!.variables?.provisioningStatus === 'completed' ? 'completed' : 'failed';
  return { outcome: status, signals: received.signals(), messages: received.messages };
}

export interface BatchInput {
  billingAccountId: string;
  calls: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** One attempt's limit; keep it above the HTTP timeout. */
  startToCloseTimeout?: string;
}

/**
 * The benchmark's workflow: `calls` adjustments of 1 fen each, `concurrency` at a time, each with
 * its own idempotency key; returns each call's latency as the workflow saw it (schedule → result,
 * retries included).
 */
export async function adjustmentBatch(input: BatchInput): Promise<{ latenciesMs: number[] }> {
  const activities = proxyActivities<Activities>({
    startToCloseTimeout: input.startToCloseTimeout ?? '10 seconds',
    retry: { ...externalRetryPolicy, initialInterval: '100 milliseconds', maximumInterval: '1 second', backoffCoefficient: 1.5 },
  });
  const latenciesMs: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < input.calls) {
      const index = next++;
      const started = Date.now();
      await activities['accounting.postAdjustment'](
        serviceTaskRequest('adjust', { billingAccountId: input.billingAccountId, amountMinor: 1, currency: 'CNY', reason: `bench ${index}` }, index),
      );
      latenciesMs.push(Date.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.calls) }, lane));
  return { latenciesMs };
}
