import type { EventBasedGateway, ExclusiveGateway, InclusiveGateway, ParallelGateway, ProcessModel } from '../../model';
import { optional } from '../../document-reading';
import type { El } from '../moddle-element';
import type { ElementDefinition, Report } from './definition';

export const exclusiveGateway: ElementDefinition<ExclusiveGateway> = {
  bpmnTypes: ['bpmn:ExclusiveGateway'],
  read: (element, base) => ({ ...base, type: 'exclusiveGateway', ...optional('defaultFlowId', (element.default as El | undefined)?.id) }),
  validate: (node, model, report) => checkSplit(node, 'exclusive', model, report),
};

export const inclusiveGateway: ElementDefinition<InclusiveGateway> = {
  bpmnTypes: ['bpmn:InclusiveGateway'],
  read: (element, base) => ({ ...base, type: 'inclusiveGateway', ...optional('defaultFlowId', (element.default as El | undefined)?.id) }),
  validate: (node, model, report) => checkSplit(node, 'inclusive', model, report),
};

export const parallelGateway: ElementDefinition<ParallelGateway> = {
  bpmnTypes: ['bpmn:ParallelGateway'],
  read: (_element, base) => ({ ...base, type: 'parallelGateway' }),
};

export const eventBasedGateway: ElementDefinition<EventBasedGateway> = {
  bpmnTypes: ['bpmn:EventBasedGateway'],
  read: (_element, base) => ({ ...base, type: 'eventBasedGateway' }),
  validate(node, model, report) {
    for (const flowId of node.outgoing) {
      const target = model.nodes[model.flows[flowId]?.targetId ?? ''];
      const catches = target?.type === 'receiveTask' || (target?.type === 'intermediateCatchEvent' && ['message', 'timer', 'signal'].includes(target.event.kind));
      if (target && !catches) report(node.id, 'INVALID_EVENT_GATEWAY', `an event-based gateway leads only to message, timer or signal catch events or receive tasks; "${target.id}" is neither`);
    }
    if (node.outgoing.length < 2) report(node.id, 'INVALID_EVENT_GATEWAY', 'an event-based gateway races at least two events');
  },
};

/** A deciding split needs a condition on every flow but the default. */
function checkSplit(node: ExclusiveGateway | InclusiveGateway, kind: string, model: ProcessModel, report: Report): void {
  if (node.defaultFlowId && !node.outgoing.includes(node.defaultFlowId)) {
    report(node.id, 'INVALID_DEFAULT_FLOW', `the default flow "${node.defaultFlowId}" is not one of the gateway's outgoing flows`);
  }
  if (node.outgoing.length > 1 && !node.defaultFlowId) {
    const unconditioned = node.outgoing.filter((flowId) => !model.flows[flowId]?.condition);
    if (unconditioned.length > 0) {
      report(node.id, 'CONDITION_MISSING', `the ${kind} gateway splits into ${node.outgoing.length} flows, but ${unconditioned.join(', ')} has no condition and there is no default flow`);
    }
  }
}
