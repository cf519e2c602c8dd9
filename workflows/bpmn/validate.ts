import { checkExpression, isExpression } from '../expression';
import { isEventSubprocess, type EventDefinition, type FlowNode, type ProcessModel, type StartEvent } from '../model';
import { definitionOf } from './elements/registry';
import { processKeyPattern } from './process-key';
import { documentElementId, type ModelProblem, type ModelProblemCode } from './problems';

export interface ValidationOptions {
  /**
   * The service-task types the worker runs (activities/catalog.ts). Omitted, `kf:type` is not
   * checked against a catalog (the designer may validate without one).
   */
  knownTaskTypes?: ReadonlySet<string> | readonly string[];
  /**
   * Ids of elements the parser refused (already reported as unsupported): flows may still touch
   * them, and reachability passes through them, so one unsupported element is one problem.
   */
  refusedNodeIds?: ReadonlySet<string>;
}

export { processKeyPattern } from './process-key';

/**
 * The model-level checks: graph shape, references, expressions, task types. Returns every
 * problem found; it never stops at the first.
 */
export function validateModel(model: ProcessModel, options: ValidationOptions = {}): ModelProblem[] {
  const problems: ModelProblem[] = [];
  const report = (elementId: string, code: ModelProblemCode, message: string) => problems.push({ elementId, code, message });
  const nodes = Object.values(model.nodes);
  const known = options.knownTaskTypes ? new Set(options.knownTaskTypes) : undefined;

  if (!processKeyPattern.test(model.key)) {
    report(model.key || documentElementId, 'INVALID_PROCESS_KEY', 'the process id is the definition key: a letter or _ first, then letters, digits, _ . - (at most 128)');
  }

  const refused = options.refusedNodeIds ?? new Set<string>();
  checkFlows(model, refused, report);
  checkScopes(model, nodes, report);
  checkEventSubprocesses(model, nodes, report);
  for (const node of nodes) checkNode(model, node, known, report);
  checkReachability(model, nodes, refused, report);
  checkExpressions(model, report);
  return problems;
}

type Report = (elementId: string, code: ModelProblemCode, message: string) => void;

function checkFlows(model: ProcessModel, refused: ReadonlySet<string>, report: Report): void {
  for (const flow of Object.values(model.flows)) {
    const source = model.nodes[flow.sourceId];
    const target = model.nodes[flow.targetId];
    if (refused.has(flow.sourceId) || refused.has(flow.targetId)) continue;
    if (flow.sourceId && !source) report(flow.id, 'INVALID_FLOW', `the sequence flow starts at "${flow.sourceId}", which is not an executable node`);
    if (flow.targetId && !target) report(flow.id, 'INVALID_FLOW', `the sequence flow ends at "${flow.targetId}", which is not an executable node`);
    if (source && target && (source.parentId ?? '') !== (target.parentId ?? '')) {
      report(flow.id, 'INVALID_FLOW', 'the sequence flow crosses a sub-process boundary; connect nodes of the same scope');
    }
    if (target?.type === 'startEvent') report(flow.id, 'INVALID_FLOW', 'a sequence flow may not enter a start event');
    if (target?.type === 'boundaryEvent') report(flow.id, 'INVALID_FLOW', 'a sequence flow may not enter a boundary event');
    if (source?.type === 'endEvent') report(flow.id, 'INVALID_FLOW', 'a sequence flow may not leave an end event');
  }
}

/** The process and each embedded sub-process need a start and an end of their own (event sub-processes: see below). */
function checkScopes(model: ProcessModel, nodes: FlowNode[], report: Report): void {
  const scopes: { id: string | undefined; label: string }[] = [
    { id: undefined, label: 'the process' },
    ...nodes.filter((node) => node.type === 'subProcess' && !isEventSubprocess(node)).map((node) => ({ id: node.id, label: 'the sub-process' })),
  ];
  for (const scope of scopes) {
    const inScope = nodes.filter((node) => node.parentId === scope.id);
    const starts = inScope.filter((node) => node.type === 'startEvent');
    const elementId = scope.id ?? model.key ?? documentElementId;
    if (starts.length === 0) report(elementId, 'NO_START_EVENT', `${scope.label} has no start event`);
    if (scope.id && starts.some((start) => start.type === 'startEvent' && start.event.kind !== 'none')) {
      report(elementId, 'UNSUPPORTED_ELEMENT', 'an embedded sub-process starts with a plain (none) start event');
    }
    if (!inScope.some((node) => node.type === 'endEvent')) report(elementId, 'NO_END_EVENT', `${scope.label} has no end event`);
  }
}

const eventSubprocessStartKinds = ['timer', 'message', 'signal', 'error', 'escalation'];

