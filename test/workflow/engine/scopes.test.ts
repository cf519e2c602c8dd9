import { sql } from 'slonik';
import { completeTaskUpdateName, messageSignalName, type ServiceTaskRequest } from '../../../workflows/contracts';
import { deployDefinition } from '../../../db/definitions';
import { parseBpmn } from '../../../workflows/bpmn';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

const calls: string[] = [];

describe('bpmnProcess: sub-processes, call activities, multi-instance and compensation', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({
      async 'test.log'(request: ServiceTaskRequest) {
        calls.push(`${request.context.workflowId}:${request.context.nodeId}:${JSON.stringify(request.input.item ?? null)}`);
        return { [`${request.context.nodeId}Done`]: true };
      },
      async 'test.double'(request: ServiceTaskRequest) {
        return { doubled: (request.input.item as number) * 2 };
      },
    });
  });
  afterAll(() => engine?.stop());

  it('an embedded sub-process runs its own tokens, and an interrupting message boundary on it cancels them', async () => {
    const model = buildModel(
      'sub',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'install', type: 'subProcess' },
        { id: 'iStart', type: 'startEvent', parentId: 'install' },
        { id: 'survey', type: 'userTask', parentId: 'install' },
        { id: 'iEnd', type: 'endEvent', parentId: 'install' },
        { id: 'withdrawn', type: 'boundaryEvent', attachedToRef: 'install', cancelActivity: true, event: { kind: 'message', messageRef: 'w', correlationKey: '=orderId' } },
        { id: 'end', type: 'endEvent' },
        { id: 'cancelled', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'install'],
        ['f2', 'iStart', 'survey'],
        ['f3', 'survey', 'iEnd'],
        ['f4', 'install', 'end'],
        ['f5', 'withdrawn', 'cancelled'],
      ],
      { messages: { w: { id: 'w', name: 'orderWithdrawn' } } },
    );
    // completes normally through the inner task
    const normal = await engine.start(model, { orderId: 'O-1' });
    const atSurvey = await engine.waitFor(normal, (state) => state.openTasks.length === 1);
    await normal.executeUpdate(completeTaskUpdateName, { args: [{ taskId: atSurvey.openTasks[0]!.taskId, variables: { surveyed: true }, completedBy: 'w' }] });
    await normal.result();
    expect(path_(await engine.state(normal))).toEqual(['start', 'iStart', 'survey', 'iEnd', 'install', 'end']);
    await engine.record('subprocess', normal);

    // interrupted by the message boundary
    const withdrawn = await engine.start(model, { orderId: 'O-2' });
    await engine.waitFor(withdrawn, (state) => state.openTasks.length === 1);
    await withdrawn.signal(messageSignalName, { name: 'orderWithdrawn', correlationKey: 'O-2' });
    await withdrawn.result();
    expect(path_(await engine.state(withdrawn))).toEqual(['start', 'iStart', 'withdrawn', 'cancelled']);
    expect((await engine.tasks(withdrawn.workflowId)).map((row) => row.status)).toEqual(['cancelled']);
    await engine.record('message-boundary-subprocess', withdrawn);
  });

  it('a terminate end event inside a sub-process ends that sub-process only: its other tokens go, the process goes on', async () => {
    const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:message id="m-refused" name="customer-refuses" />
  <bpmn:process id="survey-or-stop" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="checks" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="follow-up" />
    <bpmn:userTask id="follow-up" /><bpmn:sequenceFlow id="f4" sourceRef="follow-up" targetRef="join" />
    <bpmn:subProcess id="checks">
      <bpmn:startEvent id="checks-start" /><bpmn:sequenceFlow id="s1" sourceRef="checks-start" targetRef="split" />
      <bpmn:parallelGateway id="split" />
      <bpmn:sequenceFlow id="s2" sourceRef="split" targetRef="survey" />
      <bpmn:sequenceFlow id="s3" sourceRef="split" targetRef="refused" />
      <bpmn:intermediateCatchEvent id="refused"><bpmn:messageEventDefinition messageRef="m-refused" /></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="s6" sourceRef="refused" targetRef="blocked" />
      <bpmn:userTask id="survey" /><bpmn:sequenceFlow id="s4" sourceRef="survey" targetRef="checks-end" />
      <bpmn:endEvent id="checks-end" />
      <bpmn:scriptTask id="blocked"><bpmn:extensionElements><kf:assignment source="=true" target="stopped" /></bpmn:extensionElements></bpmn:scriptTask>
      <bpmn:sequenceFlow id="s5" sourceRef="blocked" targetRef="stop" />
      <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f5" sourceRef="checks" targetRef="after" />
    <bpmn:scriptTask id="after"><bpmn:extensionElements><kf:assignment source="=true" target="wentOn" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f6" sourceRef="after" targetRef="join" />
    <bpmn:parallelGateway id="join" /><bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`);
    expect(problems).toEqual([]);
    const handle = await engine.start({ ...model!, version: 1 }, {}, { businessKey: 'T-1' });
    await engine.waitFor(handle, (state) => state.openTasks.length === 2 && state.activeNodes.some((node) => node.nodeId === 'refused'));

    await handle.signal(messageSignalName, { name: 'customer-refuses' });

    // then: the survey inside is gone, the sub-process completed and the flow after it ran; the task outside waits on
    const waiting = await engine.waitFor(handle, (state) => state.variables.wentOn === true && state.openTasks.length === 1);
    expect(waiting.openTasks.map((task) => task.nodeId)).toEqual(['follow-up']);
    expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status]).sort()).toEqual([
      ['follow-up', 'open'],
      ['survey', 'cancelled'],
    ]);
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
    const result = (await handle.result()) as { status: string; variables: Record<string, unknown> };
    expect(result).toMatchObject({ status: 'completed', variables: { stopped: true, wentOn: true } });
    expect(path_(await engine.state(handle))).toEqual(expect.arrayContaining(['stop', 'checks', 'after', 'join', 'end']));
    await engine.record('terminate-in-sub-process', handle);
  });

  it('a call activity starts the called process as a child instance, passing variables in and out', async () => {
    const child = buildModel(
      'credit-check',
      [
        { id: 'cStart', type: 'startEvent' },
        { id: 'score', type: 'scriptTask', assignments: [{ source: '=amount / 10', target: 'score' }] },
        { id: 'cEnd', type: 'endEvent' },
      ],
      [
        ['c1', 'cStart', 'score'],
        ['c2', 'score', 'cEnd'],
      ],
    );
    await deployDefinition(engine.database.pool, { key: 'credit-check', xml: '<definitions id="credit-check"/>', model: child, deployedBy: 'test' });
    const parent = buildModel(
      'order',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'check', type: 'callActivity', calledElement: 'credit-check', inputs: [{ source: '=order.amount', target: 'amount' }], outputs: [{ source: '=score', target: 'creditScore' }] },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'check'],
        ['f2', 'check', 'end'],
      ],
    );
    const { handle, result } = await engine.run(parent, { order: { amount: 700 } }, { businessKey: 'O-77' });
    expect(result.variables).toEqual({ order: { amount: 700 }, creditScore: 70 });
    // the child is an instance of its own, with the derived id
    const childHandle = engine.client.workflow.getHandle('credit-check:O-77/check');
    expect((await childHandle.describe()).status.name).toBe('COMPLETED');
    expect(path_(await engine.state(handle))).toEqual(['start', 'check', 'end']);
    await engine.record('call-activity', handle);
  });

  it('parallel multi-instance runs a task per element and collects the outputs in order', async () => {
    const model = buildModel(
      'mi-parallel',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'each', type: 'serviceTask', taskType: 'test.double', multiInstance: { sequential: false, inputCollection: '=items', inputElement: 'item', outputCollection: 'results', outputElement: '=doubled' } },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'each'],
        ['f2', 'each', 'end'],
      ],
    );
    const { handle, result } = await engine.run(model, { items: [1, 2, 3, 4] });
    expect(result.variables.results).toEqual([2, 4, 6, 8]);
    await engine.record('multi-instance-parallel', handle);
  });

  it('sequential multi-instance user tasks open one at a time and stop at the completion condition', async () => {
    const model = buildModel(
      'mi-sequential',
      [
        { id: 'start', type: 'startEvent' },
        {
          id: 'approve',
          type: 'userTask',
          candidateGroups: 'supervisor',
          assignee: '=approver',
          multiInstance: { sequential: true, inputCollection: '=approvers', inputElement: 'approver', completionCondition: '=rejected = true' },
        },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'approve'],
        ['f2', 'approve', 'end'],
      ],
    );
    const handle = await engine.start(model, { approvers: ['wang', 'li', 'zhao'], rejected: false });
    const first = await engine.waitFor(handle, (state) => state.openTasks.length === 1);
    expect(first.openTasks[0]).toMatchObject({ assignee: 'wang' });
    expect(first.activeNodes[0]).toMatchObject({ nodeId: 'approve', loopCounter: 1 });
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: first.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
    const second = await engine.waitFor(handle, (state) => state.openTasks[0]?.assignee === 'li');
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: second.openTasks[0]!.taskId, variables: { rejected: true }, completedBy: 'li' }] });
    await handle.result();
    const rows = await engine.tasks(handle.workflowId);
    expect(rows.map((row) => [row.assignee, row.status])).toEqual([
      ['wang', 'completed'],
      ['li', 'completed'],
    ]);
    await engine.record('multi-instance-sequential', handle);
  });

  it('a multi-instance sub-process gives each iteration its element', async () => {
    const model = buildModel(
      'mi-sub',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'perSite', type: 'subProcess', multiInstance: { sequential: false, inputCollection: '=sites', inputElement: 'item', outputCollection: 'labels', outputElement: '=label' } },
        { id: 'sStart', type: 'startEvent', parentId: 'perSite' },
        { id: 'label', type: 'scriptTask', parentId: 'perSite', assignments: [{ source: '="site " + item', target: 'label' }] },
        { id: 'sEnd', type: 'endEvent', parentId: 'perSite' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'perSite'],
        ['f2', 'sStart', 'label'],
        ['f3', 'label', 'sEnd'],
        ['f4', 'perSite', 'end'],
      ],
    );
    const { result } = await engine.run(model, { sites: ['A', 'B'] });
    expect(result.variables.labels).toEqual(['site A', 'site B']);
  });

  describe('compensation', () => {
    const model = buildModel(
      'saga',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'reserve', type: 'serviceTask', taskType: 'test.log' },
        { id: 'reserveComp', type: 'boundaryEvent', attachedToRef: 'reserve', cancelActivity: true, event: { kind: 'compensation' }, compensationHandlerId: 'release' },
        { id: 'release', type: 'serviceTask', taskType: 'test.log', isForCompensation: true },
        { id: 'charge', type: 'serviceTask', taskType: 'test.log' },
        { id: 'chargeComp', type: 'boundaryEvent', attachedToRef: 'charge', cancelActivity: true, event: { kind: 'compensation' }, compensationHandlerId: 'refund' },
        { id: 'refund', type: 'serviceTask', taskType: 'test.log', isForCompensation: true },
        { id: 'route', type: 'exclusiveGateway', defaultFlowId: 'toWait' },
        { id: 'undo', type: 'endEvent', event: { kind: 'compensation' } },
        { id: 'wait', type: 'userTask' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'reserve'],
        ['f2', 'reserve', 'charge'],
        ['f3', 'charge', 'route'],
        ['toUndo', 'route', 'undo', '=fail = true'],
        ['toWait', 'route', 'wait'],
        ['f4', 'wait', 'end'],
      ],
    );

    it('a compensation end event runs the handlers of completed activities in reverse order', async () => {
      const { handle } = await engine.run(model, { fail: true }, { businessKey: 'S-1' });
      const mine = calls.filter((call) => call.startsWith('saga:S-1:')).map((call) => call.split(':')[2]);
      expect(mine).toEqual(['reserve', 'charge', 'refund', 'release']);
      expect(path_(await engine.state(handle))).toEqual(['start', 'reserve', 'charge', 'route', 'refund', 'release', 'undo']);
      await engine.record('compensation-end', handle);
    });

    it('cancelling the instance compensates, closes open tasks and ends it as cancelled', async () => {
      const handle = await engine.start(model, { fail: false }, { businessKey: 'S-2' });
      await engine.waitFor(handle, (state) => state.openTasks.length === 1);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const mine = calls.filter((call) => call.startsWith('saga:S-2:')).map((call) => call.split(':')[2]);
      expect(mine).toEqual(['reserve', 'charge', 'refund', 'release']);
      expect((await engine.tasks(handle.workflowId)).map((row) => row.status)).toEqual(['cancelled']);
      const count = await engine.database.pool.oneFirst(sql.unsafe`SELECT count(*)::int AS n FROM human_tasks WHERE status = 'open'`);
      expect(count).toBe(0);
      await engine.record('compensation-cancel', handle);
    });
  });

  describe('compensation scoped to sub-processes', () => {
    const compensable = (id: string, handler: string, parentId?: string) => [
      { id, type: 'serviceTask' as const, taskType: 'test.log', ...(parentId ? { parentId } : {}) },
      { id: `${id}Comp`, type: 'boundaryEvent' as const, attachedToRef: id, cancelActivity: true, event: { kind: 'compensation' }, compensationHandlerId: handler, ...(parentId ? { parentId } : {}) },
      { id: handler, type: 'serviceTask' as const, taskType: 'test.log', isForCompensation: true, ...(parentId ? { parentId } : {}) },
    ];
    const mine = (businessKey: string, key: string) => calls.filter((call) => call.startsWith(`${key}:${businessKey}:`)).map((call) => call.split(':')[2]);

    it('a compensation throw inside a sub-process compensates what completed there, not before it', async () => {
      const model = buildModel(
        'scopedThrow',
        [
          { id: 'start', type: 'startEvent' },
          ...compensable('book', 'unbook'),
          { id: 'sub', type: 'subProcess' },
          { id: 'innerStart', type: 'startEvent', parentId: 'sub' },
          ...compensable('reserve', 'release', 'sub'),
          { id: 'undoInside', type: 'intermediateThrowEvent', parentId: 'sub', event: { kind: 'compensation' } },
          { id: 'innerEnd', type: 'endEvent', parentId: 'sub' },
          { id: 'end', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'book'],
          ['f2', 'book', 'sub'],
          ['f3', 'innerStart', 'reserve'],
          ['f4', 'reserve', 'undoInside'],
          ['f5', 'undoInside', 'innerEnd'],
          ['f6', 'sub', 'end'],
        ],
      );
      const { handle } = await engine.run(model, {}, { businessKey: 'SC-1' });
      expect(mine('SC-1', 'scopedThrow')).toEqual(['book', 'reserve', 'release']);
      await engine.record('compensation-scoped-throw', handle);
    });

    const wholeModel = (key: string, ownHandler: boolean) =>
      buildModel(
        key,
        [
          { id: 'start', type: 'startEvent' },
          ...compensable('book', 'unbook'),
          ...(ownHandler ? compensable('sub', 'cancelOrder').map((spec) => (spec.id === 'sub' ? { id: 'sub', type: 'subProcess' as const } : spec)) : [{ id: 'sub', type: 'subProcess' as const }]),
          { id: 'innerStart', type: 'startEvent', parentId: 'sub' },
          ...compensable('reserve', 'release', 'sub'),
          ...compensable('charge', 'refund', 'sub'),
          { id: 'innerEnd', type: 'endEvent', parentId: 'sub' },
          { id: 'undo', type: 'endEvent', event: { kind: 'compensation' } },
        ],
        [
          ['f1', 'start', 'book'],
          ['f2', 'book', 'sub'],
          ['f3', 'innerStart', 'reserve'],
          ['f4', 'reserve', 'charge'],
          ['f5', 'charge', 'innerEnd'],
          ['f6', 'sub', 'undo'],
        ],
      );

    it('a completed sub-process is compensated as a whole, its inner handlers last first, in its place', async () => {
      const { handle } = await engine.run(wholeModel('wholeSub', false), {}, { businessKey: 'SC-2' });
      expect(mine('SC-2', 'wholeSub')).toEqual(['book', 'reserve', 'charge', 'refund', 'release', 'unbook']);
      await engine.record('compensation-subprocess-whole', handle);
    });

    it('a completed sub-process with a compensation handler of its own is compensated by that handler alone', async () => {
      const { handle } = await engine.run(wholeModel('ownHandlerSub', true), {}, { businessKey: 'SC-3' });
      expect(mine('SC-3', 'ownHandlerSub')).toEqual(['book', 'reserve', 'charge', 'cancelOrder', 'unbook']);
      await engine.record('compensation-subprocess-own-handler', handle);
    });
  });
});
