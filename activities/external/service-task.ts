import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { DatabasePool } from 'slonik';
import type { Config } from '../../runtime/config';
import type { Logger } from '../../runtime/logger';
import { bpmnErrorType, type ServiceTaskRequest, type ServiceTaskResult } from '../../workflows/contracts';
import { externalErrorTypes } from '../../workflows/external';
import { ExternalCallError } from './http';

/** What every external-system activity factory is built from; only read when an activity runs. */
export interface ExternalDependencies {
  config: Config;
  pool: DatabasePool;
  logger: Logger;
}

/** Memoises `make` on first use: activities are built before their dependencies may be used. */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** What a service task's body gets besides its input: who calls, under which key, how to stop. */
export interface ServiceTaskCall {
  workflowId: string;
  idempotencyKey: string;
  signal?: AbortSignal;
  logger: Logger;
}

const requestShape = z.object({
  input: z.record(z.unknown()),
  context: z
    .object({
      workflowId: z.string().min(1),
      idempotencyKey: z.string().min(1).max(300),
    })
    .passthrough(),
});

/** A service-task activity; it carries the schema of its input, which the designer shows as its contract. */
export type ServiceTaskActivity = ((request: ServiceTaskRequest) => Promise<ServiceTaskResult>) & { readonly inputSchema: z.ZodTypeAny };

/**
 * Wraps a service task body in the `ServiceTaskRequest` → variables shape that BPMN service tasks
 * (`kf:type`) call: checks the request and its input (a bad one fails at once, never retried),
 * runs the body and turns its `ExternalCallError`s into `ApplicationFailure`s — retryable ones
 * with the partner's Retry-After as the next retry's delay.
 */
export function defineServiceTask<S extends z.ZodTypeAny>(
  name: string,
  input: S,
  deps: { logger: Logger },
  body: (input: z.infer<S>, call: ServiceTaskCall) => Promise<ServiceTaskResult>,
): ServiceTaskActivity {
  const run = async (request: ServiceTaskRequest): Promise<ServiceTaskResult> => {
    const shape = requestShape.safeParse(request);
    if (!shape.success) throw invalidInput(name, 'the request is not a ServiceTaskRequest', shape.error);
    const { workflowId, idempotencyKey } = shape.data.context;
    const activity = currentActivity();
    const runningIn = activity?.info.workflowExecution?.workflowId;
    // The key routes callbacks back to this instance, so it must really belong to it.
    if (runningIn !== undefined && runningIn !== workflowId) {
      throw invalidInput(name, `context.workflowId ${JSON.stringify(workflowId)} is not the calling workflow ${JSON.stringify(runningIn)}`);
    }
    if (!idempotencyKey.startsWith(`${workflowId}/`)) {
      throw invalidInput(name, 'context.idempotencyKey must start with the workflow id and a slash');
    }
    const parsed = input.safeParse(shape.data.input);
    if (!parsed.success) throw invalidInput(name, 'the task input is invalid', parsed.error);
    try {
      return await body(parsed.data, {
        workflowId,
        idempotencyKey,
        signal: activity?.cancellationSignal,
        logger: deps.logger.child({ component: 'external', activity: name, workflowId, attempt: activity?.info.attempt }),
      });
    } catch (error) {
      if (error instanceof ExternalCallError) throw toApplicationFailure(error);
      // A request the wire schema refuses is our input's fault: the same input fails every time.
      if (error instanceof z.ZodError) throw invalidInput(name, 'the request built from the input is invalid', error);
      throw error;
    }
  };
  return Object.assign(run, { inputSchema: input });
}

export function toApplicationFailure(error: ExternalCallError): ApplicationFailure {
  const { retryable, retryAfterMs, ...details } = error.info;
  if (error.type === bpmnErrorType) {
    return ApplicationFailure.create({ type: bpmnErrorType, message: error.message, nonRetryable: true, details: [{ errorCode: details.code, ...details }] });
  }
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: !retryable,
    details: [details],
    ...(retryable && retryAfterMs !== undefined ? { nextRetryDelay: retryAfterMs } : {}),
  });
}

function invalidInput(name: string, message: string, error?: z.ZodError): ApplicationFailure {
  return ApplicationFailure.create({
    type: externalErrorTypes.invalidInput,
    message: `${name}: ${message}${error ? `: ${error.issues.map((issue) => `${issue.path.join('.') || '(input)'} ${issue.message}`).join('; ')}` : ''}`,
    nonRetryable: true,
    details: error ? [error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }))] : undefined,
  });
}

function currentActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
