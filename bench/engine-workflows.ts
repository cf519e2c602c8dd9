// The bench worker's workflows: the interpreter, and the same five-step process written by hand.
import { proxyActivities } from '@temporalio/workflow';
import type { ServiceTaskRequest, Variables } from '../workflows/contracts';
export { bpmnProcess } from '../workflows/bpmn-process';

/** Activity options identical to what the interpreter derives from the bench model's service tasks. */
const { 'bench.step': step } = proxyActivities<{ 'bench.step': (request: ServiceTaskRequest) => Promise<Variables> }>({
  startToCloseTimeout: 10_000,
  retry: { maximumAttempts: 3, initialInterval: 1_000, backoffCoefficient: 2, nonRetryableErrorTypes: ['BpmnError'] },
});

/** validate → (amount > 100 ?) → [provision ∥ notify] → end, as one would write it without BPMN. */
export async function handWrittenFiveStep(input: { businessKey: string; variables: Variables }): Promise<{ status: 'completed'; variables: Variables }> {
  const variables: Variables = { ...input.variables };
  const request = (nodeId: string): ServiceTaskRequest => ({
    input: variables,
    context: {
      workflowId: input.businessKey,
      processKey: 'bench',
      processVersion: 1,
      businessKey: input.businessKey,
      nodeId,
      loopCounter: 0,
      idempotencyKey: `${input.businessKey}/${nodeId}/0`,
    },
  });
  Object.assign(variables, await step(request('validate')));
  if ((variables.amount as number) > 100) {
    const [provisioned, notified] = await Promise.all([step(request('provision')), step(request('notify'))]);
    Object.assign(variables, provisioned, notified);
  }
  return { status: 'completed', variables };
}
