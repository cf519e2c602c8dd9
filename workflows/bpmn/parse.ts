import { BpmnModdle } from 'bpmn-moddle';
import type {
  BoundaryEvent,
  EventDefinition,
  FlowNode,
  FormField,
  Mapping,
  MultiInstance,
  ProcessModel,
  SequenceFlow,
  StaffRole,
  TimerDefinition,
} from '../model';
import { dedupe, firstLine, optional, stringAttr } from '../document-reading';
import { staffRoles } from '../model';
import kfDescriptor from './kf.json';
import { formFieldsFromSchema } from './form-schema';
import { documentElementId, type ModelProblem, type ModelProblemCode } from './problems';
import { validateModel, type ValidationOptions } from './validate';

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

/** A moddle element: typed loosely, since bpmn-moddle's own types do not know `kf:`. */
type El = { $type: string; id?: string; name?: string; [key: string]: any };

/** What a service task gets when it sets no `kf:retries` / `kf:timeout`. */
export const defaultServiceTaskRetries = 3;
export const defaultServiceTaskTimeout = 'PT1M';

/** Elements that may sit in a process but carry no behaviour: pools, lanes, annotations, data. */
const ignoredElements = new Set([
  'bpmn:TextAnnotation',
  'bpmn:Association',
  'bpmn:Group',
  'bpmn:DataObject',
  'bpmn:DataObjectReference',
  'bpmn:DataStoreReference',
  'bpmn:Category',
]);

/** Element kinds Keyflow cannot execute; the validator names them. */
const unsupportedElements: Record<string, string> = {
  'bpmn:ComplexGateway': 'complex gateways',
  'bpmn:Transaction': 'transaction sub-processes',
  'bpmn:AdHocSubProcess': 'ad-hoc sub-processes',
  'bpmn:ImplicitThrowEvent': 'implicit throw events',
  'bpmn:ChoreographyTask': 'choreographies',
};

const supportedSummary =
  'supported: start/end/intermediate/boundary events (none, message, timer, error, escalation, compensation, terminate, signal, conditional catch; link throw and catch), service, send, user, script, business rule, receive, manual and plain tasks, call activities, embedded and event sub-processes, exclusive, parallel, inclusive and event-based gateways';

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

class ModelBuilder {
  private readonly model: ProcessModel;
  /** Flow elements that were reported as unsupported and left out of the model. */
  readonly refusedNodeIds = new Set<string>();
  /** Link events met while collecting, joined into flows once every node is known. */
  private readonly links: { id: string; name: string; scope: string; side: 'throw' | 'catch' }[] = [];

  constructor(
    private readonly definitions: El,
    private readonly process: El,
    private readonly problems: ModelProblem[],
  ) {
    this.model = { key: process.id ?? '', name: process.name, version: 0, nodes: {}, flows: {}, messages: {}, errors: {} };
  }

  /**
   * Message flows of the document's collaborations that leave a message throw of this process:
   * the throw publishes its message to the processes they reach. A message flow from anything else
   * (a task, the pool's border) is documentation only.
   */
  private linkMessageFlows(): void {
    for (const collaboration of ((this.definitions.rootElements ?? []) as El[]).filter((root) => root.$type === 'bpmn:Collaboration')) {
      for (const flow of (collaboration.messageFlows ?? []) as El[]) {
        const source = this.model.nodes[(flow.sourceRef as El | undefined)?.id ?? ''];
        if (!source || (source.type !== 'intermediateThrowEvent' && source.type !== 'endEvent') || source.event.kind !== 'message') continue;
        const target = flow.targetRef as El | undefined;
        const processId = target?.$type === 'bpmn:Participant' ? (target.processRef as El | undefined)?.id : processOf(target);
        if (!processId) {
          this.report(flow.id ?? source.id, 'MISSING_REFERENCE', `the message flow from "${source.id}" reaches no process (a pool without a process, or nothing)`);
          continue;
        }
        if (!(source.messageTargets ?? []).includes(processId)) source.messageTargets = [...(source.messageTargets ?? []), processId];
      }
    }
  }

