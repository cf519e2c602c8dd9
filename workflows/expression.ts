import { maxRangeSize } from './feel-range-bound';
import { shortcutExpression, shortcutUnaryTests } from './feel-shortcuts';
import { feelin } from './lazy-modules';

export { maxRangeSize };

/**
 * Keyflow's one expression language: FEEL (the BPMN/DMN standard, as in Camunda 8), evaluated by
 * feelin — an interpreter over a parse tree, so no `eval`/`Function`, no prototype access
 * (`x.constructor` is simply a missing key), and deterministic inside the workflow sandbox (FEEL's
 * `now()` reads workflow time there).
 */

/** Longest expression accepted: a model's expressions are short; a megabyte of FEEL is an attack. */
export const maxExpressionLength = 4_000;

/** The expression did not parse or did not yield what its place needs. */
export class ExpressionError extends Error {
  readonly code = 'EXPRESSION_FAILED';
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/** `=amount > 10` → `amount > 10`; conditions may carry Camunda 8's leading `=` or not. */
export function stripExpressionMarker(expression: string): string {
  const trimmed = expression.trim();
  return trimmed.startsWith('=') ? trimmed.slice(1) : trimmed;
}

/** True when an attribute value is an expression (`=…`) rather than a literal. */
export function isExpression(value: string): boolean {
  return value.trim().startsWith('=');
}

/**
 * Evaluates FEEL against the variables; the result is converted to plain JSON. The expression is
 * checked first (`checkExpression`): one that could run unbounded is refused, never started.
 * @throws ExpressionError when it does not parse, is refused, or fails.
 */
export function evaluateExpression(expression: string, variables: Record<string, unknown>): unknown {
  const source = stripExpressionMarker(expression);
  // What a shortcut answers (a literal, a name, a comparison of a name with a literal) parses and
  // runs in bounded time by its form: the analysis, which needs feelin's parser, can wait.
  const shortcut = source.length <= maxExpressionLength ? shortcutExpression(source, variables) : undefined;
  if (shortcut !== undefined) return shortcut;
  const analysis = analyse(source);
  if (analysis.problem) throw new ExpressionError(expression, analysis.problem);
  if (analysis.iterates) {
    const oversized = findOversizedList(variables, 0);
    if (oversized) throw new ExpressionError(expression, `expression ${JSON.stringify(source)} iterates, and variable ${oversized} holds more than ${maxIteratedListLength} items`);
  }
  let result: unknown;
  try {
    result = feelin().evaluate(source, variables).value;
  } catch (error) {
    throw new ExpressionError(expression, `expression ${JSON.stringify(source)} failed: ${(error as Error).message}`);
  }
  return toJson(result);
}

/**
 * Evaluates FEEL unary tests (a decision table's input entry) against `value`, with `variables` in
 * scope: `-` (or an empty cell) matches anything; a test that yields null (incomparable types, a
 * missing variable) does not match. Checked for cost first, like `evaluateExpression`.
 * @throws ExpressionError when the tests do not parse, are refused, or fail.
 */
export function evaluateUnaryTests(tests: string, value: unknown, variables: Record<string, unknown>): boolean {
  const source = tests.trim();
  if (source === '' || source === '-') return true;
  const analysis = analyse(source, 'unaryTests');
  if (analysis.problem) throw new ExpressionError(tests, analysis.problem);
  const shortcut = shortcutUnaryTests(source, value);
  if (shortcut !== undefined) return shortcut;
  if (analysis.iterates) {
    const oversized = findOversizedList({ ...variables, '?': value }, 0);
    if (oversized) throw new ExpressionError(tests, `unary tests ${JSON.stringify(source)} iterate, and variable ${oversized} holds more than ${maxIteratedListLength} items`);
  }
  try {
    return feelin().unaryTest(source, { ...variables, '?': value }).value === true;
  } catch (error) {
    throw new ExpressionError(tests, `unary tests ${JSON.stringify(source)} failed: ${(error as Error).message}`);
  }
}

/** Like `checkExpression`, for unary tests (an input entry of a decision table); `-` and empty are fine. */
export function checkUnaryTests(tests: string): string | null {
  const source = tests.trim();
  if (source === '' || source === '-') return null;
  return analyse(source, 'unaryTests').problem ?? null;
}

/** A sequence-flow or completion condition: must yield a boolean (null — e.g. a missing variable — is false). */
export function evaluateCondition(expression: string, variables: Record<string, unknown>): boolean {
  const value = evaluateExpression(expression, variables);
  if (value === null || value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new ExpressionError(expression, `condition ${JSON.stringify(stripExpressionMarker(expression))} yielded ${typeof value}, not a boolean`);
  }
  return value;
}

/** An attribute that is a literal unless it starts with `=`. */
export function evaluateValue(value: string, variables: Record<string, unknown>): unknown {
  return isExpression(value) ? evaluateExpression(value, variables) : value;
}

/** Converts FEEL values (dates, durations, ranges, functions) into JSON that Temporal can carry. */
export function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, entry]) => [key, toJson(entry)]));
  }
  // Anything else came out of feelin (plain values and objects never ask for it).
  const { isFunction, isRange } = feelin();
  if (isFunction(value) || isRange(value)) return null;
  if (typeof value === 'object') {
    const withIso = value as { toISO?: () => string; toJSON?: () => unknown };
    if (typeof withIso.toISO === 'function') return withIso.toISO();
    if (typeof withIso.toJSON === 'function') return toJson(withIso.toJSON());
    return String(value);
  }
  return null;
}

