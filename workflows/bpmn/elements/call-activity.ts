import { optional, stringAttr } from '../../document-reading';
import type { CallActivity } from '../../model';
import { kfCalledElement } from '../moddle-element';
import { processKeyPattern } from '../process-key';
import type { ElementDefinition } from './definition';

/** A call activity runs another deployed process (kf:calledElement), its latest or a pinned version. */
export const callActivity: ElementDefinition<CallActivity> = {
  bpmnTypes: ['bpmn:CallActivity'],
  read(element, base, reading) {
    const id = base.id;
    const calledElement = stringAttr(kfCalledElement(element)) ?? stringAttr(element.calledElement);
    if (!calledElement) reading.report(id, 'MISSING_ATTRIBUTE', 'the call activity names no process to call (kf:calledElement)');
    const calledVersion = reading.versionAttr(id, 'kf:calledVersion', element.calledVersion);
    return {
      ...reading.activityBase(element, base),
      type: 'callActivity',
      calledElement: calledElement ?? '',
      ...(calledVersion !== undefined ? { calledVersion } : {}),
      ...optional('businessKey', stringAttr(element.businessKey)),
      ...(typeof element.propagateAllVariables === 'boolean' ? { propagateAllVariables: element.propagateAllVariables } : {}),
    };
  },
  validate(node, _model, report) {
    if (node.calledElement && !processKeyPattern.test(node.calledElement)) report(node.id, 'INVALID_ATTRIBUTE', `kf:calledElement "${node.calledElement}" is not a valid process key`);
  },
};
