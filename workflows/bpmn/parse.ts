import { BpmnModdle } from 'bpmn-moddle';
import { dedupe, firstLine } from '../document-reading';
import type { ProcessModel } from '../model';
import kfDescriptor from './kf.json';
import { ModelBuilder } from './model-builder';
import { problem, type El } from './moddle-element';
import { documentElementId, type ModelProblem } from './problems';
import { validateModel, type ValidationOptions } from './validate';

export { defaultServiceTaskRetries, defaultServiceTaskTimeout } from './elements/tasks';
export { isIsoCycle, isIsoDuration, isIsoInstant } from './iso-8601';

/** The namespace of Keyflow's BPMN extension attributes and elements (`kf:`). */
export const keyflowNamespace = kfDescriptor.uri;
export { kfDescriptor };

/** Largest BPMN document accepted: real models are tens of kilobytes. */
export const maxBpmnBytes = 2 * 1024 * 1024;

export interface ParseResult {
  /** The executable model (the first, in a collaboration); present whenever the XML was a readable BPMN process, even with problems. */
  model?: ProcessModel;
  /** Every executable process of the document, `model` first: one for a plain process, one per executable pool of a collaboration. */
  models?: ProcessModel[];
  /** Pools of a collaboration that are not deployed, and why (a notice, not a problem). */
  skipped?: SkippedProcess[];
  /** Every problem found; a model is deployable only when this is empty. */
  problems: ModelProblem[];
}

/** A process of the document that Keyflow leaves alone: a pool not marked executable. */
export interface SkippedProcess {
  processId: string;
  name?: string;
  reason: string;
}



/**
 * Parses BPMN 2.0 XML with Keyflow's `kf:` extension into the executable model and validates it,
 * returning every problem at once (never throwing on bad input). Refuses oversized documents and
 * any DTD (entity expansion, external entities) before an XML parser sees them.
 */
export async function parseBpmn(xml: string, options: ValidationOptions = {}): Promise<ParseResult> {
  const refusal = screenXml(xml);
  if (refusal) return { problems: [refusal] };

  const moddle = new BpmnModdle({ kf: kfDescriptor });
  let definitions: El;
  let warnings: { message: string; element?: El }[];
  try {
    const result = await moddle.fromXML(xml, 'bpmn:Definitions');
    definitions = result.rootElement as unknown as El;
    warnings = result.warnings as never;
  } catch (error) {
    const message = firstLine((error as Error).message);
    const notBpmn = /failed to parse document as <bpmn:Definitions>/.test(message);
    return {
      problems: [
        notBpmn
          ? problem(documentElementId, 'NOT_BPMN', 'the document is XML but not BPMN 2.0: its root must be <definitions> in the namespace http://www.omg.org/spec/BPMN/20100524/MODEL')
          : problem(documentElementId, 'XML_MALFORMED', `the document is not well-formed XML (${message})`),
      ],
    };
  }

  const problems: ModelProblem[] = [];
  for (const warning of warnings) {
    const found = warningProblem(warning);
    if (found) problems.push(found);
  }
  const checked = checkDefinitions(definitions, options);
  return { ...checked, problems: dedupe([...problems, ...checked.problems]) };
}

/**
 * Builds and validates the process of already-parsed BPMN definitions (a bpmn-moddle tree with
 * the `kf:` descriptor). Synchronous and pure, so the designer's linter runs exactly these rules
 * on the modeler's own tree while a designer draws: the editor and the deploy never disagree.
 */
export function checkDefinitions(definitions: El, options: ValidationOptions = {}): ParseResult {
  const problems: ModelProblem[] = [];
  const processes = ((definitions.rootElements ?? []) as El[]).filter((element) => element.$type === 'bpmn:Process');
  if (processes.length === 0) {
    problems.push(problem(documentElementId, 'NO_PROCESS', 'the document holds no <process>'));
    return { problems };
  }
  const withFlow = processes.filter((process) => (process.flowElements ?? []).length > 0);
  // One process: run it (isExecutable is often left out by hand). A collaboration of several: run
  // the pools marked executable, each as its own key, and say which were left out.
  const skipped: SkippedProcess[] = [];
  let chosen: El[];
  if (withFlow.length <= 1) chosen = [withFlow[0] ?? processes[0]!];
  else {
    chosen = withFlow.filter((process) => process.isExecutable === true);
    for (const process of withFlow.filter((candidate) => candidate.isExecutable !== true)) {
      skipped.push({ processId: process.id ?? '', ...(process.name ? { name: process.name as string } : {}), reason: 'not marked executable (isExecutable="true"): not deployed' });
    }
    if (chosen.length === 0) {
      problems.push(problem(documentElementId, 'NO_EXECUTABLE_PROCESS', `the document has ${withFlow.length} processes and none is marked executable (isExecutable="true"); mark the pools Keyflow should run`));
      return { problems, skipped };
    }
  }
  try {
    const models = chosen.map((process) => {
      const builder = new ModelBuilder(definitions, process, problems);
      const model = builder.build();
      problems.push(...validateModel(model, { ...options, refusedNodeIds: builder.refusedNodeIds }));
      return model;
    });
    return { model: models[0]!, models, ...(skipped.length > 0 ? { skipped } : {}), problems: dedupe(problems) };
  } catch (error) {
    // A shape the builder did not foresee must still come back as a problem, never as a crash.
    return { problems: [...problems, problem(documentElementId, 'XML_MALFORMED', `the model could not be read: ${firstLine((error as Error).message)}`)] };
  }
}

