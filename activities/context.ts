import { Context } from '@temporalio/activity';
import type { DatabasePool } from 'slonik';
import type { Config } from '../runtime/config';
import type { Logger } from '../runtime/logger';

/** What activities may use: only the worker builds these, and hands them in. */
export interface ActivityDependencies {
  pool: DatabasePool;
  config: Config;
  logger: Logger;
  /** Injected so tests can move time; activities never read the wall clock directly. */
  now: () => Date;
}

/** The workflow id of the running activity's caller: the root of every idempotency key. */
export function currentWorkflowId(): string {
  const execution = Context.current().info.workflowExecution;
  if (!execution) throw new Error('this activity must be called from a workflow');
  return execution.workflowId;
}
