/**
 * `npm run tck:dmn -- <TestCases folder of a dmn-tck/tck checkout>`: runs the public DMN TCK's
 * compliance-level-2 and -3 test cases against Keyflow's DMN parser and evaluator, and says how
 * many were in scope and passed. The TCK is not shipped with Keyflow: clone
 * https://github.com/dmn-tck/tck and point this at its `TestCases`.
 *
 * In scope: models Keyflow deploys — decision tables and literal expressions over input data,
 * decision requirement graphs; DMN 1.1–1.5 namespaces are read as 1.3 (the table elements did
 * not change) and the diagram (DMNDI) is dropped. A model Keyflow refuses (business knowledge
 * models, contexts, invocations, item definitions it does not read, FEEL names with spaces, …)
 * counts as out of scope with the first reason, never as passed. Numbers compare to 1e-9
 * relative (JavaScript numbers, not FEEL's 34-digit decimals). Last line: JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Parser } from 'saxen';
import { parseDmn } from '../../api/engine/dmn';
import { evaluateDecision } from '../../workflows/dmn/evaluate';
import type { DecisionGraph } from '../../workflows/dmn/model';

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** The document as a tree of elements, names without their prefix. */
function readXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  const local = (name: string) => name.slice(name.indexOf(':') + 1);
  const parser = new Parser();
  parser
    .on('openTag', (name, attributes, decode, selfClosing) => {
      const decoded = Object.fromEntries(Object.entries(attributes()).map(([key, value]) => [key, decode(value)]));
      const element: XmlElement = { name: local(name), attributes: decoded, children: [], text: '' };
      stack[stack.length - 1]!.children.push(element);
      if (!selfClosing) stack.push(element);
    })
    .on('closeTag', (_name, _decode, selfClosing) => {
      if (!selfClosing) stack.pop();
    })
    .on('text', (text, decode) => (stack[stack.length - 1]!.text += decode(text)))
    .on('cdata', (text) => (stack[stack.length - 1]!.text += text))
    .on('error', (error) => {
      throw error;
    });
  parser.parse(xml);
  return root;
}

const child = (element: XmlElement, name: string) => element.children.find((entry) => entry.name === name);
const children = (element: XmlElement, name: string) => element.children.filter((entry) => entry.name === name);

/** A TCK value: `<value xsi:type>`, `<component name>`s (a context), `<list><item>`s, or nil. */
function valueOf(holder: XmlElement): unknown {
  const value = child(holder, 'value');
  if (value) {
    if (value.attributes['xsi:nil'] === 'true') return null;
    const type = (value.attributes['xsi:type'] ?? '').replace(/^.*:/, '');
    const text = value.text.trim();
    if (['decimal', 'double', 'float', 'integer', 'int', 'long'].includes(type)) return Number(text);
    if (type === 'boolean') return text === 'true';
    return value.text;
  }
  const list = child(holder, 'list');
  if (list) return children(list, 'item').map(valueOf);
  const components = children(holder, 'component');
  if (components.length > 0) return Object.fromEntries(components.map((component) => [component.attributes.name!, valueOf(component)]));
  return null;
}

function same(actual: unknown, expected: unknown): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') return actual === expected || Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  if (Array.isArray(actual) && Array.isArray(expected)) return actual.length === expected.length && actual.every((item, index) => same(item, expected[index]));
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object') {
    const keys = Object.keys(expected as object);
    return keys.length === Object.keys(actual as object).length && keys.every((key) => same((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key]));
  }
  return actual === expected;
}

