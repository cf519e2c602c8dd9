/**
 * Names and payloads that the interpreter, the activities, the API and the simulator all agree on
 * (docs/architecture.md, "Identities every part agrees on"). Pure: importable from anywhere,
 * including the workflow sandbox.
 */
import type { ResumeState } from './engine-state';
import type { DecisionRecord, OpenTask, Variables } from './instance-data';
import type { FormField, ProcessModel } from './model';

export type { DecisionRecord, MessageInput, OpenTask, Variables } from './instance-data';

/** The one workflow type that runs every BPMN process. */
export const bpmnProcessWorkflowType = 'bpmnProcess';

/** Process instance = one `bpmnProcess` workflow with this id; a second start with it is refused. */
export function processInstanceId(processKey: string, businessKey: string): string {
  return `${processKey}:${businessKey}`;
}

/** Human task id: the inbox row is upserted by it, so a retried activity never makes a second task. */
export function humanTaskId(workflowId: string, nodeId: string, loopCounter: number): string {
  return `${workflowId}/${nodeId}/${loopCounter}`;
}

/** Idempotency key of an external call: stable across retries of the same activity. */
export function idempotencyKey(workflowId: string, activityId: string, step?: string): string {
  return step === undefined ? `${workflowId}/${activityId}` : `${workflowId}/${activityId}/${step}`;
}

/** Signal `message`: a BPMN message (or signal) delivered to an instance (`MessageInput`). */
export const messageSignalName = 'message';

/** Update `completeTask`: the API has already checked that the caller may complete the task. */
export const completeTaskUpdateName = 'completeTask';
export interface CompleteTaskInput {
  taskId: string;
  variables: Variables;
  /** Username of the staff member who completed it (recorded on the inbox row and in history). */
  completedBy: string;
}


/**
 * Search attribute KfWaitingFor (KeywordList): the signals and keyed messages an instance waits
 * for right now, so a broadcast signal or a message by correlation key finds its instances in
 * visibility instead of scanning them. One entry per wait, written by these two functions only.
 */
export const waitingForSearchAttribute = 'KfWaitingFor';
// Names and keys are percent-encoded: a ':' in them cannot run into the next part, and no quote or
// backslash reaches a visibility query (SQLite visibility matches keyword lists with full-text search).
export function waitingForSignal(name: string): string {
  return `signal:${encodeURIComponent(name)}`;
}
export function waitingForMessage(name: string, correlationKey: string): string {
  return `message:${encodeURIComponent(name)}:${encodeURIComponent(correlationKey)}`;
}

/** Query `state`: where the tokens are, what ran, variables, incidents and open tasks. */
export const stateQueryName = 'state';

/**
 * Every service task's activity (registered under its `kf:type`, e.g. `crm.checkCredit`) takes one
 * request and returns the variables it produced; output mappings in the model pick from them.
 */
export interface ServiceTaskRequest {
  /** The task's input variables after its input mappings ran (all variables when it has none). */
  input: Variables;
  context: ServiceTaskContext;
}

export interface ServiceTaskContext {
  workflowId: string;
  processKey: string;
  processVersion: number;
  businessKey: string;
  nodeId: string;
  /** Multi-instance / loop iteration; 0 for a plain task. */
  loopCounter: number;
  /** `<workflowId>/<nodeId>/<loopCounter>`: the same on every retry of this task execution. */
  idempotencyKey: string;
}

export type ServiceTaskResult = Variables;

/**
 * A service task's activity throws this (as an ApplicationFailure of this type with
 * `details[0] = { errorCode }`) for a business outcome that a BPMN error boundary event may catch,
 * e.g. `CREDIT_REFUSED`. It is never retried.
 */
export const bpmnErrorType = 'BpmnError';

