// Every element kind the parser reads and the validator checks, by model type: a new kind is one
// definition module and one line here (its behaviour: workflows/interpreter/elements/registry.ts).
import type { FlowNode, FlowNodeType } from '../../model';
import { businessRuleTask } from './business-rule-task';
import { callActivity } from './call-activity';
import type { ElementDefinition } from './definition';
import { boundaryEvent, endEvent, intermediateCatchEvent, intermediateThrowEvent, startEvent } from './events';
import { eventBasedGateway, exclusiveGateway, inclusiveGateway, parallelGateway } from './gateways';
import { subProcess } from './sub-process';
import { receiveTask, scriptTask, serviceTask, task, userTask } from './tasks';

type Definitions = { [Type in FlowNodeType]: ElementDefinition<Extract<FlowNode, { type: Type }>> };

const definitions: Definitions = {
  startEvent,
  endEvent,
  intermediateThrowEvent,
  intermediateCatchEvent,
  boundaryEvent,
  exclusiveGateway,
  parallelGateway,
  inclusiveGateway,
  eventBasedGateway,
  serviceTask,
  userTask,
  scriptTask,
  businessRuleTask,
  receiveTask,
  task,
  callActivity,
  subProcess,
};

const byBpmnType = new Map<string, ElementDefinition>(Object.values(definitions).flatMap((definition) => definition.bpmnTypes.map((bpmnType) => [bpmnType, definition as ElementDefinition] as const)));

/** The definition that reads a BPMN element type; undefined for types Keyflow does not run. */
export function definitionForBpmnType(bpmnType: string): ElementDefinition | undefined {
  return byBpmnType.get(bpmnType);
}

/** The definition of a model node's kind. */
export function definitionOf(node: FlowNode): ElementDefinition {
  return definitions[node.type] as ElementDefinition;
}
