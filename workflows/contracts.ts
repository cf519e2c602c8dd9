/**
 * Names and payloads that the interpreter, the activities, the API and the simulator all agree on
 * (ARCHITECTURE.md, "Identities that every part agrees on"). Pure: importable from anywhere,
 * including the workflow sandbox.
 */

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

/** Variables of a process instance: JSON values only (they travel through Temporal's payloads). */
export type Variables = Record<string, unknown>;

/** Update `completeTask`: the API has already checked that the caller may complete the task. */
export const completeTaskUpdateName = 'completeTask';
export interface CompleteTaskInput {
  taskId: string;
  variables: Variables;
  /** Username of the staff member who completed it (recorded on the inbox row and in history). */
  completedBy: string;
}

/**
 * A BPMN message delivered to an instance: by name, and by correlation key when the waiting
 * element declares one. `messageId` makes a redelivery (a duplicate callback) a no-op.
 */
export const messageSignalName = 'message';
export interface MessageInput {
  name: string;
  correlationKey?: string;
  messageId?: string;
  variables?: Variables;
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
  definition: import('./model').ProcessModel;
  businessKey: string;
  variables: Variables;
  /** Set for call-activity children. */
  parent?: { workflowId: string; nodeId: string };
  startedBy?: string;
  /** Indexed as search attributes (KfCustomerId, KfOrgUnit) so ops and the task list can filter. */
  customerId?: string;
  orgUnitId?: string;
}

export type InstanceStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** A token parked on a service task whose retries ran out and no error boundary caught it. */
export interface Incident {
  id: string;
  nodeId: string;
  tokenId: string;
  errorType: string;
  message: string;
  attempts: number;
  createdAt: string;
}

export interface OpenTask {
  taskId: string;
  nodeId: string;
  name: string;
  candidateGroups: string[];
  assignee?: string;
  dueAt?: string;
  formKey?: string;
}

/** Result of the `state` query. */
export interface ProcessInstanceState {
  processKey: string;
  processVersion: number;
  businessKey: string;
  status: InstanceStatus;
  activeNodes: { tokenId: string; nodeId: string; since: string; loopCounter?: number }[];
  completedNodes: { nodeId: string; startedAt: string; completedAt: string }[];
  variables: Variables;
  incidents: Incident[];
  openTasks: OpenTask[];
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
