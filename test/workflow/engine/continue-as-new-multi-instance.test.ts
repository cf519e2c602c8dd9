import type { WorkflowHandle } from '@temporalio/client';
import { completeTaskUpdateName, messageSignalName, type ProcessInstanceState } from '../../../workflows/contracts';
import { eventually } from '../../support/eventually';
import { buildModel, createEngineHarness, type EngineHarness } from './harness';

/**
 * Continue-as-new while multi-instance iterations wait: the next run goes on with the iterations
 * that had not completed — the same tasks, the same subscriptions, the results so far — and runs
 * none of them again.
 */
describe('bpmnProcess: continue-as-new while multi-instance iterations wait', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  async function runIds(workflowId: string): Promise<string[]> {
    const found: string[] = [];
    for await (const execution of engine.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) found.push(execution.runId);
    return found;
  }

  async function historyLengths(workflowId: string): Promise<number[]> {
    const lengths: number[] = [];
    for (const runId of await runIds(workflowId)) {
      const history = await engine.client.workflow.getHandle(workflowId, runId).fetchHistory();
      lengths.push(history.events?.length ?? 0);
    }
    return lengths;
  }

  /** Resolves once the instance runs in a run after `runId`. */
  function continuedFrom(handle: WorkflowHandle, runId: string) {
    return eventually(async () => (await handle.describe()).runId, (current) => current !== runId, `${handle.workflowId} continuing as new`);
  }

  function complete(handle: WorkflowHandle, taskId: string, variables: Record<string, unknown>) {
    return handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId, variables, completedBy: 'li' }] });
  }

  it('a parallel multi-instance user task continues as new between completions and keeps its open tasks and results', async () => {
    const model = buildModel(
      'miTasks',
      [
        { id: 'start', type: 'startEvent' },
        {
          id: 'check',
          type: 'userTask',
          multiInstance: { sequential: false, inputCollection: '=sites', inputElement: 'site', outputCollection: 'verdicts', outputElement: '=verdict' },
        },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'check'],
        ['f2', 'check', 'end'],
      ],
    );
    const handle = await engine.start(model, { sites: ['A', 'B', 'C'] }, { businessKey: 'MI-1', historyLimit: 10 });
    let state = await engine.waitFor(handle, (current) => current.openTasks.length === 3);
    // Task ids end in the execution number: A's, B's and C's iterations in item order.
    const [taskA, taskB, taskC] = state.openTasks.map((task) => task.taskId).sort();
    const taskIds = [taskA!, taskB!, taskC!];

    // Complete B's task: the run passes its limit while A's and C's wait, and continues as new.
    const completedIn = (await handle.describe()).runId;
    await complete(handle, taskB!, { verdict: 'ok B' });
    await continuedFrom(handle, completedIn);
    state = await engine.waitFor(handle, (current) => current.openTasks.length === 2);
    expect(state.openTasks.map((task) => task.taskId).sort()).toEqual([taskA, taskC]);
    expect(state.activeNodes.map((node) => node.nodeId)).toEqual(['check']);
    await engine.record('continue-as-new-in-multi-instance-tasks', engine.client.workflow.getHandle(handle.workflowId, completedIn));

    await complete(handle, taskC!, { verdict: 'ok C' });
    await engine.waitFor(handle, (current) => current.openTasks.length === 1);
    await complete(handle, taskA!, { verdict: 'ok A' });
    const result = await handle.result();
    // Each result in its item's place, whichever run it completed in.
    expect(result.variables.verdicts).toEqual(['ok A', 'ok B', 'ok C']);
    expect((await runIds(handle.workflowId)).length).toBeGreaterThanOrEqual(2);
    // Three tasks in all, each opened once and completed once: no iteration ran again.
    const rows = await engine.tasks(handle.workflowId);
    expect(rows.map((row) => [row.id, row.status]).sort()).toEqual(taskIds.map((id) => [id, 'completed']));
  });

  it('a parallel multi-instance sub-process carries each iteration’s scope, locals and waiting task', async () => {
    const model = buildModel(
      'miSites',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'perSite', type: 'subProcess', multiInstance: { sequential: false, inputCollection: '=sites', inputElement: 'site', outputCollection: 'labels', outputElement: '=label' } },
        { id: 'sStart', type: 'startEvent', parentId: 'perSite' },
        { id: 'survey', type: 'userTask', parentId: 'perSite' },
        { id: 'label', type: 'scriptTask', parentId: 'perSite', assignments: [{ source: '=site + " " + string(loopCounter) + " " + outcome', target: 'label' }] },
        { id: 'sEnd', type: 'endEvent', parentId: 'perSite' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'perSite'],
        ['f2', 'sStart', 'survey'],
        ['f3', 'survey', 'label'],
        ['f4', 'label', 'sEnd'],
        ['f5', 'perSite', 'end'],
      ],
    );
    const handle = await engine.start(model, { sites: ['east', 'west'] }, { businessKey: 'MI-2', historyLimit: 10 });
    const surveys = (state: ProcessInstanceState) => state.activeNodes.filter((node) => node.nodeId === 'survey').length;
    let state = await engine.waitFor(handle, (current) => current.openTasks.length === 2);
    // East's iteration opened the first survey, west's the second.
    const [east, west] = state.openTasks.map((task) => task.taskId).sort() as [string, string];

    const completedIn = (await handle.describe()).runId;
    await complete(handle, west, { outcome: 'done' });
    await continuedFrom(handle, completedIn);
    // West's iteration has ended (its task closed, its scope gone) when one survey is left.
    state = await engine.waitFor(handle, (current) => current.openTasks.length === 1 && surveys(current) === 1);
    // East's iteration is where it was: its survey open inside its own scope of the sub-process.
    expect(state.openTasks.map((task) => task.taskId)).toEqual([east]);
    expect(state.activeNodes.map((node) => node.nodeId).sort()).toEqual(['perSite', 'survey']);
    await engine.record('continue-as-new-in-multi-instance-sub-process', engine.client.workflow.getHandle(handle.workflowId, completedIn));

    await complete(handle, east, { outcome: 'late' });
    const result = await handle.result();
    // The carried iteration still knows its element and loop counter.
    expect(result.variables.labels).toEqual(['east 1 late', 'west 2 done']);
  });

  it('a sequential multi-instance receive task over 600 items continues as new with every run’s history bounded', async () => {
    const historyLimit = 100;
    const items = Array.from({ length: 600 }, (_, index) => index + 1);
    const model = buildModel(
      'miLoop',
      [
        { id: 'start', type: 'startEvent' },
        {
          id: 'collect',
          type: 'receiveTask',
          messageRef: 'reading',
          outputs: [
            { source: '=value', target: 'value' },
            { source: '=taken + 1', target: 'taken' },
          ],
          multiInstance: { sequential: true, inputCollection: '=meters', inputElement: 'meter', outputCollection: 'readings', outputElement: '=meter * value' },
        },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'collect'],
        ['f2', 'collect', 'end'],
      ],
      { messages: { reading: { id: 'reading', name: 'reading' } } },
    );
    const handle = await engine.start(model, { meters: items, taken: 0 }, { businessKey: 'MI-3', historyLimit });
    // One reading per wait: a message sent before its iteration waits is buffered and taken by it.
    let sent = 0;
    while (sent < items.length) {
      const wave = Math.min(50, items.length - sent);
      for (let offset = 0; offset < wave; offset += 10) {
        await Promise.all(Array.from({ length: Math.min(10, wave - offset) }, () => handle.signal(messageSignalName, { name: 'reading', variables: { value: 2 } })));
      }
      sent += wave;
      if (sent < items.length) await engine.waitFor(handle, (current) => Number(current.variables.taken) >= sent - 10, 120_000);
    }
    const result = await handle.result();
    // Every item read once, in order, across the runs: none restarted, none skipped.
    expect(result.variables.readings).toEqual(items.map((meter) => meter * 2));
    expect(result.variables.taken).toBe(items.length);
    const lengths = await historyLengths(handle.workflowId);
    expect(lengths.length).toBeGreaterThanOrEqual(4);
    for (const length of lengths) expect(length).toBeLessThan(historyLimit + 200);
  }, 300_000);
});

