import { parseDmn } from '../../../api/engine/dmn';
import { DecisionEvaluationError, evaluateDecision } from '../../../workflows/dmn/evaluate';
import type { DecisionGraph } from '../../../workflows/dmn/model';
import { decisionXml, dmnXml, tableXml, type TableSpec } from './dmn-fixtures';

async function graphOf(xml: string, key?: string): Promise<DecisionGraph> {
  const { graphs, problems } = await parseDmn(xml);
  expect(problems).toEqual([]);
  return key ? graphs.find((graph) => graph.key === key)! : graphs[0]!;
}

const evaluate = async (spec: TableSpec, variables: Record<string, unknown>) => evaluateDecision(await graphOf(tableXml(spec)), variables);

/** A one-input, one-output table over `score`: the usual shape of the hit-policy specs below. */
const scoreTable = (hitPolicy: string, rules: [string, string, string][], extra: Partial<TableSpec> = {}): TableSpec => ({
  hitPolicy,
  inputs: [{ id: 'score', expression: 'score', typeRef: 'number' }],
  outputs: [{ id: 'out', name: 'out', ...extra.outputs?.[0] }],
  rules: rules.map(([id, test, out]) => ({ id, in: [test], out: [out] })),
  ...(extra.aggregation ? { aggregation: extra.aggregation } : {}),
});

describe('decision tables: hit policies (hand-worked expectations)', () => {
  it('UNIQUE answers the one matching rule, null when none matches, and fails naming both rules when two match', async () => {
    const spec = scoreTable('UNIQUE', [
      ['low', '< 50', '"low"'],
      ['high', '>= 50', '"high"'],
    ]);
    expect((await evaluate(spec, { score: 70 })).result).toBe('high');
    expect((await evaluate(spec, { score: 70 })).decisions[0]!.matchedRuleIds).toEqual(['high']);
    expect((await evaluate(spec, { score: null })).result).toBeNull();

    // a table the static check cannot see overlap in (an expression), evaluated with inputs that hit both
    const overlapping = scoreTable('UNIQUE', [
      ['a', '? > limit', '"a"'],
      ['b', '? > 10', '"b"'],
    ]);
    await expect(evaluate(overlapping, { score: 20, limit: 5 })).rejects.toThrow(/UNIQUE, but rules a, b all match/);
  });

  it('FIRST answers the first matching rule in rule order', async () => {
    const spec = scoreTable('FIRST', [
      ['gt10', '> 10', '"over 10"'],
      ['gt5', '> 5', '"over 5"'],
      ['any', '-', '"any"'],
    ]);
    const evaluation = await evaluate(spec, { score: 7 });
    expect(evaluation.result).toBe('over 5');
    expect(evaluation.decisions[0]).toMatchObject({ matchedRuleIds: ['gt5', 'any'], resultRuleIds: ['gt5'] });
  });

  it('PRIORITY answers the matched output ranked highest by the output values', async () => {
    const spec = scoreTable(
      'PRIORITY',
      [
        ['r1', '> 0', '"low"'],
        ['r2', '> 10', '"high"'],
        ['r3', '> 5', '"medium"'],
      ],
      { outputs: [{ id: 'out', name: 'out', values: '"high","medium","low"' }] },
    );
    expect((await evaluate(spec, { score: 20 })).result).toBe('high');
    expect((await evaluate(spec, { score: 7 })).result).toBe('medium');
    expect((await evaluate(spec, { score: 7 })).decisions[0]!.resultRuleIds).toEqual(['r3']);
  });

  it('ANY answers the common output of the matching rules, and fails when they disagree', async () => {
    const spec = scoreTable('ANY', [
      ['a', '> 0', '"yes"'],
      ['b', '> 5', '"yes"'],
      ['c', '> 100', '"no"'],
    ]);
    expect((await evaluate(spec, { score: 10 })).result).toBe('yes');
    await expect(evaluate(spec, { score: 200 })).rejects.toThrow(/ANY, but matching rules a and c give different outputs/);
  });

  it('COLLECT lists every matching output in rule order, and an empty list when none matches', async () => {
    const spec = scoreTable('COLLECT', [
      ['a', '> 0', '"a"'],
      ['b', '> 100', '"b"'],
      ['c', '> 5', '"c"'],
    ]);
    expect((await evaluate(spec, { score: 10 })).result).toEqual(['a', 'c']);
    expect((await evaluate(spec, { score: -1 })).result).toEqual([]);
  });

  it.each([
    ['SUM', 30, null],
    ['MIN', 5, null],
    ['MAX', 15, null],
    ['COUNT', 3, 0],
  ])('COLLECT %s aggregates the matched outputs (%p), and answers %p when none matches', async (aggregation, expected, none) => {
    const spec = scoreTable(
      'COLLECT',
      [
        ['a', '> 0', '10'],
        ['b', '> 1', '5'],
        ['c', '> 2', '15'],
        ['d', '> 100', '1000'],
      ],
      { aggregation: aggregation as string, outputs: [{ id: 'out', name: 'out', typeRef: 'number' }] },
    );
    expect((await evaluate(spec, { score: 3 })).result).toBe(expected);
    expect((await evaluate(spec, { score: 0 })).result).toBe(none);
  });

  it('RULE ORDER lists every matching output in rule order', async () => {
    const spec = scoreTable('RULE ORDER', [
      ['a', '>= 0', '"first"'],
      ['b', '>= 0', '"second"'],
    ]);
    expect((await evaluate(spec, { score: 1 })).result).toEqual(['first', 'second']);
  });

  it('OUTPUT ORDER lists every matching output, highest priority first', async () => {
    const spec = scoreTable(
      'OUTPUT ORDER',
      [
        ['a', '>= 0', '"low"'],
        ['b', '>= 0', '"high"'],
        ['c', '>= 0', '"medium"'],
      ],
      { outputs: [{ id: 'out', name: 'out', values: '"high","medium","low"' }] },
    );
    const evaluation = await evaluate(spec, { score: 1 });
    expect(evaluation.result).toEqual(['high', 'medium', 'low']);
    expect(evaluation.decisions[0]!.resultRuleIds).toEqual(['b', 'c', 'a']);
  });

  it('answers a context keyed by output name for a table with several outputs, and a default when no rule matches', async () => {
    const spec: TableSpec = {
      hitPolicy: 'FIRST',
      inputs: [{ id: 'value', expression: 'order.value', typeRef: 'number' }],
      outputs: [
        { id: 'needed', name: 'approvalNeeded', typeRef: 'boolean', defaultValue: 'false' },
        { id: 'group', name: 'approverGroup', typeRef: 'string' },
      ],
      rules: [{ id: 'big', in: ['>= 1000'], out: ['true', '"supervisor"'] }],
    };
    expect((await evaluate(spec, { order: { value: 5000 } })).result).toEqual({ approvalNeeded: true, approverGroup: 'supervisor' });
    expect((await evaluate(spec, { order: { value: 5 } })).result).toEqual({ approvalNeeded: false, approverGroup: null });
  });
});