  build(): ProcessModel {
    for (const root of (this.definitions.rootElements ?? []) as El[]) {
      if (root.$type === 'bpmn:Message' && root.id) this.model.messages[root.id] = { id: root.id, name: root.name ?? root.id };
      if (root.$type === 'bpmn:Error' && root.id) {
        if (!root.errorCode) this.report(root.id, 'MISSING_ATTRIBUTE', 'the error has no errorCode; an error boundary event matches on it');
        this.model.errors[root.id] = { id: root.id, errorCode: root.errorCode ?? root.id, ...(root.name ? { name: root.name } : {}) };
      }
    }
    this.readStarters();
    this.collect(this.process, undefined);
    this.joinLinks();
    this.linkMessageFlows();
    this.linkFlows();
    this.linkCompensationHandlers(this.process);
    return this.model;
  }

  /** `kf:starters="customer_manager, supervisor"`: who may start the process by hand; each must be a staff role. */
  private readStarters(): void {
    const text = stringAttr(this.process.starters);
    if (text === undefined) return;
    const names = text.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !(staffRoles as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      this.report(this.process.id ?? documentElementId, 'INVALID_ATTRIBUTE', `kf:starters ${names.length === 0 ? 'is empty' : `names ${unknown.map((name) => JSON.stringify(name)).join(', ')}, which ${unknown.length === 1 ? 'is not a role' : 'are not roles'}`}; list roles of ${staffRoles.join(', ')}, or leave it out for a process only the system starts`);
      return;
    }
    this.model.starters = [...new Set(names)] as StaffRole[];
  }

  private report(elementId: string, code: ModelProblemCode, message: string): void {
    this.problems.push(problem(elementId, code, message));
  }

  private collect(container: El, parentId: string | undefined): void {
    for (const element of (container.flowElements ?? []) as El[]) {
      if (element.$type === 'bpmn:SequenceFlow') {
        this.addFlow(element);
        continue;
      }
      if (ignoredElements.has(element.$type)) continue;
      const node = this.toNode(element, parentId);
      if (!node) {
        if (element.id) this.refusedNodeIds.add(element.id);
        continue;
      }
      this.model.nodes[node.id] = node;
      if (node.type === 'subProcess') this.collect(element, node.id);
    }
  }

  private addFlow(element: El): void {
    const id = element.id!;
    const flow: SequenceFlow = { id, sourceId: element.sourceRef?.id ?? '', targetId: element.targetRef?.id ?? '' };
    if (element.name) flow.name = element.name;
    const condition = element.conditionExpression?.body;
    if (typeof condition === 'string' && condition.trim() !== '') flow.condition = condition.trim();
    if (!element.sourceRef) this.report(id, 'INVALID_FLOW', 'the sequence flow has no source');
    if (!element.targetRef) this.report(id, 'INVALID_FLOW', 'the sequence flow has no target');
    this.model.flows[id] = flow;
  }

