import fs from 'node:fs';
import path from 'node:path';
import { BpmnModdle } from 'bpmn-moddle';
import { keyflowLintConfig, setKnownTaskTypes } from '../../../designer/src/rooms/designer/modeler/lint/keyflow-rules';
import { knownTaskTypes } from '../../../activities/catalog';
import { kfDescriptor, parseBpmn } from '../../../workflows/bpmn';
import { brokenOrderXml } from '../../browser/fixtures/models';

// bpmnlint is CommonJS; its Linter is what bpmn-js-bpmnlint runs in the browser.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Linter } = require('bpmnlint') as { Linter: new (options: unknown) => { lint(definitions: unknown): Promise<Record<string, { id: string; message: string }[]>> } };

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'bpmn', 'fixtures', name), 'utf8');

/**
 * Bad models a designer draws, each refused at deploy. Models whose faults are in the XML itself
 * (duplicate ids, unresolved references, unknown attributes) are left out: the modeler's importer
 * reports those when the file is opened, before any linting.
 */
const badModels: Record<string, string> = {
  'a gateway that lost its default flow': fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', 'example-approval.bpmn'), 'utf8').replace(' default="small"', ''),
  'expressions that do not parse': fixture('bad-expressions.bpmn'),
  'a boundary event on nothing': fixture('boundary-unattached.bpmn'),
  'event sub-processes drawn wrong': fixture('event-subprocess-problems.bpmn'),
  'no start and no end': fixture('no-start-no-end.bpmn'),
  'unknown task types': fixture('task-types.bpmn'),
  'unreachable nodes': fixture('unreachable.bpmn'),
  'elements Keyflow cannot run': fixture('unsupported-elements.bpmn'),
  'a hand-written order with two mistakes': brokenOrderXml,
};

async function lintProblems(xml: string): Promise<string[]> {
  const { rootElement, warnings } = await new BpmnModdle({ kf: kfDescriptor }).fromXML(xml, 'bpmn:Definitions');
  expect(warnings).toEqual([]);
  const results = await new Linter(keyflowLintConfig).lint(rootElement);
  return Object.values(results)
    .flat()
    .map((report) => `${report.id}: ${report.message}`)
    .sort();
}

async function deployProblems(xml: string): Promise<string[]> {
  const { problems } = await parseBpmn(xml, { knownTaskTypes: knownTaskTypes() });
  return problems.map((problem) => `${problem.elementId}: ${problem.message} [${problem.code}]`).sort();
}

describe("the designer's lint rules and the deploy's validator", () => {
  beforeAll(() => setKnownTaskTypes([...knownTaskTypes()]));

  it.each(Object.entries(badModels))('report the same problems on the same elements for %s', async (_name, xml) => {
    const deploy = await deployProblems(xml);

    expect(deploy.length).toBeGreaterThan(0);
    expect(await lintProblems(xml)).toEqual(deploy);
  });

  it('find nothing in the shipped processes', async () => {
    for (const name of fs.readdirSync(path.join(__dirname, '..', '..', '..', 'processes')).filter((file) => file.endsWith('.bpmn'))) {
      const xml = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', name), 'utf8');
      expect({ name, problems: await lintProblems(xml) }).toEqual({ name, problems: [] });
    }
  });
});
