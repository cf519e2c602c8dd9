import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, isCancellation } from '@temporalio/workflow';
import { unhandledErrorIncidentType, updateRejections } from '../contracts';
import { ExpressionError } from '../expression';

/** A BPMN error in flight: thrown by an error end event or an activity, caught by a matching error boundary. */
export class BpmnErrorThrow extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    /** A technical failure after the last retry: only a catch-all error boundary catches it. */
    readonly technical = false,
  ) {
    super(message);
    this.name = 'BpmnErrorThrow';
  }
}

/** The interpreter could not decide where a token goes (no true condition and no default flow). */
export class NoPathError extends Error {
  override readonly name = 'NoPathError';
}

/** Failures that park their token as an incident (everything but a cancellation and a BPMN error). */
export function isIncidentCause(error: unknown): boolean {
  return !isCancellation(error) && !(error instanceof BpmnErrorThrow);
}

/** How an incident names what went wrong. */
export function describeFailure(error: unknown): { errorType: string; message: string; errorCode?: string } {
  if (error instanceof BpmnErrorThrow) {
    return {
      errorType: unhandledErrorIncidentType,
      errorCode: error.errorCode,
      message: `BPMN error ${error.errorCode} (${error.message}) was not caught: no error boundary event or error event sub-process matches it`,
    };
  }
  if (error instanceof ActivityFailure || error instanceof ChildWorkflowFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure) return { errorType: cause.type ?? 'ApplicationFailure', message: cause.message };
    return { errorType: cause?.name ?? error.name, message: cause?.message ?? error.message };
  }
  if (error instanceof ExpressionError) return { errorType: 'ExpressionError', message: error.message };
  if (error instanceof Error) return { errorType: error.name, message: error.message };
  return { errorType: 'Error', message: String(error) };
}

/** The BPMN error an activity or a called process failed with, if that is what it failed with. */
export function bpmnErrorOf(cause: unknown, bpmnErrorType: string): BpmnErrorThrow | undefined {
  if (!(cause instanceof ApplicationFailure) || cause.type !== bpmnErrorType) return undefined;
  const details = cause.details?.[0] as { errorCode?: unknown } | undefined;
  return new BpmnErrorThrow(String(details?.errorCode ?? cause.message), cause.message);
}

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: updateRejections.invalidInput, message, nonRetryable: true });
}