  private toNode(element: El, parentId: string | undefined): FlowNode | null {
    const id = element.id;
    if (!id) {
      this.report(documentElementId, 'MISSING_ATTRIBUTE', `a <${localName(element.$type)}> has no id`);
      return null;
    }
    const unsupported = unsupportedElements[element.$type];
    if (unsupported) {
      this.report(id, 'UNSUPPORTED_ELEMENT', `${unsupported} are not supported (${supportedSummary})`);
      return null;
    }
    const base = {
      id,
      ...(element.name ? { name: element.name as string } : {}),
      ...(parentId ? { parentId } : {}),
      incoming: [] as string[],
      outgoing: [] as string[],
      ...this.mappings(element),
    };
    switch (element.$type) {
      case 'bpmn:StartEvent': {
        // Error starts belong in event sub-processes; the validator says so of any other.
        const event = this.eventDefinition(element, ['none', 'message', 'timer', 'signal', 'error', 'escalation'], 'start events');
        const startForm = this.formFields(element);
        if (startForm.length > 0 && !parentId) this.model.startForm = startForm;
        return { ...base, type: 'startEvent', event, ...(element.isInterrupting === false ? { isInterrupting: false } : {}) };
      }
      case 'bpmn:EndEvent':
        return { ...base, type: 'endEvent', event: this.eventDefinition(element, ['none', 'error', 'terminate', 'compensation', 'message', 'signal', 'escalation'], 'end events') };
      case 'bpmn:IntermediateCatchEvent':
        if (this.isLink(element)) return this.linkEvent(element, base, parentId, 'catch');
        return { ...base, type: 'intermediateCatchEvent', event: this.eventDefinition(element, ['message', 'timer', 'signal', 'conditional'], 'intermediate catch events') };
      case 'bpmn:IntermediateThrowEvent':
        if (this.isLink(element)) return this.linkEvent(element, base, parentId, 'throw');
        return { ...base, type: 'intermediateThrowEvent', event: this.eventDefinition(element, ['none', 'compensation', 'message', 'signal', 'escalation'], 'intermediate throw events') };
      case 'bpmn:BoundaryEvent': {
        const attached = element.attachedToRef as El | undefined;
        if (!attached?.id) this.report(id, 'BOUNDARY_NOT_ATTACHED', 'the boundary event is not attached to any activity (attachedToRef)');
        const boundary: BoundaryEvent = {
          ...base,
          type: 'boundaryEvent',
          attachedToRef: attached?.id ?? '',
          cancelActivity: element.cancelActivity !== false,
          event: this.eventDefinition(element, ['message', 'timer', 'error', 'compensation', 'signal', 'escalation', 'conditional'], 'boundary events'),
        };
        return boundary;
      }
      // A send task is a service task whose activity sends (SMS, e-mail, a partner's API): Camunda 8 runs both as jobs.
      case 'bpmn:ServiceTask':
      case 'bpmn:SendTask': {
        const taskType = stringAttr(element.type);
        const kind = element.$type === 'bpmn:SendTask' ? 'send' : 'service';
        if (!taskType) this.report(id, 'MISSING_ATTRIBUTE', `the ${kind} task has no kf:type (the activity to run, e.g. ${kind === 'send' ? 'notify.sms' : 'crm.checkCredit'})`);
        const retries = this.integerAttr(id, 'kf:retries', element.retries, 1, 100) ?? defaultServiceTaskRetries;
        const timeout = stringAttr(element.timeout) ?? defaultServiceTaskTimeout;
        if (!isIsoDuration(timeout)) this.report(id, 'INVALID_ATTRIBUTE', `kf:timeout "${timeout}" is not an ISO-8601 duration such as PT30S`);
        const retryBackoff = stringAttr(element.retryBackoff);
        if (retryBackoff !== undefined && !isIsoDuration(retryBackoff)) this.report(id, 'INVALID_ATTRIBUTE', `kf:retryBackoff "${retryBackoff}" is not an ISO-8601 duration such as PT5S`);
        return { ...this.activityBase(element, base), type: 'serviceTask', taskType: taskType ?? '', retries, timeout, ...(retryBackoff ? { retryBackoff } : {}) };
      }
      case 'bpmn:UserTask': {
        const priority = this.integerAttr(id, 'kf:priority', element.priority, 0, 100);
        const form = this.formFields(element);
        return {
          ...this.activityBase(element, base),
          type: 'userTask',
          ...optional('candidateGroups', stringAttr(element.candidateGroups)),
          ...optional('assignee', stringAttr(element.assignee)),
          ...optional('dueDate', stringAttr(element.dueDate)),
          ...optional('formKey', stringAttr(element.formKey)),
          ...(form.length > 0 ? { form } : {}),
          ...(priority !== undefined ? { priority } : {}),
        };
      }
      case 'bpmn:ScriptTask':
        return { ...this.activityBase(element, base), type: 'scriptTask', assignments: this.scriptAssignments(element) };
      case 'bpmn:BusinessRuleTask': {
        const decisionRef = stringAttr(element.decisionRef);
        if (!decisionRef) this.report(id, 'MISSING_ATTRIBUTE', 'the business rule task names no decision (kf:decisionRef, the id of a deployed DMN decision)');
        const resultVariable = stringAttr(element.resultVariable);
        if (!resultVariable) this.report(id, 'MISSING_ATTRIBUTE', 'the business rule task has no kf:resultVariable (where the decision result goes)');
        const version = stringAttr(element.decisionVersion);
        let decisionVersion: number | 'latest' | undefined;
        if (version !== undefined) {
          if (version === 'latest') decisionVersion = 'latest';
          else if (/^[1-9]\d{0,8}$/.test(version)) decisionVersion = Number(version);
          else this.report(id, 'INVALID_ATTRIBUTE', `kf:decisionVersion "${version}" must be "latest" or a version number`);
        }
        return {
          ...this.activityBase(element, base),
          type: 'businessRuleTask',
          decisionRef: decisionRef ?? '',
          resultVariable: resultVariable ?? '',
          ...(decisionVersion !== undefined ? { decisionVersion } : {}),
        };
      }
      case 'bpmn:ReceiveTask': {
        const message = element.messageRef as El | undefined;
        if (!message?.id) this.report(id, 'MISSING_REFERENCE', 'the receive task names no message (messageRef)');
        const correlationKey = stringAttr(element.correlationKey) ?? stringAttr(message?.correlationKey);
        return { ...this.activityBase(element, base), type: 'receiveTask', messageRef: message?.id ?? '', ...optional('correlationKey', correlationKey) };
      }
      case 'bpmn:Task':
      case 'bpmn:ManualTask':
        return { ...this.activityBase(element, base), type: 'task' };
      case 'bpmn:CallActivity': {
        const calledElement = stringAttr(kfCalledElement(element)) ?? stringAttr(element.calledElement);
        if (!calledElement) this.report(id, 'MISSING_ATTRIBUTE', 'the call activity names no process to call (kf:calledElement)');
        const version = stringAttr(element.calledVersion);
        let calledVersion: number | 'latest' | undefined;
        if (version !== undefined) {
          if (version === 'latest') calledVersion = 'latest';
          else if (/^[1-9]\d{0,8}$/.test(version)) calledVersion = Number(version);
          else this.report(id, 'INVALID_ATTRIBUTE', `kf:calledVersion "${version}" must be "latest" or a version number`);
        }
        return {
          ...this.activityBase(element, base),
          type: 'callActivity',
          calledElement: calledElement ?? '',
          ...(calledVersion !== undefined ? { calledVersion } : {}),
          ...optional('businessKey', stringAttr(element.businessKey)),
          ...(typeof element.propagateAllVariables === 'boolean' ? { propagateAllVariables: element.propagateAllVariables } : {}),
        };
      }
      case 'bpmn:SubProcess':
        return { ...this.activityBase(element, base), type: 'subProcess', ...(element.triggeredByEvent === true ? { triggeredByEvent: true } : {}) };
      case 'bpmn:ExclusiveGateway':
        return { ...base, type: 'exclusiveGateway', ...optional('defaultFlowId', (element.default as El | undefined)?.id) };
      case 'bpmn:InclusiveGateway':
        return { ...base, type: 'inclusiveGateway', ...optional('defaultFlowId', (element.default as El | undefined)?.id) };
      case 'bpmn:ParallelGateway':
        return { ...base, type: 'parallelGateway' };
      case 'bpmn:EventBasedGateway':
        return { ...base, type: 'eventBasedGateway' };
      default:
        this.report(id, 'UNSUPPORTED_ELEMENT', `<${localName(element.$type)}> is not supported (${supportedSummary})`);
        return null;
    }
  }

