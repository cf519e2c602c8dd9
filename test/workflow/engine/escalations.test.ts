import { parseBpmn } from '../../../workflows/bpmn';
import { completeTaskUpdateName } from '../../../workflows/contracts';
import { createEngineHarness, path_, type EngineHarness } from './harness';

/** A process of `body`, with the escalations it throws declared (code = id). */
async function escalationModel(id: string, body: string) {
  const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:escalation id="help" name="needs help" escalationCode="NEEDS_HELP" />
  <bpmn:escalation id="give-up" name="gives up" escalationCode="GIVE_UP" />
  <bpmn:process id="${id}" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`);
  expect(problems).toEqual([]);
  return { ...model!, version: 1 };
}

describe('bpmnProcess: escalation events', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  it('an escalation thrown inside a sub-process fires its non-interrupting boundary, and the thrower goes on', async () => {
    const model = await escalationModel(
      'ask-for-help',
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="handling" />
    <bpmn:subProcess id="handling">
      <bpmn:startEvent id="h-start" /><bpmn:sequenceFlow id="h1" sourceRef="h-start" targetRef="shout" />
      <bpmn:intermediateThrowEvent id="shout">
        <bpmn:extensionElements><kf:input source="=2" target="level" /></bpmn:extensionElements>
        <bpmn:escalationEventDefinition escalationRef="help" />
      </bpmn:intermediateThrowEvent>
      <bpmn:sequenceFlow id="h2" sourceRef="shout" targetRef="fix" />
      <bpmn:userTask id="fix" /><bpmn:sequenceFlow id="h3" sourceRef="fix" targetRef="h-end" />
      <bpmn:endEvent id="h-end" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="helper" attachedToRef="handling" cancelActivity="false"><bpmn:escalationEventDefinition escalationRef="help" /></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="helper" targetRef="notify" />
    <bpmn:scriptTask id="notify"><bpmn:extensionElements><kf:assignment source="=level" target="helpedAt" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="notified" />
    <bpmn:endEvent id="notified" />
    <bpmn:sequenceFlow id="f4" sourceRef="handling" targetRef="end" />
    <bpmn:endEvent id="end" />`,
    );
    const handle = await engine.start(model, {}, { businessKey: 'E-1' });

    const waiting = await engine.waitFor(handle, (state) => state.openTasks.length === 1 && state.variables.helpedAt === 2);
    expect(waiting.openTasks.map((task) => task.nodeId)).toEqual(['fix']);
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });

    const result = (await handle.result()) as { status: string; variables: Record<string, unknown> };
    expect(result).toMatchObject({ status: 'completed', variables: { level: 2, helpedAt: 2 } });
    expect(path_(await engine.state(handle))).toEqual(expect.arrayContaining(['shout', 'helper', 'notify', 'notified', 'fix', 'handling', 'end']));
    await engine.record('escalation-boundary', handle);
  });

  it('an escalation end event with an interrupting catch-all boundary cancels the sub-process and leaves by the boundary, with the code', async () => {
    const model = await escalationModel(
      'giving-up',
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="attempt" />
    <bpmn:subProcess id="attempt">
      <bpmn:startEvent id="a-start" /><bpmn:sequenceFlow id="a1" sourceRef="a-start" targetRef="split" />
      <bpmn:parallelGateway id="split" />
      <bpmn:sequenceFlow id="a2" sourceRef="split" targetRef="wait-customer" />
      <bpmn:userTask id="wait-customer" /><bpmn:sequenceFlow id="a3" sourceRef="wait-customer" targetRef="a-end" />
      <bpmn:endEvent id="a-end" />
      <bpmn:sequenceFlow id="a4" sourceRef="split" targetRef="stop" />
      <bpmn:endEvent id="stop"><bpmn:escalationEventDefinition escalationRef="give-up" /></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="escalated" attachedToRef="attempt">
      <bpmn:extensionElements><kf:output source="=escalationCode" target="code" /></bpmn:extensionElements>
      <bpmn:escalationEventDefinition />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="escalated" targetRef="taken-over" />
    <bpmn:endEvent id="taken-over" />
    <bpmn:sequenceFlow id="f3" sourceRef="attempt" targetRef="normal" />
    <bpmn:scriptTask id="normal"><bpmn:extensionElements><kf:assignment source="=true" target="normalPath" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="normal" targetRef="end" />
    <bpmn:endEvent id="end" />`,
    );
    const { handle, result } = await engine.run(model, {}, { businessKey: 'E-2' });

    expect(result.variables).toEqual({ code: 'GIVE_UP' });
    const taken = path_(await engine.state(handle));
    expect(taken).toEqual(expect.arrayContaining(['stop', 'escalated', 'taken-over']));
    expect(taken).not.toContain('normal');
    await engine.record('escalation-end-interrupting', handle);
  });

  it('an escalation nothing catches changes nothing, and one a process-level event sub-process catches interrupts the process there', async () => {
    const model = await escalationModel(
      'escalate-to-process',
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ignored" />
    <bpmn:intermediateThrowEvent id="ignored"><bpmn:escalationEventDefinition escalationRef="give-up" /></bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="ignored" targetRef="inner" />
    <bpmn:subProcess id="inner">
      <bpmn:startEvent id="i-start" /><bpmn:sequenceFlow id="i1" sourceRef="i-start" targetRef="review" />
      <bpmn:userTask id="review" /><bpmn:sequenceFlow id="i2" sourceRef="review" targetRef="shout" />
      <bpmn:intermediateThrowEvent id="shout"><bpmn:escalationEventDefinition escalationRef="help" /></bpmn:intermediateThrowEvent>
      <bpmn:sequenceFlow id="i3" sourceRef="shout" targetRef="after-shout" />
      <bpmn:scriptTask id="after-shout"><bpmn:extensionElements><kf:assignment source="=true" target="throwerWentOn" /></bpmn:extensionElements></bpmn:scriptTask>
      <bpmn:sequenceFlow id="i4" sourceRef="after-shout" targetRef="i-end" />
      <bpmn:endEvent id="i-end" />
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f3" sourceRef="inner" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:subProcess id="on-help" triggeredByEvent="true">
      <bpmn:startEvent id="help-start"><bpmn:escalationEventDefinition escalationRef="help" /></bpmn:startEvent>
      <bpmn:sequenceFlow id="e1" sourceRef="help-start" targetRef="helped" />
      <bpmn:scriptTask id="helped"><bpmn:extensionElements><kf:assignment source="=true" target="helped" /></bpmn:extensionElements></bpmn:scriptTask>
      <bpmn:sequenceFlow id="e2" sourceRef="helped" targetRef="help-end" />
      <bpmn:endEvent id="help-end" />
    </bpmn:subProcess>`,
    );
    const handle = await engine.start(model, {}, { businessKey: 'E-3' });
    const waiting = await engine.waitFor(handle, (state) => state.openTasks.length === 1);

    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });

    const result = (await handle.result()) as { status: string; variables: Record<string, unknown> };
    expect(result).toMatchObject({ status: 'completed', variables: { helped: true } });
    expect(result.variables.throwerWentOn).toBeUndefined();
    const taken = path_(await engine.state(handle));
    // the thrower went no further: the interrupting catch ended it with the rest of the process's tokens
    expect(taken).toEqual(expect.arrayContaining(['ignored', 'review', 'help-start', 'helped', 'help-end', 'on-help']));
    expect(taken).not.toContain('after-shout');
    expect(taken).not.toContain('end');
    await engine.record('escalation-event-subprocess', handle);
  });
});
