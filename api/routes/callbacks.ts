import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { Router, type Request, type Response } from 'express';
import type { CommonQueryMethods, DatabasePool } from 'slonik';
import { z } from 'zod';
import { callbackSecretFor } from '../../activities/external/endpoints';
import { verifySignature } from '../../activities/external/signature';
import { alarmCallback, bankPaymentCallback, callbackOutcomes, provisioningCallback, type CallbackOutcome } from '../../activities/external/wire';
import {
  findReceipt,
  insertReceipt,
  latestSequence,
  lockOrderingKey,
  openCorrelations,
  recordExternalAudit,
  rememberNonce,
} from '../../db/external';
import { type MessageInput, type Variables } from '../../workflows/contracts';
import { messageSignal } from '../../workflows/handles';
import { callbackSystems, externalMessageNames, type CallbackSystem } from '../../workflows/external';
import type { ApiDependencies } from '../dependencies';
import { ApiError, validationError } from '../errors';
import type { RouteSpec } from '../routing';
import { takeNetworkAlarm, type NetworkAlarm, type TicketDoors } from './trouble-tickets';

/** What one callback means to Keyflow: where it goes, how it orders, what message it becomes. */
interface Interpretation {
  eventId: string;
  /** Finds the waiting instances in `external_correlations`. */
  correlationId: string;
  /** Events about the same thing, ordered by `sequence`: an event not newer than one taken is stale. */
  orderingKey: string;
  sequence: number;
  /** Undefined for an informational event that is recorded but delivers nothing. */
  message?: Omit<MessageInput, 'messageId'>;
  /** An alarm on a network element: fault tickets for the accounts riding on it (trouble-tickets.ts). */
  networkAlarm?: NetworkAlarm;
}

const interpreters: Record<CallbackSystem, (body: unknown) => Interpretation> = {
  provisioning(body) {
    const event = provisioningCallback.parse(body);
    return {
      eventId: event.eventId,
      correlationId: event.idempotencyKey,
      orderingKey: event.idempotencyKey,
      sequence: event.sequence,
      message:
        event.status === 'in_progress'
          ? undefined
          : {
              name: externalMessageNames.provisioningResult,
              correlationKey: event.serviceId,
              variables: definedOnly({
                provisioningStatus: event.status,
                serviceId: event.serviceId,
                provisioningRequestId: event.requestId,
                provisioningFinishedAt: event.occurredAt,
                provisioningFailureCode: event.reason?.code,
                provisioningFailureMessage: event.reason?.message,
              }),
            },
    };
  },
  bank(body) {
    const event = bankPaymentCallback.parse(body);
    return {
      eventId: event.eventId,
      correlationId: event.reference,
      // A bank may report one transaction under a second event id; it is still one payment.
      orderingKey: `transaction:${event.bankTransactionId}`,
      sequence: 1,
      message: {
        name: externalMessageNames.paymentReceived,
        correlationKey: event.reference,
        variables: definedOnly({
          paymentReference: event.reference,
          paidAmountMinor: event.amountMinor,
          paymentCurrency: event.currency,
          paidAt: event.paidAt,
          bankTransactionId: event.bankTransactionId,
          payerName: event.payerName,
        }),
      },
    };
  },
  alarms(body) {
    const event = alarmCallback.parse(body);
    return {
      eventId: event.eventId,
      correlationId: event.networkElementId ? `ne:${event.networkElementId}` : event.serviceId,
      ...(event.networkElementId
        ? { networkAlarm: { networkElementId: event.networkElementId, alarmId: event.alarmId, state: event.state, severity: event.severity, probableCause: event.probableCause } }
        : {}),
      orderingKey: `alarm:${event.alarmId}`,
      sequence: event.state === 'raised' ? 1 : 2,
      message: {
        name: event.state === 'raised' ? externalMessageNames.alarmRaised : externalMessageNames.alarmCleared,
        correlationKey: event.serviceId,
        variables: {
          alarmId: event.alarmId,
          serviceId: event.serviceId,
          alarmState: event.state,
          alarmSeverity: event.severity,
          probableCause: event.probableCause,
          alarmOccurredAt: event.occurredAt,
        },
      },
    };
  },
};

const callbackAnswer = z.object({ status: z.enum(callbackOutcomes), eventId: z.string(), workflowIds: z.array(z.string()) });