  private activityBase<T extends object>(element: El, base: T) {
    const loop = element.loopCharacteristics as El | undefined;
    let multiInstance: MultiInstance | undefined;
    if (loop) {
      if (loop.$type !== 'bpmn:MultiInstanceLoopCharacteristics') {
        this.report(element.id!, 'UNSUPPORTED_ELEMENT', 'standard loops are not supported; use multi-instance over a collection (kf:collection)');
      } else {
        const collection = stringAttr(loop.collection);
        if (!collection) this.report(element.id!, 'MISSING_ATTRIBUTE', 'multi-instance needs kf:collection (an expression yielding the list to iterate)');
        if (loop.loopCardinality) this.report(element.id!, 'UNSUPPORTED_ELEMENT', 'multi-instance loop cardinality is not supported; iterate over kf:collection');
        const completion = stringAttr(loop.completionCondition?.body);
        multiInstance = {
          sequential: loop.isSequential === true,
          inputCollection: collection ?? '',
          ...optional('inputElement', stringAttr(loop.elementVariable)),
          ...optional('outputCollection', stringAttr(loop.outputCollection)),
          ...optional('outputElement', stringAttr(loop.outputElement)),
          ...optional('completionCondition', completion),
        };
        if (multiInstance.outputCollection && !multiInstance.outputElement) {
          this.report(element.id!, 'MISSING_ATTRIBUTE', 'multi-instance with kf:outputCollection needs kf:outputElement (the expression each iteration contributes)');
        }
      }
    }
    return {
      ...base,
      boundaryEventIds: [] as string[],
      ...(multiInstance ? { multiInstance } : {}),
      ...(element.isForCompensation ? { isForCompensation: true } : {}),
    };
  }

