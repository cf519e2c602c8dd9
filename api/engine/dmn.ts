import { DmnModdle } from 'dmn-moddle';
import { maxBpmnBytes, processKeyPattern, screenXml } from '../../workflows/bpmn';
import { aggregations, hitPolicies, type Aggregation, type Decision, type DecisionGraph, type DecisionInput, type DecisionOutput, type DecisionRule, type DecisionTable, type HitPolicy } from '../../workflows/dmn/model';
import { dedupe, firstLine, optional, stringAttr } from '../../workflows/document-reading';
import { checkExpression, checkUnaryTests, evaluateUnaryTests } from '../../workflows/expression';

/**
 * DMN 1.3 XML → Keyflow's decision model (workflows/dmn/model.ts), with every problem found,
 * each tied to its element id — the decision counterpart of the BPMN parser. It runs where
 * decisions are deployed (the API, the start of `keyflow`), never in a workflow: the interpreter
 * receives the parsed tables inside the pinned process model.
 */

/** One thing wrong with a DMN document, in the same `{ elementId, code, message }` shape as BPMN problems. */
export interface DecisionProblem {
  elementId: string;
  code: DecisionProblemCode;
  message: string;
}

/** Every problem code the DMN parser reports (stable: the designer keys help texts on them). */
export const decisionProblemCodes = [
  'XML_TOO_LARGE',
  'XML_ENCODING',
  'XML_DOCTYPE_REFUSED',
  'XML_MALFORMED',
  'NOT_DMN',
  'NO_DECISION',
  'DUPLICATE_ID',
  'INVALID_DECISION_KEY',
  'UNSUPPORTED_ELEMENT',
  'MISSING_REFERENCE',
  'MISSING_ATTRIBUTE',
  'INVALID_ATTRIBUTE',
  'MISSING_INPUT',
  'ENTRY_COUNT_MISMATCH',
  'INVALID_EXPRESSION',
  'TYPE_MISMATCH',
  'VALUE_NOT_ALLOWED',
  'OVERLAPPING_RULES',
  'CYCLIC_REQUIREMENT',
  'TABLE_TOO_LARGE',
] as const;
export type DecisionProblemCode = (typeof decisionProblemCodes)[number];

/** Same limit as BPMN: a large real table is tens of kilobytes. */
export const maxDmnBytes = maxBpmnBytes;
/** Most rules per table: evaluation tests every rule, so its cost grows with them. */
export const maxRulesPerTable = 5_000;
/** Most input or output columns per table. */
export const maxColumnsPerTable = 100;
/** Above this many rules, UNIQUE overlap detection (pairwise) is skipped. */
const maxRulesForOverlapCheck = 1_000;

export interface DmnParseResult {
  /** The `definitions` id of the document. */
  definitionsId?: string;
  name?: string;
  /** One graph per decision in the document, each with the decisions it requires. */
  graphs: DecisionGraph[];
  problems: DecisionProblem[];
}

type El = { $type: string; id?: string; name?: string; [key: string]: any };

/**
 * Parses and validates a DMN 1.3 document, returning every problem at once (never throwing on bad
 * input). Documents over 2 MB, with a DOCTYPE or entity, or too deep or large are refused before
 * the XML parser sees them, as on the BPMN door.
 */
