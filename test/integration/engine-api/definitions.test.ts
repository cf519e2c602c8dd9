import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployProcessFiles } from '../../../api/engine/definitions';
import { startApi, type RunningApi } from '../../../api/server';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

const unitFixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', 'unit', 'bpmn', 'fixtures', name), 'utf8');
const exampleXml = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', 'example-approval.bpmn'), 'utf8');

describe('deploying process definitions', () => {
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

  const deploy = (xml: string | Buffer, session: Session = designer, contentType = 'application/xml') =>
    fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { authorization: session.headers.authorization!, 'content-type': contentType }, body: xml });
  const rowCount = () => database.pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM process_definitions`);

  it('stores a valid model as version 1 and answers 201', async () => {
    const response = await deploy(exampleXml);
    const body = (await response.json()) as any;

    expect(response.status).toBe(201);
    expect(body).toMatchObject({ key: 'example-approval', version: 1, created: true, name: 'Example: approve a large request', deployedBy: designer.staff.username });
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('deploys a model with event sub-processes at process level and inside a sub-process', async () => {
    const response = await deploy(unitFixture('event-subprocesses.bpmn'));

    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ key: 'event-subprocess-example', version: 1, created: true });
  });

  it('answers a redeploy of identical XML with the same version (200), storing nothing new', async () => {
    const before = await rowCount();

    const response = await deploy(exampleXml, designer, 'text/xml; charset=utf-8');

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ key: 'example-approval', version: 1, created: false });
    expect(await rowCount()).toBe(before);
  });

  it('makes a changed model the next version', async () => {
    const changed = exampleXml.replace('kf:dueDate="P1D"', 'kf:dueDate="P2D"');

    const response = await deploy(changed);

    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ key: 'example-approval', version: 2, created: true });
  });

  it('lists every version and returns one with its XML and a parsed summary; the latest by key alone', async () => {
    const list = (await (await fetch(`${api.url}/api/process-definitions?key=example-approval`, { headers: dispatcher.headers })).json()) as any;
    const v1 = await fetch(`${api.url}/api/process-definitions/example-approval/versions/1`, { headers: dispatcher.headers });
    const latest = (await (await fetch(`${api.url}/api/process-definitions/example-approval`, { headers: dispatcher.headers })).json()) as any;
    const v1Body = (await v1.json()) as any;

    expect(list.items.map((item: any) => item.version)).toEqual([2, 1]);
    expect(v1.status).toBe(200);
    expect(v1Body.xml).toBe(exampleXml);
    expect(v1Body.summary.tasks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'approve', type: 'userTask', detail: expect.objectContaining({ candidateGroups: 'supervisor', dueDate: 'P1D' }) }),
        expect.objectContaining({ id: 'assess', type: 'scriptTask' }),
      ]),
    );
    expect(v1Body.summary.nodes.map((node: any) => node.id).sort()).toEqual(['approve', 'assess', 'decided', 'large', 'requested']);
    expect(latest.version).toBe(2);
    expect(latest.summary.tasks.find((task: any) => task.id === 'approve').detail.dueDate).toBe('P2D');
  });

  it('answers 404 for an unknown key or version, and 400 for a malformed one', async () => {
    expect((await fetch(`${api.url}/api/process-definitions/no-such-process`, { headers: dispatcher.headers })).status).toBe(404);
    expect((await fetch(`${api.url}/api/process-definitions/example-approval/versions/99`, { headers: dispatcher.headers })).status).toBe(404);
    expect((await fetch(`${api.url}/api/process-definitions/example-approval/versions/one`, { headers: dispatcher.headers })).status).toBe(400);
  });

  it.each([
    ['unsupported elements', 'unsupported-elements.bpmn', ['complex', 'send', 'rules', 'wait-cancel', 'booking']],
    ['unknown and missing task types', 'task-types.bpmn', ['typo', 'untyped']],
    ['broken expressions', 'bad-expressions.bpmn', ['f-broken', 'compute', 'approve']],
    ['gateways without conditions or default', 'gateway-conditions.bpmn', ['xor', 'or']],
    ['unreachable nodes', 'unreachable.bpmn', ['orphan', 'orphan-end']],
    ['no start and no end', 'no-start-no-end.bpmn', ['p', 'alone']],
    ['duplicate ids', 'duplicate-ids.bpmn', ['work']],
    ['missing references', 'missing-references.bpmn', ['wait-message', 'wait-empty-timer', 'wait-bad-timer', 'receive', 'caught', 'failed']],
    ['a call activity without calledElement', 'call-activity.bpmn', ['call']],
    ['unattached boundary events', 'boundary-unattached.bpmn', ['floating', 'on-gateway']],
    // (two executable processes are a collaboration now, deployed as two keys: collaborations.test.ts)
    [
      'broken event sub-processes',
      'event-subprocess-problems.bpmn',
      ['flowed', 'two-starts', 'plain-start', 'soft-error-start', 'same-error', 'cycling-start', 'notes-again', 'error-start'],
    ],
  ])('refuses a model with %s: 400 listing every problem by element id, storing nothing', async (_kind, file, elementIds) => {
    const before = await rowCount();

    const response = await deploy(unitFixture(file));
    const body = (await response.json()) as any;

    expect(response.status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(new Set(body.error.details.map((problem: any) => problem.elementId))).toEqual(new Set(elementIds));
    for (const problem of body.error.details) {
      expect(problem).toEqual({ elementId: expect.any(String), code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
    }
    expect(await rowCount()).toBe(before);
  });

  it('refuses an entity bomb without expanding it', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x"><bpmn:process id="bomb" name="&d;&d;&d;&d;" /></bpmn:definitions>`;

    const response = await deploy(bomb);

    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.details).toEqual([{ elementId: 'definitions', code: 'XML_DOCTYPE_REFUSED', message: expect.any(String) }]);
  });

  it('refuses a 50 MB upload with 413 without reading it whole', async () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 'a');
    const rssBefore = process.memoryUsage().rss;

    const response = await deploy(huge).catch((error: Error) => error);

    // The API may answer 413 and close before the client finished sending; either way nothing is stored.
    // (A failed fetch's error comes from undici's realm, so it is told apart by shape, not instanceof.)
    if (!(typeof (response as Response).status === 'number')) expect(String((response as Error).message)).toMatch(/fetch failed|other side closed|socket/i);
    else {
      expect((response as Response).status).toBe(413);
      expect(((await (response as Response).json()) as any).error.code).toBe('PAYLOAD_TOO_LARGE');
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('cuts off a chunked upload without a length at 2 MB', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'b');
    const endless = new Readable({
      read() {
        sent += chunk.length;
        this.push(sent > 50 * 1024 * 1024 ? null : chunk);
      },
    });

    const response = await fetch(`${api.url}/api/process-definitions`, {
      method: 'POST',
      headers: { authorization: designer.headers.authorization!, 'content-type': 'application/xml' },
      body: Readable.toWeb(endless) as ReadableStream,
      duplex: 'half',
    } as RequestInit).catch((error: Error) => error);

    // The API may close before it answers; a failed fetch's error comes from undici's realm, so it
    // is told apart by shape, not instanceof (which made this fail whenever the API closed first).
    if (typeof (response as Response).status === 'number') expect((response as Response).status).toBe(413);
    else expect(String((response as Error).message)).toMatch(/fetch failed|other side closed|socket/i);
    expect(sent).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses a body that is not XML by its content type (415), and an empty one (400)', async () => {
    expect((await deploy(JSON.stringify({ xml: exampleXml }), designer, 'application/json')).status).toBe(415);
    expect((await deploy(exampleXml, designer, 'text/plain')).status).toBe(415);
    expect((await deploy('   ')).status).toBe(400);
  });

  it('lets only designers and admins deploy', async () => {
    const response = await deploy(exampleXml, dispatcher);

    expect(response.status).toBe(403);
    expect((await fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: exampleXml })).status).toBe(401);
  });

  it('deploys the shipped processes from files, once', async () => {
    const fresh = await createTestDatabase();
    try {
      const first = await deployProcessFiles(fresh.pool);
      const second = await deployProcessFiles(fresh.pool);

      expect(first).toEqual(
        expect.arrayContaining([
          { file: 'example-approval.bpmn', key: 'example-approval', version: 1, created: true },
          { file: 'order-fulfilment.bpmn', key: 'order-fulfilment', version: 1, created: true },
        ]),
      );
      expect(second.every((entry) => !entry.created)).toBe(true);
    } finally {
      await fresh.drop();
    }
  });
});