  private eventDefinition(element: El, allowed: EventDefinition['kind'][], where: string): EventDefinition {
    const id = element.id!;
    const definitions = (element.eventDefinitions ?? []) as El[];
    if (definitions.length > 1) {
      this.report(id, 'UNSUPPORTED_ELEMENT', 'events with several event definitions (multiple events) are not supported');
    }
    const definition = definitions[0];
    const event = definition ? this.toEventDefinition(element, definition) : { kind: 'none' as const };
    if (event && !allowed.includes(event.kind)) {
      this.report(id, 'UNSUPPORTED_ELEMENT', `${event.kind === 'none' ? 'a plain (none)' : `a ${event.kind}`} definition is not supported on ${where} (allowed: ${allowed.join(', ')})`);
    }
    return event ?? { kind: 'none' };
  }

  private toEventDefinition(element: El, definition: El): EventDefinition | null {
    const id = element.id!;
    switch (definition.$type) {
      case 'bpmn:MessageEventDefinition': {
        const message = definition.messageRef as El | undefined;
        if (!message?.id) this.report(id, 'MISSING_REFERENCE', 'the message event names no message (messageRef)');
        const correlationKey = stringAttr(definition.correlationKey) ?? stringAttr(element.correlationKey) ?? stringAttr(message?.correlationKey);
        return { kind: 'message', messageRef: message?.id ?? '', ...optional('correlationKey', correlationKey) };
      }
      case 'bpmn:TimerEventDefinition': {
        const timer = this.timer(id, definition);
        return timer ? { kind: 'timer', timer } : { kind: 'timer', timer: { kind: 'duration', expression: '' } };
      }
      case 'bpmn:ErrorEventDefinition': {
        const error = definition.errorRef as El | undefined;
        if (element.$type === 'bpmn:EndEvent' && !error?.id) this.report(id, 'MISSING_REFERENCE', 'the error end event names no error (errorRef); the catching boundary event matches on its code');
        return { kind: 'error', ...optional('errorRef', error?.id) };
      }
      case 'bpmn:CompensateEventDefinition':
        return { kind: 'compensation', ...optional('activityRef', (definition.activityRef as El | undefined)?.id) };
      case 'bpmn:TerminateEventDefinition':
        return { kind: 'terminate' };
      case 'bpmn:SignalEventDefinition': {
        const signal = definition.signalRef as El | undefined;
        if (!signal?.id) this.report(id, 'MISSING_REFERENCE', 'the signal event names no signal (signalRef)');
        return { kind: 'signal', signalRef: signal?.name ?? signal?.id ?? '' };
      }
      case 'bpmn:ConditionalEventDefinition': {
        const condition = stringAttr((definition.condition as El | undefined)?.body)?.trim();
        if (!condition) this.report(id, 'MISSING_ATTRIBUTE', 'the conditional event has no condition (a FormalExpression such as =amount > 1000)');
        return { kind: 'conditional', condition: condition ?? '' };
      }
      case 'bpmn:EscalationEventDefinition': {
        const escalation = definition.escalationRef as El | undefined;
        const throwing = element.$type === 'bpmn:EndEvent' || element.$type === 'bpmn:IntermediateThrowEvent';
        const code = stringAttr(escalation?.escalationCode) ?? escalation?.id;
        if (throwing && !code) this.report(id, 'MISSING_REFERENCE', 'the escalation throw names no escalation (escalationRef with an escalationCode); the catching event matches on its code');
        return { kind: 'escalation', ...optional('escalationCode', code) };
      }
      default:
        this.report(id, 'UNSUPPORTED_ELEMENT', `${localName(definition.$type).replace(/EventDefinition$/, '').toLowerCase()} events are not supported (${supportedSummary})`);
        return null;
    }
  }