export async function parseDmn(xml: string): Promise<DmnParseResult> {
  const refusal = screenXml(xml, 'DMN');
  if (refusal) return { graphs: [], problems: [{ ...refusal, code: refusal.code as DecisionProblemCode }] };
  let definitions: El;
  let warnings: { message: string; element?: El }[];
  try {
    const result = await new DmnModdle().fromXML(xml, 'dmn:Definitions');
    definitions = result.rootElement as El;
    warnings = result.warnings as never;
  } catch (error) {
    const message = firstLine((error as Error).message);
    return {
      graphs: [],
      problems: [
        /failed to parse document as <dmn:Definitions>/.test(message)
          ? problem('definitions', 'NOT_DMN', 'the document is XML but not DMN 1.3: its root must be <definitions> in the namespace https://www.omg.org/spec/DMN/20191111/MODEL/')
          : problem('definitions', 'XML_MALFORMED', `the document is not well-formed XML (${message})`),
      ],
    };
  }
  const problems: DecisionProblem[] = warnings.map(warningProblem);
  try {
    const builder = new DecisionBuilder(definitions, problems);
    const graphs = builder.build();
    return { definitionsId: definitions.id, ...(definitions.name ? { name: definitions.name as string } : {}), graphs, problems: dedupe(problems) };
  } catch (error) {
    return { graphs: [], problems: [...problems, problem('definitions', 'XML_MALFORMED', `the document could not be read: ${firstLine((error as Error).message)}`)] };
  }
}

class DecisionBuilder {
  private readonly decisions: Record<string, Decision> = {};
  private readonly inputData = new Set<string>();

  constructor(
    private readonly definitions: El,
    private readonly problems: DecisionProblem[],
  ) {}

  build(): DecisionGraph[] {
    const elements = (this.definitions.drgElement ?? []) as El[];
    for (const element of elements) if (element.$type === 'dmn:InputData' && element.id) this.inputData.add(element.id);
    // A business knowledge model or decision service would be invoked by name from FEEL; evaluated
    // without it, the invocation is null — a wrong answer, not an error. Refused instead.
    for (const element of elements.filter((entry) => entry.$type === 'dmn:BusinessKnowledgeModel' || entry.$type === 'dmn:DecisionService')) {
      const kind = element.$type === 'dmn:DecisionService' ? 'decision service' : 'business knowledge model';
      this.report(element.id ?? 'definitions', 'UNSUPPORTED_ELEMENT', `${kind} "${element.name ?? element.id}" is not supported: Keyflow evaluates decision tables and literal expressions (put the logic in a decision that others require)`);
    }
    const decisionElements = elements.filter((element) => element.$type === 'dmn:Decision');
    if (decisionElements.length === 0) {
      this.report('definitions', 'NO_DECISION', 'the document holds no <decision>');
      return [];
    }
    for (const element of decisionElements) {
      const decision = this.decision(element);
      if (decision) this.decisions[decision.id] = decision;
    }
    this.checkCycles();
    const definitionsId = (this.definitions.id as string | undefined) ?? '';
    return Object.values(this.decisions).map((decision) => ({
      key: decision.id,
      ...(decision.name ? { name: decision.name } : {}),
      version: 0,
      definitionsId,
      decisions: this.closure(decision.id),
    }));
  }

  private report(elementId: string, code: DecisionProblemCode, message: string): void {
    this.problems.push(problem(elementId, code, message));
  }

