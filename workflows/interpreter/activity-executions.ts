import { ActivityFailure } from '@temporalio/workflow';
import type { Activity } from '../model';
import { execute } from './elements/registry';
import type { Engine } from './engine';
import { isIncidentCause } from './failures';
import type { Execution, Token } from './types';

/** One execution of an activity's behaviour: what its element does, with a technical failure parked as an incident in place. */
export class ActivityExecutions {
  constructor(private readonly engine: Engine) {}

  async body(token: Token, node: Activity, execution: Execution): Promise<void> {
    const previous = token.loopCounter;
    if (execution.loopCounter) token.loopCounter = execution.loopCounter;
    try {
      for (;;) {
        try {
          await execute(this.engine, token, node, execution);
          return;
        } catch (error) {
          if (!isIncidentCause(error) && !this.engine.catching.unhandledError(node, error)) throw error;
          const attempts = node.type === 'serviceTask' && error instanceof ActivityFailure ? node.retries : 1;
          const resolution = await this.engine.incidents.park(token, node.id, error, attempts);
          if (resolution.variables) this.engine.variables.merge(resolution.variables, execution.locals);
          if (resolution.kind === 'resolve') return;
        }
      }
    } finally {
      token.loopCounter = previous;
    }
  }
}