  private timer(id: string, definition: El): TimerDefinition | null {
    const given = (['timeDuration', 'timeDate', 'timeCycle'] as const).filter((kind) => stringAttr(definition[kind]?.body) !== undefined);
    if (given.length !== 1) {
      this.report(id, 'INVALID_TIMER', given.length === 0 ? 'the timer has no duration, date or cycle' : 'the timer has more than one of duration, date and cycle');
      return null;
    }
    const which = given[0]!;
    const expression = stringAttr(definition[which].body)!;
    const kind = which === 'timeDuration' ? 'duration' : which === 'timeDate' ? 'date' : 'cycle';
    if (!expression.startsWith('=')) {
      const valid = kind === 'duration' ? isIsoDuration(expression) : kind === 'date' ? isIsoInstant(expression) : isIsoCycle(expression);
      if (!valid) {
        const example = kind === 'duration' ? 'PT15M or P2D' : kind === 'date' ? '2026-01-31T09:00:00Z' : 'R3/PT1H or R/PT10M';
        this.report(id, 'INVALID_TIMER', `the timer ${kind} "${expression}" is not ISO-8601 (e.g. ${example}), nor an expression starting with =`);
      }
    }
    return { kind, expression };
  }

  private mappings(element: El): { inputs?: Mapping[]; outputs?: Mapping[] } {
    const inputs = this.extensionMappings(element, 'kf:Input');
    const outputs = this.extensionMappings(element, 'kf:Output');
    return { ...(inputs.length > 0 ? { inputs } : {}), ...(outputs.length > 0 ? { outputs } : {}) };
  }

  private extensionMappings(element: El, type: string): Mapping[] {
    return extensions(element, type).flatMap((mapping) => {
      const source = stringAttr(mapping.source);
      const target = stringAttr(mapping.target);
      if (!source || !target) {
        this.report(element.id ?? documentElementId, 'MISSING_ATTRIBUTE', `<${type.toLowerCase()}> needs both source and target`);
        return [];
      }
      return [{ source, target }];
    });
  }

  private scriptAssignments(element: El): Mapping[] {
    const id = element.id!;
    const assignments = this.extensionMappings(element, 'kf:Assignment');
    const body = stringAttr(element.script);
    if (body !== undefined) {
      const format = (stringAttr(element.scriptFormat) ?? 'feel').toLowerCase();
      if (format !== 'feel') this.report(id, 'UNSUPPORTED_ELEMENT', `script format "${format}" is not supported; scripts are FEEL expressions`);
      const target = stringAttr(element.resultVariable);
      if (!target) this.report(id, 'MISSING_ATTRIBUTE', 'a script body needs kf:resultVariable (where its result goes)');
      else assignments.push({ source: body, target });
    }
    if (assignments.length === 0) this.report(id, 'MISSING_ATTRIBUTE', 'the script task has no assignments (kf:assignment) and no script');
    return assignments;
  }

