import type { Variables } from './contracts';
import { evaluateExpression, ExpressionError } from './expression';
import type { Mapping } from './model';

const forbiddenSegments = new Set(['__proto__', 'prototype', 'constructor']);

/** Writes `value` at a variable name or dotted path (`order.address.city`), creating objects on the way. */
export function setPath(target: Variables, path: string, value: unknown): void {
  const segments = path.split('.');
  if (segments.some((segment) => segment.length === 0 || forbiddenSegments.has(segment))) {
    throw new ExpressionError(path, `mapping target ${JSON.stringify(path)} is not a variable name or dotted path`);
  }
  let cursor: Record<string, unknown> = target;
  for (const segment of segments.slice(0, -1)) {
    const next = Object.hasOwn(cursor, segment) ? cursor[segment] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const created: Record<string, unknown> = {};
      cursor[segment] = created;
      cursor = created;
    } else {
      cursor = next as Record<string, unknown>;
    }
  }
  cursor[segments[segments.length - 1]!] = value;
}

/** Evaluates each mapping against `context` and writes the results into a fresh object. */
export function applyMappings(mappings: Mapping[], context: Variables): Variables {
  const result: Variables = {};
  for (const mapping of mappings) setPath(result, mapping.target, evaluateExpression(mapping.source, context));
  return result;
}
