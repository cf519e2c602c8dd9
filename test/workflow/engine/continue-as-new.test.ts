import { completeTaskUpdateName, messageSignalName } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { buildModel, createEngineHarness, type EngineHarness } from './harness';

/**
 * sub-process: fork → (a) a loop that waits for `wait` (a timer, or a message) and counts, until
 * `target` rounds | (b) a note, absorbed at the join first → join → review (a user task inside the
 * sub-process) → end. Every token that waits, waits inside the sub-process, and (b)'s arrival at
 * the join must survive every continue-as-new.
 */
function loopInSubProcess(key: string, wait: 'timer' | 'message'): ProcessModel {
  const event = wait === 'timer' ? { kind: 'timer', timer: { kind: 'duration', expression: 'PT0.001S' } } : { kind: 'message', messageRef: 'tick' };
  return buildModel(
    key,
    [
      { id: 'start', type: 'startEvent' },
      { id: 'work', type: 'subProcess' },
      { id: 'innerStart', type: 'startEvent', parentId: 'work' },
      { id: 'fork', type: 'parallelGateway', parentId: 'work' },
      { id: 'tick', type: 'intermediateCatchEvent', parentId: 'work', event },
      { id: 'count', type: 'scriptTask', parentId: 'work', assignments: [{ source: '=rounds + 1', target: 'rounds' }] },
      { id: 'again', type: 'exclusiveGateway', parentId: 'work', defaultFlowId: 'loopDone' },
      { id: 'note', type: 'scriptTask', parentId: 'work', assignments: [{ source: '="noted"', target: 'note' }] },
      { id: 'join', type: 'parallelGateway', parentId: 'work' },
      { id: 'review', type: 'userTask', parentId: 'work' },
      { id: 'innerEnd', type: 'endEvent', parentId: 'work' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'work'],
      ['f2', 'innerStart', 'fork'],
      ['toTick', 'fork', 'tick'],
      ['toNote', 'fork', 'note'],
      ['f3', 'tick', 'count'],
      ['f4', 'count', 'again'],
      ['loopAgain', 'again', 'tick', '=rounds < target'],
      ['loopDone', 'again', 'join'],
      ['noteDone', 'note', 'join'],
      ['f5', 'join', 'review'],
      ['f6', 'review', 'innerEnd'],
      ['f7', 'work', 'end'],
    ],
    { messages: { tick: { id: 'tick', name: 'tick' } } },
  );
}

describe('bpmnProcess: continue-as-new while tokens wait inside a sub-process', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  async function runs(workflowId: string): Promise<{ runId: string; historyLength: number }[]> {
    const found: { runId: string; historyLength: number }[] = [];
    for await (const execution of engine.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const history = await engine.client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
      found.push({ runId: execution.runId, historyLength: history.events?.length ?? 0 });
    }
    return found;
  }

  it('carries the sub-process, its locals, its join arrivals and its waiting tokens into the next run', async () => {
    const handle = await engine.start(loopInSubProcess('nestedLoop', 'timer'), { rounds: 0, target: 12 }, { businessKey: 'N-1', historyLimit: 30 });
    const firstRunId = (await handle.describe()).runId;
    const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1);
    expect(state.variables).toMatchObject({ rounds: 12, note: 'noted' });
    expect(state.activeNodes.map((node) => node.nodeId).sort()).toEqual(['review', 'work']);
    // Both are in their step: the sub-process holding its scope, the review waiting for its person.
    expect(state.activeNodes.map((node) => node.phase)).toEqual(['active', 'active']);
    expect((await handle.describe()).runId).not.toBe(firstRunId);
    await engine.record('continue-as-new-in-sub-process', engine.client.workflow.getHandle(handle.workflowId, firstRunId));
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: state.openTasks[0]!.taskId, variables: { approved: true }, completedBy: 'x' }] });
    expect((await handle.result()).variables).toMatchObject({ rounds: 12, approved: true });
  });

  it('runs 10,000 loop iterations inside a sub-process with every run’s history bounded', async () => {
    const historyLimit = 2_000;
    const iterations = 10_000;
    const handle = await engine.start(loopInSubProcess('longLoop', 'message'), { rounds: 0, target: iterations }, { businessKey: 'N-2', historyLimit });
    // Messages that come before the wait are buffered (at most 500): send in waves the loop keeps up with.
    let sent = 0;
    while (sent < iterations) {
      const wave = Math.min(250, iterations - sent);
      for (let offset = 0; offset < wave; offset += 25) {
        await Promise.all(Array.from({ length: Math.min(25, wave - offset) }, () => handle.signal(messageSignalName, { name: 'tick', variables: {} })));
      }
      sent += wave;
      await engine.waitFor(handle, (current) => Number(current.variables.rounds) >= sent - 100, 120_000);
    }
    const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1, 120_000);
    // The tokens are where they were: the review inside the still-running sub-process, after every round.
    expect(state.variables).toMatchObject({ rounds: iterations, note: 'noted' });
    expect(state.activeNodes.map((node) => node.nodeId).sort()).toEqual(['review', 'work']);
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: state.openTasks[0]!.taskId, variables: {}, completedBy: 'x' }] });
    await handle.result();
    const all = await runs(handle.workflowId);
    expect(all.length).toBeGreaterThanOrEqual(5);
    // A run continues at the first quiescent point past the limit: the messages of its last activations on top.
    for (const run of all) expect(run.historyLength).toBeLessThan(historyLimit + 600);
    expect(await engine.tasks(handle.workflowId)).toHaveLength(1);
  }, 600_000);
});