  private decision(element: El): Decision | null {
    const id = element.id;
    if (!id) {
      this.report('definitions', 'MISSING_ATTRIBUTE', 'a <decision> has no id');
      return null;
    }
    if (!processKeyPattern.test(id)) this.report(id, 'INVALID_DECISION_KEY', `the decision id "${id}" cannot be a decision key (letters, digits, _ . -, a letter or _ first, at most 128)`);
    const requires: string[] = [];
    for (const requirement of (element.informationRequirement ?? []) as El[]) {
      const where = requirement.id ?? id;
      if (requirement.requiredDecision) {
        const target = localHref(requirement.requiredDecision.href);
        if (target === null) this.report(where, 'UNSUPPORTED_ELEMENT', `requires a decision of another document (${requirement.requiredDecision.href}); deploy the decisions a graph needs in one document`);
        else if (!((this.definitions.drgElement ?? []) as El[]).some((other) => other.$type === 'dmn:Decision' && other.id === target)) {
          this.report(where, 'MISSING_REFERENCE', `requires decision "${target}", which the document does not hold`);
        } else if (!requires.includes(target)) requires.push(target);
      }
      if (requirement.requiredInput) {
        const target = localHref(requirement.requiredInput.href);
        if (target === null || !this.inputData.has(target)) this.report(where, 'MISSING_REFERENCE', `requires input data "${requirement.requiredInput.href}", which the document does not declare`);
      }
    }
    for (const requirement of (element.knowledgeRequirement ?? []) as El[]) {
      this.report(requirement.id ?? id, 'UNSUPPORTED_ELEMENT', `invokes the business knowledge model ${requirement.requiredKnowledge?.href ?? ''}, which Keyflow does not evaluate`.replace(' ,', ','));
    }
    const logic = element.decisionLogic as El | undefined;
    const base = {
      id,
      ...(element.name ? { name: element.name as string } : {}),
      variableName: stringAttr(element.variable?.name) ?? stringAttr(element.name) ?? id,
      requires,
    };
    if (!logic) {
      this.report(id, 'MISSING_ATTRIBUTE', 'the decision has no logic: give it a <decisionTable> or a <literalExpression>');
      return null;
    }
    if (logic.$type === 'dmn:LiteralExpression') {
      const expression = stringAttr(logic.text);
      const logicId = logic.id ?? id;
      if (!expression) {
        this.report(logicId, 'MISSING_ATTRIBUTE', 'the literal expression is empty');
        return null;
      }
      this.checkExpression(logicId, expression, 'the literal expression');
      return { ...base, logic: { kind: 'literal', id: logicId, expression, ...optional('typeRef', stringAttr(logic.typeRef) ?? stringAttr(element.variable?.typeRef)) } };
    }
    if (logic.$type === 'dmn:DecisionTable') {
      const table = this.table(id, logic);
      return table ? { ...base, logic: table } : null;
    }
    this.report(logic.id ?? id, 'UNSUPPORTED_ELEMENT', `${logic.$type.replace(/^dmn:/, '')} decision logic is not supported (decision tables and literal expressions are)`);
    return null;
  }