  private formFields(element: El): FormField[] {
    const designed = extensions(element, 'kf:FormDefinition');
    const listed = extensions(element, 'kf:FormField');
    if (designed.length > 0) {
      if (designed.length > 1) this.report(element.id!, 'INVALID_ATTRIBUTE', 'the element has more than one kf:formDefinition; keep one form');
      if (listed.length > 0) this.report(element.id!, 'INVALID_ATTRIBUTE', 'the element has both a designed form (kf:formDefinition) and kf:formField entries; the designed form says which fields there are, so remove the kf:formFields');
      const reading = formFieldsFromSchema(stringAttr(designed[0]!.body) ?? '');
      for (const message of reading.problems) this.report(element.id!, 'INVALID_ATTRIBUTE', message);
      return reading.fields;
    }
    const types = ['string', 'number', 'boolean', 'date', 'enum'] as const;
    return listed.flatMap((field) => {
      const fieldId = stringAttr(field.id);
      const type = (stringAttr(field.type) ?? 'string') as FormField['type'];
      if (!fieldId) {
        this.report(element.id!, 'MISSING_ATTRIBUTE', 'a kf:formField has no id');
        return [];
      }
      if (!types.includes(type)) {
        this.report(element.id!, 'INVALID_ATTRIBUTE', `form field "${fieldId}" has type "${type}"; use one of ${types.join(', ')}`);
        return [];
      }
      const values = stringAttr(field.values)
        ?.split(',')
        .map((value) => value.trim())
        .filter(Boolean);
      if (type === 'enum' && (!values || values.length === 0)) this.report(element.id!, 'MISSING_ATTRIBUTE', `form field "${fieldId}" is an enum without values`);
      return [
        {
          id: fieldId,
          type,
          ...optional('label', stringAttr(field.label)),
          ...(field.required === true ? { required: true } : {}),
          ...(values && values.length > 0 ? { values } : {}),
          ...(typeof field.min === 'number' ? { min: field.min } : {}),
          ...(typeof field.max === 'number' ? { max: field.max } : {}),
          ...(typeof field.maxLength === 'number' ? { maxLength: field.maxLength } : {}),
        },
      ];
    });
  }

  private integerAttr(id: string, name: string, value: unknown, min: number, max: number): number | undefined {
    const text = stringAttr(value);
    if (text === undefined) return undefined;
    const number = Number(text);
    if (!/^-?\d+$/.test(text) || number < min || number > max) {
      this.report(id, 'INVALID_ATTRIBUTE', `${name} "${text}" must be a whole number from ${min} to ${max}`);
      return undefined;
    }
    return number;
  }

  private isLink(element: El): boolean {
    const definitions = (element.eventDefinitions ?? []) as El[];
    return definitions.length === 1 && definitions[0]!.$type === 'bpmn:LinkEventDefinition';
  }

  /**
   * A link throw and the catch of the same name in its scope are a sequence flow drawn in two
   * pieces (a "go to" across a large diagram): both become pass-through events, joined by a flow
   * the builder adds once every node is known. No token ever waits at either.
   */
  private linkEvent(element: El, base: { id: string; name?: string; incoming: string[]; outgoing: string[] }, parentId: string | undefined, side: 'throw' | 'catch'): FlowNode {
    const definition = (element.eventDefinitions as El[])[0]!;
    const name = stringAttr(definition.name) ?? '';
    if (!name) this.report(base.id, 'MISSING_ATTRIBUTE', `the link ${side} event has no link name; a throw goes to the catch of the same name in its scope`);
    this.links.push({ id: base.id, name, scope: parentId ?? '', side });
    return { ...base, type: 'intermediateThrowEvent', event: { kind: 'none' } };
  }

  private joinLinks(): void {
    for (const thrown of this.links.filter((link) => link.side === 'throw' && link.name)) {
      const catches = this.links.filter((link) => link.side === 'catch' && link.name === thrown.name && link.scope === thrown.scope);
      if (catches.length === 0) {
        this.report(thrown.id, 'MISSING_REFERENCE', `the link throw goes to link "${thrown.name}", but its ${thrown.scope ? 'sub-process' : 'process'} has no link catch of that name`);
        continue;
      }
      if (catches.length > 1) {
        this.report(thrown.id, 'INVALID_ATTRIBUTE', `link "${thrown.name}" is caught by ${catches.map((link) => link.id).join(' and ')} in the same scope; a link name must be caught once`);
        continue;
      }
      const id = `${thrown.id}~link~${catches[0]!.id}`;
      this.model.flows[id] = { id, sourceId: thrown.id, targetId: catches[0]!.id };
    }
    for (const link of this.links) {
      const own = Object.values(this.model.flows).filter((flow) => (link.side === 'throw' ? flow.sourceId === link.id : flow.targetId === link.id) && !flow.id.includes('~link~'));
      if (own.length > 0) this.report(link.id, 'INVALID_ATTRIBUTE', link.side === 'throw' ? 'a link throw event ends its path: it has no outgoing sequence flow' : 'a link catch event starts a path: it has no incoming sequence flow');
    }
  }

