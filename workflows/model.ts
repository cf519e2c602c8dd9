/**
 * The executable process model: what the BPMN parser produces from XML (outside the sandbox) and
 * what the `bpmnProcess` workflow receives in its input and interprets. Plain JSON, so it travels
 * in Temporal payloads, and an instance keeps the exact model it started with.
 *
 * Expressions are FEEL strings (see expression.ts). Attribute values that may be either a literal
 * or an expression follow Camunda 8: a leading `=` marks an expression (`=order.amount`), anything
 * else is a literal. Conditions are always expressions; a leading `=` is allowed there too.
 */

import type { DecisionGraph } from './dmn/model';

export interface ProcessModel {
  /** The BPMN process id: the definition key (`order-fulfilment`). */
  key: string;
  name?: string;
  /** Assigned at deploy; 0 for a model that was never deployed (tests, simulations). */
  version: number;
  /** Every flow node, including those inside sub-processes (see `parentId`). */
  nodes: Record<string, FlowNode>;
  flows: Record<string, SequenceFlow>;
  /** Declared BPMN messages and errors, by id. */
  messages: Record<string, MessageDefinition>;
  errors: Record<string, ErrorDefinition>;
  /** Optional JSON schema-like description of the variables a start expects. */
  startForm?: FormField[];
  /**
   * `kf:starters`: the staff roles that may start an instance by hand (the API's start and
   * message-start routes). Absent: an internal process that only the system starts (a schedule,
   * another process, an activity).
   */
  starters?: StaffRole[];
}

