import { parseBpmn } from '../../../workflows/bpmn';
import { completeTaskUpdateName, messageSignalName } from '../../../workflows/contracts';
import { createEngineHarness, path_, type EngineHarness } from './harness';

async function conditionalModel(id: string, body: string) {
  const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:signal id="bump" name="bump" />
  <bpmn:process id="${id}" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`);
  expect(problems).toEqual([]);
  return { ...model!, version: 1 };
}

const when = (condition: string) => `<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${condition}</bpmn:condition></bpmn:conditionalEventDefinition>`;

describe('bpmnProcess: conditional events', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  it('an intermediate conditional catch waits until a change of variables makes its condition true', async () => {
    const model = await conditionalModel(
      'ship-when-approved',
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="approve" />
    <bpmn:userTask id="approve" /><bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="approved-end" /><bpmn:endEvent id="approved-end" />
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="await-approval" />
    <bpmn:intermediateCatchEvent id="await-approval">${when('=approved = true')}</bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="await-approval" targetRef="ship" />
    <bpmn:scriptTask id="ship"><bpmn:extensionElements><kf:assignment source="=true" target="shipped" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f6" sourceRef="ship" targetRef="shipped-end" /><bpmn:endEvent id="shipped-end" />`,
    );
    const handle = await engine.start(model, { approved: false }, { businessKey: 'C-1' });
    const waiting = await engine.waitFor(handle, (state) => state.openTasks.length === 1 && state.activeNodes.some((node) => node.nodeId === 'await-approval'));
    expect(waiting.variables.shipped).toBeUndefined();

    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: waiting.openTasks[0]!.taskId, variables: { approved: true }, completedBy: 'wang' }] });

    const result = (await handle.result()) as { status: string; variables: Record<string, unknown> };
    expect(result).toMatchObject({ status: 'completed', variables: { approved: true, shipped: true } });
    await engine.record('conditional-catch', handle);
  });

  it('a non-interrupting conditional boundary fires each time its condition turns true, and an interrupting one ends the task', async () => {
    const model = await conditionalModel(
      'watch-amount',
      `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" /><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="reviewed" /><bpmn:endEvent id="reviewed" />
    <bpmn:boundaryEvent id="bumped" attachedToRef="review" cancelActivity="false"><bpmn:signalEventDefinition signalRef="bump" /></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="bumped" targetRef="bump-end" /><bpmn:endEvent id="bump-end" />
    <bpmn:boundaryEvent id="large" attachedToRef="review" cancelActivity="false">${when('=amount &gt; 1000')}</bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="large" targetRef="alert" />
    <bpmn:scriptTask id="alert"><bpmn:extensionElements><kf:assignment source="=alerts + 1" target="alerts" /></bpmn:extensionElements></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="alert" targetRef="alerted" /><bpmn:endEvent id="alerted" />
    <bpmn:boundaryEvent id="withdrawn" attachedToRef="review">${when('=amount &lt; 0')}</bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="withdrawn" targetRef="closed" /><bpmn:endEvent id="closed" />`,
    );
    const handle = await engine.start(model, { amount: 10, alerts: 0 }, { businessKey: 'C-2' });
    await engine.waitFor(handle, (state) => state.openTasks.length === 1);
    const bump = async (amount: number) => {
      await handle.signal(messageSignalName, { name: 'bump', signal: true, variables: { amount } });
      await engine.waitFor(handle, (state) => state.variables.amount === amount);
    };

    await bump(2_000); // turns true: one alert
    await engine.waitFor(handle, (state) => state.variables.alerts === 1);
    await bump(3_000); // stays true: none
    await bump(5); // turns false
    await bump(5_000); // true again: a second alert
    await engine.waitFor(handle, (state) => state.variables.alerts === 2);
    await bump(-1); // the interrupting one

    const result = (await handle.result()) as { status: string; variables: Record<string, unknown> };
    expect(result).toMatchObject({ status: 'completed', variables: { amount: -1, alerts: 2 } });
    const taken = path_(await engine.state(handle));
    expect(taken).toEqual(expect.arrayContaining(['withdrawn', 'closed']));
    expect(taken).not.toContain('reviewed');
    expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([['review', 'cancelled']]);
    await engine.record('conditional-boundary', handle);
  });
});