  private table(decisionId: string, element: El): DecisionTable | null {
    const id = element.id ?? decisionId;
    const hitPolicy = (element.hitPolicy ?? 'UNIQUE') as HitPolicy;
    if (!hitPolicies.includes(hitPolicy)) {
      this.report(id, 'INVALID_ATTRIBUTE', `hit policy "${hitPolicy}" is not one of ${hitPolicies.join(', ')}`);
      return null;
    }
    const aggregation = stringAttr(element.aggregation) as Aggregation | undefined;
    if (aggregation !== undefined) {
      if (!aggregations.includes(aggregation)) this.report(id, 'INVALID_ATTRIBUTE', `aggregation "${aggregation}" is not one of ${aggregations.join(', ')}`);
      else if (hitPolicy !== 'COLLECT') this.report(id, 'INVALID_ATTRIBUTE', `aggregation ${aggregation} needs hit policy COLLECT (this table is ${hitPolicy})`);
    }
    const inputElements = (element.input ?? []) as El[];
    const outputElements = (element.output ?? []) as El[];
    const ruleElements = (element.rule ?? []) as El[];
    if (inputElements.length > maxColumnsPerTable || outputElements.length > maxColumnsPerTable) {
      this.report(id, 'TABLE_TOO_LARGE', `the table has more than ${maxColumnsPerTable} input or output columns`);
      return null;
    }
    if (ruleElements.length > maxRulesPerTable) {
      this.report(id, 'TABLE_TOO_LARGE', `the table has ${ruleElements.length} rules; at most ${maxRulesPerTable} are accepted`);
      return null;
    }

    const inputs: DecisionInput[] = inputElements.map((input, index) => {
      const inputId = input.id ?? `${id}.input${index + 1}`;
      const expression = stringAttr(input.inputExpression?.text);
      if (!expression) this.report(inputId, 'MISSING_INPUT', `input ${describeColumn(input, index)} has no input expression (what the column tests)`);
      else this.checkExpression(inputId, expression, 'the input expression');
      const allowedValues = stringAttr(input.inputValues?.text);
      if (allowedValues) this.checkUnaryTests(inputId, allowedValues, 'the input values');
      return {
        id: inputId,
        ...optional('label', stringAttr(input.label)),
        expression: expression ?? 'null',
        ...optional('typeRef', stringAttr(input.inputExpression?.typeRef)),
        ...optional('allowedValues', allowedValues),
      };
    });

    if (outputElements.length === 0) this.report(id, 'MISSING_ATTRIBUTE', 'the table has no output column');
    const names = new Set<string>();
    const outputs: DecisionOutput[] = outputElements.map((output, index) => {
      const outputId = output.id ?? `${id}.output${index + 1}`;
      const name = stringAttr(output.name);
      if (outputElements.length > 1) {
        if (!name) this.report(outputId, 'MISSING_ATTRIBUTE', 'a table with several outputs needs a name on each (the result is a context keyed by them)');
        else if (names.has(name)) this.report(outputId, 'INVALID_ATTRIBUTE', `two outputs are named "${name}"`);
      }
      if (name) names.add(name);
      const valuesText = stringAttr(output.outputValues?.text);
      let allowedValues: unknown[] | undefined;
      if (valuesText) {
        const parsed = parseSimpleTests(valuesText);
        if (!parsed || parsed.negated || parsed.items.some((item) => item.kind !== 'value')) {
          this.report(outputId, 'INVALID_EXPRESSION', `output values ${JSON.stringify(valuesText)} must be a list of literal values ("high","low" or 1,2,3), highest priority first`);
        } else allowedValues = parsed.items.map((item) => (item as { value: unknown }).value);
      }
      const defaultValue = stringAttr(output.defaultOutputEntry?.text);
      if (defaultValue) this.checkExpression(outputId, defaultValue, 'the default output');
      const typeRef = stringAttr(output.typeRef);
      return {
        id: outputId,
        ...optional('name', name),
        ...optional('label', stringAttr(output.label)),
        ...optional('typeRef', typeRef),
        ...(allowedValues ? { allowedValues, allowedValuesText: valuesText } : {}),
        ...optional('defaultValue', defaultValue),
      };
    });
    if ((hitPolicy === 'PRIORITY' || hitPolicy === 'OUTPUT ORDER') && !outputs.some((output) => output.allowedValues)) {
      this.report(id, 'MISSING_ATTRIBUTE', `hit policy ${hitPolicy} ranks rules by the outputs' values: give at least one output its <outputValues>, highest priority first`);
    }
    if (aggregation && aggregations.includes(aggregation)) {
      if (outputs.length !== 1) this.report(id, 'INVALID_ATTRIBUTE', `COLLECT ${aggregation} aggregates one output; the table has ${outputs.length}`);
      else if (aggregation !== 'COUNT' && outputs[0]!.typeRef && outputs[0]!.typeRef !== 'number') {
        this.report(outputs[0]!.id, 'TYPE_MISMATCH', `COLLECT ${aggregation} needs a number output, but the output's type is ${outputs[0]!.typeRef}`);
      }
    }

    const rules: DecisionRule[] = ruleElements.map((rule, index) => this.rule(id, rule, index, inputs, outputs));
    if (hitPolicy === 'UNIQUE' && rules.length <= maxRulesForOverlapCheck) this.checkOverlaps(rules, inputs.length);
    return { kind: 'table', id, hitPolicy, ...(aggregation && aggregations.includes(aggregation) ? { aggregation } : {}), inputs, outputs, rules };
  }

