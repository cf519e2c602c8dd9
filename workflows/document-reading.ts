/**
 * Small helpers both document parsers share — the BPMN one (workflows/bpmn/parse.ts) and the DMN
 * one (api/engine/dmn.ts) — for reading moddle trees and reporting problems. Pure.
 */

/** An attribute's text, trimmed; undefined when absent or blank. */
export function stringAttr(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** `{ key: value }`, or `{}` when the value is undefined (keeps absent fields out of plain JSON). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The problems without repeats (same element, code and message), in order. */
export function dedupe<T extends { elementId: string; code: string; message: string }>(problems: T[]): T[] {
  const seen = new Set<string>();
  return problems.filter((entry) => {
    const key = `${entry.elementId}\u0000${entry.code}\u0000${entry.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
