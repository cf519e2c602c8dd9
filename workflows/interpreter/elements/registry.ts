// Every element kind the interpreter runs, by model type: a new kind is one processor module and
// one line here.
import type { Activity, FlowNode, FlowNodeType } from '../../model';
import type { Engine } from '../engine';
import type { Execution, StepResult, Token } from '../types';
import { businessRuleTask } from './business-rule-task';
import { callActivity } from './call-activity';
import { boundaryEvent, endEvent, intermediateCatchEvent, intermediateThrowEvent, startEvent } from './events';
import { eventBasedGateway, exclusiveGateway, inclusiveGateway, parallelGateway } from './gateways';
import type { ElementProcessor } from './processor';
import { serviceTask } from './service-task';
import { receiveTask, scriptTask, task } from './simple-tasks';
import { subProcess } from './sub-process';
import { userTask } from './user-task';

type Processors = { [Type in FlowNodeType]: ElementProcessor<Extract<FlowNode, { type: Type }>> };

const processors: Processors = {
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

function processorOf(node: FlowNode): ElementProcessor {
  return processors[node.type] as ElementProcessor;
}

/** Whether a token at `node` steps inside a cancellation scope of its own (see ElementProcessor.ownStepScope). */
export function needsStepScope(node: FlowNode): boolean {
  return processorOf(node).ownStepScope;
}

/**
 * Runs the node's step. A processor that throws synchronously answers a rejected promise, as the
 * one `async` step the processors were split from did, so callers see the same microtask turns.
 */
export function step(engine: Engine, token: Token, node: FlowNode): StepResult | Promise<StepResult> {
  try {
    return processorOf(node).step(engine, token, node);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** One execution of an activity's own behaviour (inside its boundaries, once per multi-instance iteration). */
export function execute(engine: Engine, token: Token, node: Activity, execution: Execution): void | Promise<void> {
  const run = processorOf(node).execute;
  if (!run) return Promise.reject(new Error(`${node.type} ${node.id} is not an activity`));
  try {
    return run(engine, token, node, execution);
  } catch (error) {
    return Promise.reject(error);
  }
}
