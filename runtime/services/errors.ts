/** A service Keyflow needs could not be found, installed, started or reached. One line, for people. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
