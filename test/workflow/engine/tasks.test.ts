import { WorkflowUpdateFailedError } from '@temporalio/client';
import { parseBpmn } from '../../../workflows/bpmn';
import { completeTaskUpdateName, type CompleteTaskInput, type ServiceTaskRequest } from '../../../workflows/contracts';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

const requests: ServiceTaskRequest[] = [];

describe('bpmnProcess: tasks', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({
      async 'test.quote'(request: ServiceTaskRequest) {
        requests.push(request);
        return { price: (request.input.quantity as number) * 250, currency: 'CNY' };
      },
      async 'test.sms'(request: ServiceTaskRequest) {
        requests.push(request);
        return { messageId: `SMS-${request.context.businessKey}` };
      },
    });
  });
  afterAll(() => engine?.stop());

  it('runs a service task with its input mappings and merges the result through output mappings', async () => {
    const model = buildModel(
      'quote',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'price', type: 'serviceTask', taskType: 'test.quote', inputs: [{ source: '=order.lines', target: 'quantity' }], outputs: [{ source: '=price', target: 'order.total' }] },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'price'],
        ['f2', 'price', 'end'],
      ],
    );

    // when
    const { handle, result } = await engine.run(model, { order: { lines: 4 } }, { businessKey: 'Q-1' });

    // then the activity got only the mapped input, with a stable idempotency key
    const request = requests.find((candidate) => candidate.context.businessKey === 'Q-1')!;
    expect(request.input).toEqual({ quantity: 4 });
    expect(request.context).toMatchObject({ workflowId: 'quote:Q-1', nodeId: 'price', processKey: 'quote', loopCounter: 0, idempotencyKey: 'quote:Q-1/price/0' });
    // and only the mapped output came back
    expect(result.variables).toEqual({ order: { lines: 4, total: 1000 } });
    expect(path_(await engine.state(handle))).toEqual(['start', 'price', 'end']);
    await engine.record('service-task', handle);
  });

  it('runs a send task as modelers draw it, through its kf:type activity with the mapped message', async () => {
    const { model, problems } = await parseBpmn(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="d" targetNamespace="http://keyflow.dev/test">
  <bpmn:process id="notice" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tell" />
    <bpmn:sendTask id="tell" name="Tell the customer" kf:type="test.sms" kf:retries="2">
      <bpmn:extensionElements><kf:input source="=mobile" target="to" /><kf:input source="=&quot;Your line is ready&quot;" target="text" /><kf:output source="=messageId" target="smsId" /></bpmn:extensionElements>
    </bpmn:sendTask>
    <bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`);
    expect(problems).toEqual([]);

    // when
    const { handle, result } = await engine.run({ ...model!, version: 1 }, { mobile: '13800000000' }, { businessKey: 'N-1' });

    // then the activity got the message, and its answer came back through the output mapping
    const request = requests.find((candidate) => candidate.context.businessKey === 'N-1')!;
    expect(request.input).toEqual({ to: '13800000000', text: 'Your line is ready' });
    expect(result.variables).toEqual({ mobile: '13800000000', smsId: 'SMS-N-1' });
    expect(path_(await engine.state(handle))).toEqual(['start', 'tell', 'end']);
    await engine.record('send-task', handle);
  });

  it('runs script task assignments in order, each seeing the ones before', async () => {
    const model = buildModel(
      'script',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'calc', type: 'scriptTask', assignments: [{ source: '=amount * 2', target: 'doubled' }, { source: '=doubled + 1', target: 'result.value' }] },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'calc'],
        ['f2', 'calc', 'end'],
      ],
    );
    const { handle, result } = await engine.run(model, { amount: 20 });
    expect(result.variables).toEqual({ amount: 20, doubled: 40, result: { value: 41 } });
    await engine.record('script-task', handle);
  });

  describe('a user task', () => {
    const model = buildModel(
      'approval',
      [
        { id: 'start', type: 'startEvent' },
        {
          id: 'approve',
          type: 'userTask',
          name: '审批 (approve)',
          candidateGroups: 'supervisor, customer_manager',
          assignee: '=manager',
          dueDate: 'P2D',
          formKey: 'approval-form',
          form: [
            { id: 'approved', type: 'boolean', required: true },
            { id: 'comment', type: 'string', maxLength: 20 },
          ],
        },
        { id: 'plain', type: 'task', outputs: [{ source: '=if approved then "yes" else "no"', target: 'decision' }] },
        { id: 'review', type: 'userTask', candidateGroups: '=["dispatcher"]' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'approve'],
        ['f2', 'approve', 'plain'],
        ['f3', 'plain', 'review'],
        ['f4', 'review', 'end'],
      ],
    );

    it('opens an inbox row, refuses bad completions, then moves on with the completion variables and closes the row', async () => {
      const handle = await engine.start(model, { manager: 'li.wei' }, { businessKey: 'A-1', customerId: 'C-42' });
      const taskId = 'approval:A-1/approve/0';

      // then the row appears with groups, assignee, due date and form
      const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1);
      expect(state.openTasks[0]).toMatchObject({ taskId, nodeId: 'approve', candidateGroups: ['supervisor', 'customer_manager'], assignee: 'li.wei', formKey: 'approval-form' });
      expect(state.activeNodes.map((node) => node.nodeId)).toEqual(['approve']);
      const [row] = await engine.tasks(handle.workflowId);
      expect(row).toMatchObject({ id: taskId, status: 'open', candidate_groups: ['supervisor', 'customer_manager'], assignee: 'li.wei', form_key: 'approval-form', customer_id: 'C-42' });
      expect(Date.parse(row!.due_at!) - Date.now()).toBeGreaterThan(47 * 3600_000);

      // when a completion names an unknown task or carries bad form data, it is refused
      const complete = (input: CompleteTaskInput) => handle.executeUpdate(completeTaskUpdateName, { args: [input] });
      await expect(complete({ taskId: 'approval:A-1/nope/0', variables: {}, completedBy: 'li.wei' })).rejects.toThrow(WorkflowUpdateFailedError);
      const badForm = await complete({ taskId, variables: { comment: 'x'.repeat(30) }, completedBy: 'li.wei' }).catch((error: WorkflowUpdateFailedError) => error);
      expect((badForm as WorkflowUpdateFailedError).cause).toMatchObject({
        type: 'TaskFormInvalid',
        details: [
          [
            { field: 'approved', message: 'is required' },
            { field: 'comment', message: 'must be at most 20 characters' },
          ],
        ],
      });

      // when it is completed properly
      await complete({ taskId, variables: { approved: true, comment: 'ok' }, completedBy: 'li.wei' });

      // then the token moved on with the variables to the next task, and the row is closed
      const next = await engine.waitFor(handle, (current) => current.openTasks[0]?.nodeId === 'review');
      expect(next.variables).toMatchObject({ approved: true, comment: 'ok', decision: 'yes' });
      expect(next.openTasks[0]).toMatchObject({ taskId: 'approval:A-1/review/0', candidateGroups: ['dispatcher'] });
      const rows = await engine.tasks(handle.workflowId);
      expect(rows.find((candidate) => candidate.id === taskId)).toMatchObject({ status: 'completed', completed_by: 'li.wei', outcome: { approved: true, comment: 'ok' } });
      // and a second completion of the same task is refused as already completed
      const again = await complete({ taskId, variables: { approved: false }, completedBy: 'li.wei' }).catch((error: WorkflowUpdateFailedError) => error);
      expect((again as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'TaskAlreadyCompleted' });

      await complete({ taskId: 'approval:A-1/review/0', variables: {}, completedBy: 'zhang.san' });
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'approve', 'plain', 'review', 'end']);
      await engine.record('user-task', handle);
    });
  });
});