  /** Incoming and outgoing come from the flows' own refs: hand-written XML often omits <incoming>. */
  private linkFlows(): void {
    for (const flow of Object.values(this.model.flows)) {
      this.model.nodes[flow.sourceId]?.outgoing.push(flow.id);
      this.model.nodes[flow.targetId]?.incoming.push(flow.id);
    }
  }

  /** Boundary ids onto their activities, and compensation associations onto their boundary events. */
  private linkCompensationHandlers(process: El): void {
    for (const node of Object.values(this.model.nodes)) {
      if (node.type !== 'boundaryEvent') continue;
      const host = this.model.nodes[node.attachedToRef];
      if (host && 'boundaryEventIds' in host) host.boundaryEventIds.push(node.id);
    }
    const associations: El[] = [];
    const gather = (container: El) => {
      for (const artifact of (container.artifacts ?? []) as El[]) if (artifact.$type === 'bpmn:Association') associations.push(artifact);
      for (const element of (container.flowElements ?? []) as El[]) if (element.$type === 'bpmn:SubProcess') gather(element);
    };
    gather(process);
    for (const association of associations) {
      const source = this.model.nodes[(association.sourceRef as El | undefined)?.id ?? ''];
      const target = (association.targetRef as El | undefined)?.id;
      if (source?.type === 'boundaryEvent' && source.event.kind === 'compensation' && target) source.compensationHandlerId = target;
    }
  }
}

/**
 * `kf:calledElement`: BPMN's own `calledElement` attribute owns that property name in moddle, so
 * the kf one stays an unknown attribute, kept under its prefixed name (whatever prefix is bound to
 * the kf namespace).
 */
function kfCalledElement(element: El): unknown {
  const attrs = (element.$attrs ?? {}) as Record<string, unknown>;
  const prefixes = Object.entries(attrs)
    .filter(([name, value]) => name.startsWith('xmlns:') && value === keyflowNamespace)
    .map(([name]) => name.slice('xmlns:'.length));
  for (const prefix of new Set(['kf', ...prefixes])) if (`${prefix}:calledElement` in attrs) return attrs[`${prefix}:calledElement`];
  return undefined;
}

function extensions(element: El, type: string): El[] {
  return ((element.extensionElements?.values ?? []) as El[]).filter((value) => value.$type === type);
}

function problem(elementId: string, code: ModelProblemCode, message: string): ModelProblem {
  return { elementId, code, message };
}

function localName(type: string): string {
  const name = type.replace(/^bpmn:/, '');
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const durationPattern = /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;

export function isIsoDuration(text: string): boolean {
  return durationPattern.test(text);
}

export function isIsoInstant(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text));
}

/** `R3/PT1H`, `R/PT10M`, `R2/2026-01-01T09:00:00Z/P1D`. */
export function isIsoCycle(text: string): boolean {
  const parts = text.split('/');
  if (!/^R\d*$/.test(parts[0] ?? '')) return false;
  if (parts.length === 2) return isIsoDuration(parts[1]!);
  if (parts.length === 3) return isIsoInstant(parts[1]!) && isIsoDuration(parts[2]!);
  return false;
}

/** The process an element of the document sits in (through its sub-processes), by id. */
function processOf(element: El | undefined): string | undefined {
  for (let current = element; current; current = current.$parent as El | undefined) {
    if (current.$type === 'bpmn:Process') return current.id;
  }
  return undefined;
}