  private rule(tableId: string, element: El, index: number, inputs: DecisionInput[], outputs: DecisionOutput[]): DecisionRule {
    const id = element.id ?? `${tableId}.rule${index + 1}`;
    const inputEntries = ((element.inputEntry ?? []) as El[]).map((entry) => stringAttr(entry.text) ?? '-');
    const outputEntries = ((element.outputEntry ?? []) as El[]).map((entry) => stringAttr(entry.text) ?? '');
    if (inputEntries.length !== inputs.length) {
      this.report(id, inputEntries.length < inputs.length ? 'MISSING_INPUT' : 'ENTRY_COUNT_MISMATCH', `the rule has ${inputEntries.length} input entries for ${inputs.length} inputs (use - for "any")`);
    }
    if (outputEntries.length !== outputs.length) this.report(id, 'ENTRY_COUNT_MISMATCH', `the rule has ${outputEntries.length} output entries for ${outputs.length} outputs`);
    inputEntries.forEach((entry, column) => {
      const input = inputs[column];
      const where = `rule ${id}, input ${column + 1}${input?.label ? ` (${input.label})` : ''}`;
      if (!this.checkUnaryTests(id, entry, where)) return;
      const simple = parseSimpleTests(entry);
      if (!simple || !input) return;
      const expected = checkedType(input.typeRef);
      for (const item of simple.items) {
        const type = itemType(item);
        if (expected && type && type !== expected) {
          this.report(id, 'TYPE_MISMATCH', `${where}: ${JSON.stringify(entry)} tests a ${type}, but the input's type is ${input.typeRef}`);
          return;
        }
      }
      if (input.allowedValues && checkUnaryTests(input.allowedValues) === null) {
        for (const item of simple.items) {
          if (item.kind !== 'value') continue;
          if (!evaluateUnaryTests(input.allowedValues, item.value, {})) {
            this.report(id, 'VALUE_NOT_ALLOWED', `${where}: ${JSON.stringify(item.value)} is not among the input's values (${input.allowedValues})`);
            return;
          }
        }
      }
    });
    outputEntries.forEach((entry, column) => {
      const output = outputs[column];
      const where = `rule ${id}, output ${column + 1}${output?.name ? ` (${output.name})` : ''}`;
      if (entry === '') return;
      if (!this.checkExpression(id, entry, where)) return;
      if (!output) return;
      const literal = literalValue(entry);
      if (literal === undefined) return;
      const expected = checkedType(output.typeRef);
      const type = literal.value === null ? null : typeof literal.value;
      if (expected && type && type !== expected) {
        this.report(id, 'TYPE_MISMATCH', `${where}: ${entry} is a ${type}, but the output's type is ${output.typeRef}`);
        return;
      }
      if (output.allowedValues && literal.value !== null && !output.allowedValues.some((value) => value === literal.value)) {
        this.report(id, 'VALUE_NOT_ALLOWED', `${where}: ${entry} is not among the output's values (${output.allowedValuesText})`);
      }
    });
    return { id, ...optional('description', stringAttr(element.description)), inputEntries, outputEntries };
  }

  /** Under UNIQUE, two rules that can match the same inputs are a problem; reported where the cells say so for sure. */
  private checkOverlaps(rules: DecisionRule[], columns: number): void {
    const parsed = rules.map((rule) => rule.inputEntries.map((entry) => parseSimpleTests(entry)));
    const reported = new Set<string>();
    for (let a = 0; a < rules.length; a++) {
      for (let b = a + 1; b < rules.length; b++) {
        if (reported.has(rules[b]!.id)) continue;
        let overlap = columns > 0 && rules[a]!.inputEntries.length === columns && rules[b]!.inputEntries.length === columns;
        for (let column = 0; overlap && column < columns; column++) {
          const left = parsed[a]![column];
          const right = parsed[b]![column];
          overlap = left !== null && left !== undefined && right !== null && right !== undefined && testsOverlap(left, right);
        }
        if (overlap) {
          reported.add(rules[b]!.id);
          this.report(rules[b]!.id, 'OVERLAPPING_RULES', `rules ${rules[a]!.id} and ${rules[b]!.id} can match the same inputs, but the hit policy is UNIQUE (make them exclusive, or use FIRST, PRIORITY or COLLECT)`);
        }
      }
    }
  }

