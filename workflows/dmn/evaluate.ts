import { evaluateExpression, evaluateUnaryTests, ExpressionError } from '../expression';
import type { Decision, DecisionGraph, DecisionOutput, DecisionRule, DecisionTable } from './model';

/**
 * Evaluates deployed decisions: pure and deterministic (FEEL through feelin, no clock unless an
 * expression asks for `now()`, which reads workflow time in the sandbox), so the interpreter runs
 * it inside the workflow and the API runs the very same code for the evaluate route.
 */

/** What one decision of the graph did: its result and, for a table, the rules that matched and why. */
export interface EvaluatedDecision {
  decisionId: string;
  name?: string;
  kind: 'table' | 'literal';
  hitPolicy?: string;
  /** Ids of the rules that matched, in rule order (empty for a literal expression). */
  matchedRuleIds: string[];
  /** The ids of the matched rules that made the result (PRIORITY and FIRST keep one; ANY keeps the first). */
  resultRuleIds: string[];
  /** The value of each input expression, by input id: what the rules were tested against. */
  inputs: Record<string, unknown>;
  result: unknown;
}

export interface DecisionEvaluation {
  decisionKey: string;
  version: number;
  /** The result of the decision named by `decisionKey`. */
  result: unknown;
  /** Every decision evaluated, the required ones before those that need them. */
  decisions: EvaluatedDecision[];
}

/** A decision could not be evaluated: a cell failed, or the hit policy was violated. Carries the element id. */
export class DecisionEvaluationError extends Error {
  readonly code = 'DECISION_FAILED';
  constructor(
    readonly decisionId: string,
    readonly elementId: string,
    message: string,
  ) {
    super(`decision ${decisionId}: ${message}`);
    this.name = 'DecisionEvaluationError';
  }
}

/**
 * Evaluates `graph.key` against the variables, its required decisions first (each once; their
 * results are in scope under their variable names). Inputs are not coerced: FEEL compares strictly,
 * so `10` does not match the string `"10"`, and a missing variable is null.
 * @throws DecisionEvaluationError naming the decision and the element (rule, input, output) that failed
 */
export function evaluateDecision(graph: DecisionGraph, variables: Record<string, unknown>): DecisionEvaluation {
  const evaluated: EvaluatedDecision[] = [];
  const results = new Map<string, unknown>();
  const visit = (decisionId: string, path: string[]): unknown => {
    if (results.has(decisionId)) return results.get(decisionId);
    const decision = graph.decisions[decisionId];
    if (!decision) throw new DecisionEvaluationError(path[path.length - 1] ?? graph.key, decisionId, `requires decision ${decisionId}, which the graph does not hold`);
    if (path.includes(decisionId)) throw new DecisionEvaluationError(decisionId, decisionId, `requires itself (${[...path, decisionId].join(' → ')})`);
    const scope: Record<string, unknown> = { ...variables };
    for (const required of decision.requires) {
      const value = visit(required, [...path, decisionId]);
      scope[graph.decisions[required]!.variableName] = value;
    }
    const outcome = evaluateOne(decision, scope);
    evaluated.push(outcome);
    results.set(decisionId, outcome.result);
    return outcome.result;
  };
  const result = visit(graph.key, []);
  return { decisionKey: graph.key, version: graph.version, result, decisions: evaluated };
}

function evaluateOne(decision: Decision, scope: Record<string, unknown>): EvaluatedDecision {
  const base = { decisionId: decision.id, ...(decision.name ? { name: decision.name } : {}) };
  if (decision.logic.kind === 'literal') {
    const { id, expression } = decision.logic;
    const result = cell(decision, id, () => evaluateExpression(expression, scope));
    return { ...base, kind: 'literal', matchedRuleIds: [], resultRuleIds: [], inputs: {}, result };
  }
  const table = decision.logic;
  const inputs: Record<string, unknown> = {};
  const values = table.inputs.map((input) => {
    const value = cell(decision, input.id, () => evaluateExpression(input.expression, scope));
    inputs[input.id] = value;
    return value;
  });
  const matched = table.rules.filter((rule) =>
    rule.inputEntries.every((entry, index) => cell(decision, rule.id, () => evaluateUnaryTests(entry, values[index], scope))),
  );
  const { result, resultRules } = applyHitPolicy(decision, table, matched, scope);
  return {
    ...base,
    kind: 'table',
    hitPolicy: table.aggregation ? `${table.hitPolicy} ${table.aggregation}` : table.hitPolicy,
    matchedRuleIds: matched.map((rule) => rule.id),
    resultRuleIds: resultRules.map((rule) => rule.id),
    inputs,
    result,
  };
}

