import { CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import type { Variables } from '../contracts';
import { evaluateCondition, evaluateExpression, ExpressionError } from '../expression';
import type { Activity } from '../model';
import type { Engine } from './engine';
import { patches } from '../patches';
import type { Iteration, MultiInstanceProgress, Token } from './types';

/**
 * A multi-instance activity: one execution of its body per item of the input collection, one
 * after another or all at once, until all completed or the completion condition holds. Its
 * progress (items, results, the iterations in flight) stays on the token, so a continue-as-new can
 * carry it and the next run goes on with the iterations that had not completed.
 */
export class MultiInstance {
  constructor(private readonly engine: Engine) {}

  async run(token: Token, node: Activity, locals: Variables | undefined): Promise<void> {
    const { state, variables, executions } = this.engine;
    const spec = node.multiInstance!;
    const carried = token.resume?.kind === 'multiInstance' ? token.resume : undefined;
    if (carried) token.resume = undefined;
    const items = carried ? carried.items : evaluateExpression(spec.inputCollection, variables.context(locals));
    if (!Array.isArray(items)) throw new ExpressionError(spec.inputCollection, `the multi-instance collection of ${node.id} is not a list`);
    // Runs from before progress was tracked keep running without it: they never continue as new here.
    const progress: MultiInstanceProgress | undefined =
      carried || patched(patches.continueAsNewInMultiInstance)
        ? { items, results: carried ? [...carried.results] : items.map(() => null), completed: new Set(carried?.completed), inFlight: new Map() }
        : undefined;
    const results = progress?.results ?? items.map(() => null);
    const resumed = new Map((carried?.iterations ?? []).map((iteration) => [iteration.index, iteration]));
    let completed = progress?.completed.size ?? 0;
    let active = 0;
    let done = false;
    const iterate = async (index: number) => {
      const iterationLocals: Variables = { ...(locals ?? {}), loopCounter: index + 1 };
      if (spec.inputElement) iterationLocals[spec.inputElement] = items[index];
      const carriedIteration = resumed.get(index);
      const execution = carriedIteration?.execution ?? state.nextExecution(node.id);
      const iteration: Iteration | undefined = progress ? { index, execution, waits: 0, ...(carriedIteration ? { resume: carriedIteration.body } : {}) } : undefined;
      if (iteration) progress!.inFlight.set(index, iteration);
      active++;
      try {
        await executions.body(token, node, { locals: iterationLocals, loopCounter: index + 1, execution, ...(iteration ? { iteration } : {}) });
      } finally {
        active--;
        progress?.inFlight.delete(index);
      }
      completed++;
      progress?.completed.add(index);
      const context = { ...state.vars, ...iterationLocals };
      if (spec.outputElement) results[index] = evaluateExpression(spec.outputElement, context);
      if (spec.completionCondition) {
        const counts = { nrOfInstances: items.length, nrOfCompletedInstances: completed, nrOfActiveInstances: active };
        if (evaluateCondition(spec.completionCondition, { ...context, ...counts })) done = true;
      }
    };
    const pending = items.map((_, index) => index).filter((index) => !progress?.completed.has(index));
    token.multiInstance = progress;
    try {
      if (spec.sequential) {
        for (const index of pending) {
          if (done) break;
          await iterate(index);
        }
      } else {
        const scope = new CancellationScope();
        let failure: unknown;
        await scope.run(() =>
          Promise.allSettled(
            pending.map((index) =>
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
    } finally {
      token.multiInstance = undefined;
    }
    if (spec.outputCollection) variables.write(spec.outputCollection, results, locals);
  }
}
