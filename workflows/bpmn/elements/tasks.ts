// The tasks: service and send (an activity by kf:type), user (a person, with a form), script
// (FEEL assignments), receive (a message), and plain and manual tasks (pass through).
import { optional, stringAttr } from '../../document-reading';
import type { PlainTask, ReceiveTask, ScriptTask, ServiceTask, UserTask } from '../../model';
import { isIsoDuration } from '../iso-8601';
import type { El } from '../moddle-element';
import type { ElementDefinition } from './definition';

/** What a service task gets when it sets no `kf:retries` / `kf:timeout`. */
export const defaultServiceTaskRetries = 3;
export const defaultServiceTaskTimeout = 'PT1M';

// A send task is a service task whose activity sends (SMS, e-mail, a partner's API): Camunda 8 runs both as jobs.
export const serviceTask: ElementDefinition<ServiceTask> = {
  bpmnTypes: ['bpmn:ServiceTask', 'bpmn:SendTask'],
  read(element, base, reading) {
    const id = base.id;
    const taskType = stringAttr(element.type);
    const kind = element.$type === 'bpmn:SendTask' ? 'send' : 'service';
    if (!taskType) reading.report(id, 'MISSING_ATTRIBUTE', `the ${kind} task has no kf:type (the activity to run, e.g. ${kind === 'send' ? 'notify.sms' : 'crm.checkCredit'})`);
    const retries = reading.integerAttr(id, 'kf:retries', element.retries, 1, 100) ?? defaultServiceTaskRetries;
    const timeout = stringAttr(element.timeout) ?? defaultServiceTaskTimeout;
    if (!isIsoDuration(timeout)) reading.report(id, 'INVALID_ATTRIBUTE', `kf:timeout "${timeout}" is not an ISO-8601 duration such as PT30S`);
    const retryBackoff = stringAttr(element.retryBackoff);
    if (retryBackoff !== undefined && !isIsoDuration(retryBackoff)) reading.report(id, 'INVALID_ATTRIBUTE', `kf:retryBackoff "${retryBackoff}" is not an ISO-8601 duration such as PT5S`);
    return { ...reading.activityBase(element, base), type: 'serviceTask', taskType: taskType ?? '', retries, timeout, ...(retryBackoff ? { retryBackoff } : {}) };
  },
  validate(node, _model, report, { knownTaskTypes }) {
    if (node.taskType && knownTaskTypes && !knownTaskTypes.has(node.taskType)) {
      report(node.id, 'UNKNOWN_TASK_TYPE', `kf:type "${node.taskType}" is not an activity the worker runs; known types: ${[...knownTaskTypes].sort().join(', ')}`);
    }
  },
};

export const userTask: ElementDefinition<UserTask> = {
  bpmnTypes: ['bpmn:UserTask'],
  read(element, base, reading) {
    const priority = reading.integerAttr(base.id, 'kf:priority', element.priority, 0, 100);
    const form = reading.formFields(element);
    return {
      ...reading.activityBase(element, base),
      type: 'userTask',
      ...optional('candidateGroups', stringAttr(element.candidateGroups)),
      ...optional('assignee', stringAttr(element.assignee)),
      ...optional('dueDate', stringAttr(element.dueDate)),
      ...optional('formKey', stringAttr(element.formKey)),
      ...(form.length > 0 ? { form } : {}),
      ...(priority !== undefined ? { priority } : {}),
    };
  },
};

export const scriptTask: ElementDefinition<ScriptTask> = {
  bpmnTypes: ['bpmn:ScriptTask'],
  read: (element, base, reading) => ({ ...reading.activityBase(element, base), type: 'scriptTask', assignments: reading.scriptAssignments(element) }),
};

export const receiveTask: ElementDefinition<ReceiveTask> = {
  bpmnTypes: ['bpmn:ReceiveTask'],
  read(element, base, reading) {
    const message = element.messageRef as El | undefined;
    if (!message?.id) reading.report(base.id, 'MISSING_REFERENCE', 'the receive task names no message (messageRef)');
    const correlationKey = stringAttr(element.correlationKey) ?? stringAttr(message?.correlationKey);
    return { ...reading.activityBase(element, base), type: 'receiveTask', messageRef: message?.id ?? '', ...optional('correlationKey', correlationKey) };
  },
  validate(node, model, report) {
    if (node.messageRef && !model.messages[node.messageRef]) report(node.id, 'MISSING_REFERENCE', `the message "${node.messageRef}" is not declared`);
  },
};

export const task: ElementDefinition<PlainTask> = {
  bpmnTypes: ['bpmn:Task', 'bpmn:ManualTask'],
  read: (element, base, reading) => ({ ...reading.activityBase(element, base), type: 'task' }),
};
