import { WorkflowUpdateFailedError } from '@temporalio/client';
import { completeTaskUpdateName, definitionQueryName, messageSignalName, moveTokenUpdateName, updateRejections, type PinnedDefinition } from '../../../workflows/contracts';
import { buildModel, createEngineHarness, path_, type EngineHarness } from './harness';

describe('bpmnProcess: ops updates, pinned definition and continue-as-new', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  const model = buildModel(
    'fault',
    [
      { id: 'start', type: 'startEvent' },
      { id: 'diagnose', type: 'userTask', candidateGroups: 'dispatcher' },
      { id: 'repair', type: 'userTask', candidateGroups: 'dispatcher' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'diagnose'],
      ['f2', 'diagnose', 'repair'],
      ['f3', 'repair', 'end'],
    ],
    { version: 3 },
  );

  it('answers the pinned definition key and version', async () => {
    const handle = await engine.start(model);
    expect(await handle.query<PinnedDefinition>(definitionQueryName)).toEqual({ key: 'fault', version: 3 });
    await handle.terminate('done with it');
  });

  it('moveToken cancels the task where the token stands and starts one at the target', async () => {
    const handle = await engine.start(model, {}, { businessKey: 'F-1' });
    await engine.waitFor(handle, (state) => state.openTasks[0]?.nodeId === 'diagnose');

    // refused: no token there, or a target that does not exist
    await expect(handle.executeUpdate(moveTokenUpdateName, { args: [{ fromNodeId: 'repair', toNodeId: 'end' }] })).rejects.toMatchObject({
      name: WorkflowUpdateFailedError.name,
      cause: { type: updateRejections.tokenNotFound },
    });
    await expect(handle.executeUpdate(moveTokenUpdateName, { args: [{ fromNodeId: 'diagnose', toNodeId: 'nowhere' }] })).rejects.toMatchObject({
      name: WorkflowUpdateFailedError.name,
      cause: { type: updateRejections.nodeNotFound },
    });

    const moved = await handle.executeUpdate(moveTokenUpdateName, { args: [{ fromNodeId: 'diagnose', toNodeId: 'repair', variables: { skippedDiagnosis: true } }] });
    expect(moved).toEqual({ movedTokens: 1 });
    const atRepair = await engine.waitFor(handle, (state) => state.openTasks[0]?.nodeId === 'repair');
    expect(atRepair.variables.skippedDiagnosis).toBe(true);
    expect((await engine.tasks(handle.workflowId)).map((row) => [row.node_id, row.status])).toEqual([
      ['diagnose', 'cancelled'],
      ['repair', 'open'],
    ]);
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: atRepair.openTasks[0]!.taskId, variables: {}, completedBy: 'x' }] });
    await handle.result();
    expect(path_(await engine.state(handle))).toEqual(['start', 'repair', 'end']);
    await engine.record('move-token', handle);
  });

  it('continues as new at a quiescent point when history grows, carrying tokens, tasks, variables and buffered messages', async () => {
    const loop = buildModel(
      'loop',
      [
        { id: 'start', type: 'startEvent' },
        { id: 'work', type: 'userTask' },
        { id: 'count', type: 'scriptTask', assignments: [{ source: '=rounds + 1', target: 'rounds' }] },
        { id: 'again', type: 'exclusiveGateway', defaultFlowId: 'toDone' },
        { id: 'done', type: 'receiveTask', messageRef: 'fin' },
        { id: 'end', type: 'endEvent' },
      ],
      [
        ['f1', 'start', 'work'],
        ['f2', 'work', 'count'],
        ['f3', 'count', 'again'],
        ['toWork', 'again', 'work', '=rounds < 6'],
        ['toDone', 'again', 'done'],
        ['f4', 'done', 'end'],
      ],
      { messages: { fin: { id: 'fin', name: 'finish' } } },
    );
    const handle = await engine.start(loop, { rounds: 0 }, { businessKey: 'L-1', historyLimit: 20 });
    const firstRun = (await handle.describe()).runId;
    // the message for the last step comes early and must survive the continue-as-new
    await handle.signal(messageSignalName, { name: 'finish', messageId: 'fin-1', variables: { finished: true } });
    const seenTaskIds = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1 && !seenTaskIds.has(current.openTasks[0]!.taskId));
      expect(state.variables.rounds).toBe(round);
      const taskId = state.openTasks[0]!.taskId;
      seenTaskIds.add(taskId);
      await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId, variables: {}, completedBy: 'x' }] });
    }
    const result = (await handle.result()) as { variables: Record<string, unknown> };
    expect(result.variables).toEqual({ rounds: 6, finished: true });
    expect((await handle.describe()).runId).not.toBe(firstRun);
    // every round had its own inbox row, each closed exactly once
    const rows = await engine.tasks(handle.workflowId);
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((row) => row.id)).size).toBe(6);
    expect(rows.every((row) => row.status === 'completed')).toBe(true);
  });
});
