import type { EventDefinition, FlowNode, FormField, Mapping, MultiInstance, ProcessModel, TimerDefinition } from '../model';

export type { NodeBase } from '../model';
import { optional, stringAttr } from '../document-reading';
import { formFieldsFromSchema } from './form-schema';
import { isIsoCycle, isIsoDuration, isIsoInstant } from './iso-8601';
import { extensions, localName, problem, type El } from './moddle-element';
import { documentElementId, type ModelProblem, type ModelProblemCode } from './problems';

export const supportedSummary =
  'supported: start/end/intermediate/boundary events (none, message, timer, error, escalation, compensation, terminate, signal, conditional catch; link throw and catch), service, send, user, script, business rule, receive, manual and plain tasks, call activities, embedded and event sub-processes, exclusive, parallel, inclusive and event-based gateways';

/**
 * The reading the element kinds share (activities' loops and compensation flag, event
 * definitions, timers, mappings, forms, bounded integers, link events), reporting every problem
 * into one list by element id.
 */
export class ElementReading {
  /** Link events met while reading, joined into flows once every node is known. */
  private readonly links: { id: string; name: string; scope: string; side: 'throw' | 'catch' }[] = [];

  constructor(
    readonly model: ProcessModel,
    private readonly problems: ModelProblem[],
  ) {}

  report(elementId: string, code: ModelProblemCode, message: string): void {
    this.problems.push(problem(elementId, code, message));
  }

  activityBase<T extends object>(element: El, base: T) {
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

  eventDefinition(element: El, allowed: EventDefinition['kind'][], where: string): EventDefinition {
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

  mappings(element: El): { inputs?: Mapping[]; outputs?: Mapping[] } {
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

  scriptAssignments(element: El): Mapping[] {
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

  formFields(element: El): FormField[] {
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

  integerAttr(id: string, name: string, value: unknown, min: number, max: number): number | undefined {
    const text = stringAttr(value);
    if (text === undefined) return undefined;
    const number = Number(text);
    if (!/^-?\d+$/.test(text) || number < min || number > max) {
      this.report(id, 'INVALID_ATTRIBUTE', `${name} "${text}" must be a whole number from ${min} to ${max}`);
      return undefined;
    }
    return number;
  }

  /** `latest` or a version number (kf:calledVersion, kf:decisionVersion); undefined when absent or wrong (reported). */
  versionAttr(id: string, name: string, value: unknown): number | 'latest' | undefined {
    const version = stringAttr(value);
    if (version === undefined) return undefined;
    if (version === 'latest') return 'latest';
    if (/^[1-9]\d{0,8}$/.test(version)) return Number(version);
    this.report(id, 'INVALID_ATTRIBUTE', `${name} "${version}" must be "latest" or a version number`);
    return undefined;
  }

  isLink(element: El): boolean {
    const definitions = (element.eventDefinitions ?? []) as El[];
    return definitions.length === 1 && definitions[0]!.$type === 'bpmn:LinkEventDefinition';
  }

  /**
   * A link throw and the catch of the same name in its scope are a sequence flow drawn in two
   * pieces (a "go to" across a large diagram): both become pass-through events, joined by a flow
   * the builder adds once every node is known. No token ever waits at either.
   */
  linkEvent(element: El, base: { id: string; name?: string; incoming: string[]; outgoing: string[] }, parentId: string | undefined, side: 'throw' | 'catch'): FlowNode {
    const definition = (element.eventDefinitions as El[])[0]!;
    const name = stringAttr(definition.name) ?? '';
    if (!name) this.report(base.id, 'MISSING_ATTRIBUTE', `the link ${side} event has no link name; a throw goes to the catch of the same name in its scope`);
    this.links.push({ id: base.id, name, scope: parentId ?? '', side });
    return { ...base, type: 'intermediateThrowEvent', event: { kind: 'none' } };
  }

  joinLinks(): void {
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
}