  private checkCycles(): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        this.report(id, 'CYCLIC_REQUIREMENT', `the decision requires itself: ${[...path.slice(path.indexOf(id)), id].join(' → ')}`);
        return;
      }
      state.set(id, 'visiting');
      for (const required of this.decisions[id]?.requires ?? []) visit(required, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of Object.keys(this.decisions)) visit(id, []);
  }

  private closure(id: string): Record<string, Decision> {
    const found: Record<string, Decision> = {};
    const pending = [id];
    while (pending.length > 0) {
      const next = pending.pop()!;
      const decision = this.decisions[next];
      if (!decision || found[next]) continue;
      found[next] = decision;
      pending.push(...decision.requires);
    }
    return found;
  }

  private checkExpression(elementId: string, expression: string, where: string): boolean {
    const found = checkExpression(expression);
    if (found) this.report(elementId, 'INVALID_EXPRESSION', `${where} ${JSON.stringify(expression)}: ${found}`);
    return found === null;
  }

  private checkUnaryTests(elementId: string, tests: string, where: string): boolean {
    const found = checkUnaryTests(tests);
    if (found) this.report(elementId, 'INVALID_EXPRESSION', `${where}: the unary tests ${JSON.stringify(tests)} do not parse (${found})`);
    return found === null;
  }
}

// --- A small static reading of common unary tests -----------------------------------------------
// Enough to check types and detect overlapping rules: `-`, literal lists, comparisons, intervals
// and `not(...)` of those. Anything else (expressions, variables, functions) reads as null:
// unknown, so it is never reported.

type SimpleItem =
  | { kind: 'value'; value: string | number | boolean | null }
  | { kind: 'interval'; low: number; lowOpen: boolean; high: number; highOpen: boolean };

interface SimpleTests {
  any: boolean;
  negated: boolean;
  items: SimpleItem[];
}

function parseSimpleTests(text: string): SimpleTests | null {
  const source = text.trim();
  if (source === '' || source === '-') return { any: true, negated: false, items: [] };
  const negation = /^not\s*\(([\s\S]*)\)$/.exec(source);
  if (negation) {
    // One level only: `not(not(…))` is left unknown rather than recursed into.
    if (/^\s*not\s*\(/.test(negation[1]!)) return null;
    const inner = parseSimpleTests(negation[1]!);
    return inner && !inner.any && !inner.negated ? { ...inner, negated: true } : null;
  }
  const parts = splitTopLevel(source);
  if (!parts) return null;
  const items: SimpleItem[] = [];
  for (const part of parts) {
    const item = parseSimpleItem(part.trim());
    if (!item) return null;
    items.push(item);
  }
  return { any: false, negated: false, items };
}

function parseSimpleItem(text: string): SimpleItem | null {
  const literal = literalValue(text);
  if (literal !== undefined) return { kind: 'value', value: literal.value };
  const comparison = /^(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)$/.exec(text);
  if (comparison) {
    const value = Number(comparison[2]);
    switch (comparison[1]) {
      case '<':
        return { kind: 'interval', low: -Infinity, lowOpen: true, high: value, highOpen: true };
      case '<=':
        return { kind: 'interval', low: -Infinity, lowOpen: true, high: value, highOpen: false };
      case '>':
        return { kind: 'interval', low: value, lowOpen: true, high: Infinity, highOpen: true };
      default:
        return { kind: 'interval', low: value, lowOpen: false, high: Infinity, highOpen: true };
    }
  }
  const interval = /^([[\](])\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*([[\])])$/.exec(text);
  if (interval) {
    return { kind: 'interval', low: Number(interval[2]), lowOpen: interval[1] !== '[', high: Number(interval[3]), highOpen: interval[4] !== ']' };
  }
  return null;
}

/** A literal FEEL value (`"text"`, `12.5`, `true`, `null`), or undefined when the text is anything else. */
function literalValue(text: string): { value: string | number | boolean | null } | undefined {
  const source = text.trim();
  if (/^"(?:[^"\\]|\\.)*"$/.test(source)) {
    try {
      return { value: JSON.parse(source) as string };
    } catch {
      return undefined;
    }
  }
  if (/^-?\d+(?:\.\d+)?$/.test(source)) return { value: Number(source) };
  if (source === 'true' || source === 'false') return { value: source === 'true' };
  if (source === 'null') return { value: null };
  return undefined;
}

