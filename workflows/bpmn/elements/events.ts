// Start, end, intermediate and boundary events as BPMN draws them. Link events read as
// pass-through throw events joined by a flow (see ElementReading.linkEvent).
import { isExpression } from '../../expression';
import type { BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, StartEvent } from '../../model';
import type { El } from '../moddle-element';
import type { ElementDefinition } from './definition';

export const startEvent: ElementDefinition<StartEvent> = {
  bpmnTypes: ['bpmn:StartEvent'],
  read(element, base, reading) {
    // Error starts belong in event sub-processes; the validator says so of any other.
    const event = reading.eventDefinition(element, ['none', 'message', 'timer', 'signal', 'error', 'escalation'], 'start events');
    const startForm = reading.formFields(element);
    if (startForm.length > 0 && !base.parentId) reading.model.startForm = startForm;
    return { ...base, type: 'startEvent', event, ...(element.isInterrupting === false ? { isInterrupting: false } : {}) };
  },
  validate(node, _model, report) {
    if (node.incoming.length > 0) report(node.id, 'INVALID_FLOW', 'a start event may not have incoming sequence flows');
    if (!node.parentId && node.event.kind === 'timer' && isExpression(node.event.timer.expression)) {
      report(node.id, 'INVALID_TIMER', 'a timer start event becomes a schedule when deployed: give a literal duration, date or cycle, not an expression');
    }
  },
};

export const endEvent: ElementDefinition<EndEvent> = {
  bpmnTypes: ['bpmn:EndEvent'],
  read: (element, base, reading) => ({ ...base, type: 'endEvent', event: reading.eventDefinition(element, ['none', 'error', 'terminate', 'compensation', 'message', 'signal', 'escalation'], 'end events') }),
};

export const intermediateCatchEvent: ElementDefinition<IntermediateCatchEvent> = {
  bpmnTypes: ['bpmn:IntermediateCatchEvent'],
  read(element, base, reading) {
    if (reading.isLink(element)) return reading.linkEvent(element, base, base.parentId, 'catch');
    return { ...base, type: 'intermediateCatchEvent', event: reading.eventDefinition(element, ['message', 'timer', 'signal', 'conditional'], 'intermediate catch events') };
  },
};

export const intermediateThrowEvent: ElementDefinition<IntermediateThrowEvent> = {
  bpmnTypes: ['bpmn:IntermediateThrowEvent'],
  read(element, base, reading) {
    if (reading.isLink(element)) return reading.linkEvent(element, base, base.parentId, 'throw');
    return { ...base, type: 'intermediateThrowEvent', event: reading.eventDefinition(element, ['none', 'compensation', 'message', 'signal', 'escalation'], 'intermediate throw events') };
  },
};

export const boundaryEvent: ElementDefinition<BoundaryEvent> = {
  bpmnTypes: ['bpmn:BoundaryEvent'],
  read(element, base, reading) {
    const attached = element.attachedToRef as El | undefined;
    if (!attached?.id) reading.report(base.id, 'BOUNDARY_NOT_ATTACHED', 'the boundary event is not attached to any activity (attachedToRef)');
    return {
      ...base,
      type: 'boundaryEvent',
      attachedToRef: attached?.id ?? '',
      cancelActivity: element.cancelActivity !== false,
      event: reading.eventDefinition(element, ['message', 'timer', 'error', 'compensation', 'signal', 'escalation', 'conditional'], 'boundary events'),
    };
  },
  validate(node, model, report) {
    const host = model.nodes[node.attachedToRef];
    if (node.attachedToRef && (!host || !('boundaryEventIds' in host))) {
      report(node.id, 'BOUNDARY_NOT_ATTACHED', `the boundary event is attached to "${node.attachedToRef}", which is not an activity`);
    }
    // An escalation is thrown from inside a scope; the called process of a call activity runs as
    // another instance, whose escalations do not reach its caller here.
    if (node.event.kind === 'escalation' && host && host.type !== 'subProcess') {
      report(node.id, 'UNSUPPORTED_ELEMENT', `an escalation boundary event catches what an embedded sub-process throws; "${host.id}" is a ${host.type}${host.type === 'callActivity' ? ' (escalations of a called process do not reach its caller)' : ''}`);
    }
    if (node.event.kind === 'compensation') {
      const handler = node.compensationHandlerId ? model.nodes[node.compensationHandlerId] : undefined;
      if (!handler) report(node.id, 'MISSING_REFERENCE', 'the compensation boundary event has no association to a compensation handler');
      else if (!('isForCompensation' in handler) || !handler.isForCompensation) {
        report(node.id, 'INVALID_ATTRIBUTE', `the compensation handler "${handler.id}" must be marked isForCompensation="true"`);
      }
    } else if (node.outgoing.length === 0) {
      report(node.id, 'INVALID_FLOW', 'the boundary event has no outgoing sequence flow');
    }
  },
};