function applyHitPolicy(decision: Decision, table: DecisionTable, matched: DecisionRule[], scope: Record<string, unknown>): { result: unknown; resultRules: DecisionRule[] } {
  const outputsOf = (rule: DecisionRule) => table.outputs.map((output, index) => cell(decision, rule.id, () => outputValue(rule.outputEntries[index], scope)));
  const shape = (values: unknown[]) => (table.outputs.length === 1 ? values[0] : Object.fromEntries(table.outputs.map((output, index) => [outputName(output), values[index]])));
  const singleHit = ['UNIQUE', 'FIRST', 'PRIORITY', 'ANY'].includes(table.hitPolicy) || table.aggregation !== undefined;

  if (matched.length === 0) {
    if (singleHit && table.outputs.some((output) => output.defaultValue !== undefined) && table.aggregation !== 'COUNT') {
      return { result: shape(table.outputs.map((output) => cell(decision, output.id, () => outputValue(output.defaultValue, scope)))), resultRules: [] };
    }
    if (table.aggregation === 'COUNT') return { result: 0, resultRules: [] };
    return { result: singleHit ? null : [], resultRules: [] };
  }

  switch (table.hitPolicy) {
    case 'UNIQUE':
      if (matched.length > 1) {
        throw new DecisionEvaluationError(decision.id, table.id, `hit policy UNIQUE, but rules ${matched.map((rule) => rule.id).join(', ')} all match`);
      }
      return { result: shape(outputsOf(matched[0]!)), resultRules: matched };
    case 'FIRST':
      return { result: shape(outputsOf(matched[0]!)), resultRules: [matched[0]!] };
    case 'ANY': {
      const first = outputsOf(matched[0]!);
      for (const rule of matched.slice(1)) {
        if (!sameValues(first, outputsOf(rule))) {
          throw new DecisionEvaluationError(decision.id, table.id, `hit policy ANY, but matching rules ${matched[0]!.id} and ${rule.id} give different outputs`);
        }
      }
      return { result: shape(first), resultRules: [matched[0]!] };
    }
    case 'PRIORITY':
    case 'OUTPUT ORDER': {
      const ranked = matched
        .map((rule, order) => ({ rule, order, values: outputsOf(rule) }))
        .sort((a, b) => comparePriority(table, a.values, b.values) || a.order - b.order);
      if (table.hitPolicy === 'PRIORITY') return { result: shape(ranked[0]!.values), resultRules: [ranked[0]!.rule] };
      return { result: ranked.map((entry) => shape(entry.values)), resultRules: ranked.map((entry) => entry.rule) };
    }
    case 'RULE ORDER':
      return { result: matched.map((rule) => shape(outputsOf(rule))), resultRules: matched };
    case 'COLLECT': {
      if (!table.aggregation) return { result: matched.map((rule) => shape(outputsOf(rule))), resultRules: matched };
      const values = matched.map((rule) => outputsOf(rule)[0]).filter((value) => value !== null && value !== undefined);
      return { result: aggregate(decision, table, values), resultRules: matched };
    }
  }
}

function aggregate(decision: Decision, table: DecisionTable, values: unknown[]): unknown {
  if (table.aggregation === 'COUNT') return values.length;
  if (values.length === 0) return null;
  if (!values.every((value) => typeof value === 'number')) {
    throw new DecisionEvaluationError(decision.id, table.id, `COLLECT ${table.aggregation} needs number outputs (got ${values.map((value) => JSON.stringify(value)).join(', ')})`);
  }
  const numbers = values as number[];
  if (table.aggregation === 'SUM') return numbers.reduce((sum, value) => sum + value, 0);
  if (table.aggregation === 'MIN') return Math.min(...numbers);
  return Math.max(...numbers);
}

/** Negative when `a` ranks before `b`: output by output, by the position of the value among the output's values. */
function comparePriority(table: DecisionTable, a: unknown[], b: unknown[]): number {
  for (let index = 0; index < table.outputs.length; index++) {
    const allowed = table.outputs[index]!.allowedValues;
    if (!allowed) continue;
    const rank = (value: unknown) => {
      const position = allowed.findIndex((candidate) => sameValue(candidate, value));
      return position < 0 ? allowed.length : position;
    };
    const difference = rank(a[index]) - rank(b[index]);
    if (difference !== 0) return difference;
  }
  return 0;
}

function outputValue(entry: string | undefined, scope: Record<string, unknown>): unknown {
  if (entry === undefined || entry.trim() === '') return null;
  return evaluateExpression(entry, scope);
}

export function outputName(output: DecisionOutput): string {
  return output.name ?? output.id;
}

function cell<T>(decision: Decision, elementId: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DecisionEvaluationError) throw error;
    const message = error instanceof ExpressionError ? error.message : (error as Error).message;
    throw new DecisionEvaluationError(decision.id, elementId, `${elementId}: ${message}`);
  }
}

function sameValues(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((value, index) => sameValue(value, b[index]));
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