/** Input of `bpmnProcess`: the pinned model travels with the instance, so a redeploy never changes it. */
export interface BpmnProcessInput {
  definition: ProcessModel;
  businessKey: string;
  variables: Variables;
  /** Set for call-activity children. */
  parent?: { workflowId: string; nodeId: string };
  startedBy?: string;
  /** Indexed as search attributes (KfCustomerId, KfOrgUnit) so ops and the task list can filter. */
  customerId?: string;
  orgUnitId?: string;
  /** false: never upsert search attributes (servers without Keyflow's, e.g. the time-skipping test server). */
  indexSearchAttributes?: boolean;
  /** Continue as new once the history passes this many events at a quiescent point (default 4,000; tests lower it). */
  historyLimit?: number;
  /** Set only by the interpreter itself when it continues as new: the tokens and state it carries over. */
  resume?: ResumeState;
}

export type InstanceStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * A token parked for ops: on a service task whose retries ran out with no error boundary to catch
 * it, on a step that failed (an expression, a gateway without a path), or on the element that threw
 * a BPMN error nothing catches (`errorType` = `UNHANDLED_ERROR_EVENT`, with `errorCode`).
 */
export interface Incident {
  id: string;
  nodeId: string;
  tokenId: string;
  errorType: string;
  message: string;
  /** The BPMN error code, for an unhandled error event. */
  errorCode?: string;
  attempts: number;
  createdAt: string;
}

/**
 * Incident type of a BPMN error that no error boundary event or error event sub-process catches
 * (thrown by an error end event, or by a service task or call activity as a `BpmnError`). As in
 * Camunda 8, the instance keeps running: retry throws the error again (a service task or call
 * activity runs again), resolve lets the token move on as if the element completed.
 */
export const unhandledErrorIncidentType = 'UNHANDLED_ERROR_EVENT';


/** Result of the `state` query. */
export interface ProcessInstanceState {
  processKey: string;
  processVersion: number;
  businessKey: string;
  status: InstanceStatus;
  activeNodes: { tokenId: string; nodeId: string; since: string; loopCounter?: number; phase?: 'activating' | 'active' | 'completing' | 'completed' | 'terminating' }[];
  completedNodes: { nodeId: string; startedAt: string; completedAt: string }[];
  variables: Variables;
  incidents: Incident[];
  openTasks: OpenTask[];
  /** The business rule tasks' evaluations, newest last (at most 100): which rules matched, and on what. */
  decisions?: DecisionRecord[];
}


/** Updates that ops (and the API) send to a running instance. */
export const retryIncidentUpdateName = 'retryIncident';
export interface RetryIncidentInput {
  incidentId: string;
  /** Merged into the instance's variables before the retry. */
  variables?: Variables;
}
export const resolveIncidentUpdateName = 'resolveIncident';
export interface ResolveIncidentInput {
  incidentId: string;
  /** The outputs the skipped task would have produced; the token moves on as if it completed. */
  variables: Variables;
}

/** What `bpmnProcess` returns when the process reaches its end: the final variables (call activities map them back). */
export interface BpmnProcessResult {
  status: 'completed';
  variables: Variables;
}

/**
 * Failure types the interpreter's Update validators raise (ApplicationFailure.type), so the API can
 * map them once: unknown → 404, closed → 409, form data → 400 with `details[0]` the field problems.
 */
export const updateRejections = {
  taskNotFound: 'TaskNotFound',
  taskAlreadyCompleted: 'TaskAlreadyCompleted',
  taskFormInvalid: 'TaskFormInvalid',
  incidentNotFound: 'IncidentNotFound',
  tokenNotFound: 'TokenNotFound',
  nodeNotFound: 'NodeNotFound',
  invalidInput: 'InvalidUpdateInput',
} as const;

/** One problem of a completion's form data: `details[0]` of a `TaskFormInvalid` rejection is a list of these. */
export interface FormProblem {
  field: string;
  message: string;
}

