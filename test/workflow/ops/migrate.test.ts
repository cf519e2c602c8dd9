import { WorkflowUpdateFailedError } from '@temporalio/client';
import { completeTaskUpdateName, definitionQueryName, migrateInstanceUpdateName, unmappedNodesRejection, type PinnedDefinition } from '../../../workflows/contracts';
import type { ProcessModel } from '../../../workflows/model';
import { buildModel, createEngineHarness, path_, type EngineHarness } from '../engine/harness';

describe('bpmnProcess: the migrateInstance update', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
  });
  afterAll(() => engine?.stop());

  const v1 = buildModel(
    'complaint',
    [
      { id: 'start', type: 'startEvent' },
      { id: 'triage', type: 'userTask', candidateGroups: 'dispatcher' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['f1', 'start', 'triage'],
      ['f2', 'triage', 'end'],
    ],
  );
  // version 2 splits triage into classify → answer
  const v2: ProcessModel = buildModel(
    'complaint',
    [
      { id: 'start', type: 'startEvent' },
      { id: 'classify', type: 'userTask', candidateGroups: 'dispatcher' },
      { id: 'answer', type: 'userTask', candidateGroups: 'dispatcher' },
      { id: 'end', type: 'endEvent' },
    ],
    [
      ['g1', 'start', 'classify'],
      ['g2', 'classify', 'answer'],
      ['g3', 'answer', 'end'],
    ],
    { version: 2 },
  );

  it('re-pins a running instance to version 2 and continues its token at the mapped node', async () => {
    const handle = await engine.start(v1);
    await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'triage'));

    // when
    const result = await handle.executeUpdate(migrateInstanceUpdateName, { args: [{ definition: v2, nodeMapping: { triage: 'classify' } }] });

    // then
    expect(result).toEqual({ fromVersion: 1, toVersion: 2, movedTokens: 1 });
    expect(await handle.query<PinnedDefinition>(definitionQueryName)).toEqual({ key: 'complaint', version: 2 });
    const atClassify = await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'classify'));
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: atClassify.openTasks[0]!.taskId, variables: {}, completedBy: 'x' }] });
    const atAnswer = await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'answer'));
    await handle.executeUpdate(completeTaskUpdateName, { args: [{ taskId: atAnswer.openTasks[0]!.taskId, variables: {}, completedBy: 'x' }] });
    await handle.result();
    expect(path_(await engine.state(handle))).toEqual(['start', 'classify', 'answer', 'end']);
    const tasks = await engine.tasks(handle.workflowId);
    expect(tasks.map((task) => [task.node_id, task.status])).toEqual([
      ['triage', 'cancelled'],
      ['classify', 'completed'],
      ['answer', 'completed'],
    ]);
    await engine.record('migrate-instance', handle);
  });

  it('refuses a mapping that leaves an active node out, naming it, and keeps version 1', async () => {
    const handle = await engine.start(v1);
    await engine.waitFor(handle, (state) => state.openTasks.some((task) => task.nodeId === 'triage'));

    const refusal = await handle.executeUpdate(migrateInstanceUpdateName, { args: [{ definition: v2, nodeMapping: {} }] }).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((refusal as WorkflowUpdateFailedError).cause).toMatchObject({ type: unmappedNodesRejection, details: [['triage']] });
    expect(await handle.query<PinnedDefinition>(definitionQueryName)).toEqual({ key: 'complaint', version: 1 });
    await handle.terminate('test over');
  });
});