/** The OpenAPI description of the three callback routes (mounted as a plain router, before the JSON parser). */
export const callbackRouteSpecs: RouteSpec[] = (
  [
    ['provisioning', provisioningCallback, 'A provisioning request progressed or ended; the final event becomes the message provisioning.result'],
    ['bank', bankPaymentCallback, 'The bank received a payment against a registered reference; it becomes the message bank.paymentReceived'],
    ['alarms', alarmCallback, 'A network alarm was raised or cleared on a service; it becomes alarm.raised / alarm.cleared for the instances watching it'],
  ] as const
).map(([system, body, summary]) => ({
  method: 'post',
  path: `/api/callbacks/${system}`,
  summary,
  description:
    'Signed with HMAC-SHA256 over `<timestamp>.<nonce>.<raw body>` (headers Keyflow-Timestamp, Keyflow-Nonce, Keyflow-Signature: v1=<hex>; sim/README.md). ' +
    'A redelivered event answers 200 `duplicate`, an event older than one already taken 200 `stale`; nothing changes for either.',
  tags: ['callbacks'],
  access: 'signed',
  body,
  response: { status: 200, description: 'taken: delivered, recorded (informational), duplicate or stale', schema: callbackAnswer },
  errors: ['UNAUTHENTICATED', 'NOT_FOUND', 'UNPROCESSABLE', 'UNAVAILABLE'],
}));

interface Handled {
  outcome: CallbackOutcome;
  eventId: string;
  workflowIds: string[];
  messageName?: string;
}

/**
 * `POST /api/callbacks/{provisioning|bank|alarms}`: partners report asynchronous outcomes,
 * payments and alarms. Not behind session auth: each system proves itself with an HMAC signature
 * over timestamp, nonce and raw body (sim/README.md, "Callbacks"). Then, in this order: a stale or
 * replayed signature is refused (401); a redelivered event answers 200 `duplicate` and changes
 * nothing; an event older than one already taken answers 200 `stale`; an unknown correlation is 404
 * and a finished instance 422; otherwise the event is delivered to the waiting instance as a BPMN
 * message and answers 200 `delivered`. Every answer is written to the audit log.
 */
export function createCallbackRouter({ config, pool, temporal, logger }: ApiDependencies): Router {
  const router = Router();
  // One route per system (not `/:system`), so each is mounted exactly as the OpenAPI document names
  // it and any other path is an ordinary 404.
  for (const system of callbackSystems) router.post(`/${system}`, express.raw({ type: () => true, limit: '64kb' }), (req, res) => take(system, req, res));

  async function take(system: CallbackSystem, req: Request, res: Response): Promise<void> {
    const actor = `system:${system}`;
    const audit = (action: string, entityId: string, details: Record<string, unknown>) =>
      recordExternalAudit(pool, { actor, action, entityType: 'callback', entityId, requestId: String(req.id), details: { system, ...details } }).catch((error) =>
        logger.error({ err: error, system }, 'could not write the audit row of a callback'),
      );

    let eventId: string | undefined;
    try {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      await authenticate(req, system, body);
      const interpretation = interpret(system, body);
      eventId = interpretation.eventId;
      const handled = interpretation.networkAlarm
        ? await handleNetworkAlarm(pool, { pool, temporal, taskQueue: config.KEYFLOW_TASK_QUEUE }, system, interpretation, interpretation.networkAlarm, body, String(req.id))
        : await pool.transaction((tx) => handle(tx, temporal, system, interpretation, body, String(req.id)));
      await audit(`callback.${handled.outcome}`, handled.eventId, { status: 200, workflowIds: handled.workflowIds, messageName: handled.messageName });
      res.status(200).json({ status: handled.outcome, eventId: handled.eventId, workflowIds: handled.workflowIds });
    } catch (error) {
      if (error instanceof ApiError) {
        await audit('callback.refused', eventId ?? String(req.id), { status: error.status, code: error.code, message: error.message, reason: reasonOf(error) });
      } else {
        // Temporal or PostgreSQL failed us: nothing was taken, and the partner will send it again.
        await audit('callback.failed', eventId ?? String(req.id), { status: 500, message: (error as Error).message });
      }
      throw error;
    }
  }

  async function authenticate(req: Request, system: CallbackSystem, body: Buffer): Promise<void> {
    const secret = callbackSecretFor(config, system);
    if (!secret) throw new ApiError('UNAVAILABLE', `callbacks from ${system} are not configured on this Keyflow`);
    const check = verifySignature({ secret, headers: req.headers, body, now: new Date(), windowSeconds: config.KEYFLOW_CALLBACK_WINDOW_SECONDS });
    if (!check.ok) throw new ApiError('UNAUTHENTICATED', signatureMessages[check.reason], { reason: check.reason });
    if (!(await rememberNonce(pool, system, check.nonce, config.KEYFLOW_CALLBACK_WINDOW_SECONDS))) {
      throw new ApiError('UNAUTHENTICATED', 'this signed request was seen before', { reason: 'SIGNATURE_REPLAYED' });
    }
  }

  return router;
}

const signatureMessages = {
  SIGNATURE_MISSING: 'the callback is not signed',
  SIGNATURE_MALFORMED: 'the callback signature headers are malformed',
  SIGNATURE_STALE: 'the callback timestamp is outside the accepted window',
  SIGNATURE_INVALID: 'the callback signature does not match',
} as const;

function interpret(system: CallbackSystem, body: Buffer): Interpretation {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError('BAD_REQUEST', 'the callback body is not valid JSON');
  }
  try {
    return interpreters[system](json);
  } catch (error) {
    if (error instanceof z.ZodError) throw validationError(error, 'body');
    throw error;
  }
}

