import iconv from 'iconv-lite';
import { sql } from 'slonik';
import { z } from 'zod';
import { startApi, type RunningApi } from '../../../api/server';
import { loginAs, seedOrgTree, testOrg, type Session } from '../../support/auth';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testConfig, testLogger } from '../../support/services';

/** A one-task process named in `name`, with the XML declaration `declaration` (or none). */
function model(key: string, name: string, declaration: string | null): string {
  return `${declaration === null ? '' : `<?xml version="1.0" encoding="${declaration}"?>\n`}<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d-${key}" targetNamespace="http://keyflow.dev/test">
  <bpmn:process id="${key}" name="${name}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="${name}: review" kf:candidateGroups="supervisor" xmlns:kf="http://keyflow.dev/schema/bpmn/kf"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>`;
}

/**
 * Models arrive in the encodings their modelers write: each is read by what it declares, stored
 * as UTF-8 that says so, and one whose bytes are not what it declares is refused, storing nothing.
 */
describe('model documents in the encodings modelers write', () => {
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

  const deploy = (body: Buffer, contentType = 'application/xml') =>
    fetch(`${api.url}/api/process-definitions`, { method: 'POST', headers: { authorization: designer.headers.authorization!, 'content-type': contentType }, body });
  const stored = (key: string) => database.pool.maybeOne(sql.type(z.object({ name: z.string().nullable(), xml: z.string() }))`SELECT name, xml FROM process_definitions WHERE key = ${key}`);
  const count = () => database.pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM process_definitions`);

  it.each([
    ['ISO-8859-1 (an older Java modeler)', 'latin', 'Révision du contrat: Prüfung', 'ISO-8859-1', (text: string) => iconv.encode(text, 'latin1')],
    ['Windows-1252, with its curly quotes', 'cp1252', 'Contrat “cadre” – révision', 'windows-1252', (text: string) => iconv.encode(text, 'windows-1252')],
    ['GBK (a Chinese Visio export)', 'gbk', '大客户合同审核', 'GBK', (text: string) => iconv.encode(text, 'gbk')],
    ['GB18030', 'gb18030', '投诉回访𠀀', 'GB18030', (text: string) => iconv.encode(text, 'gb18030')],
    ['UTF-16 with a byte-order mark', 'utf16', '合同 Révision', 'UTF-16', (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(text, 'utf-16le')])],
    ['UTF-8 with a byte-order mark', 'utf8bom', 'Überprüfung 审核', 'UTF-8', (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])],
  ])('deploys a model in %s, its names intact and stored as UTF-8', async (_what, key, name, declaration, encode) => {
    const response = await deploy(encode(model(key, name, declaration)));
    expect(response.status).toBe(201);
    const row = await stored(key);
    expect(row?.name).toBe(name);
    expect(row?.xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(row?.xml).toContain(`name="${name}: review"`);
  });

  it.each([
    ['bytes that are not UTF-8 in a document without a declaration', Buffer.from(iconv.encode(model('bad1', 'Révision', null), 'latin1')), 'application/xml', /not valid UTF-8 \(byte \d+/],
    ['an encoding Keyflow does not read', Buffer.from(model('bad2', 'x', 'EBCDIC-CP-US')), 'application/xml', /declares encoding "ebcdic-cp-us", which Keyflow does not read/],
    ['UTF-16 without a byte-order mark', iconv.encode(model('bad3', 'x', 'UTF-16'), 'utf-16le'), 'application/xml', /UTF-16 without a byte-order mark/],
    ['a charset that contradicts the declaration', Buffer.from(model('bad4', 'x', 'ISO-8859-1')), 'application/xml; charset=utf-8', /says charset=utf-8 but the document is LATIN1/],
    ['a byte-order mark that contradicts the declaration', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(model('bad5', 'x', 'ISO-8859-1'))]), 'application/xml', /UTF-8 byte-order mark but declares encoding "iso-8859-1"/],
    ['GBK bytes that are no GBK characters', Buffer.concat([Buffer.from(model('bad6', 'x', 'GBK').slice(0, 120)), Buffer.from([0x81, 0x20]), Buffer.from(model('bad6', 'x', 'GBK').slice(120))]), 'application/xml', /not valid GBK/],
  ])('refuses %s with 400, naming the encoding, storing nothing', async (_what, body, contentType, message) => {
    const before = await count();
    const response = await deploy(body, contentType);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: { code: string; message: string; details: { elementId: string; code: string }[] } };
    expect(answer.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ elementId: 'definitions', code: 'XML_ENCODING' }] });
    expect(answer.error.message).toMatch(message);
    expect(await count()).toBe(before);
  });
});