/**
 * The checks that need no XML parser: size, DTDs, nesting and element count, and that it looks like
 * XML at all. Shared with the DMN parser, so both doors refuse the same documents the same way.
 */
export function screenXml(xml: string, kind = 'BPMN'): ModelProblem | null {
  // UTF-8 length without allocating a buffer: what the HTTP limit measures too.
  if (xml.length > maxBpmnBytes || utf8Length(xml) > maxBpmnBytes) {
    return problem(documentElementId, 'XML_TOO_LARGE', `the document is larger than ${maxBpmnBytes / 1024 / 1024} MB`);
  }
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i.test(xml)) {
    return problem(documentElementId, 'XML_DOCTYPE_REFUSED', `document type declarations and entities are refused (they allow entity expansion and external entities); ${kind} needs none`);
  }
  if (!/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*</.test(xml.slice(0, 4096))) {
    return problem(documentElementId, 'XML_MALFORMED', 'the document is not XML');
  }
  return screenShape(xml);
}

/** Deepest element nesting accepted: the XML parser recurses, and real models nest a dozen levels. */
export const maxBpmnDepth = 100;
/** Most elements accepted: a large real model has a few thousand (diagram included). */
export const maxBpmnElements = 50_000;

/**
 * Counts elements and nesting with one linear scan before the parser runs, so a 2 MB document of
 * twenty thousand nested elements (a stack overflow) or of tiny ones (seconds of parsing on the
 * API's event loop) is refused cheaply. Comments and CDATA are skipped: their `<` are text.
 */
function screenShape(xml: string): ModelProblem | null {
  // A hand-written scan, each character visited once: a regular expression over unbalanced quotes
  // would go quadratic on exactly the input this guards against.
  let depth = 0;
  let elements = 0;
  let index = 0;
  const length = xml.length;
  while (index < length) {
    const open = xml.indexOf('<', index);
    if (open < 0) break;
    if (xml.startsWith('<!--', open)) {
      const close = xml.indexOf('-->', open + 4);
      index = close < 0 ? length : close + 3;
      continue;
    }
    if (xml.startsWith('<![CDATA[', open)) {
      const close = xml.indexOf(']]>', open + 9);
      index = close < 0 ? length : close + 3;
      continue;
    }
    const next = xml.charCodeAt(open + 1);
    const closing = next === 47; // '/'
    const nameStart = closing ? xml.charCodeAt(open + 2) : next;
    if (!isNameStart(nameStart)) {
      index = open + 1;
      continue;
    }
    // Find the tag's end outside quoted attribute values.
    let cursor = open + 1;
    let quote = 0;
    while (cursor < length) {
      const code = xml.charCodeAt(cursor);
      if (quote) {
        if (code === quote) quote = 0;
      } else if (code === 34 || code === 39) {
        quote = code;
      } else if (code === 62) {
        break;
      }
      cursor++;
    }
    if (cursor >= length) break;
    if (closing) depth--;
    else {
      elements++;
      if (elements > maxBpmnElements) return problem(documentElementId, 'XML_TOO_LARGE', `the document has more than ${maxBpmnElements} elements`);
      if (xml.charCodeAt(cursor - 1) !== 47) {
        depth++;
        if (depth > maxBpmnDepth) return problem(documentElementId, 'XML_TOO_LARGE', `the document nests elements deeper than ${maxBpmnDepth} levels`);
      }
    }
    index = cursor + 1;
  }
  return null;
}

function isNameStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code >= 0xd800 && code <= 0xdbff ? 2 : 3;
  }
  return bytes;
}

function warningProblem(warning: { message: string; element?: El }): ModelProblem | null {
  const message = warning.message;
  const duplicate = /duplicate ID <([^>]*)>/.exec(message);
  if (duplicate) return problem(duplicate[1]!, 'DUPLICATE_ID', `the id "${duplicate[1]}" is used by more than one element`);
  const unresolved = /unresolved reference <([^>]*)>/.exec(message);
  if (unresolved) {
    const owner = ownerId(warning.element);
    return problem(owner, 'MISSING_REFERENCE', `refers to "${unresolved[1]}", which does not exist`);
  }
  const unknownAttribute = /unknown attribute <([^>]*)>/.exec(message);
  if (unknownAttribute) {
    const name = unknownAttribute[1]!;
    if (/:calledElement$/.test(name)) return null;
    return problem(ownerId(warning.element), 'INVALID_ATTRIBUTE', `unknown attribute ${name} (see the kf: attributes in docs/bpmn-extensions.md)`);
  }
  const unknownType = /unknown type <([^>]*)>/.exec(message);
  if (unknownType) return problem(ownerId(warning.element), 'UNSUPPORTED_ELEMENT', `unknown element <${unknownType[1]}>`);
  return problem(ownerId(warning.element), 'XML_MALFORMED', firstLine(message));
}

/** The nearest element with an id: an event definition has none, its event does. */
function ownerId(element: El | undefined): string {
  for (let current = element; current; current = current.$parent as El | undefined) {
    if (current.id && current.$type !== 'bpmn:Definitions') return current.id;
  }
  return documentElementId;
}
