/** Why an ops action was refused or failed; the API maps each code to its one HTTP status. */
export type OpsErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'UNPROCESSABLE' | 'BAD_REQUEST' | 'UNAVAILABLE';

export class OpsError extends Error {
  constructor(
    readonly code: OpsErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}