/**
 * An alarm on a network element opens or clears fault tickets (trouble-tickets.ts). The tickets
 * are opened first, outside the receipt's transaction (they start processes and are idempotent per
 * alarm and account); the receipt then makes a redelivery a duplicate.
 */
async function handleNetworkAlarm(
  pool: DatabasePool,
  tickets: TicketDoors,
  system: CallbackSystem,
  event: Interpretation,
  alarm: NetworkAlarm,
  body: Buffer,
  requestId: string,
): Promise<Handled> {
  const previous = await findReceipt(pool, system, event.eventId);
  if (previous) return { outcome: 'duplicate', eventId: event.eventId, workflowIds: previous.workflow_ids, messageName: previous.message_name ?? undefined };
  const receipt = { system, eventId: event.eventId, correlationId: event.correlationId, orderingKey: event.orderingKey, sequence: event.sequence, payload: JSON.parse(body.toString('utf8')) as unknown, requestId };
  if ((await latestSequence(pool, system, event.orderingKey)) >= event.sequence) {
    await pool.transaction(async (tx) => {
      await lockOrderingKey(tx, system, event.orderingKey);
      if (!(await findReceipt(tx, system, event.eventId))) await insertReceipt(tx, { ...receipt, outcome: 'stale', workflowIds: [] });
    });
    return { outcome: 'stale', eventId: event.eventId, workflowIds: [] };
  }
  const workflowIds = await takeNetworkAlarm(tickets, alarm, `${system}:${event.eventId}`);
  const messageName = alarm.state === 'raised' ? 'ticket.open' : 'alarm.cleared';
  await pool.transaction(async (tx) => {
    await lockOrderingKey(tx, system, event.orderingKey);
    if (!(await findReceipt(tx, system, event.eventId))) await insertReceipt(tx, { ...receipt, outcome: 'delivered', messageName, workflowIds });
  });
  return { outcome: 'delivered', eventId: event.eventId, workflowIds, messageName };
}

async function handle(tx: CommonQueryMethods, temporal: Client, system: CallbackSystem, event: Interpretation, body: Buffer, requestId: string): Promise<Handled> {
  await lockOrderingKey(tx, system, event.orderingKey);
  const previous = await findReceipt(tx, system, event.eventId);
  if (previous) return { outcome: 'duplicate', eventId: event.eventId, workflowIds: previous.workflow_ids, messageName: previous.message_name ?? undefined };

  const waiting = await openCorrelations(tx, system, event.correlationId);
  if (waiting.length === 0) {
    throw new ApiError('NOT_FOUND', `no process instance waits for ${system} callbacks about ${JSON.stringify(event.correlationId)}`, { reason: 'UNKNOWN_CORRELATION' });
  }
  const receipt = {
    system,
    eventId: event.eventId,
    correlationId: event.correlationId,
    orderingKey: event.orderingKey,
    sequence: event.sequence,
    payload: JSON.parse(body.toString('utf8')) as unknown,
    requestId,
  };
  if ((await latestSequence(tx, system, event.orderingKey)) >= event.sequence) {
    await insertReceipt(tx, { ...receipt, outcome: 'stale', workflowIds: [] });
    return { outcome: 'stale', eventId: event.eventId, workflowIds: [] };
  }
  if (!event.message) {
    await insertReceipt(tx, { ...receipt, outcome: 'recorded', workflowIds: waiting });
    return { outcome: 'recorded', eventId: event.eventId, workflowIds: waiting };
  }

  const running = (await Promise.all(waiting.map(async (workflowId) => ((await isRunning(temporal, workflowId)) ? workflowId : undefined)))).filter(
    (workflowId): workflowId is string => workflowId !== undefined,
  );
  if (running.length === 0) {
    throw new ApiError('UNPROCESSABLE', `the process instance waiting for ${JSON.stringify(event.correlationId)} is no longer running`, {
      reason: 'INSTANCE_NOT_RUNNING',
      workflowIds: waiting,
    });
  }
  // The receipt row is written first: if a signal fails, the transaction rolls back and the
  // partner's retry tries again; `messageId` lets the instance drop a second copy of a message that
  // did get through before the failure.
  await insertReceipt(tx, { ...receipt, outcome: 'delivered', messageName: event.message.name, workflowIds: running });
  const input: MessageInput = { ...event.message, messageId: `${system}:${event.eventId}` };
  for (const workflowId of running) {
    await temporal.workflow.getHandle(workflowId).signal(messageSignal, input);
  }
  return { outcome: 'delivered', eventId: event.eventId, workflowIds: running, messageName: event.message.name };
}

async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

function reasonOf(error: ApiError): string | undefined {
  const details = error.details as { reason?: unknown } | undefined;
  return typeof details?.reason === 'string' ? details.reason : undefined;
}

function definedOnly(values: Record<string, unknown>): Variables {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}
