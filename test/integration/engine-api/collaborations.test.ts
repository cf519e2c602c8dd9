import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

const pool = (id: string, name: string, executable: boolean | null, body = '') => `
  <bpmn:process id="${id}" name="${name}"${executable === null ? '' : ` isExecutable="${executable}"`}>
    <bpmn:startEvent id="${id}-start" /><bpmn:sequenceFlow id="${id}-f1" sourceRef="${id}-start" targetRef="${id}-work" />
    <bpmn:userTask id="${id}-work" name="Work" kf:candidateGroups="supervisor" />${body}
    <bpmn:sequenceFlow id="${id}-f2" sourceRef="${id}-work" targetRef="${id}-end" /><bpmn:endEvent id="${id}-end" />
  </bpmn:process>`;

/** A collaboration as Camunda Modeler or Signavio writes it: three pools, message flows between them. */
function collaboration(pools: string, tag: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:kf="http://keyflow.dev/schema/bpmn/kf" id="collab-${tag}" targetNamespace="http://keyflow.dev/test">
  <bpmn:collaboration id="c-${tag}">
    <bpmn:participant id="p-sales-${tag}" name="Sales" processRef="sales-${tag}" />
    <bpmn:participant id="p-noc-${tag}" name="NOC" processRef="noc-${tag}" />
    <bpmn:participant id="p-customer-${tag}" name="Customer" processRef="customer-${tag}" />
    <bpmn:messageFlow id="m1-${tag}" sourceRef="sales-${tag}-work" targetRef="noc-${tag}-work" />
  </bpmn:collaboration>${pools}
</bpmn:definitions>`;
}

/**
 * A collaboration deploys each executable pool as its own process key, in one deployment: all or
 * none. Pools not marked executable are left out and listed; none executable is refused.
 */
describe('deploying a collaboration of several pools', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let designer: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    designer = await loginAs(api.url, database.pool, ['designer'], testOrg.province);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const deploy = async (xml: string) => {
    const response = await fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' }, body: xml });
    return { status: response.status, body: (await response.json()) as any };
  };
  const keys = () => database.pool.anyFirst(sql.type(z.object({ key: z.string() }))`SELECT key || ' v' || version AS key FROM process_definitions ORDER BY key, version`);

  it('deploys each executable pool as its own key, lists the pool it left out, and answers a redeploy with the same versions', async () => {
    const xml = collaboration(pool('sales-a', 'Sales order', true) + pool('noc-a', 'NOC work order', true) + pool('customer-a', 'Customer', false), 'a');

    const first = await deploy(xml);

    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ key: 'sales-a', version: 1, created: true });
    expect(first.body.processes.map((entry: any) => `${entry.key} v${entry.version} ${entry.created}`)).toEqual(['sales-a v1 true', 'noc-a v1 true']);
    expect(first.body.skipped).toEqual([{ processId: 'customer-a', name: 'Customer', reason: expect.stringContaining('not marked executable') }]);
    expect(await keys()).toEqual(['noc-a v1', 'sales-a v1']);

    const again = await deploy(xml);
    expect(again.status).toBe(200);
    expect(again.body.processes.map((entry: any) => `${entry.key} v${entry.version} ${entry.created}`)).toEqual(['sales-a v1 false', 'noc-a v1 false']);
  });

  it('stores nothing when one pool has a problem: every problem listed by element id', async () => {
    const broken = pool('noc-b', 'NOC work order', true).replace('kf:candidateGroups="supervisor" />', 'kf:candidateGroups="supervisor" /><bpmn:serviceTask id="noc-b-orphan" kf:type="no.such.activity" />');
    const before = await keys();

    const refused = await deploy(collaboration(pool('sales-b', 'Sales order', true) + broken + pool('customer-b', 'Customer', false), 'b'));

    expect(refused.status).toBe(400);
    expect(refused.body.error.details.map((detail: any) => detail.elementId)).toContain('noc-b-orphan');
    expect(await keys()).toEqual(before);
  });

  it('refuses a collaboration none of whose pools is marked executable', async () => {
    const refused = await deploy(collaboration(pool('sales-c', 'Sales order', false) + pool('noc-c', 'NOC', null) + pool('customer-c', 'Customer', false), 'c'));

    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ elementId: 'definitions', code: 'NO_EXECUTABLE_PROCESS', message: expect.stringContaining('none is marked executable') }]);
  });
});
