import fs from 'node:fs';
import path from 'node:path';
import { deployDmn } from '../../../api/engine/decisions';
import { deployBpmn } from '../../../api/engine/definitions';
import { completeTaskUpdateName, type CompleteTaskInput } from '../../../workflows/contracts';
import { createEngineHarness, type EngineHarness } from './harness';

const processes = path.join(__dirname, '..', '..', '..', 'processes');
const shipped = (name: string) => fs.readFileSync(path.join(processes, name), 'utf8');

/** complaint-intake with a triage task first, so an instance is running (pinned) when a new table is deployed. */
const triagedIntake = shipped('complaint-intake.bpmn')
  .replace('id="complaint-intake"', 'id="complaint-intake-triaged"')
  .replace('bpmnElement="complaint-intake"', 'bpmnElement="complaint-intake-triaged"')
  .replace('<bpmn:sequenceFlow id="to-route" sourceRef="received" targetRef="route" />', '<bpmn:sequenceFlow id="to-triage" sourceRef="received" targetRef="triage" /><bpmn:userTask id="triage" name="Triage" kf:candidateGroups="dispatcher" /><bpmn:sequenceFlow id="to-route" sourceRef="triage" targetRef="route" />');

describe('bpmnProcess: business rule tasks', () => {
  let engine: EngineHarness;

  beforeAll(async () => {
    engine = await createEngineHarness({});
    for (const file of ['complaint-routing.dmn', 'complaint-sla.dmn']) await deployDmn(engine.database.pool, shipped(file), 'test');
  });
  afterAll(() => engine?.stop());

  it('routes a complaint through the gateway by the decision result, and records which rules matched', async () => {
    const { definition } = await deployBpmn(engine.database.pool, shipped('complaint-intake.bpmn'), 'test');

    // when a network complaint from a gold account comes in by phone
    const handle = await engine.start({ ...definition.model, version: definition.version }, { category: 'network', channel: 'phone', tier: 'gold', severity: 'major' }, { businessKey: 'C-1' });

    // then the routing table sends it to the NOC, and the SLA table gives it 4 hours
    const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1);
    expect(state.openTasks[0]).toMatchObject({ nodeId: 'handle-at-noc', candidateGroups: ['dispatcher'] });
    expect(state.variables).toMatchObject({ department: 'noc', slaHours: 4 });
    expect(Date.parse(state.openTasks[0]!.dueAt!) - Date.now()).toBeGreaterThan(3.5 * 3600_000);
    // and the instance state says why: the decisions, their versions and the rules that matched
    expect(state.decisions).toEqual([
      expect.objectContaining({ nodeId: 'route', decisionKey: 'complaint-routing', decisionVersion: 1, result: 'noc', decisions: [expect.objectContaining({ matchedRuleIds: ['route-network', 'route-other'], resultRuleIds: ['route-network'] })] }),
      expect.objectContaining({ nodeId: 'sla', decisionKey: 'complaint-sla', decisionVersion: 1, result: 4, decisions: [expect.objectContaining({ matchedRuleIds: ['sla-gold-major'] })] }),
    ]);
    await engine.record('business-rule-task', handle);
    await handle.terminate('test done');
  });

  it('sends other complaints down the default flow', async () => {
    const { definition } = await deployBpmn(engine.database.pool, shipped('complaint-intake.bpmn'), 'test');
    const handle = await engine.start({ ...definition.model, version: definition.version }, { category: 'billing', channel: 'web', tier: 'bronze', severity: 'low' }, { businessKey: 'C-2' });

    const state = await engine.waitFor(handle, (current) => current.openTasks.length === 1);
    expect(state.openTasks[0]).toMatchObject({ nodeId: 'handle', candidateGroups: ['supervisor'] });
    expect(state.variables).toMatchObject({ department: 'billing_center', slaHours: 72 });
    await handle.terminate('test done');
  });

  it('keeps a running instance on the decision version it pinned when a new version is deployed', async () => {
    const { definition: v1 } = await deployBpmn(engine.database.pool, triagedIntake, 'test');
    const handle = await engine.start({ ...v1.model, version: v1.version }, { category: 'network', channel: 'phone', tier: 'gold', severity: 'major' }, { businessKey: 'C-3' });
    await engine.waitFor(handle, (current) => current.openTasks[0]?.nodeId === 'triage');

    // when designers deploy a routing table that sends network complaints to field engineering, and the process again
    const changed = shipped('complaint-routing.dmn').replace('<outputEntry id="route-network-out1"><text>"noc"</text>', '<outputEntry id="route-network-out1"><text>"field_engineering"</text>');
    const deployed = await deployDmn(engine.database.pool, changed, 'test');
    expect(deployed.decisions[0]).toMatchObject({ created: true, definition: { key: 'complaint-routing', version: 2 } });
    const { definition: v2 } = await deployBpmn(engine.database.pool, triagedIntake.replace('name="Triage"', 'name="Triage the complaint"'), 'test');
    expect(v2.model.nodes.route).toMatchObject({ decision: { version: 2 } });

    // and the running instance's triage is completed
    const complete: CompleteTaskInput = { taskId: `complaint-intake-triaged:C-3/triage/0`, variables: {}, completedBy: 'dispatcher' };
    await handle.executeUpdate(completeTaskUpdateName, { args: [complete] });

    // then it routed with the version it started with
    const state = await engine.waitFor(handle, (current) => (current.decisions?.length ?? 0) === 2 && current.openTasks.length === 1);
    expect(state.decisions![0]).toMatchObject({ decisionKey: 'complaint-routing', decisionVersion: 1, result: 'noc' });
    expect(state.openTasks[0]!.nodeId).toBe('handle-at-noc');

    // while an instance of the new process version routes with the new table
    const fresh = await engine.start({ ...v2.model, version: v2.version }, { category: 'network', channel: 'phone', tier: 'gold', severity: 'major' }, { businessKey: 'C-4' });
    await engine.waitFor(fresh, (current) => current.openTasks[0]?.nodeId === 'triage');
    await fresh.executeUpdate(completeTaskUpdateName, { args: [{ ...complete, taskId: 'complaint-intake-triaged:C-4/triage/0' }] });
    const next = await engine.waitFor(fresh, (current) => (current.decisions?.length ?? 0) === 2);
    expect(next.decisions![0]).toMatchObject({ decisionVersion: 2, result: 'field_engineering' });
    await handle.terminate('test done');
    await fresh.terminate('test done');
  });

  it('raises an incident naming the decision when a UNIQUE table finds no single rule, and loads the latest version with kf:decisionVersion="latest"', async () => {
    const latest = triagedIntake
      .replace(/complaint-intake-triaged/g, 'complaint-intake-latest')
      .replace('kf:decisionRef="complaint-sla"', 'kf:decisionRef="complaint-sla" kf:decisionVersion="latest"')
      .replace('<bpmn:userTask id="triage" name="Triage" kf:candidateGroups="dispatcher" />', '<bpmn:task id="triage" name="Triage" />');
    const { definition } = await deployBpmn(engine.database.pool, latest, 'test');
    expect(definition.model.nodes.sla).not.toHaveProperty('decision');

    // when the tier is not one the SLA table knows
    const handle = await engine.start({ ...definition.model, version: definition.version }, { category: 'billing', channel: 'web', tier: 'platinum', severity: 'low' }, { businessKey: 'C-5' });

    // then the SLA decision (loaded at evaluation) yields null and the due date expression fails: an incident at the user task, not a crash
    const state = await engine.waitFor(handle, (current) => current.incidents.length === 1 || current.openTasks.length === 1);
    expect(state.decisions?.find((record) => record.nodeId === 'sla')).toMatchObject({ decisionKey: 'complaint-sla', decisionVersion: 1, result: null });
    await handle.terminate('test done');
  });
});
