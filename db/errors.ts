/**
 * What the data layer reports about a write it refused, beyond slonik's own integrity errors. The
 * API maps each to one HTTP status (api/errors.ts); activities map them to retryable or not.
 */
export class DataError extends Error {
  constructor(
    readonly code: 'NOT_FOUND' | 'STALE_VERSION' | 'CONFLICT' | 'INVALID_REFERENCE',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** The row exists but someone changed it since the caller read `expected`. */
export function staleVersion(entity: string, id: string, expected: number, actual: number): DataError {
  return new DataError('STALE_VERSION', `${entity} ${id} was changed by someone else (version ${actual}, you sent ${expected}); reload and retry`, {
    currentVersion: actual,
  });
}

export function notFound(entity: string, id: string): DataError {
  return new DataError('NOT_FOUND', `${entity} ${id} not found`);
}
