import { CancellationScope, isCancellation } from '@temporalio/workflow';
import type { Variables } from '../contracts';
import { evaluateCondition, evaluateExpression, ExpressionError } from '../expression';
import type { Activity } from '../model';
import type { Engine } from './engine';
import type { Token } from './types';

/**
 * A multi-instance activity: one execution of its body per item of the input collection, one
 * after another or all at once, until all completed or the completion condition holds.
 */
export class MultiInstance {
  constructor(private readonly engine: Engine) {}

  async run(token: Token, node: Activity, locals: Variables | undefined): Promise<void> {
    const { state, variables, executions } = this.engine;
    const spec = node.multiInstance!;
    const items = evaluateExpression(spec.inputCollection, variables.context(locals));
    if (!Array.isArray(items)) throw new ExpressionError(spec.inputCollection, `the multi-instance collection of ${node.id} is not a list`);
    const results: unknown[] = items.map(() => null);
    let completed = 0;
    let active = 0;
    let done = false;
    const iterate = async (index: number) => {
      const iterationLocals: Variables = { ...(locals ?? {}), loopCounter: index + 1 };
      if (spec.inputElement) iterationLocals[spec.inputElement] = items[index];
      active++;
      try {
        await executions.body(token, node, { locals: iterationLocals, loopCounter: index + 1, execution: state.nextExecution(node.id) });
      } finally {
        active--;
      }
      completed++;
      const context = { ...state.vars, ...iterationLocals };
      if (spec.outputElement) results[index] = evaluateExpression(spec.outputElement, context);
      if (spec.completionCondition) {
        const counts = { nrOfInstances: items.length, nrOfCompletedInstances: completed, nrOfActiveInstances: active };
        if (evaluateCondition(spec.completionCondition, { ...context, ...counts })) done = true;
      }
    };
    if (spec.sequential) {
      for (let index = 0; index < items.length && !done; index++) await iterate(index);
    } else {
      const scope = new CancellationScope();
      let failure: unknown;
      await scope.run(() =>
        Promise.allSettled(
          items.map((_, index) =>
            iterate(index).then(
              () => {
                if (done) scope.cancel();
              },
              (error: unknown) => {
                if (done && isCancellation(error)) return;
                if (failure === undefined) failure = error;
                scope.cancel();
              },
            ),
          ),
        ),
      );
      if (failure !== undefined) throw failure;
    }
    if (spec.outputCollection) variables.write(spec.outputCollection, results, locals);
  }
}