/**
 * Event sub-processes (Camunda 8's rules): no flow in or out, no boundary events, no loop; exactly
 * one start event, of a kind that can start one; an error start interrupts, a timer cycle does not;
 * and no two event sub-processes of one scope wait for the same error code or the same message.
 */
function checkEventSubprocesses(model: ProcessModel, nodes: FlowNode[], report: Report): void {
  const byScope = new Map<string, { errors: Map<string, string>; messages: Map<string, string>; escalations: Map<string, string> }>();
  for (const node of nodes) {
    if (node.type === 'startEvent' && (node.event.kind === 'error' || node.event.kind === 'escalation') && !isEventSubprocess(model.nodes[node.parentId ?? ''])) {
      report(node.id, 'INVALID_EVENT_SUBPROCESS', `an ${node.event.kind} start event starts only an event sub-process (triggeredByEvent="true")`);
    }
    if (!isEventSubprocess(node)) continue;
    if (node.incoming.length > 0 || node.outgoing.length > 0) report(node.id, 'INVALID_EVENT_SUBPROCESS', 'no sequence flow may enter or leave an event sub-process: its start event starts it');
    if (node.boundaryEventIds.length > 0) report(node.id, 'INVALID_EVENT_SUBPROCESS', 'an event sub-process may not have boundary events');
    if (node.multiInstance) report(node.id, 'INVALID_EVENT_SUBPROCESS', 'an event sub-process may not be multi-instance');
    const starts = nodes.filter((child): child is StartEvent => child.parentId === node.id && child.type === 'startEvent');
    if (starts.length !== 1) {
      report(node.id, starts.length === 0 ? 'NO_START_EVENT' : 'INVALID_EVENT_SUBPROCESS', `an event sub-process has exactly one start event (it has ${starts.length})`);
    }
    if (!nodes.some((child) => child.parentId === node.id && child.type === 'endEvent')) report(node.id, 'NO_END_EVENT', 'the event sub-process has no end event');
    const start = starts[0];
    if (!start) continue;
    const event = start.event;
    const interrupting = start.isInterrupting !== false;
    if (!eventSubprocessStartKinds.includes(event.kind)) {
      report(start.id, 'INVALID_EVENT_SUBPROCESS', `an event sub-process starts with a ${eventSubprocessStartKinds.join(', ')} start event, not ${event.kind === 'none' ? 'a plain (none) one' : `a ${event.kind} one`}`);
    }
    if (event.kind === 'error' && !interrupting) report(start.id, 'INVALID_EVENT_SUBPROCESS', 'an error start event always interrupts: remove isInterrupting="false"');
    if (event.kind === 'timer' && event.timer.kind === 'cycle' && interrupting) {
      report(start.id, 'INVALID_TIMER', 'a timer cycle starts only a non-interrupting event sub-process (isInterrupting="false"); an interrupting one takes a duration or a date');
    }
    const scopeKey = node.parentId ?? '';
    const seen = byScope.get(scopeKey) ?? { errors: new Map<string, string>(), messages: new Map<string, string>(), escalations: new Map<string, string>() };
    byScope.set(scopeKey, seen);
    if (event.kind === 'error') {
      const code = event.errorRef ? (model.errors[event.errorRef]?.errorCode ?? event.errorRef) : '*';
      const other = seen.errors.get(code);
      if (other) report(node.id, 'INVALID_EVENT_SUBPROCESS', `${code === '*' ? 'a catch-all error start' : `the error code ${code}`} is already caught by event sub-process "${other}" of the same scope`);
      else seen.errors.set(code, node.id);
    }
    if (event.kind === 'escalation') {
      const code = event.escalationCode ?? '*';
      const other = seen.escalations.get(code);
      if (other) report(node.id, 'INVALID_EVENT_SUBPROCESS', `${code === '*' ? 'a catch-all escalation start' : `the escalation code ${code}`} is already caught by event sub-process "${other}" of the same scope`);
      else seen.escalations.set(code, node.id);
    }
    if (event.kind === 'message') {
      const name = model.messages[event.messageRef]?.name ?? event.messageRef;
      const other = seen.messages.get(name);
      if (other) report(node.id, 'INVALID_EVENT_SUBPROCESS', `the message "${name}" already starts event sub-process "${other}" of the same scope`);
      else seen.messages.set(name, node.id);
    }
  }
}

function checkNode(model: ProcessModel, node: FlowNode, known: Set<string> | undefined, report: Report): void {
  if ('event' in node) checkEventReferences(model, node.id, node.event, report);
  definitionOf(node).validate?.(node, model, report, { ...(known ? { knownTaskTypes: known } : {}) });
}

