import type { ErrorRequestHandler, RequestHandler } from 'express';
import {
  CheckIntegrityConstraintViolationError,
  ForeignKeyIntegrityConstraintViolationError,
  NotNullIntegrityConstraintViolationError,
  UniqueIntegrityConstraintViolationError,
} from 'slonik';
import { z } from 'zod';
import { DataError } from '../db/errors';

/** The error codes the API answers with, and their one HTTP status each (mapped here, nowhere else). */
export const errorStatus = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNPROCESSABLE: 422,
  TOO_MANY_REQUESTS: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** An error meant for the caller: its code, message and details are returned as they are. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function validationError(error: z.ZodError, where: 'body' | 'query' | 'params'): ApiError {
  return new ApiError(
    'VALIDATION_FAILED',
    `invalid request ${where}`,
    error.issues.map((issue) => ({ field: [where, ...issue.path].join('.'), message: issue.message })),
  );
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  next(new ApiError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

/**
 * The one place errors become responses: `{ error: { code, message, details? } }`. Anything that
 * is not an ApiError is logged with its stack and answered as a bare 500 — never a stack trace or
 * SQL text to the caller.
 */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const apiError = toApiError(error);
  if (apiError.code === 'INTERNAL') {
    req.log?.error({ err: error }, 'unhandled error');
  }
  if (res.headersSent) return;
  res.status(apiError.status).json({
    error: { code: apiError.code, message: apiError.message, ...(apiError.details === undefined ? {} : { details: apiError.details }), requestId: req.id },
  });
};

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof z.ZodError) return validationError(error, 'body');
  if (error instanceof DataError) {
    const code = ({ NOT_FOUND: 'NOT_FOUND', STALE_VERSION: 'CONFLICT', CONFLICT: 'CONFLICT', INVALID_REFERENCE: 'UNPROCESSABLE' } as const)[error.code];
    return new ApiError(code, error.message, error.details === undefined ? { reason: error.code } : { reason: error.code, ...(error.details as object) });
  }
  // The database's own guards, for what validation could not know. Constraint names are ours and
  // safe to show; the SQL and the values are not.
  if (error instanceof UniqueIntegrityConstraintViolationError) {
    return new ApiError('CONFLICT', 'a record with the same key already exists', { reason: 'DUPLICATE', constraint: error.constraint });
  }
  if (error instanceof ForeignKeyIntegrityConstraintViolationError) {
    return new ApiError('UNPROCESSABLE', 'a referenced record does not exist', { reason: 'INVALID_REFERENCE', constraint: error.constraint });
  }
  if (error instanceof CheckIntegrityConstraintViolationError || error instanceof NotNullIntegrityConstraintViolationError) {
    return new ApiError('UNPROCESSABLE', 'the values break a rule of the store', { reason: 'CONSTRAINT', constraint: error.constraint });
  }
  // The router could not percent-decode a path parameter (`/api/accounts/%FF%FE`).
  if (error instanceof URIError) return new ApiError('BAD_REQUEST', 'the path holds malformed percent-encoding');
  const httpError = error as { type?: string; status?: number; expose?: boolean; message?: string };
  // body-parser's errors: they carry a status and a type, and their messages are safe to show.
  if (httpError.type === 'entity.too.large') return new ApiError('PAYLOAD_TOO_LARGE', 'request body is too large');
  if (httpError.type === 'entity.parse.failed') return new ApiError('BAD_REQUEST', 'request body is not valid JSON');
  if (httpError.type === 'encoding.unsupported' || httpError.type === 'charset.unsupported') {
    return new ApiError('UNSUPPORTED_MEDIA_TYPE', httpError.message ?? 'unsupported encoding');
  }
  if (httpError.expose && httpError.status && httpError.status < 500) return new ApiError('BAD_REQUEST', httpError.message ?? 'bad request');
  return new ApiError('INTERNAL', 'internal error');
}