/** The staff roles (`staff.roles`); `kf:starters` and `kf:candidateGroups` name them. */
export const staffRoles = ['admin', 'designer', 'ops', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk'] as const;
export type StaffRole = (typeof staffRoles)[number];

export interface MessageDefinition {
  id: string;
  name: string;
}

export interface ErrorDefinition {
  id: string;
  /** The code an activity's BpmnError or an error end event carries (`CREDIT_REFUSED`). */
  errorCode: string;
  name?: string;
}

export interface SequenceFlow {
  id: string;
  name?: string;
  sourceId: string;
  targetId: string;
  /** FEEL condition; absent means unconditional. */
  condition?: string;
}

/** Variable mapping: evaluate `source` (FEEL) and write the result to `target` (a variable name or dotted path). */
export interface Mapping {
  source: string;
  target: string;
}

export interface MultiInstance {
  sequential: boolean;
  /** FEEL expression yielding a list. */
  inputCollection: string;
  /** Name of the local variable holding the current element. */
  inputElement?: string;
  /** Where each iteration's result is collected, and which expression yields it. */
  outputCollection?: string;
  outputElement?: string;
  /** FEEL; when true after an iteration, the remaining ones are cancelled. */
  completionCondition?: string;
}

export type TimerDefinition =
  | { kind: 'duration'; expression: string } // ISO-8601 duration: PT15M, P2D
  | { kind: 'date'; expression: string } // ISO-8601 instant
  | { kind: 'cycle'; expression: string }; // R3/PT1H, R/PT10M

export type EventDefinition =
  | { kind: 'none' }
  | { kind: 'message'; messageRef: string; correlationKey?: string }
  | { kind: 'timer'; timer: TimerDefinition }
  | { kind: 'error'; errorRef?: string } // catch without errorRef catches every error
  | { kind: 'compensation'; activityRef?: string }
  | { kind: 'terminate' }
  | { kind: 'signal'; signalRef: string }
  // The escalation's code, resolved at parse time; a catch without one catches every escalation.
  | { kind: 'escalation'; escalationCode?: string }
  // Waits until the condition holds, re-evaluated whenever the instance's variables change.
  | { kind: 'conditional'; condition: string };

/** What every flow node has, whatever its kind. */
export interface NodeBase {
  id: string;
  name?: string;
  /** The embedded sub-process this node sits in; absent at the process level. */
  parentId?: string;
  incoming: string[];
  outgoing: string[];
  inputs?: Mapping[];
  outputs?: Mapping[];
}

interface ActivityBase extends NodeBase {
  /** Boundary events attached to this activity, by id. */
  boundaryEventIds: string[];
  multiInstance?: MultiInstance;
  /** A compensation handler (`isForCompensation`) is reached only by its compensation boundary event. */
  isForCompensation?: boolean;
}

export interface StartEvent extends NodeBase {
  type: 'startEvent';
  event: EventDefinition;
  /**
   * The start of an event sub-process: false makes it non-interrupting (BPMN `isInterrupting`,
   * default true). Meaningless elsewhere.
   */
  isInterrupting?: boolean;
}

/** A message throw drawn with message flows to other pools of its collaboration: the processes they reach. */
interface MessageFlowSource {
  /** Process keys the message flows go to (a pool's process, or the process holding the target node). */
  messageTargets?: string[];
}

export interface EndEvent extends NodeBase, MessageFlowSource {
  type: 'endEvent';
  event: EventDefinition;
}

export interface IntermediateCatchEvent extends NodeBase {
  type: 'intermediateCatchEvent';
  event: EventDefinition;
}

export interface IntermediateThrowEvent extends NodeBase, MessageFlowSource {
  type: 'intermediateThrowEvent';
  event: EventDefinition;
}

export interface BoundaryEvent extends NodeBase {
  type: 'boundaryEvent';
  attachedToRef: string;
  /** Interrupting (true) cancels the activity; non-interrupting spawns a parallel token. */
  cancelActivity: boolean;
  event: EventDefinition;
  /** For a compensation boundary event: the activity (isForCompensation) its association points to. */
  compensationHandlerId?: string;
}

export interface ServiceTask extends ActivityBase {
  type: 'serviceTask';
  /** The activity to run, e.g. `crm.checkCredit`. */
  taskType: string;
  /** Attempts in all (first try included). */
  retries: number;
  /** ISO-8601 duration for one attempt. */
  timeout: string;
  /** ISO-8601 duration before the first retry (doubles after). */
  retryBackoff?: string;
}

export interface FormField {
  id: string;
  label?: string;
  type: 'string' | 'number' | 'boolean' | 'date' | 'enum';
  required?: boolean;
  values?: string[];
  min?: number;
  max?: number;
  maxLength?: number;
}

export interface UserTask extends ActivityBase {
  type: 'userTask';
  /** Comma-separated roles, or an expression yielding a list (`=["dispatcher"]`). */
  candidateGroups?: string;
  /** Username literal or expression. */
  assignee?: string;
  /** ISO-8601 duration from creation, instant, or expression yielding either. */
  dueDate?: string;
  formKey?: string;
  /** Fields the completion must carry; the completeTask validator checks them. */
  form?: FormField[];
  priority?: number;
}

export interface ScriptTask extends ActivityBase {
  type: 'scriptTask';
  /** Expression assignments only: each `source` is evaluated and written to `target`, in order. */
  assignments: Mapping[];
}

export interface ReceiveTask extends ActivityBase {
  type: 'receiveTask';
  messageRef: string;
  correlationKey?: string;
}

/**
 * Evaluates a deployed decision (DMN) and writes its result to `resultVariable`. With a version
 * (the default: the latest one when the process was deployed, or `kf:decisionVersion="3"`), the
 * decision graph is in `decision`, pinned with the process version; with `latest` it is loaded
 * when the task runs.
 */
export interface BusinessRuleTask extends ActivityBase {
  type: 'businessRuleTask';
  /** The decision key (the DMN decision id). */
  decisionRef: string;
  /** As written: a version number, `latest` (at evaluation), or absent (the latest at deploy). */
  decisionVersion?: number | 'latest';
  resultVariable: string;
  /** The pinned decision graph, filled in at deploy; absent with `decisionVersion: 'latest'`. */
  decision?: DecisionGraph;
}

/** A task with no behaviour beyond its mappings (bpmn:task / bpmn:manualTask). */
export interface PlainTask extends ActivityBase {
  type: 'task';
}

export interface CallActivity extends ActivityBase {
  type: 'callActivity';
  /** Process key of the called process. */
  calledElement: string;
  /** `latest` (at the moment of the call) or a fixed version. */
  calledVersion?: number | 'latest';
  /** Business key of the child; defaults to `<parent business key>/<node id>[/<loop counter>]`. */
  businessKey?: string;
  /** Without inputs, the child gets all variables; without outputs, all its variables come back. */
  propagateAllVariables?: boolean;
}

export interface SubProcess extends ActivityBase {
  type: 'subProcess';
  /**
   * An event sub-process: no flow enters or leaves it; its one start event (timer, message, error)
   * starts it while the enclosing process or sub-process is active. Interrupting, it cancels every
   * other token of that scope and the scope ends with it; non-interrupting, it runs alongside.
   */
  triggeredByEvent?: boolean;
}

/** An event sub-process (`subProcess triggeredByEvent="true"`). */
export function isEventSubprocess(node: FlowNode | undefined): node is SubProcess & { triggeredByEvent: true } {
  return node?.type === 'subProcess' && node.triggeredByEvent === true;
}

export interface ExclusiveGateway extends NodeBase {
  type: 'exclusiveGateway';
  defaultFlowId?: string;
}

export interface InclusiveGateway extends NodeBase {
  type: 'inclusiveGateway';
  defaultFlowId?: string;
}

export interface ParallelGateway extends NodeBase {
  type: 'parallelGateway';
}

export interface EventBasedGateway extends NodeBase {
  type: 'eventBasedGateway';
}

export type FlowNode =
  | StartEvent
  | EndEvent
  | IntermediateCatchEvent
  | IntermediateThrowEvent
  | BoundaryEvent
  | ServiceTask
  | UserTask
  | ScriptTask
  | BusinessRuleTask
  | ReceiveTask
  | PlainTask
  | CallActivity
  | SubProcess
  | ExclusiveGateway
  | InclusiveGateway
  | ParallelGateway
  | EventBasedGateway;

export type FlowNodeType = FlowNode['type'];

export type Activity = ServiceTask | UserTask | ScriptTask | BusinessRuleTask | ReceiveTask | PlainTask | CallActivity | SubProcess;

export const activityTypes: readonly FlowNodeType[] = ['serviceTask', 'userTask', 'scriptTask', 'businessRuleTask', 'receiveTask', 'task', 'callActivity', 'subProcess'];

export function isActivity(node: FlowNode): node is Activity {
  return activityTypes.includes(node.type);
}

/** Whether a message of this name starts a new instance of the process (a process-level message start event). */
export function hasMessageStart(model: ProcessModel, name: string): boolean {
  return Object.values(model.nodes).some(
    (node) => node.type === 'startEvent' && !node.parentId && node.event.kind === 'message' && model.messages[node.event.messageRef]?.name === name,
  );
}