/** The DMN namespaces of 1.1, 1.2, 1.4 and 1.5 read as 1.3's; the diagram dropped. */
function asDmn13(xml: string): string {
  return xml
    .replace(/http:\/\/www\.omg\.org\/spec\/DMN\/20151101\/dmn\.xsd|http:\/\/www\.omg\.org\/spec\/DMN\/20180521\/MODEL\/|https:\/\/www\.omg\.org\/spec\/DMN\/20211108\/MODEL\/|https:\/\/www\.omg\.org\/spec\/DMN\/20230324\/MODEL\//g, 'https://www.omg.org/spec/DMN/20191111/MODEL/')
    .replace(/<(\w+:)?DMNDI[\s>][\s\S]*?<\/(\w+:)?DMNDI>/g, '');
}

interface Outcome {
  folder: string;
  cases: number;
  passed: number;
  failures: string[];
  outOfScope?: string;
}

async function runFolder(folder: string): Promise<Outcome> {
  const name = path.basename(folder);
  const files = fs.readdirSync(folder);
  const tests = files.filter((file) => /-test-?\d+\.xml$/.test(file));
  const suites = tests.map((file) => readXml(fs.readFileSync(path.join(folder, file), 'utf8')).children[0]!);
  const cases = suites.flatMap((suite) => children(suite, 'testCase').map((testCase) => ({ suite, testCase })));
  const outcome: Outcome = { folder: name, cases: cases.length, passed: 0, failures: [] };
  const modelFiles = [...new Set(suites.map((suite) => child(suite, 'modelName')?.text.trim() ?? ''))];
  if (modelFiles.length !== 1 || !files.includes(modelFiles[0]!)) return { ...outcome, outOfScope: 'its cases name several models or none' };
  const parsed = await parseDmn(asDmn13(fs.readFileSync(path.join(folder, modelFiles[0]!), 'utf8')));
  if (parsed.problems.length > 0) return { ...outcome, outOfScope: `${parsed.problems[0]!.code}: ${parsed.problems[0]!.message}` };
  const graphByName = new Map<string, DecisionGraph>();
  for (const graph of parsed.graphs) {
    const decision = graph.decisions[graph.key]!;
    graphByName.set(decision.name ?? decision.id, graph);
    graphByName.set(decision.id, graph);
  }
  for (const { testCase } of cases) {
    const variables = Object.fromEntries(children(testCase, 'inputNode').map((input) => [input.attributes.name!, valueOf(input)]));
    const id = testCase.attributes.id ?? '?';
    let ok = true;
    for (const result of children(testCase, 'resultNode')) {
      const graph = graphByName.get(result.attributes.name ?? '');
      const expectedHolder = child(result, 'expected');
      const expectsError = result.attributes.errorResult === 'true';
      if (!graph || !expectedHolder) {
        ok = false;
        outcome.failures.push(`${name} #${id}: no decision ${result.attributes.name}`);
        continue;
      }
      const expected = valueOf(expectedHolder);
      let actual: unknown;
      try {
        actual = evaluateDecision(graph, variables).result;
      } catch (error) {
        if (expectsError || expected === null) continue;
        ok = false;
        outcome.failures.push(`${name} #${id} ${result.attributes.name}: ${(error as Error).message}`);
        continue;
      }
      if (!same(actual, expected)) {
        ok = false;
        outcome.failures.push(`${name} #${id} ${result.attributes.name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
      }
    }
    if (ok) outcome.passed += 1;
  }
  return outcome;
}

async function main(): Promise<void> {
  const testCases = process.argv[2] ?? process.env.KEYFLOW_DMN_TCK;
  if (!testCases || !fs.existsSync(testCases)) {
    console.error('usage: npm run tck:dmn -- <path to dmn-tck/tck/TestCases> (clone https://github.com/dmn-tck/tck)');
    process.exit(2);
  }
  const folders = ['compliance-level-2', 'compliance-level-3']
    .filter((level) => fs.existsSync(path.join(testCases, level)))
    .flatMap((level) => fs.readdirSync(path.join(testCases, level)).map((folder) => path.join(testCases, level, folder)))
    .filter((folder) => fs.statSync(folder).isDirectory())
    .sort();
  const outcomes: (Outcome & { level: string })[] = [];
  for (const folder of folders) outcomes.push({ ...(await runFolder(folder)), level: path.basename(path.dirname(folder)) });
  const inScope = outcomes.filter((outcome) => !outcome.outOfScope);
  for (const outcome of inScope) {
    console.log(`${outcome.passed === outcome.cases ? 'PASS' : 'FAIL'} ${outcome.level}/${outcome.folder}: ${outcome.passed}/${outcome.cases}`);
    for (const failure of outcome.failures.slice(0, 5)) console.log(`     ${failure}`);
  }
  const reasons = new Map<string, number>();
  for (const outcome of outcomes.filter((entry) => entry.outOfScope)) {
    const reason = outcome.outOfScope!.split(':')[0]!;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  console.log(`out of scope: ${outcomes.length - inScope.length} models (${[...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ')})`);
  const summary = {
    tck: 'dmn',
    models: outcomes.length,
    modelsInScope: inScope.length,
    modelsAllPassed: inScope.filter((outcome) => outcome.passed === outcome.cases).length,
    casesInScope: inScope.reduce((sum, outcome) => sum + outcome.cases, 0),
    casesPassed: inScope.reduce((sum, outcome) => sum + outcome.passed, 0),
    byLevel: Object.fromEntries(
      ['compliance-level-2', 'compliance-level-3'].map((level) => {
        const ofLevel = inScope.filter((outcome) => outcome.level === level);
        return [level, { models: ofLevel.length, cases: ofLevel.reduce((sum, outcome) => sum + outcome.cases, 0), passed: ofLevel.reduce((sum, outcome) => sum + outcome.passed, 0) }];
      }),
    ),
  };
  console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
  console.error('tck:dmn failed:', error);
  process.exit(1);
});
