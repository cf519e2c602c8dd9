import { evaluate, isFunction, isRange } from 'feelin';

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

/** Evaluates FEEL against the variables; the result is converted to plain JSON. */
export function evaluateExpression(expression: string, variables: Record<string, unknown>): unknown {
  const source = stripExpressionMarker(expression);
  if (source.length === 0) throw new ExpressionError(expression, 'empty expression');
  if (source.length > maxExpressionLength) throw new ExpressionError(expression, `expression longer than ${maxExpressionLength} characters`);
  let result: unknown;
  try {
    result = evaluate(source, variables).value;
  } catch (error) {
    throw new ExpressionError(expression, `expression ${JSON.stringify(source)} failed: ${(error as Error).message}`);
  }
  return toJson(result);
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
  if (isFunction(value) || isRange(value)) return null;
  if (typeof value === 'object') {
    const withIso = value as { toISO?: () => string; toJSON?: () => unknown };
    if (typeof withIso.toISO === 'function') return withIso.toISO();
    if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, entry]) => [key, toJson(entry)]));
    }
    if (typeof withIso.toJSON === 'function') return toJson(withIso.toJSON());
    return String(value);
  }
  return null;
}
