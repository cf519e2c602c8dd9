import { ApplicationFailure } from '@temporalio/common';
import { classifyFailure, ExternalCallError, maxRetryAfterMs, parseRetryAfter } from '../../../activities/external/http';
import { toApplicationFailure } from '../../../activities/external/service-task';
import { bpmnErrorType } from '../../../workflows/contracts';
import { externalErrorTypes, externalRetryPolicy, nonRetryableExternalErrorTypes, retryableExternalErrorTypes } from '../../../workflows/external';

const where = { system: 'accounting' as const, operation: 'accounting.postAdjustment' };
const answer = (status: number, body: unknown = { error: { code: 'X', message: 'partner says no' } }, headers: Record<string, string> = {}) =>
  classifyFailure({ status, headers: new Headers(headers) }, typeof body === 'string' ? body : JSON.stringify(body), where);

describe('classifying a partner failure', () => {
  it.each([
    [500, externalErrorTypes.unavailable],
    [502, externalErrorTypes.unavailable],
    [503, externalErrorTypes.unavailable],
    [504, externalErrorTypes.unavailable],
    [429, externalErrorTypes.rateLimited],
    [408, externalErrorTypes.timeout],
  ])('retries %i as %s', (status, type) => {
    const error = answer(status);
    expect(error.type).toBe(type);
    expect(error.info.retryable).toBe(true);
  });

  it.each([
    [400, externalErrorTypes.invalidRequest],
    [401, externalErrorTypes.unauthorized],
    [403, externalErrorTypes.unauthorized],
    [404, externalErrorTypes.notFound],
    [410, externalErrorTypes.invalidRequest],
  ])('does not retry %i: it is %s', (status, type) => {
    const error = answer(status);
    expect(error.type).toBe(type);
    expect(error.info.retryable).toBe(false);
  });

  it('makes a 409 or 422 business refusal a BpmnError carrying the partner code', () => {
    expect(answer(422, { error: { code: 'NO_CAPACITY', message: 'full' } })).toMatchObject({ type: bpmnErrorType, info: { code: 'NO_CAPACITY', retryable: false } });
    expect(answer(409, { error: { code: 'BALANCE_OUTSTANDING' } })).toMatchObject({ type: bpmnErrorType, info: { code: 'BALANCE_OUTSTANDING' } });
    expect(answer(422, 'not json')).toMatchObject({ type: bpmnErrorType, info: { code: 'ACCOUNTING_REFUSED' } });
  });

  it('tells a reused idempotency key apart from a business refusal', () => {
    expect(answer(409, { error: { code: 'IDEMPOTENCY_KEY_REUSED' } }).type).toBe(externalErrorTypes.idempotencyConflict);
  });

  it("keeps a 429's and a 503's Retry-After", () => {
    expect(answer(429, undefined, { 'retry-after': '7' }).info.retryAfterMs).toBe(7_000);
    expect(answer(503, undefined, { 'retry-after': '30' }).info.retryAfterMs).toBe(30_000);
    expect(answer(429).info.retryAfterMs).toBeUndefined();
  });

  it('names the partner, the operation, the status and its message', () => {
    expect(answer(422, { error: { code: 'CURRENCY_MISMATCH', message: 'account is in CNY' } }).message).toBe(
      'accounting.postAdjustment: accounting answered 422 CURRENCY_MISMATCH: account is in CNY',
    );
  });
});

describe('Retry-After', () => {
  const now = new Date('2025-06-01T08:00:00Z');

  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 01 Jun 2025 08:00:30 GMT', now)).toBe(30_000);
  });

  it('treats a date in the past as no wait, and caps a long one', () => {
    expect(parseRetryAfter('Sun, 01 Jun 2025 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400', now)).toBe(maxRetryAfterMs);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('the ApplicationFailure an activity throws', () => {
  it('carries the Retry-After as the next retry delay of a retryable failure', () => {
    const failure = toApplicationFailure(new ExternalCallError(externalErrorTypes.rateLimited, 'slow down', { ...where, retryable: true, status: 429, retryAfterMs: 2_000 }));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ExternalRateLimited', nonRetryable: false, nextRetryDelay: 2_000 });
  });

  it('marks a non-retryable failure so, whatever the retry policy says', () => {
    expect(toApplicationFailure(new ExternalCallError(externalErrorTypes.notFound, 'gone', { ...where, retryable: false, status: 404 }))).toMatchObject({
      type: 'ExternalNotFound',
      nonRetryable: true,
    });
  });

  it('makes a business refusal a BpmnError whose first detail holds the errorCode (the engine contract)', () => {
    const failure = toApplicationFailure(new ExternalCallError(bpmnErrorType, 'no capacity', { ...where, retryable: false, status: 422, code: 'NO_CAPACITY' }));
    expect(failure).toMatchObject({ type: 'BpmnError', nonRetryable: true });
    expect(failure.details?.[0]).toMatchObject({ errorCode: 'NO_CAPACITY' });
  });
});

describe('the retry policy constants', () => {
  it('list every non-retryable type, BpmnError included, and none of the retryable ones', () => {
    const all = Object.values(externalErrorTypes);
    expect([...nonRetryableExternalErrorTypes, ...retryableExternalErrorTypes].sort()).toEqual([...all, bpmnErrorType].sort());
    expect(externalRetryPolicy.nonRetryableErrorTypes).toEqual([...nonRetryableExternalErrorTypes]);
  });
});
