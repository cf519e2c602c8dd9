import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startApi, type RunningApi } from '../../../api/server';
import { webAppDir } from '../../../api/web-app';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

const exampleXml = readFileSync(path.join(__dirname, '..', '..', '..', 'processes', 'example-approval.bpmn'), 'utf8');

describe('the API serving the web app and the designer routes', () => {
  let database: TestDatabase;
  let api: RunningApi;
  let designer: Session;
  let manager: Session & { staff: { username: string } };

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    api = await startApi(testConfig(database), testLogger, 0);
    designer = await loginAs(api.url, database.pool, ['designer'], testOrg.province);
    manager = await loginAs(api.url, database.pool, ['customer_manager'], testOrg.tianhe);
  });

  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const cookie = (session: Session) => ({ cookie: `kf_session=${session.token}` });

  it('answers a page path with the app under a strict CSP, never cached', async () => {
    const response = await fetch(`${api.url}/designer/anything`, { headers: { accept: 'text/html' } });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    const html = await response.text();
    expect(html).toContain('<div id="app">');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves hashed assets precompressed and cached for a year', async () => {
    const entry = readdirSync(path.join(webAppDir, 'assets')).find((name) => /^index-.*\.js$/.test(name))!;

    const brotli = await fetch(`${api.url}/assets/${entry}`, { headers: { 'accept-encoding': 'br, gzip' } });
    const gzip = await fetch(`${api.url}/assets/${entry}`, { headers: { 'accept-encoding': 'gzip' } });

    expect(brotli.headers.get('content-encoding')).toBe('br');
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(brotli.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(brotli.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await gzip.text()).length).toBeGreaterThan(1000);
  });

  it("answers 403 for a room the signed-in caller's roles do not admit, and 200 for one they do", async () => {
    const refused = await fetch(`${api.url}/designer`, { headers: { accept: 'text/html', ...cookie(manager) } });
    const admitted = await fetch(`${api.url}/tasks`, { headers: { accept: 'text/html', ...cookie(manager) } });
    const designerOwn = await fetch(`${api.url}/designer`, { headers: { accept: 'text/html', ...cookie(designer) } });

    expect([refused.status, admitted.status, designerOwn.status]).toEqual([403, 200, 200]);
  });

  it('keeps unknown API paths JSON 404s and missing assets 404s', async () => {
    const apiMiss = await fetch(`${api.url}/api/nothing-here`, { headers: designer.headers });
    const assetMiss = await fetch(`${api.url}/assets/missing-abc.js`);

    expect(apiMiss.status).toBe(404);
    expect(apiMiss.headers.get('content-type')).toMatch(/json/);
    expect(assetMiss.status).toBe(404);
  });

  it('lists the activity types with the input each reads, and the candidate groups, for designers only', async () => {
    const types = (await (await fetch(`${api.url}/api/activity-types`, { headers: designer.headers })).json()) as { items: { type: string; input: { name: string; required: boolean }[]; defaultRetries: number; defaultTimeout: string }[] };
    const groups = (await (await fetch(`${api.url}/api/candidate-groups`, { headers: designer.headers })).json()) as { items: string[] };
    const refused = await fetch(`${api.url}/api/activity-types`, { headers: manager.headers });

    expect(types.items.find((entry) => entry.type === 'notify.sendSms')).toMatchObject({ defaultRetries: 3, defaultTimeout: 'PT1M' });
    // the contract is the schema the activity checks its input with
    expect(types.items.find((entry) => entry.type === 'provisioning.suspend')!.input).toEqual([
      { name: 'serviceId', type: 'string', required: true },
      { name: 'reason', type: 'string', required: false },
    ]);
    expect(types.items.filter((entry) => entry.input.length === 0).map((entry) => entry.type)).toEqual([]);
    expect(groups.items).toContain('supervisor');
    expect(refused.status).toBe(403);
  });

  it('checks a model without deploying it, listing what a deploy would refuse', async () => {
    const response = await fetch(`${api.url}/api/process-definitions/check`, { method: 'POST', headers: { ...designer.headers, 'content-type': 'application/xml' }, body: exampleXml.replace(' default="small"', '') });
    const body = (await response.json()) as { key: string; problems: { elementId: string; code: string }[] };
    const list = (await (await fetch(`${api.url}/api/process-definitions`, { headers: designer.headers })).json()) as { items: unknown[] };

    expect(response.status).toBe(200);
    expect(body.key).toBe('example-approval');
    expect(body.problems.map(({ elementId, code }) => ({ elementId, code }))).toEqual([{ elementId: 'large', code: 'CONDITION_MISSING' }]);
    expect(list.items).toEqual([]);
  });

  it('stores the version note given with a deploy, and refuses an over-long one', async () => {
    const tooLong = await fetch(`${api.url}/api/process-definitions?note=${'x'.repeat(1001)}`, { method: 'POST', headers: { ...designer.headers, 'content-type': 'application/xml' }, body: exampleXml });
    const deployed = await fetch(`${api.url}/api/process-definitions?note=${encodeURIComponent('首个版本 / first version')}`, { method: 'POST', headers: { ...designer.headers, 'content-type': 'application/xml' }, body: exampleXml });

    expect(tooLong.status).toBe(400);
    expect(deployed.status).toBe(201);
    expect(await deployed.json()).toMatchObject({ version: 1, note: '首个版本 / first version' });
  });

  it('answers where running instances wait before a deploy (none here), for designers', async () => {
    const impact = await fetch(`${api.url}/api/process-definitions/example-approval/impact`, { method: 'POST', headers: designer.headers, body: JSON.stringify({ nodeIds: ['requested', 'decided'] }) });
    const bad = await fetch(`${api.url}/api/process-definitions/example-approval/impact`, { method: 'POST', headers: designer.headers, body: JSON.stringify({ nodeIds: 'all' }) });

    expect(impact.status).toBe(200);
    expect(await impact.json()).toMatchObject({ processKey: 'example-approval', versions: expect.any(Array) });
    expect(bad.status).toBe(400);
  });
});
