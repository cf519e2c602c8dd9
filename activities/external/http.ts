import type { z } from 'zod';
import type { Logger } from '../../runtime/logger';
import { bpmnErrorType } from '../../workflows/contracts';
import { externalErrorTypes, type ExternalErrorType, type ExternalSystem } from '../../workflows/external';
import { idempotencyKeyHeader, idempotentReplayHeader, partnerErrorBody } from './wire';

/** Where one external system lives and how to reach it (from config; see `endpointFor`). */
export interface PartnerEndpoint {
  system: ExternalSystem;
  /** Including the version prefix, without a trailing slash: `https://oss.example/provisioning/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. */
  token?: string;
  /** One attempt's limit; the activity's retry policy decides about the next. */
  timeoutMs: number;
}

/** Longest wait a partner's Retry-After may impose on one attempt: beyond it we back off normally. */
export const maxRetryAfterMs = 15 * 60_000;

export interface ExternalCallErrorInfo {
  system: ExternalSystem;
  operation: string;
  retryable: boolean;
  /** HTTP status, when the partner answered. */
  status?: number;
  /** The partner's error code, e.g. `NO_CAPACITY`; a BpmnError's `errorCode`. */
  code?: string;
  /** From a 429's or 503's Retry-After. */
  retryAfterMs?: number;
  details?: unknown;
}

/** A classified failure of one call; activities turn it into an ApplicationFailure of `type`. */
export class ExternalCallError extends Error {
  constructor(
    readonly type: ExternalErrorType | typeof bpmnErrorType,
    message: string,
    readonly info: ExternalCallErrorInfo,
  ) {
    super(message);
    this.name = 'ExternalCallError';
  }
}

export interface PartnerCall<S extends z.ZodTypeAny> {
  /** Dotted name for logs and errors: `provisioning.activate`. */
  operation: string;
  method: 'GET' | 'POST';
  /** Relative to the endpoint's base URL; segments must already be encoded. */
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** Required for every POST: the same on each retry of one logical request. */
  idempotencyKey?: string;
  /** For the partner's logs and ours. */
  workflowId?: string;
  response: S;
  /** Aborts the attempt (activity cancellation); the timeout is added to it. */
  signal?: AbortSignal;
}

/** Per call: the key the partner deduplicates by, the caller's workflow, and a way to stop. */
export interface CallOptions {
  idempotencyKey: string;
  workflowId?: string;
  signal?: AbortSignal;
}

/** Just the call options out of a larger object (a service task's call carries its logger too). */
export function callOptions(options: Partial<CallOptions>): Partial<CallOptions> {
  return { idempotencyKey: options.idempotencyKey, workflowId: options.workflowId, signal: options.signal };
}

export interface PartnerAnswer<T> {
  status: number;
  body: T;
  /** The partner answered from its dedupe store: this request had been done before. */
  replayed: boolean;
}

/**
 * One HTTP call to a partner, its failure classified (timeouts, outages, 5xx and 429 retryable;
 * the rest not) and its outcome logged with the workflow id and idempotency key.
 *
 * @throws ExternalCallError for every failure, including a 2xx whose body breaks the contract.
 */
export async function callPartner<S extends z.ZodTypeAny>(
  endpoint: PartnerEndpoint,
  call: PartnerCall<S>,
  logger?: Logger,
): Promise<PartnerAnswer<z.infer<S>>> {
  const started = performance.now();
  const log = logger?.child({ system: endpoint.system, operation: call.operation, workflowId: call.workflowId, idempotencyKey: call.idempotencyKey });
  try {
    const answer = await attempt(endpoint, call);
    log?.info({ status: answer.status, replayed: answer.replayed, ms: Math.round(performance.now() - started) }, 'external call succeeded');
    return answer;
  } catch (error) {
    if (error instanceof ExternalCallError) {
      const level = error.info.retryable ? 'warn' : 'error';
      log?.[level]({ errorType: error.type, status: error.info.status, code: error.info.code, ms: Math.round(performance.now() - started) }, `external call failed: ${error.message}`);
    }
    throw error;
  }
}

