import fs from 'node:fs';
import path from 'node:path';
import { parseDmn, type DecisionProblem } from '../../../api/engine/dmn';
import { dmnXml, tableXml, type TableSpec } from './dmn-fixtures';

const codesById = (problems: DecisionProblem[]) => problems.map((problem) => `${problem.elementId} ${problem.code}`).sort();
const shipped = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', '..', 'processes', name), 'utf8');

describe('parsing DMN: the shipped decisions', () => {
  it.each(['complaint-routing.dmn', 'complaint-sla.dmn', 'order-approval.dmn'])('%s parses without a problem', async (file) => {
    const { graphs, problems } = await parseDmn(shipped(file));
    expect(problems).toEqual([]);
    expect(graphs).toHaveLength(1);
    expect(graphs[0]!.key).toBe(file.replace(/\.dmn$/, ''));
  });
});

describe('validating DMN reports every problem at once, by element id', () => {
  it('names unparseable cells, type mismatches, values outside the declared ones and missing inputs together', async () => {
    const spec: TableSpec = {
      hitPolicy: 'FIRST',
      inputs: [
        { id: 'tier', expression: 'tier', typeRef: 'string', values: '"gold","silver","bronze"' },
        { id: 'amount', expression: 'amount', typeRef: 'number' },
        { id: 'nothing', expression: '' },
      ],
      outputs: [{ id: 'hours', name: 'hours', typeRef: 'number' }],
      rules: [
        { id: 'unparseable', in: ['"gold"', '< ', '-'], out: ['4'] },
        { id: 'wrong-type', in: ['10', '"ten"', '-'], out: ['"four"'] },
        { id: 'not-allowed', in: ['"platinum"', '-', '-'], out: ['1'] },
        { id: 'short', in: ['"gold"'], out: ['1'] },
        { id: 'bad-output', in: ['-', '-', '-'], out: ['1 +'] },
      ],
    };

    const { problems } = await parseDmn(tableXml(spec));

    expect(codesById(problems)).toEqual(
      [
        'nothing MISSING_INPUT',
        'unparseable INVALID_EXPRESSION',
        'wrong-type TYPE_MISMATCH',
        'wrong-type TYPE_MISMATCH',
        'wrong-type TYPE_MISMATCH',
        'not-allowed VALUE_NOT_ALLOWED',
        'short MISSING_INPUT',
        'bad-output INVALID_EXPRESSION',
      ].sort(),
    );
    expect(problems.find((problem) => problem.elementId === 'wrong-type' && /output/.test(problem.message))!.message).toMatch(/"four" is a string, but the output's type is number/);
  });

  it('names rules that overlap under UNIQUE, where the cells show it, and not exclusive ones', async () => {
    const spec: TableSpec = {
      inputs: [
        { id: 'tier', expression: 'tier', typeRef: 'string' },
        { id: 'amount', expression: 'amount', typeRef: 'number' },
      ],
      outputs: [{ id: 'out', name: 'out' }],
      rules: [
        { id: 'gold-small', in: ['"gold"', '< 100'], out: ['1'] },
        { id: 'gold-large', in: ['"gold"', '>= 100'], out: ['2'] },
        { id: 'gold-or-silver-mid', in: ['"gold","silver"', '[50..150]'], out: ['3'] },
        { id: 'not-gold', in: ['not("gold")', '-'], out: ['4'] },
        { id: 'bronze', in: ['"bronze"', '> 1000'], out: ['5'] },
        { id: 'unknown', in: ['? = limit', '-'], out: ['6'] },
      ],
    };

    const { problems } = await parseDmn(tableXml(spec));

    // gold-small/gold-large meet at 100 but exclude each other; gold-or-silver-mid overlaps both, and not-gold
    // overlaps it (silver, 100); bronze overlaps not-gold; `unknown` is an expression, which no static check can read.
    expect(codesById(problems)).toEqual(['bronze OVERLAPPING_RULES', 'gold-or-silver-mid OVERLAPPING_RULES', 'not-gold OVERLAPPING_RULES']);
    expect(problems[0]!.message).toMatch(/hit policy is UNIQUE/);
  });

  it('refuses a bad hit policy or aggregation, an aggregation over text, and PRIORITY without output values', async () => {
    const xml = dmnXml(
      [
        tableXml({ hitPolicy: 'SOMETIMES', inputs: [], outputs: [{ id: 'o1', name: 'o' }], rules: [] }, 'a').replace(/^[\s\S]*?(<decision )/, '$1').replace(/<\/definitions>$/, ''),
        tableXml({ hitPolicy: 'FIRST', aggregation: 'SUM', inputs: [], outputs: [{ id: 'o2', name: 'o' }], rules: [] }, 'b').replace(/^[\s\S]*?(<decision )/, '$1').replace(/<\/definitions>$/, ''),
        tableXml({ hitPolicy: 'COLLECT', aggregation: 'MAX', inputs: [], outputs: [{ id: 'o3', name: 'o', typeRef: 'string' }], rules: [] }, 'c').replace(/^[\s\S]*?(<decision )/, '$1').replace(/<\/definitions>$/, ''),
        tableXml({ hitPolicy: 'PRIORITY', inputs: [], outputs: [{ id: 'o4', name: 'o' }], rules: [] }, 'd').replace(/^[\s\S]*?(<decision )/, '$1').replace(/<\/definitions>$/, ''),
      ].join(''),
    );

    const { problems } = await parseDmn(xml);

    expect(codesById(problems)).toEqual(['a-table INVALID_ATTRIBUTE', 'b-table INVALID_ATTRIBUTE', 'd-table MISSING_ATTRIBUTE', 'o3 TYPE_MISMATCH']);
  });

  it('refuses a cycle in the decision requirements, and a decision without logic', async () => {
    const xml = dmnXml(`
      <decision id="a" name="a"><informationRequirement id="a-needs-b"><requiredDecision href="#b"/></informationRequirement><literalExpression id="a-e"><text>b</text></literalExpression></decision>
      <decision id="b" name="b"><informationRequirement id="b-needs-a"><requiredDecision href="#a"/></informationRequirement><literalExpression id="b-e"><text>a</text></literalExpression></decision>
      <decision id="empty" name="empty"/>`);

    const { problems } = await parseDmn(xml);

    expect(codesById(problems)).toEqual(['a CYCLIC_REQUIREMENT', 'empty MISSING_ATTRIBUTE']);
  });

  it('refuses a business knowledge model and a decision invoking one, which would otherwise answer null', async () => {
    const xml = dmnXml(`
      <businessKnowledgeModel id="pmt" name="PMT"><encapsulatedLogic id="pmt-logic"><formalParameter name="p"/><literalExpression id="pmt-e"><text>p * 2</text></literalExpression></encapsulatedLogic></businessKnowledgeModel>
      <decision id="payment" name="payment"><knowledgeRequirement id="payment-uses-pmt"><requiredKnowledge href="#pmt"/></knowledgeRequirement><literalExpression id="payment-e"><text>PMT(10)</text></literalExpression></decision>`);

    const { problems } = await parseDmn(xml);

    expect(codesById(problems)).toEqual(['payment-uses-pmt UNSUPPORTED_ELEMENT', 'pmt UNSUPPORTED_ELEMENT']);
    expect(problems.find((entry) => entry.elementId === 'pmt')!.message).toContain('business knowledge model "PMT" is not supported');
  });

  it('refuses a DOCTYPE, an oversized document, malformed XML, a document that is not DMN and one without decisions, before anything else', async () => {
    expect(codesById((await parseDmn('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><definitions/>')).problems)).toEqual(['definitions XML_DOCTYPE_REFUSED']);
    expect(codesById((await parseDmn(`<definitions>${' '.repeat(2 * 1024 * 1024)}</definitions>`)).problems)).toEqual(['definitions XML_TOO_LARGE']);
    expect(codesById((await parseDmn('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"><decision')).problems)).toEqual(['definitions XML_MALFORMED']);
    expect(codesById((await parseDmn('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')).problems)).toEqual(['definitions NOT_DMN']);
    expect(codesById((await parseDmn(dmnXml(''))).problems)).toEqual(['definitions NO_DECISION']);
  });

  it('refuses a duplicate id and a decision id that cannot be a key', async () => {
    const xml = dmnXml(`<decision id="dup" name="x"><literalExpression id="e1"><text>1</text></literalExpression></decision>
      <decision id="dup" name="y"><literalExpression id="e2"><text>2</text></literalExpression></decision>`);
    expect(codesById((await parseDmn(xml)).problems)).toContain('dup DUPLICATE_ID');
  });
});