// --- Bounded cost -----------------------------------------------------------------------------
// FEEL has no loops but `for`/`some`/`every`, filters and ranges, and feelin runs them eagerly. A
// model (or a variable a caller supplied) could otherwise ask for a billion iterations, a string
// doubled sixty times through `partial`, or a regular expression that backtracks for ever — and
// that would stall a workflow task. Each expression is analysed once, statically:
// - at most `maxExpressionLength` characters and `maxNestingDepth` levels of syntax;
// - no function definitions (recursion) and no `partial` (results feeding the next iteration);
// - iterations multiply along their nesting: a literal range counts its size, any other source
//   (a list variable, a range with variable bounds) counts as its cap; the product must stay
//   within `maxIterations`;
// - regular expressions (`matches`, `replace`, `split`) only as string literals without a
//   quantified group that itself contains a quantifier (the classic catastrophic backtracking).
// At run time, a range is never enumerated beyond `maxRangeSize` nor with fractional bounds
// (feelin would step past a fractional end for ever), and an iterating expression refuses
// variables that hold lists longer than `maxIteratedListLength`.

/** Deepest syntax tree accepted (parentheses, lists, contexts, calls all count). */
export const maxNestingDepth = 64;
/** Most loop bodies one evaluation may run, counted along nested iterations. */
export const maxIterations = 100_000;
/** Longest list (in the variables) an iterating expression accepts. */
export const maxIteratedListLength = 10_000;

interface Analysis {
  problem?: string;
  /** True when the expression iterates or filters, so list sizes in the variables matter. */
  iterates: boolean;
}

const analysisCache = new Map<string, Analysis>();
// Sized for a few large decision tables beside the models: every cell of a table is an entry.
const maxCachedAnalyses = 20_000;

/**
 * Checks that an expression parses and stays within Keyflow's cost bounds, without evaluating it.
 * Returns a plain-words problem, or null when it is fine. The validator calls it on every
 * expression of a model at deploy time; evaluation calls it too.
 */
export function checkExpression(expression: string): string | null {
  return analyse(stripExpressionMarker(expression)).problem ?? null;
}

/** FEEL's two grammars: an expression, or the unary tests of a decision table's input entry. */
type Grammar = 'expression' | 'unaryTests';

function analyse(source: string, grammar: Grammar = 'expression'): Analysis {
  const cacheKey = grammar === 'expression' ? source : `?\u0000${source}`;
  const cached = analysisCache.get(cacheKey);
  if (cached) return cached;
  const analysis = analyseUncached(source, grammar);
  if (analysisCache.size >= maxCachedAnalyses) analysisCache.clear();
  analysisCache.set(cacheKey, analysis);
  return analysis;
}

