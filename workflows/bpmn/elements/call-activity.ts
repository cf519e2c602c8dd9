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
    const version = stringAttr(element.calledVersion);
    let calledVersion: number | 'latest' | undefined;
    if (version !== undefined) {
      if (version === 'latest') calledVersion = 'latest';
      else if (/^[1-9]\d{0,8}$/.test(version)) calledVersion = Number(version);
      else reading.report(id, 'INVALID_ATTRIBUTE', `kf:calledVersion "${version}" must be "latest" or a version number`);
    }
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
