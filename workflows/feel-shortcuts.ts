/**
 * Shortcuts past feelin for the FEEL that decision tables and conditions are mostly made of —
 * literal cells (`"gold"`, `2`, `true`), variable names, a name compared with a literal
 * (`amount > 100`, `tier = "gold"`), and unary tests of literals (`"a","b"`, `< 1000`,
 * `[1000..5000)`, `not("x")`). feelin parses and interprets every call (≈40–200 µs); a table of
 * 200 rules asks for hundreds per evaluation. A shortcut answers only where its answer is feelin's
 * by construction — the value has the literal's own type — and returns `undefined` otherwise, so
 * the caller asks feelin (whose coercions between types stay the engine's semantics).
 * test/unit/expression/feel-shortcuts.test.ts checks them against feelin over a grid of cases.
 */

type Literal = string | number | boolean;
type LiteralType = 'string' | 'number' | 'boolean';
/** true / false when decided, undefined when feelin must decide. */
type Test = (value: unknown) => boolean | undefined;
type Expression = (variables: Record<string, unknown>) => unknown;

const numberPattern = /^-?\d+(?:\.\d+)?$/;
const stringPattern = /^"([^"\\]*)"$/;
const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
// FEEL words a bare name could collide with: never a variable lookup.
const reserved = new Set(['true', 'false', 'null', 'not', 'and', 'or', 'if', 'then', 'else', 'for', 'in', 'return', 'some', 'every', 'satisfies', 'instance', 'of', 'function', 'between']);

function literalOf(source: string): { value: Literal; type: LiteralType } | undefined {
  if (numberPattern.test(source)) return { value: Number(source), type: 'number' };
  const string = stringPattern.exec(source);
  if (string) return { value: string[1]!, type: 'string' };
  if (source === 'true' || source === 'false') return { value: source === 'true', type: 'boolean' };
  return undefined;
}

/** Splits on commas outside brackets, parentheses and strings; undefined when the text is not that simple. */
function splitList(source: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let index = 0; index < source.length; index++) {
    const character = source[index];
    if (character === '\\') return undefined;
    if (character === '"') inString = !inString;
    else if (inString) continue;
    else if (character === '(' || character === '[') depth++;
    else if (character === ')' || character === ']') depth--;
    else if (character === ',' && depth === 0) {
      parts.push(source.slice(start, index).trim());
      start = index + 1;
    }
  }
  if (inString) return undefined;
  parts.push(source.slice(start).trim());
  return parts;
}

const comparisons: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** One positive test on one literal type, with the type it needs the value to have. */
function simpleTest(source: string): { test: (value: never) => boolean; type: LiteralType } | undefined {
  const literal = literalOf(source);
  if (literal) return { test: (value: Literal) => value === literal.value, type: literal.type };
  const comparison = /^(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)$/.exec(source);
  if (comparison) {
    const compare = comparisons[comparison[1]!]!;
    const bound = Number(comparison[2]);
    return { test: (value: number) => compare(value, bound), type: 'number' };
  }
  const range = /^([[\]()])\s*(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\d+(?:\.\d+)?)\s*([[\]()])$/.exec(source);
  if (range) {
    const low = Number(range[2]);
    const high = Number(range[3]);
    const lowIncluded = range[1] === '[';
    const highIncluded = range[4] === ']';
    return { test: (value: number) => (lowIncluded ? value >= low : value > low) && (highIncluded ? value <= high : value < high), type: 'number' };
  }
  return undefined;
}

function compileUnaryTests(source: string): Test | null {
  const negated = /^not\s*\((.*)\)$/s.exec(source);
  const parts = splitList(negated ? negated[1]!.trim() : source);
  if (!parts || parts.length === 0) return null;
  const tests = parts.map(simpleTest);
  if (tests.some((test) => test === undefined)) return null;
  const type = tests[0]!.type;
  if (tests.some((test) => test!.type !== type)) return null;
  const predicates = tests.map((test) => test!.test as (value: unknown) => boolean);
  return (value) => {
    if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) return undefined;
    const any = predicates.some((predicate) => predicate(value));
    return negated ? !any : any;
  };
}

const equalities: Record<string, (a: Literal, b: Literal) => boolean> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/**
 * `name op literal` — the sequence-flow condition designers write most (`amount > 100`,
 * `tier = "gold"`, `approved = true`): ordering only on numbers, equality on a literal's own type.
 */
function compileComparison(source: string): Expression | null {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|!=|<|>|=)\s*(.+)$/.exec(source);
  if (!match || reserved.has(match[1]!)) return null;
  const [, name, operator] = match as unknown as [string, string, string];
  const literal = literalOf(match[3]!.trim());
  if (!literal) return null;
  const ordering = comparisons[operator];
  if (ordering && literal.type !== 'number') return null;
  const compare = (ordering as ((a: Literal, b: Literal) => boolean) | undefined) ?? equalities[operator]!;
  return (variables) => {
    if (!Object.prototype.hasOwnProperty.call(variables, name)) return undefined;
    const value = variables[name];
    if (typeof value !== literal.type || (typeof value === 'number' && !Number.isFinite(value))) return undefined;
    return compare(value as Literal, literal.value);
  };
}

function compileExpression(source: string): Expression | null {
  const literal = literalOf(source);
  if (literal) return () => literal.value;
  if (source === 'null') return () => null;
  const comparison = compileComparison(source);
  if (comparison) return comparison;
  if (namePattern.test(source) && !reserved.has(source)) {
    // Only a variable that is there, with a plain value: anything else (a missing name that is a
    // built-in function, a date object) is feelin's to answer.
    return (variables) => {
      if (!Object.prototype.hasOwnProperty.call(variables, source)) return undefined;
      const value = variables[source];
      if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
      if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
      return undefined;
    };
  }
  return null;
}

// Compiled shortcuts by source text: pure functions of the text, so sharing them between workflow
// runs in one isolate cannot leak state; bounded like the analysis cache beside them.
const unaryTestCache = new Map<string, Test | null>();
const expressionCache = new Map<string, Expression | null>();
const maxCached = 20_000;

function cached<T>(cache: Map<string, T | null>, source: string, compile: (source: string) => T | null): T | null {
  let entry = cache.get(source);
  if (entry === undefined) {
    entry = compile(source);
    if (cache.size >= maxCached) cache.clear();
    cache.set(source, entry);
  }
  return entry;
}

/** The unary tests' answer for `value`, or undefined when feelin must give it. */
export function shortcutUnaryTests(source: string, value: unknown): boolean | undefined {
  return cached(unaryTestCache, source, compileUnaryTests)?.(value);
}

/** The expression's value, or undefined when feelin must give it. */
export function shortcutExpression(source: string, variables: Record<string, unknown>): unknown {
  return cached(expressionCache, source, compileExpression)?.(variables);
}
