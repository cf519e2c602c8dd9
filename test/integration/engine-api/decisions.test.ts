import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

const shipped = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', name), 'utf8');
const routingXml = shipped('complaint-routing.dmn');

describe('deploying and evaluating decision definitions', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let designer: Awaited<ReturnType<typeof loginAs>>;
  let dispatcher: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    designer = await loginAs(api.url, database.pool, ['designer'], testOrg.province);
    dispatcher = await loginAs(api.url, database.pool, ['dispatcher'], testOrg.tianhe);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const deploy = (xml: string, session: Session = designer, contentType = 'application/xml') =>
    fetch(`${api.url}/api/decision-definitions`, { method: 'POST', headers: { authorization: session.headers.authorization!, 'content-type': contentType }, body: xml });
  const call = (method: string, route: string, session: Session = designer, body?: unknown) =>
    fetch(`${api.url}${route}`, { method, headers: { ...session.headers, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const rowCount = () => database.pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM decision_definitions`);

  it('stores each decision of a document as version 1 (201), and answers an identical redeploy with the same versions (200)', async () => {
    const first = await deploy(routingXml);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ definitionsId: 'complaint-routing-definitions', decisions: [{ key: 'complaint-routing', version: 1, created: true, deployedBy: designer.staff.username }] });

    const before = await rowCount();
    const again = await deploy(routingXml, designer, 'text/xml; charset=utf-8');
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ decisions: [{ key: 'complaint-routing', version: 1, created: false }] });
    expect(await rowCount()).toBe(before);
  });

  it('makes a changed document the next version, and keeps versions immutable in the database', async () => {
    const changed = routingXml.replace('<text>"billing_center"</text>', '<text>"billing_centre"</text>').replace(',"customer_service"', ',"customer_service","billing_centre"');
    const response = await deploy(changed);
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ decisions: [{ key: 'complaint-routing', version: 2, created: true }] });

    await expect(database.pool.query(sql.unsafe`UPDATE decision_definitions SET name = 'x' WHERE key = 'complaint-routing'`)).rejects.toThrow();
    await expect(database.pool.query(sql.unsafe`DELETE FROM decision_definitions WHERE key = 'complaint-routing'`)).rejects.toThrow();
  });

  it('refuses a document with problems with 400 listing every problem by element id, storing nothing', async () => {
    const before = await rowCount();
    const broken = routingXml.replace('<text>"network"</text>', '<text>"network" ,,</text>').replace('<text>"noc"</text></outputEntry>', '<text>42</text></outputEntry>');

    const response = await deploy(broken);
    const body = (await response.json()) as any;

    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'the decision model has 2 problems' });
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        { elementId: 'route-network', code: 'INVALID_EXPRESSION', message: expect.any(String) },
        { elementId: 'route-noc', code: 'TYPE_MISMATCH', message: expect.stringContaining('the output\'s type is string') },
      ]),
    );
    expect(await rowCount()).toBe(before);
  });

  it('refuses a DOCTYPE (400), an oversized upload (413), a body that is not XML by its type (415), and callers without the role (403)', async () => {
    const doctype = await deploy('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><definitions/>');
    expect(doctype.status).toBe(400);
    expect(((await doctype.json()) as any).error.details).toEqual([expect.objectContaining({ code: 'XML_DOCTYPE_REFUSED' })]);

    const large = await deploy(`<definitions>${'x'.repeat(2 * 1024 * 1024 + 1)}</definitions>`);
    expect(large.status).toBe(413);

    expect((await deploy(routingXml, designer, 'text/plain')).status).toBe(415);
    expect((await deploy(routingXml, dispatcher)).status).toBe(403);
  });

  it('lists every version, newest first, and reads one with its XML and graph', async () => {
    const list = (await (await call('GET', '/api/decision-definitions?key=complaint-routing', dispatcher)).json()) as any;
    expect(list.items.map((item: { version: number }) => item.version)).toEqual([2, 1]);

    const latest = (await (await call('GET', '/api/decision-definitions/complaint-routing', dispatcher)).json()) as any;
    expect(latest).toMatchObject({ key: 'complaint-routing', version: 2, model: { key: 'complaint-routing', version: 2, decisions: { 'complaint-routing': { logic: { hitPolicy: 'FIRST' } } } } });
    expect(latest.xml).toContain('billing_centre');

    const first = (await (await call('GET', '/api/decision-definitions/complaint-routing/versions/1', dispatcher)).json()) as any;
    expect(first.xml).toBe(routingXml);
    expect((await call('GET', '/api/decision-definitions/nope', dispatcher)).status).toBe(404);
  });

  it('evaluates a decision against variables: the result and the rules that matched, for the latest or a named version', async () => {
    const latest = await call('POST', '/api/decision-definitions/complaint-routing/evaluate', designer, { variables: { category: 'billing', channel: 'phone' } });
    expect(latest.status).toBe(200);
    expect(await latest.json()).toMatchObject({ decisionKey: 'complaint-routing', version: 2, result: 'billing_centre', matchedRuleIds: ['route-billing', 'route-other'] });

    const first = (await (await call('POST', '/api/decision-definitions/complaint-routing/evaluate', designer, { variables: { category: 'billing', channel: 'phone' }, version: 1 })).json()) as any;
    expect(first).toMatchObject({ version: 1, result: 'billing_center', decisions: [{ decisionId: 'complaint-routing', inputs: { category: 'billing', channel: 'phone' } }] });
  });

  it('answers 422 naming the rules when a UNIQUE table matches twice, 404 for an unknown decision, 400 for a bad body, 403 without the role', async () => {
    const unique = `<?xml version="1.0"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="u" name="u" namespace="x"><decision id="doubled" name="doubled"><decisionTable id="t" hitPolicy="UNIQUE"><input id="i"><inputExpression id="ie"><text>x</text></inputExpression></input><output id="o" name="o"/><rule id="a"><inputEntry id="a1"><text>? &gt; limit</text></inputEntry><outputEntry id="a2"><text>1</text></outputEntry></rule><rule id="b"><inputEntry id="b1"><text>? &gt; 0</text></inputEntry><outputEntry id="b2"><text>2</text></outputEntry></rule></decisionTable></decision></definitions>`;
    expect((await deploy(unique)).status).toBe(201);

    const clash = await call('POST', '/api/decision-definitions/doubled/evaluate', designer, { variables: { x: 5, limit: 1 } });
    expect(clash.status).toBe(422);
    expect(((await clash.json()) as any).error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringContaining('rules a, b all match'), details: { decisionId: 'doubled', elementId: 't' } });

    expect((await call('POST', '/api/decision-definitions/nope/evaluate', designer, { variables: {} })).status).toBe(404);
    expect((await call('POST', '/api/decision-definitions/doubled/evaluate', designer, { variables: [] })).status).toBe(400);
    expect((await call('POST', '/api/decision-definitions/doubled/evaluate', designer, { variables: {}, extra: 1 })).status).toBe(400);
    expect((await call('POST', '/api/decision-definitions/doubled/evaluate', dispatcher, { variables: {} })).status).toBe(403);
  });

  it('pins the latest decision into a process at deploy, and refuses a process whose decision is not deployed', async () => {
    const deployProcess = (xml: string) =>
      fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' }, body: xml });

    const missing = await deployProcess(shipped('complaint-intake.bpmn'));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as any).error.details).toEqual([expect.objectContaining({ elementId: 'sla', code: 'MISSING_REFERENCE', message: expect.stringContaining('"complaint-sla" is not deployed') })]);

    // and the designer's check says so before any deploy
    const check = await fetch(`${api.url}/api/process-definitions/check`, { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' }, body: shipped('complaint-intake.bpmn') });
    expect(((await check.json()) as any).problems).toEqual([expect.objectContaining({ elementId: 'sla', code: 'MISSING_REFERENCE' })]);

    expect((await deploy(shipped('complaint-sla.dmn'))).status).toBe(201);
    const deployed = await deployProcess(shipped('complaint-intake.bpmn'));
    expect(deployed.status).toBe(201);
    const detail = (await (await call('GET', '/api/process-definitions/complaint-intake', designer)).json()) as any;
    expect(detail.summary.tasks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'route', type: 'businessRuleTask', detail: { decisionRef: 'complaint-routing', decisionVersion: 2, resultVariable: 'department' } }),
        expect.objectContaining({ id: 'sla', type: 'businessRuleTask', detail: { decisionRef: 'complaint-sla', decisionVersion: 1, resultVariable: 'slaHours' } }),
      ]),
    );
  });

  it('describes the routes in the OpenAPI document, with their roles', async () => {
    const document = (await (await call('GET', '/api/openapi.json', designer)).json()) as any;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/decision-definitions', '/api/decision-definitions/{key}', '/api/decision-definitions/{key}/evaluate']));
    expect(document.paths['/api/decision-definitions/{key}/evaluate'].post['x-roles']).toEqual(['designer', 'admin']);
  });
});
