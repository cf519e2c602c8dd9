import type { SubProcess } from '../../model';
import type { ElementDefinition } from './definition';

/** Embedded and event sub-processes: their content is read into the model with them as parent. */
export const subProcess: ElementDefinition<SubProcess> = {
  bpmnTypes: ['bpmn:SubProcess'],
  read: (element, base, reading) => ({ ...reading.activityBase(element, base), type: 'subProcess', ...(element.triggeredByEvent === true ? { triggeredByEvent: true } : {}) }),
};
