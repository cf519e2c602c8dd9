import { ApplicationFailure } from '@temporalio/activity';
import {
  bpmnErrorType,
  completeTaskUpdateName,
  messageSignalName,
  resolveIncidentUpdateName,
  retryIncidentUpdateName,
  unhandledErrorIncidentType,
  type ServiceTaskRequest,
} from '../../../workflows/contracts';
import { eventually } from '../../support/eventually';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

describe('bpmnProcess: event sub-processes', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({
      async 'test.checkCredit'(request: ServiceTaskRequest) {
        if (request.input.credit === 'black') {
          throw ApplicationFailure.create({ type: bpmnErrorType, message: 'customer is on the black list', details: [{ errorCode: 'CREDIT_REFUSED' }] });
        }
        return { creditOk: true };
      },
    });
  });
  afterAll(() => engine?.stop());

  const errors = { refused: { id: 'refused', errorCode: 'CREDIT_REFUSED' } };
  const messages = { note: { id: 'note', name: 'customerNote' }, withdrawn: { id: 'withdrawn', name: 'complaintWithdrawn' } };

  async function completeOpenTask(handle: Awaited<ReturnType<EngineHarness['start']>>, nodeId: string, variables: Record<string, unknown> = {}): Promise<void> {
    const state = await engine.waitFor(handle, (current) => current.openTasks.some((task) => task.nodeId === nodeId));
    const task = state.openTasks.find((open) => open.nodeId === nodeId)!;
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: task.taskId, variables, completedBy: 'wang' }] });
  }

  describe('a timer start', () => {
    it('interrupting: when the SLA passes, the open task is cancelled, the escalation runs and the process ends with it', async () => {
      const model = buildModel(
        'sla',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'handle', type: 'userTask', candidateGroups: 'customer_manager' },
          { id: 'end', type: 'endEvent' },
          { id: 'breach', type: 'subProcess', triggeredByEvent: true },
          { id: 'breachStart', type: 'startEvent', parentId: 'breach', event: { kind: 'timer', timer: { kind: 'duration', expression: '=sla' } } },
          { id: 'escalate', type: 'scriptTask', parentId: 'breach', assignments: [{ source: '"supervisor"', target: 'escalatedTo' }] },
          { id: 'breachEnd', type: 'endEvent', parentId: 'breach' },
        ],
        [
          ['f1', 'start', 'handle'],
          ['f2', 'handle', 'end'],
          ['b1', 'breachStart', 'escalate'],
          ['b2', 'escalate', 'breachEnd'],
        ],
      );
      const handle = await engine.start(model, { sla: 'PT1S' });

      // then
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.escalatedTo).toBe('supervisor');
      expect(path_(await engine.state(handle))).toEqual(['start', 'breachStart', 'escalate', 'breachEnd', 'breach']);
      expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([['handle', 'cancelled']]);
      await engine.record('event-subprocess-timer-interrupting', handle);

      // finished in time: the timer never fires
      const inTime = await engine.start(model, { sla: 'PT30S' });
      await completeOpenTask(inTime, 'handle');
      await inTime.result();
      expect(path_(await engine.state(inTime))).toEqual(['start', 'handle', 'end']);
    });

    it('non-interrupting: a cycle reminds alongside the open task, a date fires once, and both stop when the process ends', async () => {
      const model = buildModel(
        'reminders',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'handle', type: 'userTask' },
          { id: 'end', type: 'endEvent' },
          { id: 'remind', type: 'subProcess', triggeredByEvent: true },
          { id: 'remindStart', type: 'startEvent', parentId: 'remind', isInterrupting: false, event: { kind: 'timer', timer: { kind: 'cycle', expression: '=cycle' } } },
          { id: 'count', type: 'scriptTask', parentId: 'remind', assignments: [{ source: '=reminders + 1', target: 'reminders' }] },
          { id: 'remindEnd', type: 'endEvent', parentId: 'remind' },
          { id: 'deadline', type: 'subProcess', triggeredByEvent: true },
          { id: 'deadlineStart', type: 'startEvent', parentId: 'deadline', isInterrupting: false, event: { kind: 'timer', timer: { kind: 'date', expression: '=due' } } },
          { id: 'flag', type: 'scriptTask', parentId: 'deadline', assignments: [{ source: 'true', target: 'overdue' }] },
          { id: 'deadlineEnd', type: 'endEvent', parentId: 'deadline' },
        ],
        [
          ['f1', 'start', 'handle'],
          ['f2', 'handle', 'end'],
          ['r1', 'remindStart', 'count'],
          ['r2', 'count', 'remindEnd'],
          ['d1', 'deadlineStart', 'flag'],
          ['d2', 'flag', 'deadlineEnd'],
        ],
      );
      const handle = await engine.start(model, { reminders: 0, cycle: 'R2/PT0.5S', due: new Date(Date.now() + 700).toISOString() });

      // then: two reminders and the deadline, while the task stays open
      const reminded = await engine.waitFor(handle, (state) => state.variables.reminders === 2 && state.variables.overdue === true);
      expect(reminded.openTasks.map((task) => task.nodeId)).toEqual(['handle']);
      await completeOpenTask(handle, 'handle');
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables).toMatchObject({ reminders: 2, overdue: true });
      expect(path_(await engine.state(handle)).filter((nodeId) => nodeId === 'remind')).toHaveLength(2);
      await engine.record('event-subprocess-timer-non-interrupting', handle);

      // the process ends before the cycle: nothing keeps it open
      const quick = await engine.start(model, { reminders: 0, cycle: 'R2/PT30S', due: new Date(Date.now() + 60_000).toISOString() });
      await completeOpenTask(quick, 'handle');
      const quickResult = (await quick.result()) as { variables: Record<string, unknown> };
      expect(quickResult.variables.reminders).toBe(0);
    });
  });

  it('a timer expression that cannot be evaluated raises an incident at the start event; retry with the variable arms the timer', async () => {
    const model = buildModel(
      'sla-missing',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'handle', type: 'userTask' },
        { id: 'end', type: 'endEvent' },
        { id: 'breach', type: 'subProcess', triggeredByEvent: true },
        { id: 'breachStart', type: 'startEvent', parentId: 'breach', event: { kind: 'timer', timer: { kind: 'duration', expression: '=sla' } } },
        { id: 'breachEnd', type: 'endEvent', parentId: 'breach' },
      ],
      [
        ['f1', 'start', 'handle'],
        ['f2', 'handle', 'end'],
        ['b1', 'breachStart', 'breachEnd'],
      ],
    );
    const handle = await engine.start(model, {});
    const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1 && state.openTasks.length === 1);
    expect(parked.incidents[0]).toMatchObject({ nodeId: 'breachStart', errorType: 'ExpressionError' });

    await handle.executeUpdate(retryIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: { sla: 'PT0.2S' } }] });

    await handle.result();
    expect(path_(await engine.state(handle))).toEqual(['start', 'breachStart', 'breachEnd', 'breach']);
    expect((await engine.tasks(handle.workflowId)).map((row) => row.status)).toEqual(['cancelled']);
  });

  describe('a message start', () => {
    it('interrupting, inside an embedded sub-process: the matching message ends the sub-process through it, and the process goes on', async () => {
      const model = buildModel(
        'withdrawal',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'work', type: 'subProcess' },
          { id: 'workStart', type: 'startEvent', parentId: 'work' },
          { id: 'investigate', type: 'userTask', parentId: 'work' },
          { id: 'workEnd', type: 'endEvent', parentId: 'work' },
          { id: 'withdraw', type: 'subProcess', parentId: 'work', triggeredByEvent: true },
          {
            id: 'withdrawStart',
            type: 'startEvent',
            parentId: 'withdraw',
            event: { kind: 'message', messageRef: 'withdrawn', correlationKey: '=complaintId' },
            outputs: [{ source: '=reason', target: 'withdrawalReason' }],
          },
          { id: 'withdrawEnd', type: 'endEvent', parentId: 'withdraw' },
          { id: 'close', type: 'userTask' },
          { id: 'end', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'work'],
          ['w1', 'workStart', 'investigate'],
          ['w2', 'investigate', 'workEnd'],
          ['x1', 'withdrawStart', 'withdrawEnd'],
          ['f2', 'work', 'close'],
          ['f3', 'close', 'end'],
        ],
        { messages },
      );
      const handle = await engine.start(model, { complaintId: 'C-1' });
      await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'investigate'));

      // a message for another complaint does nothing
      await handle.signal(messageSignalName, { name: 'complaintWithdrawn', correlationKey: 'C-2', variables: { reason: 'wrong' } });
      await handle.signal(messageSignalName, { name: 'complaintWithdrawn', correlationKey: 'C-1', variables: { reason: 'solved by phone' } });

      // then: the sub-process ended through the event sub-process, and the process took the sub-process's outgoing flow
      const atClose = await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'close'));
      expect(atClose.variables.withdrawalReason).toBe('solved by phone');
      expect(path_(atClose)).toEqual(['start', 'workStart', 'withdrawStart', 'withdrawEnd', 'withdraw', 'work']);
      expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([
        ['investigate', 'cancelled'],
        ['close', 'open'],
      ]);

      // the sub-process has ended: its event sub-process no longer listens
      await handle.signal(messageSignalName, { name: 'complaintWithdrawn', correlationKey: 'C-1', variables: { reason: 'again' } });
      await completeOpenTask(handle, 'close');
      const result = (await handle.result()) as { variables: Record<string, unknown> };
      expect(result.variables.withdrawalReason).toBe('solved by phone');
      expect(path_(await engine.state(handle)).filter((nodeId) => nodeId === 'withdraw')).toHaveLength(1);
      await engine.record('event-subprocess-message-interrupting', handle);
    });

    it('non-interrupting: every customer note runs it once, alongside the work', async () => {
      const model = buildModel(
        'notes',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'handle', type: 'userTask' },
          { id: 'end', type: 'endEvent' },
          { id: 'onNote', type: 'subProcess', triggeredByEvent: true },
          {
            id: 'noteStart',
            type: 'startEvent',
            parentId: 'onNote',
            isInterrupting: false,
            event: { kind: 'message', messageRef: 'note', correlationKey: '=complaintId' },
            outputs: [{ source: '=text', target: 'lastNote' }],
          },
          { id: 'countNote', type: 'scriptTask', parentId: 'onNote', assignments: [{ source: '=notes + 1', target: 'notes' }] },
          { id: 'noteEnd', type: 'endEvent', parentId: 'onNote' },
        ],
        [
          ['f1', 'start', 'handle'],
          ['f2', 'handle', 'end'],
          ['n1', 'noteStart', 'countNote'],
          ['n2', 'countNote', 'noteEnd'],
        ],
        { messages },
      );
      const handle = await engine.start(model, { complaintId: 'C-7', notes: 0 });
      await engine.waitFor(handle, (state) => state.openTasks.length === 1);

      await handle.signal(messageSignalName, { name: 'customerNote', correlationKey: 'C-7', messageId: 'n-1', variables: { text: 'first' } });
      await handle.signal(messageSignalName, { name: 'customerNote', correlationKey: 'C-7', messageId: 'n-1', variables: { text: 'duplicate' } });
      await handle.signal(messageSignalName, { name: 'customerNote', correlationKey: 'C-7', messageId: 'n-2', variables: { text: 'second' } });

      // then
      const noted = await engine.waitFor(handle, (state) => state.variables.notes === 2);
      expect(noted.variables.lastNote).toBe('second');
      expect(noted.openTasks.map((task) => task.nodeId)).toEqual(['handle']);
      await completeOpenTask(handle, 'handle');
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'noteStart', 'countNote', 'noteEnd', 'onNote', 'noteStart', 'countNote', 'noteEnd', 'onNote', 'handle', 'end']);
      await engine.record('event-subprocess-message-non-interrupting', handle);
    });
  });

  describe('an error start', () => {
    it('catches a BpmnError of a service task nested in a sub-process, cancels the other tokens and ends the process through it', async () => {
      const model = buildModel(
        'credit-refusal',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'split', type: 'parallelGateway' },
          { id: 'prepare', type: 'userTask' },
          { id: 'check', type: 'subProcess' },
          { id: 'checkStart', type: 'startEvent', parentId: 'check' },
          { id: 'score', type: 'serviceTask', parentId: 'check', taskType: 'test.checkCredit' },
          { id: 'checkEnd', type: 'endEvent', parentId: 'check' },
          { id: 'join', type: 'parallelGateway' },
          { id: 'end', type: 'endEvent' },
          { id: 'refusal', type: 'subProcess', triggeredByEvent: true },
          { id: 'refusalStart', type: 'startEvent', parentId: 'refusal', event: { kind: 'error', errorRef: 'refused' }, outputs: [{ source: '=errorCode', target: 'refusedWith' }] },
          { id: 'inform', type: 'userTask', parentId: 'refusal' },
          { id: 'refusalEnd', type: 'endEvent', parentId: 'refusal' },
        ],
        [
          ['f1', 'start', 'split'],
          ['f2', 'split', 'prepare'],
          ['f3', 'split', 'check'],
          ['c1', 'checkStart', 'score'],
          ['c2', 'score', 'checkEnd'],
          ['f4', 'prepare', 'join'],
          ['f5', 'check', 'join'],
          ['f6', 'join', 'end'],
          ['r1', 'refusalStart', 'inform'],
          ['r2', 'inform', 'refusalEnd'],
        ],
        { errors },
      );
      const handle = await engine.start(model, { credit: 'black' });

      // then: the parallel task is cancelled and the refusal runs
      const informing = await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'inform'));
      expect(informing.variables.refusedWith).toBe('CREDIT_REFUSED');
      expect(informing.incidents).toEqual([]);
      expect(informing.openTasks.map((task) => task.nodeId)).toEqual(['inform']);
      await completeOpenTask(handle, 'inform');
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'split', 'checkStart', 'refusalStart', 'inform', 'refusalEnd', 'refusal']);
      expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([
        ['prepare', 'cancelled'],
        ['inform', 'completed'],
      ]);
      await engine.record('event-subprocess-error', handle);
    });

    it('inside a sub-process it catches an error end event there before the boundary on the sub-process, and the sub-process completes normally', async () => {
      const model = buildModel(
        'inner-catch',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'sub', type: 'subProcess' },
          { id: 'subStart', type: 'startEvent', parentId: 'sub' },
          { id: 'fail', type: 'endEvent', parentId: 'sub', event: { kind: 'error', errorRef: 'refused' } },
          { id: 'handler', type: 'subProcess', parentId: 'sub', triggeredByEvent: true },
          { id: 'handlerStart', type: 'startEvent', parentId: 'handler', event: { kind: 'error' } },
          { id: 'note', type: 'scriptTask', parentId: 'handler', assignments: [{ source: '"handled inside"', target: 'outcome' }] },
          { id: 'handlerEnd', type: 'endEvent', parentId: 'handler' },
          { id: 'outer', type: 'boundaryEvent', attachedToRef: 'sub', cancelActivity: true, event: { kind: 'error', errorRef: 'refused' } },
          { id: 'after', type: 'endEvent' },
          { id: 'outerEnd', type: 'endEvent' },
        ],
        [
          ['f1', 'start', 'sub'],
          ['s1', 'subStart', 'fail'],
          ['h1', 'handlerStart', 'note'],
          ['h2', 'note', 'handlerEnd'],
          ['f2', 'sub', 'after'],
          ['f3', 'outer', 'outerEnd'],
        ],
        { errors },
      );
      const { handle, result } = await engine.run(model);
      expect(result.variables.outcome).toBe('handled inside');
      expect(path_(await engine.state(handle))).toEqual(['start', 'subStart', 'handlerStart', 'note', 'handlerEnd', 'handler', 'sub', 'after']);
      await engine.record('event-subprocess-error-in-subprocess', handle);
    });

    it('an error thrown inside an interrupting event sub-process is not caught by its own scope again: with no other catcher it raises an incident', async () => {
      const model = buildModel(
        'rethrow',
        [
          { id: 'start', type: 'startEvent' },
          { id: 'fail', type: 'endEvent', event: { kind: 'error', errorRef: 'refused' } },
          { id: 'handler', type: 'subProcess', triggeredByEvent: true },
          { id: 'handlerStart', type: 'startEvent', parentId: 'handler', event: { kind: 'error' } },
          { id: 'failAgain', type: 'endEvent', parentId: 'handler', event: { kind: 'error', errorRef: 'refused' } },
        ],
        [
          ['f1', 'start', 'fail'],
          ['h1', 'handlerStart', 'failAgain'],
        ],
        { errors },
      );
      const handle = await engine.start(model);
      const parked = await engine.waitFor(handle, (state) => state.incidents.length === 1);
      expect(parked.incidents[0]).toMatchObject({ nodeId: 'failAgain', errorType: unhandledErrorIncidentType, errorCode: 'CREDIT_REFUSED' });
      await handle.executeUpdate(resolveIncidentUpdateName, { args: [{ incidentId: parked.incidents[0]!.id, variables: {} }] });
      await handle.result();
      expect(path_(await engine.state(handle))).toEqual(['start', 'handlerStart', 'failAgain', 'handler']);
    });
  });

  it('an interrupting event sub-process cancels the non-interrupting ones still running', async () => {
    const model = buildModel(
      'cancel-notes',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'handle', type: 'userTask' },
        { id: 'end', type: 'endEvent' },
        { id: 'onNote', type: 'subProcess', triggeredByEvent: true },
        { id: 'noteStart', type: 'startEvent', parentId: 'onNote', isInterrupting: false, event: { kind: 'message', messageRef: 'note' } },
        { id: 'readNote', type: 'userTask', parentId: 'onNote' },
        { id: 'noteEnd', type: 'endEvent', parentId: 'onNote' },
        { id: 'onWithdraw', type: 'subProcess', triggeredByEvent: true },
        { id: 'withdrawStart', type: 'startEvent', parentId: 'onWithdraw', event: { kind: 'message', messageRef: 'withdrawn' } },
        { id: 'withdrawEnd', type: 'endEvent', parentId: 'onWithdraw' },
      ],
      [
        ['f1', 'start', 'handle'],
        ['f2', 'handle', 'end'],
        ['n1', 'noteStart', 'readNote'],
        ['n2', 'readNote', 'noteEnd'],
        ['w1', 'withdrawStart', 'withdrawEnd'],
      ],
      { messages },
    );
    const handle = await engine.start(model);
    await engine.waitFor(handle, (state) => state.openTasks.length === 1);
    await handle.signal(messageSignalName, { name: 'customerNote', variables: {} });
    await engine.waitFor(handle, (state) => state.openTasks.length === 2);

    await handle.signal(messageSignalName, { name: 'complaintWithdrawn', variables: {} });

    await handle.result();
    expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status]).sort()).toEqual([
      ['handle', 'cancelled'],
      ['readNote', 'cancelled'],
    ]);
    expect(path_(await engine.state(handle)).slice(-3)).toEqual(['withdrawStart', 'withdrawEnd', 'onWithdraw']);
  });

  it('process-level event sub-processes keep listening across a continue-as-new: the SLA timer keeps its deadline, the message start its subscription', async () => {
    const model = buildModel(
      'long-complaint',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'work', type: 'userTask' },
        { id: 'count', type: 'scriptTask', assignments: [{ source: '=rounds + 1', target: 'rounds' }] },
        { id: 'again', type: 'exclusiveGateway', defaultFlowId: 'toWait' },
        { id: 'wait', type: 'receiveTask', messageRef: 'withdrawn' },
        { id: 'end', type: 'endEvent' },
        { id: 'breach', type: 'subProcess', triggeredByEvent: true },
        { id: 'breachStart', type: 'startEvent', parentId: 'breach', event: { kind: 'timer', timer: { kind: 'duration', expression: 'PT16S' } } },
        { id: 'escalate', type: 'scriptTask', parentId: 'breach', assignments: [{ source: 'true', target: 'escalated' }] },
        { id: 'breachEnd', type: 'endEvent', parentId: 'breach' },
        { id: 'onNote', type: 'subProcess', triggeredByEvent: true },
        { id: 'noteStart', type: 'startEvent', parentId: 'onNote', isInterrupting: false, event: { kind: 'message', messageRef: 'note', correlationKey: '=complaintId' } },
        { id: 'countNote', type: 'scriptTask', parentId: 'onNote', assignments: [{ source: '=notes + 1', target: 'notes' }] },
        { id: 'noteEnd', type: 'endEvent', parentId: 'onNote' },
      ],
      [
        ['f1', 'start', 'work'],
        ['f2', 'work', 'count'],
        ['f3', 'count', 'again'],
        ['toWork', 'again', 'work', '=rounds < 4'],
        ['toWait', 'again', 'wait'],
        ['f4', 'wait', 'end'],
        ['b1', 'breachStart', 'escalate'],
        ['b2', 'escalate', 'breachEnd'],
        ['n1', 'noteStart', 'countNote'],
        ['n2', 'countNote', 'noteEnd'],
      ],
      { messages },
    );
    const started = Date.now();
    const handle = await engine.start(model, { rounds: 0, notes: 0, complaintId: 'C-9' }, { historyLimit: 20 });
    const seen = new Set<string>();
    let runBeforeLastRound = '';
    for (let round = 0; round < 4; round++) {
      const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1 && !seen.has(current.openTasks[0]!.taskId));
      seen.add(state.openTasks[0]!.taskId);
      if (round === 3) {
        // the last round comes late, so a timer restarted by a continue-as-new would fire well after
        // the SLA; the SLA leaves ten seconds for the notes below, room enough on a loaded machine
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 6_000 - Date.now())));
        runBeforeLastRound = (await handle.describe()).runId;
      }
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: state.openTasks[0]!.taskId, variables: {}, completedBy: 'wang' }] });
    }
    await engine.waitFor(handle, (state) => state.activeNodes.some((node) => node.nodeId === 'wait'));
    // (a continue-as-new happens on the instance's next activation past the limit: a note gives it one)
    await handle.signal(messageSignalName, { name: 'customerNote', correlationKey: 'C-9', variables: {} });
    await engine.waitFor(handle, (state) => state.variables.notes === 1);
    const lastRun = await eventually(() => handle.describe(), (description) => description.runId !== runBeforeLastRound, 'a continue-as-new after the last round', 5_000);

    // the message start still listens in the new run
    await handle.signal(messageSignalName, { name: 'customerNote', correlationKey: 'C-9', variables: {} });
    await engine.waitFor(handle, (state) => state.variables.notes === 2);

    // and the SLA fires at its original deadline, interrupting the wait
    const result = (await handle.result()) as { variables: Record<string, unknown> };
    expect(result.variables).toMatchObject({ rounds: 4, notes: 2, escalated: true });
    const breach = (await engine.state(handle)).completedNodes.find((node) => node.nodeId === 'breachStart')!;
    // 16 s after the start, not 16 s after the last continue-as-new, however slow the machine
    expect(Date.parse(breach.completedAt) - started).toBeGreaterThanOrEqual(16_000);
    expect(Date.parse(breach.completedAt)).toBeLessThan(lastRun.startTime.getTime() + 16_000);
  }, 60_000);
});
