import kfDescriptor from './kf.json';
import type { ModelProblem, ModelProblemCode } from './problems';

/** A moddle element: typed loosely, since bpmn-moddle's own types do not know `kf:`. */
export type El = { $type: string; id?: string; name?: string; [key: string]: any };

export function problem(elementId: string, code: ModelProblemCode, message: string): ModelProblem {
  return { elementId, code, message };
}

/** `bpmn:ServiceTask` → `serviceTask`: how a message names an element type. */
export function localName(type: string): string {
  const name = type.replace(/^bpmn:/, '');
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function extensions(element: El, type: string): El[] {
  return ((element.extensionElements?.values ?? []) as El[]).filter((value) => value.$type === type);
}

/** The process an element of the document sits in (through its sub-processes), by id. */
export function processOf(element: El | undefined): string | undefined {
  for (let current = element; current; current = current.$parent as El | undefined) {
    if (current.$type === 'bpmn:Process') return current.id;
  }
  return undefined;
}

/**
 * `kf:calledElement`: BPMN's own `calledElement` attribute owns that property name in moddle, so
 * the kf one stays an unknown attribute, kept under its prefixed name (whatever prefix is bound to
 * the kf namespace).
 */
export function kfCalledElement(element: El): unknown {
  const attrs = (element.$attrs ?? {}) as Record<string, unknown>;
  const prefixes = Object.entries(attrs)
    .filter(([name, value]) => name.startsWith('xmlns:') && value === kfDescriptor.uri)
    .map(([name]) => name.slice('xmlns:'.length));
  for (const prefix of new Set(['kf', ...prefixes])) if (`${prefix}:calledElement` in attrs) return attrs[`${prefix}:calledElement`];
  return undefined;
}
