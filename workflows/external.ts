/**
 * What workflows need to know about the external systems (sim/README.md is the full contract):
 * the error types their activities throw, the retry policy that honours them, and the BPMN
 * messages their callbacks become. Pure: importable from the workflow sandbox.
 */
import type { RetryPolicy } from '@temporalio/common';
import { bpmnErrorType } from './contracts';

/** The systems Keyflow calls (outbound adapters). */
export const externalSystems = ['provisioning', 'accounting', 'notify', 'bank', 'usage'] as const;
export type ExternalSystem = (typeof externalSystems)[number];

/** The systems that call Keyflow back (`POST /api/callbacks/<system>`). */
export const callbackSystems = ['provisioning', 'bank', 'alarms'] as const;
export type CallbackSystem = (typeof callbackSystems)[number];

/**
 * The `ApplicationFailure` types an external-system activity throws. Business refusals (a 409/422
 * with the partner's code, e.g. `NO_CAPACITY`) are thrown as `BpmnError` with that code, so an
 * error boundary event can catch them.
 */
export const externalErrorTypes = {
  /** No answer within the configured timeout; the partner may have done the work (the retry is idempotent). */
  timeout: 'ExternalTimeout',
  /** Connection refused or reset, or a 5xx: the partner is down or broken right now. */
  unavailable: 'ExternalUnavailable',
  /** 429: the partner asks us to slow down; the next attempt waits for its Retry-After. */
  rateLimited: 'ExternalRateLimited',
  /** 400: the partner says our request is malformed; retrying the same bytes cannot help. */
  invalidRequest: 'ExternalInvalidRequest',
  /** 401/403: our credentials are wrong or lack a permission — a configuration problem for ops. */
  unauthorized: 'ExternalUnauthorized',
  /** 404: the thing the request names (service, billing account) does not exist there. */
  notFound: 'ExternalNotFound',
  /** 409 IDEMPOTENCY_KEY_REUSED: the same key came with a different request — a bug on our side. */
  idempotencyConflict: 'ExternalIdempotencyConflict',
  /** The partner answered 2xx with a body that breaks the contract. */
  invalidResponse: 'ExternalInvalidResponse',
  /** The task's own input variables do not make a valid request (checked before any call). */
  invalidInput: 'ExternalInvalidInput',
} as const;
export type ExternalErrorType = (typeof externalErrorTypes)[keyof typeof externalErrorTypes];

/** Retrying these may succeed: timeouts, outages, 5xx and 429. */
export const retryableExternalErrorTypes: readonly ExternalErrorType[] = [
  externalErrorTypes.timeout,
  externalErrorTypes.unavailable,
  externalErrorTypes.rateLimited,
];

/** Retrying these never helps: list them in every retry policy's `nonRetryableErrorTypes`. */
export const nonRetryableExternalErrorTypes: readonly string[] = [
  externalErrorTypes.invalidRequest,
  externalErrorTypes.unauthorized,
  externalErrorTypes.notFound,
  externalErrorTypes.idempotencyConflict,
  externalErrorTypes.invalidResponse,
  externalErrorTypes.invalidInput,
  bpmnErrorType,
];

/**
 * The default retry policy of an external call. The activities mark non-retryable failures
 * themselves too, so a policy that forgets this list still stops; a 429's Retry-After overrides
 * the backoff for that one attempt.
 */
export const externalRetryPolicy: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...nonRetryableExternalErrorTypes],
};

/**
 * BPMN messages that callbacks become (signal `message`, payload `MessageInput`). The correlation
 * key is the service id for provisioning and alarms and the payment reference for the bank.
 */
export const externalMessageNames = {
  /** A provisioning request reached its end: variables `provisioningStatus` = `completed` | `failed`. */
  provisioningResult: 'provisioning.result',
  /** The bank reports a payment against a registered reference. */
  paymentReceived: 'bank.paymentReceived',
  alarmRaised: 'alarm.raised',
  alarmCleared: 'alarm.cleared',
} as const;
