import { ApplicationFailure } from '@temporalio/activity';
import { deployDefinition } from '../../../db/definitions';
import {
  bpmnErrorType,
  completeTaskUpdateName,
  moveTokenUpdateName,
  resolveIncidentUpdateName,
  retryIncidentUpdateName,
  unhandledErrorIncidentType,
  type ServiceTaskRequest,
} from '../../../workflows/contracts';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

let flakyCalls = 0;

describe('bpmnProcess: errors and incidents', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({
      async 'test.checkCredit'(request: ServiceTaskRequest) {
        if ((request.input.credit as string) === 'black') {
          throw ApplicationFailure.create({ type: bpmnErrorType, message: 'customer is on the black list', details: [{ errorCode: 'CREDIT_REFUSED' }] });
        }
        return { creditOk: true };
      },
      async 'test.broken'() {
        flakyCalls++;
        throw new Error('accounting system unreachable');
      },
      async 'test.flaky'(request: ServiceTaskRequest) {
        if (request.input.fixed !== true) throw new Error('provisioning rejected the request');
        return { provisioned: true };
      },
    });
  });
  afterAll(() => engine?.stop());

  const errors = { refused: { id: 'refused', errorCode: 'CREDIT_REFUSED', name: 'Credit refused' }, other: { id: 'other', errorCode: 'OTHER' } };

  it('a BpmnError from an activity is caught by the error boundary with its code', async () => {
    const model = buildModel(
      'credit',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'check', type: 'serviceTask', taskType: 'test.checkCredit', retries: 3 },
        { id: 'otherError', type: 'boundaryEvent', attachedToRef: 'check', cancelActivity: true, event: { kind: 'error', errorRef: 'other' } },
        { id: 'refused', type: 'boundaryEvent', attachedToRef: 'check', cancelActivity: true, event: { kind: 'error', errorRef: 'refused' }, outputs: [{ source: '=errorCode', target: 'reason' }] },
        { id: 'ok', type: 'endEvent' },
        { id: 'rejected', type: 'endEvent' },
        { id: 'wrong', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'check'],
        ['f2', 'check', 'ok'],
        ['f3', 'refused', 'rejected'],
        ['f4', 'otherError', 'wrong'],
      ],
      { errors },
    );
    const { handle, result } = await engine.run(model, { credit: 'black' });
    expect(path_(await engine.state(handle))).toEqual(['start', 'refused', 'rejected']);
    expect(result.variables.reason).toBe('CREDIT_REFUSED');
    await engine.record('error-boundary', handle);

    const fine = await engine.run(model, { credit: 'red' });
    expect(path_(await engine.state(fine.handle))).toEqual(['start', 'check', 'ok']);
  });

  it('an error end event in a sub-process is caught by the boundary on the sub-process', async () => {
    const model = buildModel(
      'sub-error',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'sub', type: 'subProcess' },
        { id: 'subStart', type: 'startEvent', parentId: 'sub' },
        { id: 'fail', type: 'endEvent', parentId: 'sub', event: { kind: 'error', errorRef: 'refused' } },
        { id: 'caught', type: 'boundaryEvent', attachedToRef: 'sub', cancelActivity: true, event: { kind: 'error', errorRef: 'refused' } },
        { id: 'end', type: 'endEvent' },
        { id: 'handled', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'sub'],
        ['f2', 'subStart', 'fail'],
        ['f3', 'sub', 'end'],
        ['f4', 'caught', 'handled'],
      ],
      { errors },
    );
    const { handle } = await engine.run(model);
    expect(path_(await engine.state(handle))).toEqual(['start', 'subStart', 'caught', 'handled']);
    await engine.record('error-end-subprocess', handle);
  });

  describe('a BPMN error nothing catches (Camunda 8: an incident, the instance keeps running)', () => {
    const unhandledEnd = buildModel(
      'uncaught',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'split', type: 'parallelGateway' },
        { id: 'fail', type: 'endEvent', event: { kind: 'error', errorRef: 'refused' } },
        { id: 'review', type: 'userTask', candidateGroups: 'supervisor' },
        { id: 'reviewed', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'split'],
        ['f2', 'split', 'fail'],
        ['f3', 'split', 'review'],
        ['f4', 'review', 'reviewed'],
      ],
      { errors },
    );

    it('an error end event raises an incident at the end event, while other tokens go on', async () => {
      const handle = await engine.start(unhandledEnd);
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.openTasks.length === 1);

      // then
      expect(parked.status).toBe('running');
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'fail', errorType: unhandledErrorIncidentType, errorCode: 'CREDIT_REFUSED', attempts: 1 });
      expect(parked.incidents[0]!.message).toMatch(/CREDIT_REFUSED .*not caught/);
      expect(Date.parse(parked.incidents[0]!.createdAt)).not.toBeNaN();
      await waitForSearchAttribute(handle, 'KfIncident', [true]);
      expect((await handle.describe()).searchAttributes.KfIncidentNode).toEqual(['fail']);

      // the parallel branch is not held up by the incident
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: parked.openTasks[0]!.taskId, variables: { reviewed: true }, completedBy: 'wang' }] });
      await engine.waitFor(handle, (state) => state.completedNodes.some((node) => node.nodeId === 'reviewed'));

      // retry throws the error again: still nothing catches it, so a new incident stands there
      await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id }] });
      const again = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.incidents[0]!.id !== parked.incidents[0]!.id);
      expect(again.incidents[0]).toMatchObject({ nodeId: 'fail', errorCode: 'CREDIT_REFUSED' });

      // resolve completes the path at the end event, and with it the instance
      await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: again.incidents[0]!.id, variables: { resolvedBy: 'ops' } }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ reviewed: true, resolvedBy: 'ops' });
      expect(path_(await engine.state(handle))).toEqual(expect.arrayContaining(['review', 'reviewed', 'fail']));
      expect((await handle.describe()).searchAttributes.KfIncident).toEqual([false]);
      await engine.record('unhandled-error-end', handle);
    });

    it('cancelling an instance with an unhandled error incident ends it as cancelled', async () => {
      const handle = await engine.start(unhandledEnd);
      await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.openTasks.length === 1);

      await handle.cancel();

      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect((await engine.tasks(handle.workflowId)).map((row) => row.status)).toEqual(['cancelled']);
    });

    it('ops can move the token away from an unhandled error end event', async () => {
      const handle = await engine.start(unhandledEnd);
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.openTasks.length === 1);

      await handle.executeUpdate(moveTokenUpdateName, { args: [{ fromNodeId: 'fail', toNodeId: 'review' }] });

      const moved = await engine.waitFor(handle, (state) => state.openTasks.length === 2);
      expect(moved.incidents).toEqual([]);
      for (const task of moved.openTasks) {
        await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.taskId, variables: {}, completedBy: 'wang' }] });
      }
      await handle.result();
      expect(path_(await engine.state(handle)).filter((nodeId) => nodeId === 'reviewed')).toHaveLength(2);
      expect(parked.incidents[0]!.nodeId).toBe('fail');
    });

    it('a BpmnError from a service task that only other codes would catch parks the task; resolve moves on with its outputs', async () => {
      const model = buildModel(
        'uncaught-task',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'sub', type: 'subProcess' },
          { id: 'subStart', type: 'startEvent', parentId: 'sub' },
          { id: 'check', type: 'serviceTask', parentId: 'sub', taskType: 'test.checkCredit' },
          { id: 'subEnd', type: 'endEvent', parentId: 'sub' },
          { id: 'otherError', type: 'boundaryEvent', attachedToRef: 'sub', cancelActivity: true, event: { kind: 'error', errorRef: 'other' } },
          { id: 'end', type: 'endEvent' },
          { id: 'wrong', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'sub'],
          ['f2', 'subStart', 'check'],
          ['f3', 'check', 'subEnd'],
          ['f4', 'sub', 'end'],
          ['f5', 'otherError', 'wrong'],
        ],
        { errors },
      );
      const handle = await engine.start(model, { credit: 'black' });
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'check', errorType: unhandledErrorIncidentType, errorCode: 'CREDIT_REFUSED' });
      expect(parked.activeNodes.map((node) => node.nodeId)).toEqual(expect.arrayContaining(['sub', 'check']));

      // retry runs the task again (the credit is still black: a new incident)
      await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id }] });
      const again = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.incidents[0]!.id !== parked.incidents[0]!.id);

      await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: again.incidents[0]!.id, variables: { creditOk: 'by exception' } }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.creditOk).toBe('by exception');
      expect(path_(await engine.state(handle))).toEqual(['start', 'subStart', 'check', 'subEnd', 'sub', 'end']);
      await engine.record('unhandled-error-task', handle);
    });

    it('an error a called process does not catch comes back to the call activity, which raises the incident when it does not catch it either', async () => {
      const child = buildModel(
        'refuse-child',
        [
          { id: 'cStart', type: 'startEvent' },
          { id: 'cFail', type: 'endEvent', event: { kind: 'error', errorRef: 'refused' } },
        ],
        [['c1', 'cStart', 'cFail']],
        { errors },
      );
      await deployDefinition(engine.database.pool, { key: 'refuse-child', xml: '<definitions id="refuse-child"/>', model: child, deployedBy: 'test' });
      const parent = buildModel(
        'refuse-parent',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'call', type: 'callActivity', calledElement: 'refuse-child' },
          { id: 'end', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'call'],
          ['f2', 'call', 'end'],
        ],
        { errors },
      );
      const handle = await engine.start(parent, {}, { businessKey: 'R-1' });
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'call', errorType: unhandledErrorIncidentType, errorCode: 'CREDIT_REFUSED' });

      // retry calls the process again (a new child under the same id), which refuses again
      await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id }] });
      const again = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.incidents[0]!.id !== parked.incidents[0]!.id);
      expect(again.incidents[0]).toMatchObject({ nodeId: 'call', errorCode: 'CREDIT_REFUSED' });
      expect((await engine.client.workflow.getHandle('refuse-child:R-1/call').describe()).status.name).toBe('FAILED');

      await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: again.incidents[0]!.id, variables: {} }] });
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'call', 'end']);
    });
  });

  it('a catch-all error boundary catches a technical failure after the last retry', async () => {
    const model = buildModel(
      'catch-all',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'bill', type: 'serviceTask', taskType: 'test.broken', retries: 2, retryBackoff: 'PT0.05S' },
        { id: 'anyError', type: 'boundaryEvent', attachedToRef: 'bill', cancelActivity: true, event: { kind: 'error' } },
        { id: 'end', type: 'endEvent' },
        { id: 'manual', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'bill'],
        ['f2', 'bill', 'end'],
        ['f3', 'anyError', 'manual'],
      ],
    );
    flakyCalls = 0;
    const { handle } = await engine.run(model);
    expect(flakyCalls).toBe(2);
    expect(path_(await engine.state(handle))).toEqual(['start', 'anyError', 'manual']);
  });

  describe('an incident', () => {
    const model = buildModel(
      'provision',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'provision', type: 'serviceTask', taskType: 'test.flaky', retries: 2, retryBackoff: 'PT0.05S' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'provision'],
        ['f2', 'provision', 'end'],
      ],
    );

    it('parks the token when retries run out, flags the instance, and a retry with variables lets it finish', async () => {
      const handle = await engine.start(model, {});
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      expect(parked.status).toBe('running');
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'provision', errorType: 'Error', message: 'provisioning rejected the request', attempts: 2 });
      expect(Date.parse(parked.incidents[0]!.createdAt)).not.toBeNaN();
      await waitForSearchAttribute(handle, 'KfIncident', [true]);
      expect((await handle.describe()).searchAttributes.KfIncidentNode).toEqual(['provision']);

      // an unknown incident id is refused
      await expect(handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: 'nope' }] })).rejects.toThrow();

      await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: { fixed: true } }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ fixed: true, provisioned: true });
      expect((await handle.describe()).searchAttributes.KfIncident).toEqual([false]);
      await engine.record('incident-retry', handle);
    });

    it('resolveIncident skips the task with the outputs it would have produced', async () => {
      const handle = await engine.start(model, {});
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: { provisioned: 'by hand' } }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.provisioned).toBe('by hand');
      expect(path_(await engine.state(handle))).toEqual(['start', 'provision', 'end']);
    });
  });
});

async function waitForSearchAttribute(handle: { describe(): Promise<{ searchAttributes: Record<string, unknown> }> }, name: string, value: unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (JSON.stringify((await handle.describe()).searchAttributes[name]) === JSON.stringify(value)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} never became ${JSON.stringify(value)}`);
}