interface SyntaxNode {
  name: string;
  from: number;
  to: number;
  isError: boolean;
  children: SyntaxNode[];
}

function analyseUncached(source: string, grammar: Grammar): Analysis {
  if (source.length === 0) return { problem: 'the expression is empty', iterates: false };
  if (source.length > maxExpressionLength) return { problem: `the expression is longer than ${maxExpressionLength} characters`, iterates: false };
  let root: SyntaxNode;
  try {
    root = toSyntaxNode(source, grammar);
  } catch (error) {
    return { problem: (error as Error).message, iterates: false };
  }
  const context = { source, iterates: false };
  const problem = inspect(root, 1, 1, context);
  return { problem: problem ?? undefined, iterates: context.iterates };
}

/** Converts lezer's tree into plain nodes, refusing deep nesting before any recursion over it. */
function toSyntaxNode(source: string, grammar: Grammar): SyntaxNode {
  const { parseExpression, parseUnaryTests } = feelin();
  const tree = grammar === 'expression' ? parseExpression(source, {}, undefined) : parseUnaryTests(source, {}, undefined);
  const cursor = tree.cursor();
  const root: SyntaxNode = { name: cursor.name, from: cursor.from, to: cursor.to, isError: cursor.type.isError, children: [] };
  const stack: SyntaxNode[] = [root];
  // An iterative walk: a thousand opening parentheses must not overflow the stack here.
  if (!cursor.firstChild()) return root;
  for (;;) {
    const node: SyntaxNode = { name: cursor.name, from: cursor.from, to: cursor.to, isError: cursor.type.isError, children: [] };
    stack[stack.length - 1]!.children.push(node);
    if (stack.length > maxNestingDepth * 3) throw new Error(`the expression nests deeper than ${maxNestingDepth} levels`);
    if (cursor.firstChild()) {
      stack.push(node);
      continue;
    }
    while (!cursor.nextSibling()) {
      if (!cursor.parent() || stack.length === 1) return root;
      stack.pop();
    }
  }
}

const nestingNodes = new Set(['ParenthesizedExpression', 'List', 'Context', 'FunctionInvocation', 'IfExpression', 'ForExpression', 'QuantifiedExpression', 'FilterExpression']);
const regexFunctions = new Set(['matches', 'replace', 'split']);

function inspect(node: SyntaxNode, depth: number, multiplier: number, context: { source: string; iterates: boolean }): string | null {
  const text = () => context.source.slice(node.from, node.to);
  if (node.isError) {
    const at = node.from;
    return at >= context.source.length ? 'the expression is incomplete' : `the expression does not parse at position ${at + 1} (near ${JSON.stringify(context.source.slice(at, at + 12))})`;
  }
  const nextDepth = nestingNodes.has(node.name) ? depth + 1 : depth;
  if (nextDepth > maxNestingDepth) return `the expression nests deeper than ${maxNestingDepth} levels`;
  switch (node.name) {
    case 'FunctionDefinition':
      return 'function definitions are not allowed in expressions';
    case 'VariableName':
      if (text() === 'partial') return '`partial` (earlier iteration results) is not allowed: it lets results grow without bound';
      break;
    case 'FunctionInvocation': {
      const callee = node.children[0];
      const name = callee ? context.source.slice(callee.from, callee.to).trim() : '';
      if (regexFunctions.has(name)) {
        const problem = checkRegexArguments(name, node, context.source);
        if (problem) return problem;
      }
      break;
    }
    case 'ForExpression':
    case 'QuantifiedExpression': {
      context.iterates = true;
      let inner = multiplier;
      for (const child of node.children) {
        if (child.name === 'InExpressions') {
          for (const inExpression of child.children) {
            const iterationContext = inExpression.children.find((part) => part.name === 'IterationContext');
            if (iterationContext) {
              const problem = inspect(iterationContext, nextDepth, inner, context);
              if (problem) return problem;
              const size = iterationSize(iterationContext, context.source);
              if (typeof size === 'string') return size;
              inner *= size;
              if (inner > maxIterations) return `the expression could iterate more than ${maxIterations} times (nested iterations multiply)`;
            }
          }
        } else {
          const problem = inspect(child, nextDepth, inner, context);
          if (problem) return problem;
        }
      }
      return null;
    }
    case 'FilterExpression': {
      context.iterates = true;
      const [target, ...rest] = node.children;
      if (target) {
        const problem = inspect(target, nextDepth, multiplier, context);
        if (problem) return problem;
      }
      const inner = multiplier * maxIteratedListLength;
      if (inner > maxIterations) return `the expression could iterate more than ${maxIterations} times (a filter inside an iteration multiplies)`;
      for (const child of rest) {
        const problem = inspect(child, nextDepth, inner, context);
        if (problem) return problem;
      }
      return null;
    }
  }
  for (const child of node.children) {
    const problem = inspect(child, nextDepth, multiplier, context);
    if (problem) return problem;
  }
  return null;
}