async function attempt<S extends z.ZodTypeAny>(endpoint: PartnerEndpoint, call: PartnerCall<S>): Promise<PartnerAnswer<z.infer<S>>> {
  const where = { system: endpoint.system, operation: call.operation };
  if (call.method === 'POST' && !call.idempotencyKey) {
    throw new ExternalCallError(externalErrorTypes.invalidInput, `${call.operation}: a POST needs an idempotency key`, { ...where, retryable: false });
  }
  const url = new URL(`${endpoint.baseUrl}${call.path}`);
  for (const [name, value] of Object.entries(call.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
  if (call.idempotencyKey) headers[idempotencyKeyHeader] = call.idempotencyKey;
  if (call.workflowId) headers['x-keyflow-workflow-id'] = call.workflowId;

  const timeout = AbortSignal.timeout(endpoint.timeoutMs);
  const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { method: call.method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body), signal });
    text = await response.text();
  } catch (error) {
    if (call.signal?.aborted) throw call.signal.reason ?? error;
    if (timeout.aborted) {
      throw new ExternalCallError(externalErrorTypes.timeout, `${call.operation}: no answer from ${endpoint.system} within ${endpoint.timeoutMs} ms`, { ...where, retryable: true });
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new ExternalCallError(
      externalErrorTypes.unavailable,
      `${call.operation}: cannot reach ${endpoint.system} at ${url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      { ...where, retryable: true },
    );
  }

  if (response.ok) {
    const parsed = call.response.safeParse(parseJson(text));
    if (!parsed.success) {
      throw new ExternalCallError(externalErrorTypes.invalidResponse, `${call.operation}: ${endpoint.system} answered ${response.status} with a body that breaks the contract`, {
        ...where,
        retryable: false,
        status: response.status,
        details: parsed.error.issues.slice(0, 10).map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      });
    }
    return { status: response.status, body: parsed.data, replayed: response.headers.get(idempotentReplayHeader) === 'true' };
  }
  throw classifyFailure(response, text, where);
}

/** The one table from an HTTP failure to an error type; sim/README.md, "Errors", says the same. */
export function classifyFailure(response: Pick<Response, 'status' | 'headers'>, text: string, where: { system: ExternalSystem; operation: string }): ExternalCallError {
  const { status } = response;
  const partnerError = partnerErrorBody.safeParse(parseJson(text));
  const code = partnerError.success ? partnerError.data.error.code : undefined;
  const partnerMessage = partnerError.success ? partnerError.data.error.message : undefined;
  const describe = (what: string) => `${where.operation}: ${where.system} answered ${status}${code ? ` ${code}` : ''}: ${partnerMessage ?? what}`;
  const info = { ...where, status, code, details: partnerError.success ? partnerError.data.error.details : undefined };

  if (status === 429 || status >= 500 || status === 408) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), new Date());
    const type = status === 429 ? externalErrorTypes.rateLimited : status === 408 ? externalErrorTypes.timeout : externalErrorTypes.unavailable;
    return new ExternalCallError(type, describe(status === 429 ? 'too many requests' : 'server error'), { ...info, retryable: true, retryAfterMs });
  }
  if (status === 401 || status === 403) return new ExternalCallError(externalErrorTypes.unauthorized, describe('credentials refused'), { ...info, retryable: false });
  if (status === 404) return new ExternalCallError(externalErrorTypes.notFound, describe('not found'), { ...info, retryable: false });
  if (status === 409 && code === 'IDEMPOTENCY_KEY_REUSED') {
    return new ExternalCallError(externalErrorTypes.idempotencyConflict, describe('idempotency key reused with another request'), { ...info, retryable: false });
  }
  if (status === 409 || status === 422) {
    return new ExternalCallError(bpmnErrorType, describe('refused'), { ...info, code: code ?? `${where.system.toUpperCase()}_REFUSED`, retryable: false });
  }
  return new ExternalCallError(externalErrorTypes.invalidRequest, describe('request refused'), { ...info, retryable: false });
}

/**
 * Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds from `now`;
 * undefined when absent or unreadable, capped at `maxRetryAfterMs`.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // An HTTP-date names its weekday and month; without letters it is garbage Date.parse might accept.
    if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now.getTime();
  }
  return Math.min(Math.max(ms, 0), maxRetryAfterMs);
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
