import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { knownTaskTypes } from '../../../activities/catalog';
import { parseBpmn } from '../../../workflows/bpmn';
import { bpmnProcessWorkflowType, processInstanceId, stateQueryName, type BpmnProcessInput, type BpmnProcessResult, type ProcessInstanceState } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startExternalStack, type ExternalStack } from '../../support/external';

/**
 * The same activation as the hand-written test workflow, drawn in BPMN and run by the engine:
 * service task `provisioning.activate`, then an event-based gateway racing the network's callback
 * (message `provisioning.result`, correlated by service id) against a timer that asks the network.
 */
describe('a BPMN process driving the provisioning system', () => {
  let database: TestDatabase;
  let stack: ExternalStack;
  let model: ProcessModel;

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startExternalStack(database);
    const parsed = await parseBpmn(fs.readFileSync(path.join(__dirname, 'fixtures', 'activation.bpmn'), 'utf8'), { knownTaskTypes: knownTaskTypes() });
    expect(parsed.problems).toEqual([]);
    model = parsed.model!;
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  afterEach(async () => {
    await stack.control.clearFaults();
  });

  async function run(callbackTimeout: string) {
    const serviceId = `SVC-${randomUUID().slice(0, 8)}`;
    const businessKey = `ORD-${randomUUID().slice(0, 8)}`;
    const handle = await stack.workflows.start(bpmnProcessWorkflowType, {
      taskQueue: stack.config.KEYFLOW_TASK_QUEUE,
      workflowId: processInstanceId(model.key, businessKey),
      args: [{ definition: model, businessKey, variables: { serviceId, customerId: 'C-6001', productCode: 'DIA', callbackTimeout } } satisfies BpmnProcessInput],
      workflowExecutionTimeout: '2 minutes',
    });
    const result = (await handle.result()) as BpmnProcessResult;
    const state = await handle.query<ProcessInstanceState>(stateQueryName);
    return { serviceId, handle, result, path: state.completedNodes.map((node) => node.nodeId) };
  }

  it('takes the message path when the network calls back, with the callback variables', async () => {
    const { serviceId, result, path: taken } = await run('PT30S');

    expect(taken).toEqual(expect.arrayContaining(['activate', 'completed', 'activated']));
    expect(taken).not.toContain('ask');
    expect(result.variables).toMatchObject({ serviceId, provisioningStatus: 'completed', provisioningRequestId: expect.any(String) });
  });

  it('takes the timer path when the callback is lost, and learns from the network that the service is active', async () => {
    await stack.control.setFaults({ 'provisioning.activate': { loseCallbackRate: 1 } });

    const { result, path: taken } = await run('PT2S');

    expect(taken).toEqual(expect.arrayContaining(['activate', 'no-answer', 'ask', 'checked']));
    expect(taken).not.toContain('completed');
    expect(result.variables).toMatchObject({ serviceStatus: 'active' });
    expect(result.variables.provisioningStatus).toBe('accepted');
  });

  it('takes the message path once when the final callback comes twice and out of order', async () => {
    await stack.control.setFaults({ 'provisioning.activate': { duplicateCallbackRate: 1, outOfOrderCallbackRate: 1, callbackDelayMs: 400 } });

    const { handle, path: taken } = await run('PT30S');
    await stack.control.settled();

    expect(taken.filter((node) => node === 'completed')).toHaveLength(1);
    const answers = (await stack.control.callbacks({ system: 'provisioning' })).deliveries
      .filter((delivery) => String(delivery.body.idempotencyKey).startsWith(`${handle.workflowId}/`))
      .map((delivery) => delivery.answer);
    expect(answers.sort()).toEqual(['delivered', 'duplicate', 'stale']);
  });
});