/** What an event definition names must exist: its message, its error, the activity it compensates. */
function checkEventReferences(model: ProcessModel, nodeId: string, event: EventDefinition, report: Report): void {
  if (event.kind === 'message' && event.messageRef && !model.messages[event.messageRef]) {
    report(nodeId, 'MISSING_REFERENCE', `the message "${event.messageRef}" is not declared`);
  }
  if (event.kind === 'error' && event.errorRef && !model.errors[event.errorRef]) report(nodeId, 'MISSING_REFERENCE', `the error "${event.errorRef}" is not declared`);
  if (event.kind === 'compensation' && event.activityRef && !model.nodes[event.activityRef]) {
    report(nodeId, 'MISSING_REFERENCE', `the compensation names activity "${event.activityRef}", which does not exist`);
  }
}

/**
 * Every node must be reachable from a start event of its scope; a sub-process's content from its
 * starts once the sub-process itself is; boundary events with their activity; compensation
 * handlers through their compensation boundary event.
 */
function checkReachability(model: ProcessModel, nodes: FlowNode[], refused: ReadonlySet<string>, report: Report): void {
  const reached = new Set<string>();
  // A scope's event sub-processes are live whenever the scope is.
  const eventSubprocessesOf = (containerId: string | undefined) => nodes.filter((node) => isEventSubprocess(node) && node.parentId === containerId).map((node) => node.id);
  const queue: string[] = [...nodes.filter((node) => node.type === 'startEvent' && !node.parentId).map((node) => node.id), ...eventSubprocessesOf(undefined)];
  const flowsFrom = (id: string) => Object.values(model.flows).filter((flow) => flow.sourceId === id);
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (reached.has(id)) continue;
    if (refused.has(id)) {
      reached.add(id);
      queue.push(...flowsFrom(id).map((flow) => flow.targetId));
      continue;
    }
    const node = model.nodes[id];
    if (!node) continue;
    reached.add(id);
    for (const flowId of node.outgoing) {
      const target = model.flows[flowId]?.targetId;
      if (target) queue.push(target);
    }
    if (node.type === 'subProcess') {
      queue.push(...nodes.filter((child) => child.parentId === id && child.type === 'startEvent').map((child) => child.id), ...eventSubprocessesOf(id));
    }
    if ('boundaryEventIds' in node) queue.push(...node.boundaryEventIds);
    if (node.type === 'boundaryEvent' && node.compensationHandlerId) queue.push(node.compensationHandlerId);
  }
  for (const node of nodes) {
    if (reached.has(node.id)) continue;
    // A start event that the process-level walk did not begin from sits in an unreachable sub-process.
    if (node.type === 'startEvent' && !node.parentId) continue;
    report(node.id, 'UNREACHABLE_NODE', 'no path from a start event reaches this node');
  }
}

/** Every FEEL expression in the model is parsed (and cost-checked) now, not when a token reaches it. */
function checkExpressions(model: ProcessModel, report: Report): void {
  const check = (elementId: string, what: string, expression: string | undefined, always: boolean) => {
    if (expression === undefined || expression === '') return;
    if (!always && !isExpression(expression)) return;
    const problem = checkExpression(expression);
    if (problem) report(elementId, 'INVALID_EXPRESSION', `${what} ${JSON.stringify(expression)}: ${problem}`);
  };
  for (const flow of Object.values(model.flows)) check(flow.id, 'the condition', flow.condition, true);
  for (const node of Object.values(model.nodes)) {
    for (const mapping of node.inputs ?? []) check(node.id, `the input mapping to ${mapping.target}`, mapping.source, true);
    for (const mapping of node.outputs ?? []) check(node.id, `the output mapping to ${mapping.target}`, mapping.source, true);
    if ('multiInstance' in node && node.multiInstance) {
      const loop = node.multiInstance;
      check(node.id, 'the multi-instance collection', loop.inputCollection, true);
      check(node.id, 'the multi-instance output element', loop.outputElement, true);
      check(node.id, 'the completion condition', loop.completionCondition, true);
    }
    if ('event' in node) {
      if (node.event.kind === 'timer') check(node.id, 'the timer', node.event.timer.expression, false);
      if (node.event.kind === 'message') check(node.id, 'the correlation key', node.event.correlationKey, false);
      if (node.event.kind === 'conditional') check(node.id, 'the condition', node.event.condition, true);
    }
    switch (node.type) {
      case 'scriptTask':
        for (const assignment of node.assignments) check(node.id, `the assignment to ${assignment.target}`, assignment.source, true);
        break;
      case 'userTask':
        check(node.id, 'kf:candidateGroups', node.candidateGroups, false);
        check(node.id, 'kf:assignee', node.assignee, false);
        check(node.id, 'kf:dueDate', node.dueDate, false);
        break;
      case 'receiveTask':
        check(node.id, 'the correlation key', node.correlationKey, false);
        break;
      case 'callActivity':
        check(node.id, 'kf:businessKey', node.businessKey, false);
        break;
    }
  }
}