/**
 * Update `moveToken` (ops): cancels the token(s) at `fromNodeId` — an open user task there is
 * closed as cancelled — and starts one at `toNodeId` in the same (sub-)process, after merging
 * `variables`. Refused when no token stands at `fromNodeId` or `toNodeId` is not a node of the
 * same scope.
 */
export const moveTokenUpdateName = 'moveToken';
export interface MoveTokenInput {
  fromNodeId: string;
  toNodeId: string;
  variables?: Variables;
}
export interface MoveTokenResult {
  movedTokens: number;
}

/** Query `definition`: the model version this instance is pinned to. */
export const definitionQueryName = 'definition';
export interface PinnedDefinition {
  key: string;
  version: number;
}

/** Activity names the interpreter itself calls (registered by activities/engine.ts). */
export const engineActivityNames = {
  openUserTask: 'engine.openUserTask',
  closeUserTask: 'engine.closeUserTask',
  loadDefinition: 'engine.loadDefinition',
  loadDecision: 'engine.loadDecision',
  publishMessage: 'engine.publishMessage',
} as const;

/**
 * Input of `engine.publishMessage`: a message throw drawn with message flows to other pools. Each
 * target process's instances that wait for it (by correlation key, or whose business key is the
 * key) get it; where none does and the target starts on this message, one instance starts.
 */
export interface PublishMessageInput {
  name: string;
  correlationKey?: string;
  /** Stable per throw: a retried publication is taken once, and starts no second instance. */
  messageId: string;
  variables: Variables;
  /** Process keys the message flows reach. */
  targets: string[];
  /** The sending instance: `startedBy` of an instance the message starts. */
  sentBy: string;
  orgUnitId?: string;
  customerId?: string;
}
export interface PublishMessageResult {
  /** Instances handed the message. */
  delivered: string[];
  /** Instances the message started. */
  started: string[];
}

/** Input of `engine.openUserTask`: the inbox row, upserted by `taskId`. */
export interface OpenUserTaskInput {
  taskId: string;
  workflowId: string;
  runId: string;
  processKey: string;
  processVersion: number;
  businessKey: string;
  nodeId: string;
  name: string;
  candidateGroups: string[];
  assignee?: string;
  dueAt?: string;
  formKey?: string;
  formSchema?: FormField[];
  priority?: number;
  orgUnitId?: string;
  customerId?: string;
  /** Variables shown with the task (a snapshot at creation). */
  context: Variables;
}

/** Input of `engine.closeUserTask`: completed (by whom, with what) or cancelled by a boundary, a move or a cancel. */
export interface CloseUserTaskInput {
  taskId: string;
  status: 'completed' | 'cancelled';
  completedBy?: string;
  outcome?: Variables;
}

/** Input of `engine.loadDecision`: a business rule task with `kf:decisionVersion="latest"`. */
export interface LoadDecisionInput {
  key: string;
}

export interface LoadDefinitionInput {
  key: string;
  /** Omitted: the latest version at the moment of the call. */
  version?: number;
}

/**
 * Update `migrateInstance` (ops): re-pins a running instance to another version of its process.
 * Every live token must stand at a node named in `nodeMapping` (old node id → node id in the new
 * model); each is then restarted at its mapped node in the new model (an open user task there is
 * closed as cancelled and opened again). Refused (`UnmappedNodes`, details[0] = the node ids) when
 * a token stands at an unmapped node, and (`InvalidUpdateInput`) for another process key, a mapped
 * node the new model lacks, or tokens inside an embedded sub-process (not supported yet). Guarded
 * by `patched(patches.migrateInstance)`.
 */
export const migrateInstanceUpdateName = 'migrateInstance';
export interface MigrateInstanceInput {
  definition: ProcessModel;
  nodeMapping: Record<string, string>;
}
export interface MigrateInstanceResult {
  fromVersion: number;
  toVersion: number;
  movedTokens: number;
}
export const unmappedNodesRejection = 'UnmappedNodes';