/** Splits on commas outside strings and brackets; null when the text is unbalanced. */
function splitTopLevel(text: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '(' || char === '[') depth++;
    else if (char === ')' || char === ']') depth = Math.max(0, depth - 1);
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  if (inString) return null;
  parts.push(text.slice(start));
  return parts;
}

function itemType(item: SimpleItem): string | null {
  if (item.kind === 'interval') return 'number';
  return item.value === null ? null : typeof item.value;
}

function checkedType(typeRef: string | undefined): 'string' | 'number' | 'boolean' | null {
  return typeRef === 'string' || typeRef === 'number' || typeRef === 'boolean' ? typeRef : null;
}

/** True when some value certainly satisfies both tests. */
function testsOverlap(a: SimpleTests, b: SimpleTests): boolean {
  if (a.any || b.any) return true;
  if (a.negated && b.negated) return true;
  if (a.negated || b.negated) {
    const [negated, plain] = a.negated ? [a, b] : [b, a];
    // A plain value the negated list does not exclude matches both; intervals are left unknown.
    return plain.items.some((item) => item.kind === 'value' && !negated.items.some((excluded) => itemsOverlap(item, excluded)));
  }
  return a.items.some((left) => b.items.some((right) => itemsOverlap(left, right)));
}

function itemsOverlap(a: SimpleItem, b: SimpleItem): boolean {
  if (a.kind === 'value' && b.kind === 'value') return a.value === b.value;
  const toInterval = (item: SimpleItem) => (item.kind === 'interval' ? item : typeof item.value === 'number' ? { low: item.value, lowOpen: false, high: item.value, highOpen: false } : null);
  const left = toInterval(a);
  const right = toInterval(b);
  if (!left || !right) return false;
  const low = Math.max(left.low, right.low);
  const high = Math.min(left.high, right.high);
  if (low < high) return true;
  if (low > high) return false;
  const lowOpen = (left.low === low && left.lowOpen) || (right.low === low && right.lowOpen);
  const highOpen = (left.high === high && left.highOpen) || (right.high === high && right.highOpen);
  return !lowOpen && !highOpen;
}

function describeColumn(input: El, index: number): string {
  return stringAttr(input.label) ? `"${input.label}"` : String(index + 1);
}

function warningProblem(warning: { message: string; element?: El }): DecisionProblem {
  const message = warning.message;
  const duplicate = /duplicate ID <([^>]*)>/.exec(message);
  if (duplicate) return problem(duplicate[1]!, 'DUPLICATE_ID', `the id "${duplicate[1]}" is used by more than one element`);
  const unresolved = /unresolved reference <([^>]*)>/.exec(message);
  if (unresolved) return problem(ownerId(warning.element), 'MISSING_REFERENCE', `refers to "${unresolved[1]}", which does not exist`);
  const unknownType = /unknown type <([^>]*)>/.exec(message);
  if (unknownType) return problem(ownerId(warning.element), 'UNSUPPORTED_ELEMENT', `unknown element <${unknownType[1]}>`);
  return problem(ownerId(warning.element), 'XML_MALFORMED', firstLine(message));
}

function ownerId(element: El | undefined): string {
  for (let current = element; current; current = current.$parent as El | undefined) {
    if (current.id && current.$type !== 'dmn:Definitions') return current.id;
  }
  return 'definitions';
}

/** `#decisionId` → `decisionId`; null for a reference into another document. */
function localHref(href: unknown): string | null {
  if (typeof href !== 'string' || !href.startsWith('#')) return null;
  return href.slice(1);
}

function problem(elementId: string, code: DecisionProblemCode, message: string): DecisionProblem {
  return { elementId, code, message };
}
