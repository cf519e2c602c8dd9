import { parseBpmn } from '../../../workflows/bpmn';
import { completeTaskUpdateName, messageSignalName } from '../../../workflows/contracts';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

describe('bpmnProcess: messages and timers', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  const messages = { done: { id: 'done', name: 'provisioningDone' }, note: { id: 'note', name: 'customerNote' } };

  describe('a message catch event and a receive task', () => {
    const model = buildModel(
      'provisioning',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'wait', type: 'intermediateCatchEvent', event: { kind: 'message', messageRef: 'done', correlationKey: '=orderId' } },
        { id: 'confirm', type: 'receiveTask', messageRef: 'note', outputs: [{ source: '=text', target: 'lastNote' }] },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'wait'],
        ['f2', 'wait', 'confirm'],
        ['f3', 'confirm', 'end'],
      ],
      { messages },
    );

    it('waits for the message with its correlation key, ignores other keys and duplicates, and maps the variables', async () => {
      const handle = await engine.start(model, { orderId: 'O-1' });
      await engine.waitFor(handle, (state) => state.activeNodes.some((node) => node.nodeId === 'wait'));

      // a message for another order does not move the token
      await handle.signal(messageSignalName, { name: 'provisioningDone', correlationKey: 'O-2', messageId: 'x1', variables: { circuit: 'wrong' } });
      await handle.signal(messageSignalName, { name: 'provisioningDone', correlationKey: 'O-1', messageId: 'm1', variables: { circuit: 'GZ-0001' } });
      const atConfirm = await engine.waitFor(handle, (state) => state.activeNodes.some((node) => node.nodeId === 'confirm'));
      expect(atConfirm.variables.circuit).toBe('GZ-0001');

      // a redelivered message (same messageId) does nothing, a new one moves the receive task
      await handle.signal(messageSignalName, { name: 'provisioningDone', correlationKey: 'O-1', messageId: 'm1', variables: { circuit: 'again' } });
      await handle.signal(messageSignalName, { name: 'customerNote', variables: { text: '请周末安装' } });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ circuit: 'GZ-0001', lastNote: '请周末安装' });
      expect(path_(await engine.state(handle))).toEqual(['start', 'wait', 'confirm', 'end']);
      await engine.record('message-catch', handle);
    });

    it('keeps a message that arrives before the token reaches its catch event', async () => {
      const handle = await engine.start(model, { orderId: 'O-9' });
      // both callbacks come at once, before or while the token is still starting
      await handle.signal(messageSignalName, { name: 'customerNote', variables: { text: 'early' } });
      await handle.signal(messageSignalName, { name: 'provisioningDone', correlationKey: 'O-9', variables: { circuit: 'GZ-0009' } });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ circuit: 'GZ-0009', lastNote: 'early' });
      await engine.record('message-buffered', handle);
    });
  });

  it('a timer catch event waits for its duration', async () => {
    const model = buildModel(
      'cool-off',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'pause', type: 'intermediateCatchEvent', event: { kind: 'timer', timer: { kind: 'duration', expression: '=wait' } } },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'pause'],
        ['f2', 'pause', 'end'],
      ],
    );
    const started = Date.now();
    const { handle } = await engine.run(model, { wait: 'PT1S' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const state = await engine.state(handle);
    expect(path_(state)).toEqual(['start', 'pause', 'end']);
    const pause = state.completedNodes[1]!;
    expect(Date.parse(pause.completedAt) - Date.parse(pause.startedAt)).toBeGreaterThanOrEqual(1000);
    await engine.record('timer-catch', handle);
  });

  describe('timer boundary events on a user task', () => {
    it('an interrupting timer cancels the task, closes its inbox row and takes the escalation path', async () => {
      const model = buildModel(
        'sla',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'handle', type: 'userTask', candidateGroups: 'dispatcher' },
          { id: 'sla', type: 'boundaryEvent', attachedToRef: 'handle', cancelActivity: true, event: { kind: 'timer', timer: { kind: 'duration', expression: 'PT1S' } } },
          { id: 'escalate', type: 'userTask', candidateGroups: 'supervisor' },
          { id: 'end', type: 'endEvent' },
          { id: 'escalated', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'handle'],
          ['f2', 'handle', 'end'],
          ['f3', 'sla', 'escalate'],
          ['f4', 'escalate', 'escalated'],
        ],
      );
      const handle = await engine.start(model, {}, { businessKey: 'T-1' });
      const escalated = await engine.waitFor(handle, (state) => state.openTasks[0]?.nodeId === 'escalate');
      expect(escalated.openTasks).toHaveLength(1);
      const rows = await engine.tasks(handle.workflowId);
      expect(rows.map((row) => [row.node_id, row.status])).toEqual([
        ['handle', 'cancelled'],
        ['escalate', 'open'],
      ]);

      // the search attribute follows the waiting node
      const description = await handle.describe();
      expect(description.searchAttributes.KfActiveNodes).toEqual(['escalate']);
      expect(description.searchAttributes.KfProcessKey).toEqual(['sla']);
      expect(description.searchAttributes.KfBusinessKey).toEqual(['T-1']);

      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: escalated.openTasks[0]!.taskId, variables: {}, completedBy: 'boss' }] });
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'sla', 'escalate', 'escalated']);
      await engine.record('timer-boundary-interrupting', handle);
    });

    it('a non-interrupting cycle timer sends reminders while the task stays open', async () => {
      const model = buildModel(
        'reminders',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'handle', type: 'userTask', candidateGroups: 'dispatcher' },
          { id: 'remind', type: 'boundaryEvent', attachedToRef: 'handle', cancelActivity: false, event: { kind: 'timer', timer: { kind: 'cycle', expression: 'R2/PT0.5S' } } },
          { id: 'count', type: 'scriptTask', assignments: [{ source: '=reminders + 1', target: 'reminders' }] },
          { id: 'end', type: 'endEvent' },
          { id: 'reminded', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'handle'],
          ['f2', 'handle', 'end'],
          ['f3', 'remind', 'count'],
          ['f4', 'count', 'reminded'],
        ],
      );
      const handle = await engine.start(model, { reminders: 0 });
      const reminded = await engine.waitFor(handle, (state) => state.variables.reminders === 2);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect((await engine.state(handle)).variables.reminders).toBe(2);
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: reminded.openTasks[0]!.taskId, variables: {}, completedBy: 'a' }] });
      await handle.result();
      const path = path_(await engine.state(handle));
      expect(path.filter((id) => id === 'remind')).toHaveLength(2);
      expect(path[path.length - 1]).toBe('end');
      await engine.record('timer-boundary-cycle', handle);
    });
  });

  it('a terminate end event ends the instance at once, cancelling the other branch', async () => {
    const model = buildModel(
      'terminate',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'fork', type: 'parallelGateway' },
        { id: 'slow', type: 'userTask' },
        { id: 'pause', type: 'intermediateCatchEvent', event: { kind: 'timer', timer: { kind: 'duration', expression: 'PT0.5S' } } },
        { id: 'stop', type: 'endEvent', event: { kind: 'terminate' } },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'fork'],
        ['f2', 'fork', 'slow'],
        ['f3', 'fork', 'pause'],
        ['f5', 'pause', 'stop'],
        ['f4', 'slow', 'end'],
      ],
    );
    const { handle } = await engine.run(model);
    const state = await engine.state(handle);
    expect(path_(state)).toContain('stop');
    expect(path_(state)).not.toContain('end');
    const rows = await engine.tasks(handle.workflowId);
    expect(rows.map((row) => row.status)).toEqual(['cancelled']);
    await engine.record('terminate-end', handle);
  });

  describe('signals (delivered as a `message` signal with `signal: true`, or thrown inside the instance)', () => {
    it('a signal boundary fires for every signal while the task is open, a signal throw reaches the catch event of the other branch, and a message of the same name does not', async () => {
      const model = buildModel(
        'go-live',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'fork', type: 'parallelGateway' },
          { id: 'waitGo', type: 'intermediateCatchEvent', event: { kind: 'signal', signalRef: 'go-live' } },
          { id: 'live', type: 'endEvent' },
          { id: 'prepare', type: 'userTask' },
          { id: 'ping', type: 'boundaryEvent', attachedToRef: 'prepare', cancelActivity: false, event: { kind: 'signal', signalRef: 'ping' } },
          { id: 'countPing', type: 'scriptTask', assignments: [{ source: '=pings + 1', target: 'pings' }] },
          { id: 'pinged', type: 'endEvent' },
          { id: 'announce', type: 'intermediateThrowEvent', event: { kind: 'signal', signalRef: 'go-live' }, inputs: [{ source: '="now"', target: 'when' }] },
          { id: 'prepared', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'fork'],
          ['f2', 'fork', 'waitGo'],
          ['f3', 'waitGo', 'live'],
          ['f4', 'fork', 'prepare'],
          ['f5', 'ping', 'countPing'],
          ['f6', 'countPing', 'pinged'],
          ['f7', 'prepare', 'announce'],
          ['f8', 'announce', 'prepared'],
        ],
      );
      const handle = await engine.start(model, { pings: 0 });
      const waiting = await engine.waitFor(handle, (state) => state.openTasks.length === 1 && state.activeNodes.some((node) => node.nodeId === 'waitGo'));

      await handle.signal(messageSignalName, { name: 'ping', signal: true });
      await handle.signal(messageSignalName, { name: 'ping', signal: true });
      await handle.signal(messageSignalName, { name: 'go-live' });

      // then
      const pinged = await engine.waitFor(handle, (state) => state.variables.pings === 2);
      expect(pinged.activeNodes.map((node) => node.nodeId).sort()).toEqual(['prepare', 'waitGo']);
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ pings: 2, when: 'now' });
      expect(path_(await engine.state(handle))).toEqual(expect.arrayContaining(['announce', 'prepared', 'waitGo', 'live']));
      await engine.record('signal-catch-boundary-throw', handle);
    });

    it('a signal nobody waits for is dropped, not kept for later', async () => {
      const model = buildModel(
        'late-signal',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'first', type: 'userTask' },
          { id: 'wait', type: 'intermediateCatchEvent', event: { kind: 'signal', signalRef: 'later' } },
          { id: 'end', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'first'],
          ['f2', 'first', 'wait'],
          ['f3', 'wait', 'end'],
        ],
      );
      const handle = await engine.start(model);
      const atFirst = await engine.waitFor(handle, (state) => state.openTasks.length === 1);
      await handle.signal(messageSignalName, { name: 'later', signal: true, variables: { early: true } });
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: atFirst.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
      const waiting = await engine.waitFor(handle, (state) => state.activeNodes.some((node) => node.nodeId === 'wait'));
      expect(waiting.variables.early).toBeUndefined();

      await handle.signal(messageSignalName, { name: 'later', signal: true, variables: { onTime: true } });

      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toEqual({ onTime: true });
    });

    it('a signal delivered twice with the same id (a broadcast page retried) is taken once', async () => {
      const model = buildModel(
        'broadcast-once',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'watch', type: 'userTask' },
          { id: 'alarm', type: 'boundaryEvent', attachedToRef: 'watch', cancelActivity: false, event: { kind: 'signal', signalRef: 'alarm' } },
          { id: 'countAlarm', type: 'scriptTask', assignments: [{ source: '=alarms + 1', target: 'alarms' }] },
          { id: 'counted', type: 'endEvent' },
          { id: 'watched', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'watch'],
          ['f2', 'alarm', 'countAlarm'],
          ['f3', 'countAlarm', 'counted'],
          ['f4', 'watch', 'watched'],
        ],
      );
      const handle = await engine.start(model, { alarms: 0 });
      const waiting = await engine.waitFor(handle, (state) => state.openTasks.length === 1);

      await handle.signal(messageSignalName, { name: 'alarm', signal: true, messageId: 'signal:b-1' });
      await handle.signal(messageSignalName, { name: 'alarm', signal: true, messageId: 'signal:b-1' });
      await handle.signal(messageSignalName, { name: 'alarm', signal: true, messageId: 'signal:b-2' });

      // then: b-1 once, b-2 once
      await engine.waitFor(handle, (state) => state.variables.alarms === 2);
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toEqual({ alarms: 2 });
      await engine.record('signal-ids', handle);
    });

    it('an interrupting signal boundary cancels its task, and a signal start runs an event sub-process', async () => {
      const model = buildModel(
        'recall',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'review', type: 'userTask' },
          { id: 'recalled', type: 'boundaryEvent', attachedToRef: 'review', cancelActivity: true, event: { kind: 'signal', signalRef: 'recall' } },
          { id: 'hold', type: 'userTask' },
          { id: 'end', type: 'endEvent' },
          { id: 'onFreeze', type: 'subProcess', triggeredByEvent: true },
          { id: 'freezeStart', type: 'startEvent', parentId: 'onFreeze', event: { kind: 'signal', signalRef: 'freeze' } },
          { id: 'freezeEnd', type: 'endEvent', parentId: 'onFreeze' },
        ],
        [
          ['f1', 'start', 'review'],
          ['f2', 'review', 'end'],
          ['f3', 'recalled', 'hold'],
          ['f4', 'hold', 'end'],
          ['e1', 'freezeStart', 'freezeEnd'],
        ],
      );
      const handle = await engine.start(model);
      await engine.waitFor(handle, (state) => state.openTasks[0]?.nodeId === 'review');
      await handle.signal(messageSignalName, { name: 'recall', signal: true });
      await engine.waitFor(handle, (state) => state.openTasks[0]?.nodeId === 'hold');

      await handle.signal(messageSignalName, { name: 'freeze', signal: true, variables: { frozen: true } });

      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.frozen).toBe(true);
      expect(path_(await engine.state(handle))).toEqual(['start', 'recalled', 'freezeStart', 'freezeEnd', 'onFreeze']);
      expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([
        ['review', 'cancelled'],
        ['hold', 'cancelled'],
      ]);
      await engine.record('signal-boundary-event-subprocess', handle);
    });
  });
  it('follows a link from its throw to the catch of the same name, as drawn across a large diagram', async () => {
    const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:process id="linked" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:exclusiveGateway id="check" default="small" />
    <bpmn:sequenceFlow id="big" sourceRef="check" targetRef="to-approval"><bpmn:conditionExpression>=amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="check" targetRef="end" />
    <bpmn:intermediateThrowEvent id="to-approval" name="to approval"><bpmn:linkEventDefinition id="l1" name="approval" /></bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="from-approval" name="approval"><bpmn:linkEventDefinition id="l2" name="approval" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="from-approval" targetRef="approved" />
    <bpmn:scriptTask id="approved"><bpmn:extensionElements><kf:assignment source="=true" target="approvalNeeded" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="approved" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`);
    expect(problems).toEqual([]);

    const { handle, result } = await engine.run({ ...model!, version: 1 }, { amount: 500 }, { businessKey: 'L-1' });

    expect(result.variables).toMatchObject({ amount: 500, approvalNeeded: true });
    expect(path_(await engine.state(handle))).toEqual(['start', 'check', 'to-approval', 'from-approval', 'approved', 'end']);
    await engine.record('link-event', handle);
  });
});