describe('decision tables: unary tests', () => {
  const test = async (entry: string, value: unknown, typeRef?: string) => {
    const spec: TableSpec = { hitPolicy: 'FIRST', inputs: [{ id: 'x', expression: 'x', ...(typeRef ? { typeRef } : {}) }], outputs: [{ id: 'o', name: 'o' }], rules: [{ id: 'r', in: [entry], out: ['true'] }] };
    return (await evaluate(spec, { x: value })).result === true;
  };

  it.each([
    ['-', 42, true],
    ['-', null, true],
    ['< 10', 9, true],
    ['< 10', 10, false],
    ['<= 10', 10, true],
    ['[1..10]', 10, true],
    ['[1..10)', 10, false],
    ['(1..10]', 1, false],
    [']1..10[', 5, true],
    ['1, 2, 3', 2, true],
    ['1, 2, 3', 4, false],
    ['"gold","silver"', 'silver', true],
    ['"gold","silver"', 'bronze', false],
    ['not("gold")', 'silver', true],
    ['not("gold")', 'gold', false],
    ['not([1..5])', 6, true],
    ['>= 5, < 2', 1, true],
    ['true', true, true],
    ['false', true, false],
    ['null', null, true],
    ['? > 3 and ? < 5', 4, true],
  ])('%s against %p is %p', async (entry, value, expected) => {
    expect(await test(entry, value)).toBe(expected);
  });

  it('compares strictly: the number 10 does not match the string "10", and a missing input matches only - and null', async () => {
    expect(await test('"10"', 10)).toBe(false);
    expect(await test('10', '10')).toBe(false);
    expect(await test('< 10', undefined)).toBe(false);
  });
});