/** How many items an iteration source yields at most, or a problem. */
function iterationSize(node: SyntaxNode, source: string): number | string {
  const bounds = rangeBounds(node, source);
  if (bounds === null) return maxIteratedListLength;
  const [start, end] = bounds;
  if (start === undefined || end === undefined) return maxRangeSize;
  if (!Number.isInteger(start) || !Number.isInteger(end)) return `a range to iterate needs whole-number bounds (got ${start}..${end})`;
  const size = Math.abs(end - start) + 1;
  if (size > maxRangeSize) return `the range ${start}..${end} has ${size} items; at most ${maxRangeSize} may be iterated`;
  return size;
}

/** For `a..b` or `[a..b]`: the literal bounds (undefined when not a number literal); null when not a range. */
function rangeBounds(node: SyntaxNode, source: string): [number | undefined, number | undefined] | null {
  let parts = node.children;
  const interval = findDescendant(node, 'Interval');
  if (interval && parts.length === 1) parts = interval.children;
  const dots = parts.findIndex((part) => source.slice(part.from, part.to) === '..');
  if (dots < 0) return null;
  const literal = (part: SyntaxNode | undefined) => {
    if (!part || part.name !== 'NumericLiteral') return undefined;
    const value = Number(source.slice(part.from, part.to).replace(/\s+/g, ''));
    return Number.isFinite(value) ? value : undefined;
  };
  return [literal(parts[dots - 1]), literal(parts[dots + 1])];
}

function findDescendant(node: SyntaxNode, name: string): SyntaxNode | undefined {
  for (const child of node.children) {
    if (child.name === name) return child;
    const found = findDescendant(child, name);
    if (found) return found;
  }
  return undefined;
}

function checkRegexArguments(name: string, call: SyntaxNode, source: string): string | null {
  const parameters = call.children.find((part) => part.name === 'PositionalParameters' || part.name === 'NamedParameters');
  const pattern = parameters?.children.filter((part) => !['(', ')', ','].includes(part.name))[1];
  const patternNode = pattern?.name === 'NamedParameter' ? pattern.children[pattern.children.length - 1] : pattern;
  if (!patternNode || patternNode.name !== 'StringLiteral') return `${name}() needs its pattern as a string literal, so it can be checked before it runs`;
  const text = source.slice(patternNode.from + 1, patternNode.to - 1);
  if (/\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]/.test(text)) {
    return `${name}() pattern ${JSON.stringify(text)} repeats a group that itself repeats; such patterns can take exponential time`;
  }
  return null;
}

function findOversizedList(value: unknown, depth: number, path = 'variables'): string | null {
  if (depth > 32 || value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    if (value.length > maxIteratedListLength) return path.replace(/^variables\.?/, '') || '(root)';
    for (let index = 0; index < value.length; index++) {
      const found = findOversizedList(value[index], depth + 1, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, entry] of Object.entries(value)) {
    const found = findOversizedList(entry, depth + 1, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}
