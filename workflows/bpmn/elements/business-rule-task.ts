import { stringAttr } from '../../document-reading';
import type { BusinessRuleTask } from '../../model';
import { processKeyPattern } from '../process-key';
import type { ElementDefinition } from './definition';

/** A business rule task evaluates a deployed DMN decision (kf:decisionRef) into kf:resultVariable. */
export const businessRuleTask: ElementDefinition<BusinessRuleTask> = {
  bpmnTypes: ['bpmn:BusinessRuleTask'],
  read(element, base, reading) {
    const id = base.id;
    const decisionRef = stringAttr(element.decisionRef);
    if (!decisionRef) reading.report(id, 'MISSING_ATTRIBUTE', 'the business rule task names no decision (kf:decisionRef, the id of a deployed DMN decision)');
    const resultVariable = stringAttr(element.resultVariable);
    if (!resultVariable) reading.report(id, 'MISSING_ATTRIBUTE', 'the business rule task has no kf:resultVariable (where the decision result goes)');
    const decisionVersion = reading.versionAttr(id, 'kf:decisionVersion', element.decisionVersion);
    return {
      ...reading.activityBase(element, base),
      type: 'businessRuleTask',
      decisionRef: decisionRef ?? '',
      resultVariable: resultVariable ?? '',
      ...(decisionVersion !== undefined ? { decisionVersion } : {}),
    };
  },
  validate(node, _model, report) {
    if (node.decisionRef && !processKeyPattern.test(node.decisionRef)) report(node.id, 'INVALID_ATTRIBUTE', `kf:decisionRef "${node.decisionRef}" is not a valid decision key`);
    if (node.resultVariable && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(node.resultVariable)) {
      report(node.id, 'INVALID_ATTRIBUTE', `kf:resultVariable "${node.resultVariable}" must be a variable name (dotted paths allowed)`);
    }
  },
};