describe('decision requirements graphs and literal expressions', () => {
  const graph = dmnXml(
    `<decision id="discount" name="discount">
       <informationRequirement id="needs-band"><requiredDecision href="#band"/></informationRequirement>
       <informationRequirement id="needs-tier"><requiredInput href="#tier-input"/></informationRequirement>
       <decisionTable id="discount-table" hitPolicy="UNIQUE">
         <input id="band-in"><inputExpression id="band-in-e" typeRef="string"><text>band</text></inputExpression></input>
         <input id="tier-in"><inputExpression id="tier-in-e" typeRef="string"><text>tier</text></inputExpression></input>
         <output id="pct" name="pct" typeRef="number"/>
         <rule id="gold-large"><inputEntry id="e1"><text>"large"</text></inputEntry><inputEntry id="e2"><text>"gold"</text></inputEntry><outputEntry id="e3"><text>15</text></outputEntry></rule>
         <rule id="other"><inputEntry id="e4"><text>not("large")</text></inputEntry><inputEntry id="e5"><text>-</text></inputEntry><outputEntry id="e6"><text>0</text></outputEntry></rule>
         <rule id="large-not-gold"><inputEntry id="e7"><text>"large"</text></inputEntry><inputEntry id="e8"><text>not("gold")</text></inputEntry><outputEntry id="e9"><text>5</text></outputEntry></rule>
       </decisionTable>
     </decision>
     <decision id="band" name="band">
       <variable id="band-var" name="band" typeRef="string"/>
       <literalExpression id="band-expr"><text>if amount &gt;= 100000 then "large" else "small"</text></literalExpression>
     </decision>
     <inputData id="tier-input" name="tier"/>`,
  );

  it('evaluates the required decision first and hands its result on under its variable name', async () => {
    const evaluation = evaluateDecision(await graphOf(graph, 'discount'), { amount: 250000, tier: 'gold' });

    expect(evaluation.result).toBe(15);
    expect(evaluation.decisions.map((decision) => [decision.decisionId, decision.result])).toEqual([
      ['band', 'large'],
      ['discount', 15],
    ]);
    expect(evaluation.decisions[1]).toMatchObject({ matchedRuleIds: ['gold-large'], inputs: { 'band-in': 'large', 'tier-in': 'gold' } });
  });

  it('deploys each decision of the document with the decisions it requires, and nothing more', async () => {
    const { graphs } = await parseDmn(graph);
    expect(Object.keys(graphs.find((entry) => entry.key === 'discount')!.decisions).sort()).toEqual(['band', 'discount']);
    expect(Object.keys(graphs.find((entry) => entry.key === 'band')!.decisions)).toEqual(['band']);
  });

  it('evaluates a literal-expression decision on its own', async () => {
    const evaluation = evaluateDecision(await graphOf(graph, 'band'), { amount: 5 });
    expect(evaluation).toMatchObject({ decisionKey: 'band', result: 'small', decisions: [{ decisionId: 'band', kind: 'literal', matchedRuleIds: [] }] });
  });
});

describe('hostile inputs', () => {
  it('gives no prototype access: constructor and __proto__ are missing keys', async () => {
    const spec: TableSpec = {
      hitPolicy: 'FIRST',
      inputs: [{ id: 'x', expression: 'x.constructor' }, { id: 'y', expression: 'x.__proto__' }],
      outputs: [{ id: 'o', name: 'o' }],
      rules: [{ id: 'r', in: ['null', 'null'], out: ['x.constructor.name'] }],
    };
    const evaluation = await evaluate(spec, { x: {} });
    expect(evaluation.result).toBeNull();
    expect(evaluation.decisions[0]!.inputs).toEqual({ x: null, y: null });
  });

  it('refuses at parse a cell that could run unbounded, naming the rule', async () => {
    const { problems } = await parseDmn(
      tableXml({
        inputs: [{ id: 'x', expression: 'count(for i in 1..1000000 return i)' }],
        outputs: [{ id: 'o', name: 'o' }],
        rules: [{ id: 'loop', in: ['-'], out: ['for a in 1..1000, b in 1..1000 return a'] }],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ elementId: 'x', code: 'INVALID_EXPRESSION' }),
        expect.objectContaining({ elementId: 'loop', code: 'INVALID_EXPRESSION' }),
      ]),
    );
  });

  it('refuses at evaluation an iterating cell over a variable holding too long a list, as an error naming the decision', async () => {
    const spec: TableSpec = { hitPolicy: 'FIRST', inputs: [{ id: 'n', expression: 'count(items[item > 1])' }], outputs: [{ id: 'o', name: 'o' }], rules: [{ id: 'r', in: ['-'], out: ['1'] }] };
    const graph = await graphOf(tableXml(spec));
    expect(() => evaluateDecision(graph, { items: Array.from({ length: 20_000 }, (_, index) => index) })).toThrow(DecisionEvaluationError);
  });

  it('evaluates a 200-rule FIRST table quickly enough to run inside a workflow task', async () => {
    const rules = Array.from({ length: 200 }, (_, index) => ({ id: `r${index}`, in: [`[${index * 10}..${index * 10 + 9}]`, '"a","b"'], out: [String(index)] }));
    const graph = await graphOf(tableXml({ hitPolicy: 'FIRST', inputs: [{ id: 'v', expression: 'v', typeRef: 'number' }, { id: 'k', expression: 'k', typeRef: 'string' }], outputs: [{ id: 'o', name: 'o' }], rules }));
    const started = Date.now();
    for (let round = 0; round < 20; round++) expect(evaluateDecision(graph, { v: 1995, k: 'b' }).result).toBe(199);
    expect((Date.now() - started) / 20).toBeLessThan(250);
  });
});

describe('decision requirements: a decision that requires one it cannot reach', () => {
  it('is refused at parse, with the requirement named', async () => {
    const xml = dmnXml(decisionXml({ inputs: [{ id: 'x', expression: 'x' }], outputs: [{ id: 'o', name: 'o' }], rules: [] }, 'a', '<informationRequirement id="req"><requiredDecision href="#missing"/></informationRequirement>'));
    const { problems } = await parseDmn(xml);
    expect(problems).toEqual([expect.objectContaining({ elementId: 'req', code: 'MISSING_REFERENCE' })]);
  });
});
