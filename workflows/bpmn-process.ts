import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  patched,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  isCancellation,
  log,
  scheduleActivity,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import {
  bpmnErrorType,
  bpmnProcessWorkflowType,
  definitionQueryName,
  engineActivityNames,
  humanTaskId,
  idempotencyKey,
  messageSignalName,
  moveTokenUpdateName,
  type PublishMessageInput,
  type PublishMessageResult,
  waitingForMessage,
  waitingForSearchAttribute,
  waitingForSignal,
  migrateInstanceUpdateName,
  unmappedNodesRejection,
  processInstanceId,
  resolveIncidentUpdateName,
  retryIncidentUpdateName,
  stateQueryName,
  completeTaskUpdateName,
  updateRejections,
  type BpmnProcessInput,
  type BpmnProcessResult,
  type CloseUserTaskInput,
  type DecisionRecord,
  type LoadDecisionInput,
  type CompleteTaskInput,
  type Incident,
  type InstanceStatus,
  type MessageInput,
  type MoveTokenInput,
  type MigrateInstanceInput,
  type MigrateInstanceResult,
  type MoveTokenResult,
  type OpenTask,
  type OpenUserTaskInput,
  type PinnedDefinition,
  type ProcessInstanceState,
  type ResolveIncidentInput,
  type RetryIncidentInput,
  type ServiceTaskRequest,
  type Variables,
  unhandledErrorIncidentType,
} from './contracts';
import type { CompensationEntry, CompletedNode, ResumedEventSubscription, ResumedToken, ResumeState } from './engine-state';
import { evaluateCondition, evaluateExpression, evaluateValue, ExpressionError } from './expression';
import { nonRetryableExternalErrorTypes } from './external';
import { undeclaredFields, validateFormData } from './forms';
import { evaluateDecision } from './dmn/evaluate';
import type { DecisionGraph } from './dmn/model';
import { isEventSubprocess, type Activity, type BoundaryEvent, type BusinessRuleTask, type EventDefinition, type FlowNode, type ProcessModel, type ServiceTask, type StartEvent, type SubProcess, type UserTask } from './model';
import { patches } from './patches';
import { durationMs, instantMs, timerSchedule } from './timers';
import { applyMappings, setPath } from './variables';

export const completeTaskUpdate = defineUpdate<void, [CompleteTaskInput]>(completeTaskUpdateName);
export const retryIncidentUpdate = defineUpdate<void, [RetryIncidentInput]>(retryIncidentUpdateName);
export const resolveIncidentUpdate = defineUpdate<void, [ResolveIncidentInput]>(resolveIncidentUpdateName);
export const moveTokenUpdate = defineUpdate<MoveTokenResult, [MoveTokenInput]>(moveTokenUpdateName);
export const migrateInstanceUpdate = defineUpdate<MigrateInstanceResult, [MigrateInstanceInput]>(migrateInstanceUpdateName);
export const messageSignal = defineSignal<[MessageInput]>(messageSignalName);
export const stateQuery = defineQuery<ProcessInstanceState>(stateQueryName);
export const definitionQuery = defineQuery<PinnedDefinition>(definitionQueryName);

const searchAttributeKeys = {
  processKey: defineSearchAttributeKey('KfProcessKey', SearchAttributeType.KEYWORD),
  businessKey: defineSearchAttributeKey('KfBusinessKey', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('KfCustomerId', SearchAttributeType.KEYWORD),
  orgUnit: defineSearchAttributeKey('KfOrgUnit', SearchAttributeType.KEYWORD),
  incidentNode: defineSearchAttributeKey('KfIncidentNode', SearchAttributeType.KEYWORD),
  processVersion: defineSearchAttributeKey('KfProcessVersion', SearchAttributeType.INT),
  incident: defineSearchAttributeKey('KfIncident', SearchAttributeType.BOOL),
  activeNodes: defineSearchAttributeKey('KfActiveNodes', SearchAttributeType.KEYWORD_LIST),
  waitingFor: defineSearchAttributeKey(waitingForSearchAttribute, SearchAttributeType.KEYWORD_LIST),
};

const defaultHistoryLimit = 4_000;
const maxBufferedMessages = 500;
const maxSeenMessageIds = 2_000;
const maxCompletedNodes = 1_000;
/** KfWaitingFor's limits: Temporal caps a keyword at 2 KB and an instance's search attributes at 40 KB. */
const maxWaitingForEntryLength = 1_000;
const maxWaitingForEntries = 30;
/** Decision evaluations kept in the state (and across a continue-as-new): the recent ones explain the route taken. */
const maxDecisionRecords = 100;

/** The engine's own activities: short, idempotent, retried until they succeed. */
const engineActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['DefinitionNotFound', 'DecisionNotFound'] },
};
/** A message flow's receiver may start waiting a moment after the sender throws: about two minutes of retries, then an incident at the throw. */
const publishMessageActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
};
/** Opening a task is never abandoned half-way: a cancelled open still finishes, so the close that follows finds its row. */
const openTaskActivityOptions: ActivityOptions = { ...engineActivityOptions, cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED };

/** A BPMN error in flight: thrown by an error end event or an activity, caught by a matching error boundary. */
class BpmnErrorThrow extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    /** A technical failure after the last retry: only a catch-all error boundary catches it. */
    readonly technical = false,
  ) {
    super(message);
    this.name = 'BpmnErrorThrow';
  }
}

/** The interpreter could not decide where a token goes (no true condition and no default flow). */
class NoPathError extends Error {
  override readonly name = 'NoPathError';
}

interface EventData {
  variables?: Variables;
  error?: { errorCode: string; errorMessage: string };
  escalation?: { escalationCode: string };
}

/** Takes an escalation thrown inside a sub-process to the sub-process's escalation boundary; undefined when none matches. */
type EscalationCatcher = (escalationCode: string, data: EventData) => 'interrupting' | 'nonInterrupting' | undefined;

interface Scope {
  id: string;
  parent?: Scope;
  /** The (event) sub-process whose content runs here; absent for the process. */
  containerId?: string;
  /** Local variables visible to every token of the scope (multi-instance element, loop counter). */
  locals?: Variables;
  cancellation: CancellationScope;
  /**
   * Where the scope's tokens run: `cancellation` itself, or, in a scope with event sub-processes, a
   * child of it that an interrupting event sub-process cancels (and replaces) without ending the scope.
   */
  work: CancellationScope;
  /** The event sub-process starts listening while the scope is active (a child of `cancellation`). */
  listeners?: CancellationScope;
  /** Listener state a continue-as-new carries (process level only), by event sub-process id. */
  subscriptions: Map<string, ResumedEventSubscription>;
  /** An interrupting event sub-process has started: the other tokens are gone, no event sub-process starts again. */
  interrupted: boolean;
  tokens: Set<Token>;
  joins: Map<string, Map<string, number>>;
  inclusiveLeaders: Map<string, Token>;
  error?: unknown;
  terminated: boolean;
  settle?: { resolve: () => void; reject: (error: unknown) => void };
  /** The escalation boundaries of the sub-process whose content runs here. */
  escalationCatcher?: EscalationCatcher;
}

interface Token {
  id: string;
  nodeId: string;
  scope: Scope;
  since: string;
  viaFlow?: string;
  /** Waits in progress (user task, message, timer, incident); > 0 puts the node in KfActiveNodes. */
  waits: number;
  stepScope?: CancellationScope;
  moveTo?: string;
  /** The event already happened (event-based gateway, boundary): the event node does not wait again. */
  fired?: EventData;
  /** Carried over a continue-as-new: resume this wait instead of entering the node afresh. */
  resume?: ResumedToken;
  /** What a continue-as-new would carry for this token; set while it waits somewhere resumable. */
  resumable?: ResumedToken;
  loopCounter?: number;
  /** Set on tokens that run a compensation handler (not part of any scope). */
  compensating?: boolean;
  /** Cancelled by an interrupting event sub-process: its ending is expected, whatever it ended with. */
  interrupted?: boolean;
  /** While the token runs a sub-process with escalation boundaries: the scope it opens hands escalations here. */
  escalationCatcher?: EscalationCatcher;
}

interface Execution {
  locals?: Variables;
  /** Multi-instance loop counter (1-based); 0 outside multi-instance. */
  loopCounter: number;
  /** Per-node execution number: the stable part of task ids and idempotency keys. */
  execution: number;
}

interface OpenTaskEntry {
  task: OpenTask;
  node: UserTask;
  token: Token;
  completion?: CompleteTaskInput;
}

type IncidentResolution = { kind: 'retry'; variables?: Variables } | { kind: 'resolve'; variables: Variables };

interface IncidentEntry {
  incident: Incident;
  resolution?: IncidentResolution;
}

interface Subscription {
  name: string;
  correlationKey?: string;
  /** Waits for a BPMN signal of this name, not a message. */
  signal?: boolean;
  received?: MessageInput;
  /** A listener that takes every signal (a boundary or event sub-process start): several may come in one activation. */
  queue?: MessageInput[];
}

/** A step's outcome: flows to take, a jump to a (boundary) node, or null when the token was consumed by a join. */
type StepResult = string[] | { jump: string; fired?: EventData } | null;

/**
 * Interprets one pinned ProcessModel. Every token is its own async flow; Temporal's deterministic
 * scheduler interleaves them, so parallel branches really wait in parallel. Transient nodes
 * (gateways, events without waits, script tasks) issue no commands, so they add no history.
 */
class Interpreter {
  private model: ProcessModel;
  private readonly workflowId: string;
  private readonly runId: string;
  private vars: Variables;
  private status: InstanceStatus = 'running';
  private readonly liveTokens = new Map<string, Token>();
  private readonly openTasks = new Map<string, OpenTaskEntry>();
  private readonly completedTaskIds: Set<string>;
  private readonly incidents = new Map<string, IncidentEntry>();
  private readonly subscriptions: Subscription[] = [];
  private readonly buffered: MessageInput[];
  private readonly seenMessageIds: string[];
  private readonly seenMessageIdSet: Set<string>;
  private readonly counters: Record<string, number>;
  private compensations: CompensationEntry[];
  private readonly completedNodes: CompletedNode[];
  private readonly decisions: DecisionRecord[];
  private tokenSeq: number;
  private incidentSeq: number;
  private scopeSeq = 0;
  /** Counts variable writes: conditional events evaluate their condition again when it moves. */
  private variableVersion = 0;
  private readonly children = new Map<string, FlowNode[]>();
  private readonly reachers = new Map<string, Set<string>>();
  private readonly activityOptions = new Map<string, ActivityOptions>();
  private readonly indexing: boolean;
  private indexDirty = false;
  private indexed: { activeNodes: string; incident: boolean; incidentNode: string; waitingFor: string };
  /** Whether this run lists its subscriptions in KfWaitingFor (decided once, by patch, on first need). */
  private indexesSubscriptions?: boolean;
  private root!: Scope;

  constructor(private input: BpmnProcessInput) {
    this.model = input.definition;
    const info = workflowInfo();
    this.workflowId = info.workflowId;
    this.runId = info.runId;
    this.vars = { ...input.variables };
    const resume = input.resume;
    this.completedTaskIds = new Set(resume?.completedTaskIds ?? []);
    this.buffered = [...(resume?.bufferedMessages ?? [])];
    this.seenMessageIds = [...(resume?.seenMessageIds ?? [])];
    this.seenMessageIdSet = new Set(this.seenMessageIds);
    this.counters = { ...(resume?.counters ?? {}) };
    this.compensations = [...(resume?.compensations ?? [])];
    this.completedNodes = [...(resume?.completedNodes ?? [])];
    this.decisions = [...(resume?.decisions ?? [])];
    this.tokenSeq = resume?.tokenSeq ?? 0;
    this.incidentSeq = resume?.incidentSeq ?? 0;
    this.indexing = input.indexSearchAttributes !== false;
    const current = info.typedSearchAttributes;
    this.indexed = {
      activeNodes: (current.get(searchAttributeKeys.activeNodes) ?? []).join('\u0000'),
      incident: current.get(searchAttributeKeys.incident) ?? false,
      incidentNode: current.get(searchAttributeKeys.incidentNode) ?? '',
      waitingFor: (current.get(searchAttributeKeys.waitingFor) ?? []).join('\u0000'),
    };
    this.indexChildren();
  }

  private indexChildren(): void {
    this.children.clear();
    for (const node of Object.values(this.model.nodes)) {
      const parent = node.parentId ?? '';
      const list = this.children.get(parent) ?? [];
      list.push(node);
      this.children.set(parent, list);
    }
  }

  async run(): Promise<BpmnProcessResult> {
    this.installHandlers();
    this.indexStatic();
    if (this.indexing) void CancellationScope.nonCancellable(() => this.indexer());

    this.root = this.createScope(undefined, undefined, undefined);
    const resumed = this.input.resume?.tokens;
    const done = this.runScope(
      this.root,
      resumed ? [] : this.startNodes(undefined).slice(0, 1).map((node) => node.id),
      resumed,
      this.input.resume?.eventSubscriptions,
    ).then(
      () => 'done' as const,
      (error: unknown) => ({ error }),
    );
    // The watch for a continue-as-new point must not see the instance's cancellation: the cancel path below compensates first.
    const continuePoint = CancellationScope.nonCancellable(() => this.continueAsNewPoint()).then(() => 'continue' as const);
    const outcome = await Promise.race([done, continuePoint]);
    if (outcome === 'continue') return this.continueAsNew();
    if (outcome === 'done') {
      this.status = 'completed';
      return { status: 'completed', variables: this.vars };
    }
    const error = outcome.error;
    if (isCancellation(error)) {
      // Cancel = compensate what was done (the saga), then end as cancelled.
      await CancellationScope.nonCancellable(() => this.compensate(undefined));
      this.status = 'cancelled';
      throw error;
    }
    this.status = 'failed';
    if (error instanceof BpmnErrorThrow) {
      throw ApplicationFailure.create({ type: bpmnErrorType, message: error.message, details: [{ errorCode: error.errorCode }], nonRetryable: true });
    }
    throw error;
  }

  // ---------------------------------------------------------------- handlers

  private installHandlers(): void {
    setHandler(stateQuery, () => this.state());
    setHandler(definitionQuery, () => ({ key: this.model.key, version: this.model.version }));

    setHandler(messageSignal, (message) => {
      if (!message || typeof message.name !== 'string') return;
      if (message.signal === true) {
        // A broadcast's retried delivery carries the same id: the instance takes it once.
        if (typeof message.messageId === 'string' && patched(patches.signalIds) && !this.firstSight(message.messageId)) return;
        this.broadcastSignal(message);
        return;
      }
      if (typeof message.messageId === 'string' && !this.firstSight(message.messageId)) return;
      const subscription = this.subscriptions.find((candidate) => !candidate.received && !candidate.signal && messageMatches(message, candidate.name, candidate.correlationKey));
      if (subscription) {
        subscription.received = message;
        return;
      }
      // Callbacks may come before the token reaches its receive task: keep the message for it.
      this.buffered.push(message);
      if (this.buffered.length > maxBufferedMessages) this.buffered.shift();
    });

    setHandler(
      completeTaskUpdate,
      async (input) => {
        // Validators do not run on replay: never assume what the validator checked.
        await condition(() => this.openTasks.has(input.taskId) || this.completedTaskIds.has(input.taskId));
        const entry = this.openTasks.get(input.taskId);
        if (entry && !entry.completion) entry.completion = { taskId: input.taskId, variables: formVariables(entry.node, input.variables ?? {}), completedBy: input.completedBy };
      },
      {
        validator: (input) => {
          if (!input || typeof input.taskId !== 'string' || typeof input.completedBy !== 'string' || (input.variables !== undefined && !isPlainObject(input.variables))) {
            throw ApplicationFailure.create({ type: updateRejections.invalidInput, message: 'completeTask needs { taskId, variables, completedBy }', nonRetryable: true });
          }
          const entry = this.openTasks.get(input.taskId);
          if (this.completedTaskIds.has(input.taskId) || entry?.completion) {
            throw ApplicationFailure.create({ type: updateRejections.taskAlreadyCompleted, message: `task ${input.taskId} is already completed`, nonRetryable: true });
          }
          const node = entry?.node ?? this.resumedTaskNode(input.taskId);
          if (!node) throw ApplicationFailure.create({ type: updateRejections.taskNotFound, message: `no open task ${input.taskId} in this instance`, nonRetryable: true });
          // A task with a form takes only its fields; one without keeps taking any variables (engine callers, not people).
          const undeclared = node.form?.length ? undeclaredFields(node.form, input.variables ?? {}) : [];
          const problems = [...undeclared, ...validateFormData(node.form, input.variables ?? {})];
          if (problems.length > 0) {
            throw ApplicationFailure.create({
              type: updateRejections.taskFormInvalid,
              message: `form data does not fit task ${input.taskId}: ${problems.map((problem) => `${problem.field} ${problem.message}`).join('; ')}`,
              details: [problems],
              nonRetryable: true,
            });
          }
        },
      },
    );

    const findIncident = (incidentId: unknown): IncidentEntry => {
      const entry = typeof incidentId === 'string' ? this.incidents.get(incidentId) : undefined;
      if (!entry || entry.resolution) throw ApplicationFailure.create({ type: updateRejections.incidentNotFound, message: `no open incident ${String(incidentId)}`, nonRetryable: true });
      return entry;
    };
    setHandler(
      retryIncidentUpdate,
      async (input) => {
        await condition(() => this.incidents.has(input.incidentId));
        findIncident(input.incidentId).resolution = { kind: 'retry', variables: input.variables };
      },
      {
        validator: (input) => {
          findIncident(input?.incidentId);
          if (input.variables !== undefined && !isPlainObject(input.variables)) throw invalidInput('variables must be an object');
        },
      },
    );
    setHandler(
      resolveIncidentUpdate,
      async (input) => {
        await condition(() => this.incidents.has(input.incidentId));
        findIncident(input.incidentId).resolution = { kind: 'resolve', variables: input.variables ?? {} };
      },
      {
        validator: (input) => {
          findIncident(input?.incidentId);
          if (input.variables !== undefined && !isPlainObject(input.variables)) throw invalidInput('variables must be an object');
        },
      },
    );

    setHandler(
      moveTokenUpdate,
      async (input) => {
        const movable = () => [...this.liveTokens.values()].filter((token) => token.nodeId === input.fromNodeId && token.stepScope && !token.compensating);
        await condition(() => movable().length > 0);
        if (input.variables) this.mergeVariables(input.variables, undefined);
        const tokens = movable();
        for (const token of tokens) {
          token.moveTo = input.toNodeId;
          token.stepScope!.cancel();
        }
        return { movedTokens: tokens.length };
      },
      {
        validator: (input) => {
          if (!input || typeof input.fromNodeId !== 'string' || typeof input.toNodeId !== 'string') throw invalidInput('moveToken needs { fromNodeId, toNodeId }');
          if (input.variables !== undefined && !isPlainObject(input.variables)) throw invalidInput('variables must be an object');
          const from = this.model.nodes[input.fromNodeId];
          const to = this.model.nodes[input.toNodeId];
          const movable = [...this.liveTokens.values()].some((token) => token.nodeId === input.fromNodeId && token.stepScope && !token.compensating);
          if (!from || !movable) throw ApplicationFailure.create({ type: updateRejections.tokenNotFound, message: `no movable token at ${input.fromNodeId}`, nonRetryable: true });
          if (!to || to.parentId !== from.parentId || to.type === 'boundaryEvent' || isEventSubprocess(to) || (isActivityNode(to) && to.isForCompensation)) {
            throw ApplicationFailure.create({ type: updateRejections.nodeNotFound, message: `${input.toNodeId} is not a node a token can move to from ${input.fromNodeId}`, nonRetryable: true });
          }
        },
      },
    );

    setHandler(
      migrateInstanceUpdate,
      async (input) => {
        // Recorded as a marker the first time an instance migrates; replays of older histories never reach here.
        patched(patches.migrateInstance);
        // Validators are skipped on replay, where the update may arrive in the activation before its
        // tokens settled into their steps: wait for them as the accepted update once found them.
        await condition(() => [...this.liveTokens.values()].every((token) => token.stepScope && !token.compensating));
        const fromVersion = this.model.version;
        this.model = input.definition;
        this.input = { ...this.input, definition: input.definition };
        this.indexChildren();
        this.reachers.clear();
        this.activityOptions.clear();
        const tokens = [...this.liveTokens.values()];
        for (const token of tokens) {
          const target = input.nodeMapping[token.nodeId];
          if (target === undefined || !token.stepScope) continue;
          token.moveTo = target;
          token.stepScope.cancel();
        }
        this.indexStatic();
        return { fromVersion, toVersion: input.definition.version, movedTokens: tokens.length };
      },
      {
        validator: (input) => {
          if (!input || !isPlainObject(input.definition) || !isPlainObject(input.nodeMapping)) throw invalidInput('migrateInstance needs { definition, nodeMapping }');
          const model = input.definition;
          if (model.key !== this.model.key || !isPlainObject(model.nodes)) throw invalidInput(`the new definition must be a version of ${this.model.key}`);
          const tokens = [...this.liveTokens.values()];
          const unmapped = [...new Set(tokens.map((token) => token.nodeId).filter((nodeId) => typeof input.nodeMapping[nodeId] !== 'string'))];
          if (unmapped.length > 0) {
            throw ApplicationFailure.create({
              type: unmappedNodesRejection,
              message: `active node(s) without a mapping: ${unmapped.join(', ')}`,
              details: [unmapped],
              nonRetryable: true,
            });
          }
          for (const token of tokens) {
            const target = model.nodes[input.nodeMapping[token.nodeId]!];
            if (!target || target.parentId !== undefined || target.type === 'boundaryEvent') {
              throw invalidInput(`${token.nodeId} is mapped to ${input.nodeMapping[token.nodeId]}, which is not a top-level node of version ${model.version}`);
            }
            if (token.scope !== this.root || !token.stepScope || token.compensating) {
              throw invalidInput(`the token at ${token.nodeId} cannot be migrated (inside a sub-process or compensating)`);
            }
          }
        },
      },
    );
  }

  /**
   * A task carried over by continue-as-new whose token has not re-registered it yet: a completion
   * arriving in the new run's first activation is valid (the handler waits for the token).
   */
  /** Remembers a message or signal id; false when it was seen before (a redelivery). */
  private firstSight(messageId: string): boolean {
    if (this.seenMessageIdSet.has(messageId)) return false;
    this.seenMessageIdSet.add(messageId);
    this.seenMessageIds.push(messageId);
    if (this.seenMessageIds.length > maxSeenMessageIds) this.seenMessageIdSet.delete(this.seenMessageIds.shift()!);
    return true;
  }

  private resumedTaskNode(taskId: string): UserTask | undefined {
    const carried = this.input.resume?.tokens.find((token) => token.kind === 'userTask' && token.task.taskId === taskId);
    const node = carried ? this.model.nodes[carried.nodeId] : undefined;
    return node?.type === 'userTask' ? node : undefined;
  }

  private state(): ProcessInstanceState {
    return {
      processKey: this.model.key,
      processVersion: this.model.version,
      businessKey: this.input.businessKey,
      status: this.status,
      activeNodes: [...this.liveTokens.values()].map((token) => ({
        tokenId: token.id,
        nodeId: token.nodeId,
        since: token.since,
        ...(token.loopCounter ? { loopCounter: token.loopCounter } : {}),
      })),
      completedNodes: [...this.completedNodes],
      variables: this.vars,
      incidents: [...this.incidents.values()].map((entry) => entry.incident),
      openTasks: [...this.openTasks.values()].filter((entry) => !entry.completion).map((entry) => entry.task),
      ...(this.decisions.length > 0 ? { decisions: [...this.decisions] } : {}),
    };
  }

  // ---------------------------------------------------------------- search attributes

  private indexStatic(): void {
    if (!this.indexing) return;
    const current = workflowInfo().typedSearchAttributes;
    const wanted: SearchAttributeUpdatePair[] = [];
    const want = (pair: SearchAttributeUpdatePair) => {
      if (pair.value === undefined || pair.value === null || pair.value === '') return;
      if (current.get(pair.key as never) !== pair.value) wanted.push(pair);
    };
    want({ key: searchAttributeKeys.processKey, value: this.model.key });
    want({ key: searchAttributeKeys.businessKey, value: this.input.businessKey });
    want({ key: searchAttributeKeys.processVersion, value: this.model.version });
    want({ key: searchAttributeKeys.customerId, value: this.input.customerId ?? null });
    want({ key: searchAttributeKeys.orgUnit, value: this.input.orgUnitId ?? null });
    // Starters that set these already (the API does) cost no extra history event.
    if (wanted.length > 0) upsertSearchAttributes(wanted);
  }

  private markIndex(): void {
    if (this.indexing) this.indexDirty = true;
  }

  /** Coalesces every change of one activation into at most one upsert, and only when a value changed. */
  private async indexer(): Promise<void> {
    for (;;) {
      await condition(() => this.indexDirty);
      this.indexDirty = false;
      const active = [...new Set([...this.liveTokens.values()].filter((token) => token.waits > 0).map((token) => token.nodeId))].sort();
      const incidentEntries = [...this.incidents.values()];
      const incident = incidentEntries.length > 0;
      const incidentNode = incidentEntries[0]?.incident.nodeId ?? '';
      const updates: SearchAttributeUpdatePair[] = [];
      if (active.join('\u0000') !== this.indexed.activeNodes) {
        updates.push({ key: searchAttributeKeys.activeNodes, value: active.length > 0 ? active : null });
      }
      if (incident !== this.indexed.incident) updates.push({ key: searchAttributeKeys.incident, value: incident });
      if (incidentNode !== this.indexed.incidentNode) updates.push({ key: searchAttributeKeys.incidentNode, value: incidentNode || null });
      const waitingFor = this.waitingForEntries();
      if (waitingFor.join('\u0000') !== this.indexed.waitingFor) {
        updates.push({ key: searchAttributeKeys.waitingFor, value: waitingFor.length > 0 ? waitingFor : null });
      }
      if (updates.length === 0) continue;
      this.indexed = { activeNodes: active.join('\u0000'), incident, incidentNode, waitingFor: waitingFor.join('\u0000') };
      upsertSearchAttributes(updates);
    }
  }

  /**
   * The signals and keyed messages this instance waits for, as KfWaitingFor lists them: the
   * correlation index that `POST /api/signals` and messages by correlation key alone search.
   * Instances that started before the index (no patch marker) list nothing, as they always did.
   */
  private waitingForEntries(): string[] {
    const entries = new Set<string>();
    for (const subscription of this.subscriptions) {
      if (subscription.signal) entries.add(waitingForSignal(subscription.name));
      else if (subscription.correlationKey !== undefined) entries.add(waitingForMessage(subscription.name, subscription.correlationKey));
    }
    if (entries.size === 0) return [];
    this.indexesSubscriptions ??= patched(patches.subscriptionIndex);
    if (!this.indexesSubscriptions) return [];
    // Temporal caps a keyword at 2 KB and an instance's attributes at 40 KB: an entry that would not
    // fit is left out (that wait is still reached by its instance id or business key).
    return [...entries].filter((entry) => entry.length <= maxWaitingForEntryLength).sort().slice(0, maxWaitingForEntries);
  }

  /**
   * Opens `subscription` for as long as `wait` runs: the message handler matches it, and the
   * correlation index lists it. The one place a subscription is opened and closed.
   */
  private async subscribed<T>(subscription: Subscription, wait: (subscription: Subscription) => Promise<T>): Promise<T> {
    this.subscriptions.push(subscription);
    this.markIndex();
    try {
      return await wait(subscription);
    } finally {
      this.subscriptions.splice(this.subscriptions.indexOf(subscription), 1);
      this.markIndex();
    }
  }

  // ---------------------------------------------------------------- scopes and tokens

  private createScope(parent: Scope | undefined, locals: Variables | undefined, containerId: string | undefined): Scope {
    const cancellation = new CancellationScope();
    return {
      id: parent ? `scope-${++this.scopeSeq}` : 'root',
      parent,
      ...(containerId !== undefined ? { containerId } : {}),
      locals,
      cancellation,
      // Only scopes with event sub-processes get the extra layer: the others run exactly as before.
      work: this.eventSubprocesses(containerId).length > 0 ? new CancellationScope({ cancellable: true, parent: cancellation }) : cancellation,
      subscriptions: new Map(),
      interrupted: false,
      tokens: new Set(),
      joins: new Map(),
      inclusiveLeaders: new Map(),
      terminated: false,
    };
  }

  /**
   * Resolves when every token of the scope has ended; rejects with the first error (after the
   * others ended). The scope's event sub-processes listen from its start to its end.
   */
  private runScope(scope: Scope, startNodeIds: string[], resumed?: ResumedToken[], resumedSubscriptions?: ResumedEventSubscription[], startData?: EventData): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      scope.settle = { resolve, reject };
      this.openEventSubprocesses(scope, resumedSubscriptions);
      for (const nodeId of startNodeIds) this.spawnToken(scope, nodeId, undefined, startData ? { fired: startData } : {});
      for (const resume of resumed ?? []) this.spawnToken(scope, resume.nodeId, resume.viaFlow, { resume, since: resume.since });
      if (scope.tokens.size === 0) {
        scope.settle = undefined;
        scope.listeners?.cancel();
        resolve();
      }
    });
  }

  private spawnToken(scope: Scope, nodeId: string, viaFlow: string | undefined, extra: Partial<Token>): Token {
    const token: Token = { id: `t${++this.tokenSeq}`, nodeId, scope, since: nowIso(), viaFlow, waits: 0, ...extra };
    scope.tokens.add(token);
    this.liveTokens.set(token.id, token);
    scope.work.run(() => this.runToken(token)).then(
      () => this.tokenEnded(token, undefined),
      (error: unknown) => this.tokenEnded(token, error ?? new Error('token failed')),
    );
    return token;
  }

  private tokenEnded(token: Token, error: unknown): void {
    const scope = token.scope;
    scope.tokens.delete(token);
    this.liveTokens.delete(token.id);
    if (token.waits > 0) this.markIndex();
    if (error !== undefined && scope.error === undefined && !token.interrupted) {
      const handler = error instanceof BpmnErrorThrow && !scope.interrupted ? this.matchErrorEventSubprocess(scope.containerId, error) : undefined;
      if (handler && error instanceof BpmnErrorThrow) {
        this.interrupt(scope, handler, { error: { errorCode: error.errorCode, errorMessage: error.message } });
      } else {
        const expectedCancel = isCancellation(error) && (scope.terminated || scope.cancellation.consideredCancelled);
        if (!expectedCancel) {
          scope.error = error;
          scope.cancellation.cancel();
        }
      }
    }
    if (scope.tokens.size > 0 || !scope.settle) return;
    const { resolve, reject } = scope.settle;
    scope.settle = undefined;
    scope.listeners?.cancel();
    if (scope.error !== undefined) reject(scope.error);
    else if (scope.terminated) resolve();
    else if (scope.cancellation.consideredCancelled) reject(error ?? new CancelledFailure('scope cancelled'));
    else resolve();
  }

  private async runToken(token: Token): Promise<void> {
    for (;;) {
      const node = this.node(token.nodeId);
      let result: StepResult;
      if (needsStepScope(node)) {
        const stepScope = new CancellationScope();
        token.stepScope = stepScope;
        try {
          result = await stepScope.run(() => this.stepWithIncidents(token, node));
        } catch (error) {
          if (token.moveTo !== undefined && isCancellation(error)) {
            const target = token.moveTo;
            token.moveTo = undefined;
            this.place(token, target, undefined);
            continue;
          }
          throw error;
        } finally {
          token.stepScope = undefined;
        }
      } else {
        result = await this.stepWithIncidents(token, node);
      }
      if (result === null) return;
      if (!Array.isArray(result)) {
        this.place(token, result.jump, undefined);
        token.fired = result.fired;
        continue;
      }
      this.recordCompletion(node.id, token.since);
      if (result.length === 0) return;
      for (let index = 1; index < result.length; index++) {
        const flowId = result[index]!;
        this.spawnToken(token.scope, this.flowTarget(flowId), flowId, {});
      }
      this.place(token, this.flowTarget(result[0]!), result[0]);
    }
  }

  private place(token: Token, nodeId: string, viaFlow: string | undefined): void {
    token.nodeId = nodeId;
    token.viaFlow = viaFlow;
    token.since = nowIso();
    token.fired = undefined;
  }

  private recordCompletion(nodeId: string, startedAt: string): void {
    this.completedNodes.push({ nodeId, startedAt, completedAt: nowIso() });
    if (this.completedNodes.length > maxCompletedNodes) this.completedNodes.splice(0, this.completedNodes.length - maxCompletedNodes);
  }

  /**
   * A failing step parks its token as an incident; retry re-runs the step, resolve takes the
   * outgoing flows. An error end event whose error nothing catches parks too: retry throws it
   * again, resolve ends the token there (its path completes).
   */
  private async stepWithIncidents(token: Token, node: FlowNode): Promise<StepResult> {
    for (;;) {
      try {
        return await this.step(token, node);
      } catch (error) {
        let resolution: IncidentResolution;
        if (isIncidentCause(error)) {
          resolution = await this.parkIncident(token, node.id, error, 1);
        } else if (node.type === 'endEvent' && this.unhandledError(node, error)) {
          const parked = await this.parkMovable(token, () => this.parkIncident(token, node.id, error, 1));
          if ('jump' in parked) return parked;
          resolution = parked;
        } else {
          throw error;
        }
        if (resolution.variables) this.mergeVariables(resolution.variables, token.scope.locals);
        if (resolution.kind === 'resolve') return node.outgoing;
      }
    }
  }

  /**
   * Runs a wait of a node that has no step scope of its own (an end event) in one, so ops can move
   * the token away (moveToken, migrateInstance) as from any other wait.
   */
  private async parkMovable<T>(token: Token, wait: () => Promise<T>): Promise<T | { jump: string }> {
    const stepScope = new CancellationScope();
    token.stepScope = stepScope;
    try {
      return await stepScope.run(wait);
    } catch (error) {
      if (token.moveTo !== undefined && isCancellation(error)) {
        const target = token.moveTo;
        token.moveTo = undefined;
        return { jump: target };
      }
      throw error;
    } finally {
      token.stepScope = undefined;
    }
  }

  /**
   * A BPMN error thrown at `node` that nothing in this instance would catch, on an instance that
   * raises incidents for them (Camunda 8) rather than failing as instances before the change did.
   * The patch is consulted last, so only instances that meet such an error record its marker.
   */
  private unhandledError(node: FlowNode, error: unknown): error is BpmnErrorThrow {
    if (!(error instanceof BpmnErrorThrow) || error.technical) return false;
    if (node.type !== 'endEvent' && node.type !== 'serviceTask' && node.type !== 'callActivity') return false;
    return !this.errorIsCaught(node, error) && patched(patches.unhandledErrorIncident);
  }

  /**
   * Whether an error thrown at `node` finds a catcher, searched as the token would unwind: the
   * node's own error boundary events, then for each enclosing scope its error event sub-processes
   * and the error boundary events of the sub-process that opened it, up to the process. A called
   * process hands every error it does not catch to its call activity in the parent.
   */
  private errorIsCaught(node: FlowNode, error: BpmnErrorThrow): boolean {
    if (isActivityNode(node) && this.matchErrorBoundary(this.boundariesOf(node), error)) return true;
    let from: FlowNode = node;
    let containerId = node.parentId;
    for (;;) {
      // Inside an interrupting event sub-process its scope is interrupted: that scope's event sub-processes no longer listen.
      const interruptedScope = isEventSubprocess(from) && this.eventSubprocessStart(from)?.isInterrupting !== false;
      if (!interruptedScope && this.matchErrorEventSubprocess(containerId, error)) return true;
      if (containerId === undefined) break;
      const container = this.model.nodes[containerId];
      if (!container || !isActivityNode(container)) break;
      if (this.matchErrorBoundary(this.boundariesOf(container), error)) return true;
      from = container;
      containerId = container.parentId;
    }
    return this.input.parent !== undefined;
  }

  // ---------------------------------------------------------------- event sub-processes

  private eventSubprocesses(containerId: string | undefined): SubProcess[] {
    return (this.children.get(containerId ?? '') ?? []).filter((node): node is SubProcess => isEventSubprocess(node));
  }

  private eventSubprocessStart(eventSubprocess: SubProcess): StartEvent | undefined {
    return (this.children.get(eventSubprocess.id) ?? []).find((node): node is StartEvent => node.type === 'startEvent');
  }

  /** The error event sub-process of a scope that catches this error: one for its code first, else a catch-all. */
  private matchErrorEventSubprocess(containerId: string | undefined, error: BpmnErrorThrow): SubProcess | undefined {
    const catching = this.eventSubprocesses(containerId)
      .map((eventSubprocess) => ({ eventSubprocess, start: this.eventSubprocessStart(eventSubprocess) }))
      .filter((entry) => entry.start?.event.kind === 'error');
    const refOf = (start: StartEvent | undefined) => (start?.event as { errorRef?: string }).errorRef;
    const specific = catching.find((entry) => {
      const ref = refOf(entry.start);
      return ref !== undefined && (this.model.errors[ref]?.errorCode ?? ref) === error.errorCode;
    });
    return (specific ?? catching.find((entry) => refOf(entry.start) === undefined))?.eventSubprocess;
  }

  /** Opens the timer and message starts of the scope's event sub-processes (error starts wait for a throw). */
  private openEventSubprocesses(scope: Scope, resumed: ResumedEventSubscription[] | undefined): void {
    const eventSubprocesses = this.eventSubprocesses(scope.containerId);
    if (eventSubprocesses.length === 0) return;
    scope.listeners = new CancellationScope({ cancellable: true, parent: scope.cancellation });
    for (const eventSubprocess of eventSubprocesses) {
      const start = this.eventSubprocessStart(eventSubprocess);
      if (!start || (start.event.kind !== 'timer' && start.event.kind !== 'message' && start.event.kind !== 'signal')) continue;
      // A resumed run reopens only what still listened when the previous run ended.
      const carried = resumed?.find((entry) => entry.nodeId === eventSubprocess.id);
      if (resumed && !carried) continue;
      scope.listeners
        .run(() => this.listen(scope, eventSubprocess, start, carried))
        .catch((error: unknown) => {
          if (!isCancellation(error)) log.warn('event sub-process start failed', { nodeId: start.id, error: String(error) });
        });
    }
  }

  private async listen(scope: Scope, eventSubprocess: SubProcess, start: StartEvent, carried: ResumedEventSubscription | undefined): Promise<void> {
    const interrupting = start.isInterrupting !== false;
    const event = start.event;
    try {
      if (event.kind === 'timer') {
        let subscription: ResumedEventSubscription & { kind: 'timer' };
        if (carried?.kind === 'timer') {
          subscription = { ...carried };
        } else {
          const schedule = await this.evaluateForListener(scope, start, () => timerSchedule(event.timer, this.context(scope.locals), Date.now()));
          if (!schedule) return;
          subscription = { kind: 'timer', nodeId: eventSubprocess.id, deadline: Date.now() + schedule.firstDelayMs, remaining: interrupting ? 1 : schedule.repetitions, intervalMs: schedule.intervalMs };
        }
        scope.subscriptions.set(eventSubprocess.id, subscription);
        while (subscription.remaining > 0) {
          await sleep(Math.max(0, subscription.deadline - Date.now()));
          subscription.remaining--;
          subscription.deadline += subscription.intervalMs;
          if (subscription.remaining <= 0) scope.subscriptions.delete(eventSubprocess.id);
          this.triggerEventSubprocess(scope, eventSubprocess, interrupting, {});
        }
        return;
      }
      if (event.kind === 'message') {
        let name: string;
        let correlationKey: string | undefined;
        if (carried?.kind === 'message') {
          ({ name, correlationKey } = carried);
        } else {
          name = this.model.messages[event.messageRef]?.name ?? event.messageRef;
          const expression = event.correlationKey;
          if (expression !== undefined) {
            const key = await this.evaluateForListener(scope, start, () => correlationString(evaluateValue(expression, this.context(scope.locals))));
            if (key === undefined) return;
            correlationKey = key;
          }
        }
        scope.subscriptions.set(eventSubprocess.id, { kind: 'message', nodeId: eventSubprocess.id, name, ...(correlationKey !== undefined ? { correlationKey } : {}) });
        for (;;) {
          const data = await this.nextMessage(name, correlationKey);
          if (interrupting) scope.subscriptions.delete(eventSubprocess.id);
          this.triggerEventSubprocess(scope, eventSubprocess, interrupting, data);
          if (interrupting) return;
        }
      }
      if (event.kind === 'signal') {
        scope.subscriptions.set(eventSubprocess.id, { kind: 'message', nodeId: eventSubprocess.id, name: event.signalRef, signal: true });
        await this.takeSignals(event.signalRef, (data) => {
          if (interrupting) scope.subscriptions.delete(eventSubprocess.id);
          this.triggerEventSubprocess(scope, eventSubprocess, interrupting, data);
          return !interrupting;
        });
      }
    } finally {
      scope.subscriptions.delete(eventSubprocess.id);
    }
  }

  /**
   * Evaluates what an event sub-process start needs (its timer, its correlation key). A failure
   * raises an incident at the start event, as in Camunda 8, instead of the start silently never
   * listening: retry evaluates again (after merging the given variables), resolve leaves this
   * event sub-process closed for the life of the scope (undefined).
   */
  private async evaluateForListener<T>(scope: Scope, start: StartEvent, evaluate: () => T): Promise<T | undefined> {
    for (;;) {
      try {
        return evaluate();
      } catch (error) {
        if (isCancellation(error)) throw error;
        const token: Token = { id: `t${++this.tokenSeq}`, nodeId: start.id, scope, since: nowIso(), waits: 0 };
        this.liveTokens.set(token.id, token);
        let resolution: IncidentResolution;
        try {
          resolution = await this.parkIncident(token, start.id, error, 1);
        } finally {
          this.liveTokens.delete(token.id);
          this.markIndex();
        }
        if (resolution.variables) this.mergeVariables(resolution.variables, scope.locals);
        if (resolution.kind === 'resolve') return undefined;
      }
    }
  }

  /** The first message that came before anyone waited for it and matches, taken out of the buffer. */
  private takeBuffered(name: string, correlationKey: string | undefined): EventData | undefined {
    const early = this.buffered.findIndex((message) => messageMatches(message, name, correlationKey));
    if (early < 0) return undefined;
    const [message] = this.buffered.splice(early, 1);
    return { variables: message!.variables };
  }

  /** A message for a listener that is no token: one that came early, else the next that matches. */
  private async nextMessage(name: string, correlationKey: string | undefined): Promise<EventData> {
    const early = this.takeBuffered(name, correlationKey);
    if (early) return early;
    return this.subscribed({ name, correlationKey }, async (subscription) => {
      await condition(() => subscription.received !== undefined);
      return { variables: subscription.received!.variables };
    });
  }

  /** Hands every signal of this name to `take`, in order, until it returns false. */
  private async takeSignals(name: string, take: (data: EventData) => boolean): Promise<void> {
    await this.subscribed({ name, signal: true, queue: [] }, async (subscription) => {
      for (;;) {
        await condition(() => subscription.queue!.length > 0);
        while (subscription.queue!.length > 0) {
          if (!take({ variables: subscription.queue!.shift()!.variables })) return;
        }
      }
    });
  }

  /**
   * Hands an escalation to the nearest catcher, searched outwards from the thrower's scope: the
   * scope's escalation event sub-processes, then the escalation boundaries of the sub-process that
   * opened it, and so on up to the process. Nothing catching it is no fault (BPMN, Camunda 8): the
   * thrower goes on. An interrupting catcher ends the thrower with the rest of its scope.
   */
  private escalate(from: Scope, escalationCode: string, data: EventData): 'interrupting' | 'nonInterrupting' | undefined {
    for (let scope: Scope | undefined = from; scope; scope = scope.parent) {
      if (!scope.interrupted) {
        const eventSubprocess = this.matchEscalationEventSubprocess(scope.containerId, escalationCode);
        if (eventSubprocess) {
          const interrupting = this.eventSubprocessStart(eventSubprocess)?.isInterrupting !== false;
          this.triggerEventSubprocess(scope, eventSubprocess, interrupting, data);
          return interrupting ? 'interrupting' : 'nonInterrupting';
        }
      }
      const caught = scope.escalationCatcher?.(escalationCode, data);
      if (caught) return caught;
    }
    return undefined;
  }

  /** The escalation event sub-process of a scope that catches this code: one for the code first, else a catch-all. */
  private matchEscalationEventSubprocess(containerId: string | undefined, escalationCode: string): SubProcess | undefined {
    const catching = this.eventSubprocesses(containerId).filter((eventSubprocess) => this.eventSubprocessStart(eventSubprocess)?.event.kind === 'escalation');
    const codeOf = (eventSubprocess: SubProcess) => (this.eventSubprocessStart(eventSubprocess)!.event as { escalationCode?: string }).escalationCode;
    return catching.find((eventSubprocess) => codeOf(eventSubprocess) === escalationCode) ?? catching.find((eventSubprocess) => codeOf(eventSubprocess) === undefined);
  }

  private triggerEventSubprocess(scope: Scope, eventSubprocess: SubProcess, interrupting: boolean, data: EventData): void {
    // The scope ended (or was interrupted) in the same activation the event came in: too late.
    if (!scope.settle || scope.interrupted) return;
    if (interrupting) this.interrupt(scope, eventSubprocess, data);
    else this.spawnToken(scope, eventSubprocess.id, undefined, { fired: data });
  }

  /**
   * Starts an interrupting event sub-process: every other token of the scope is cancelled (open
   * user tasks closed, timers and subscriptions dropped, as an interrupting boundary does), no
   * event sub-process of the scope starts again, and the scope ends when this one does.
   */
  private interrupt(scope: Scope, eventSubprocess: SubProcess, data: EventData): void {
    scope.interrupted = true;
    scope.listeners?.cancel();
    for (const token of scope.tokens) token.interrupted = true;
    scope.joins.clear();
    scope.inclusiveLeaders.clear();
    const previous = scope.work;
    scope.work = new CancellationScope({ cancellable: true, parent: scope.cancellation });
    previous.cancel();
    this.spawnToken(scope, eventSubprocess.id, undefined, { fired: data });
  }

  private boundariesOf(node: Activity): BoundaryEvent[] {
    return node.boundaryEventIds.map((id) => this.model.nodes[id]).filter((boundary): boundary is BoundaryEvent => boundary?.type === 'boundaryEvent');
  }

  // ---------------------------------------------------------------- elements

  private async step(token: Token, node: FlowNode): Promise<StepResult> {
    switch (node.type) {
      case 'startEvent':
        // The start of an event sub-process carries what started it: the message's or the error's variables.
        if (token.fired) {
          this.applyEventOutputs(node, token.fired, token.scope.locals);
          token.fired = undefined;
        }
        return node.outgoing;
      case 'endEvent':
        await this.throwEvent(token, node.event);
        return [];
      case 'intermediateThrowEvent':
        // false: an interrupting catch of what it threw ends the thrower with the rest of its scope.
        return (await this.throwEvent(token, node.event)) ? node.outgoing : null;
      case 'intermediateCatchEvent': {
        const data = token.fired ?? (await this.waitForEvent(token, node, node.event, token.scope.locals));
        token.fired = undefined;
        this.applyEventOutputs(node, data, token.scope.locals);
        return node.outgoing;
      }
      case 'boundaryEvent':
        this.applyEventOutputs(node, token.fired ?? {}, token.scope.locals);
        return node.outgoing;
      case 'exclusiveGateway':
        return this.exclusive(token, node.outgoing, node.defaultFlowId);
      case 'parallelGateway':
        if (node.incoming.length > 1 && !this.parallelJoin(token, node.id, node.incoming)) return null;
        return node.outgoing;
      case 'inclusiveGateway':
        if (node.incoming.length > 1 && !(await this.inclusiveJoin(token, node.id))) return null;
        return this.inclusiveSplit(token, node.outgoing, node.defaultFlowId);
      case 'eventBasedGateway':
        return this.eventBased(token, node.outgoing);
      default:
        return this.activity(token, node);
    }
  }

  /** Throws the event; false when the token goes no further (an interrupting escalation catch). */
  private async throwEvent(token: Token, event: EventDefinition): Promise<boolean> {
    switch (event.kind) {
      case 'terminate':
        token.scope.terminated = true;
        token.scope.cancellation.cancel();
        return true;
      case 'error': {
        const definition = event.errorRef ? this.model.errors[event.errorRef] : undefined;
        const code = definition?.errorCode ?? event.errorRef ?? 'error';
        throw new BpmnErrorThrow(code, definition?.name ?? `BPMN error ${code}`);
      }
      case 'compensation':
        await this.compensate(event.activityRef);
        return true;
      case 'escalation': {
        // Deploy refused escalations before they worked: only an instance migrated onto such a version meets one on old code.
        if (event.escalationCode === undefined || !patched(patches.escalationEvents)) return true;
        const inputs = this.model.nodes[token.nodeId]?.inputs;
        const variables = inputs?.length ? applyMappings(inputs, this.context(token.scope.locals)) : {};
        return this.escalate(token.scope, event.escalationCode, { variables, escalation: { escalationCode: event.escalationCode } }) !== 'interrupting';
      }
      case 'signal':
        // Reaches this instance's own catchers; instances that started before signals worked threw nothing.
        if (this.subscriptions.some((subscription) => subscription.signal && subscription.name === event.signalRef) && patched(patches.signalEvents)) {
          const inputs = this.model.nodes[token.nodeId]?.inputs;
          this.broadcastSignal({ name: event.signalRef, signal: true, variables: inputs?.length ? applyMappings(inputs, this.context(token.scope.locals)) : {} });
        }
        return true;
      case 'message':
        await this.publishMessage(token, event);
        return true;
      default:
        // A none throw has no behaviour of its own.
        return true;
    }
  }

  private exclusive(token: Token, outgoing: string[], defaultFlowId: string | undefined): string[] {
    if (outgoing.length === 0 || (outgoing.length === 1 && this.model.flows[outgoing[0]!]?.condition === undefined)) return outgoing;
    const context = this.context(token.scope.locals);
    for (const flowId of outgoing) {
      if (flowId === defaultFlowId) continue;
      const condition = this.model.flows[flowId]?.condition;
      if (condition === undefined || evaluateCondition(condition, context)) return [flowId];
    }
    if (defaultFlowId) return [defaultFlowId];
    throw new NoPathError(`no outgoing condition of ${token.nodeId} is true and there is no default flow`);
  }

  private inclusiveSplit(token: Token, outgoing: string[], defaultFlowId: string | undefined): string[] {
    if (outgoing.length === 0 || (outgoing.length === 1 && this.model.flows[outgoing[0]!]?.condition === undefined)) return outgoing;
    const context = this.context(token.scope.locals);
    const taken = outgoing.filter((flowId) => {
      if (flowId === defaultFlowId) return false;
      const condition = this.model.flows[flowId]?.condition;
      return condition === undefined || evaluateCondition(condition, context);
    });
    if (taken.length > 0) return taken;
    if (defaultFlowId) return [defaultFlowId];
    throw new NoPathError(`no outgoing condition of ${token.nodeId} is true and there is no default flow`);
  }

  /** True when this token completes the join (it continues); false when it was absorbed. */
  private parallelJoin(token: Token, gatewayId: string, incoming: string[]): boolean {
    const arrivals = token.scope.joins.get(gatewayId) ?? new Map<string, number>();
    token.scope.joins.set(gatewayId, arrivals);
    const via = token.viaFlow ?? '';
    arrivals.set(via, (arrivals.get(via) ?? 0) + 1);
    if (!incoming.every((flowId) => (arrivals.get(flowId) ?? 0) > 0)) return false;
    for (const flowId of incoming) arrivals.set(flowId, arrivals.get(flowId)! - 1);
    return true;
  }

  /** The first token to arrive leads; it fires once no other token of the scope can still reach the gateway. */
  private async inclusiveJoin(token: Token, gatewayId: string): Promise<boolean> {
    const scope = token.scope;
    const leader = scope.inclusiveLeaders.get(gatewayId);
    if (leader && leader !== token) return false;
    scope.inclusiveLeaders.set(gatewayId, token);
    const reachers = this.reachersOf(gatewayId);
    try {
      await condition(() => ![...scope.tokens].some((other) => other !== token && other.nodeId !== gatewayId && reachers.has(other.nodeId)));
    } finally {
      scope.inclusiveLeaders.delete(gatewayId);
    }
    return true;
  }

  private reachersOf(nodeId: string): Set<string> {
    const known = this.reachers.get(nodeId);
    if (known) return known;
    const seen = new Set<string>();
    const queue = [nodeId];
    while (queue.length > 0) {
      const current = this.model.nodes[queue.pop()!];
      if (!current) continue;
      const sources = current.incoming.map((flowId) => this.model.flows[flowId]?.sourceId).filter((id): id is string => id !== undefined);
      if (current.type === 'boundaryEvent') sources.push(current.attachedToRef);
      for (const source of sources) {
        if (seen.has(source)) continue;
        seen.add(source);
        queue.push(source);
      }
    }
    seen.delete(nodeId);
    this.reachers.set(nodeId, seen);
    return seen;
  }

  private async eventBased(token: Token, outgoing: string[]): Promise<StepResult> {
    const race = new CancellationScope();
    try {
      const winner = await race.run(() =>
        Promise.race(
          outgoing.map(async (flowId) => {
            const target = this.node(this.flowTarget(flowId));
            const event: EventDefinition =
              target.type === 'receiveTask'
                ? { kind: 'message', messageRef: target.messageRef, correlationKey: target.correlationKey }
                : 'event' in target
                  ? target.event
                  : { kind: 'none' };
            return { flowId, data: await this.waitForEvent(token, target, event, token.scope.locals) };
          }),
        ),
      );
      // The chosen event node runs next without waiting again.
      this.recordCompletion(token.nodeId, token.since);
      return { jump: this.flowTarget(winner.flowId), fired: winner.data };
    } finally {
      race.cancel();
    }
  }

  private async waitForEvent(token: Token, node: FlowNode, event: EventDefinition, locals: Variables | undefined): Promise<EventData> {
    if (event.kind === 'message') return this.receive(token, node.id, event.messageRef, event.correlationKey, locals);
    if (event.kind === 'signal' && patched(patches.signalEvents)) return this.receiveSignal(token, node.id, event.signalRef);
    if (event.kind === 'timer') {
      let deadline: number;
      if (token.resume?.kind === 'timer') {
        deadline = token.resume.deadline;
        token.resume = undefined;
      } else {
        deadline = Date.now() + timerSchedule(event.timer, this.context(locals), Date.now()).firstDelayMs;
      }
      await this.waiting(token, { kind: 'timer', nodeId: node.id, since: token.since, viaFlow: token.viaFlow, deadline }, () => sleep(Math.max(0, deadline - Date.now())));
      return {};
    }
    if (event.kind === 'conditional' && patched(patches.conditionalEvents)) {
      await this.waiting(token, undefined, () => this.conditionBecomes(event.condition, locals, true, true));
      return {};
    }
    throw new ExpressionError(node.id, `${event.kind} catch events are not supported`);
  }

  /**
   * Resolves when the condition's value is `wanted` — at once if it is now (`now`), else at the
   * first variable change after which it is. A condition that cannot be evaluated counts as false: it is
   * checked at deploy, and a variable it needs may not exist yet.
   */
  private async conditionBecomes(expression: string, locals: Variables | undefined, wanted: boolean, now: boolean): Promise<void> {
    let seen = now ? -1 : this.variableVersion;
    for (;;) {
      await condition(() => this.variableVersion !== seen);
      seen = this.variableVersion;
      let holds = false;
      try {
        holds = evaluateCondition(expression, this.context(locals));
      } catch {
        holds = false;
      }
      if (holds === wanted) return;
    }
  }

  /** Opens a message subscription (or takes a message that came early) and waits for a match. */
  private async receive(token: Token, nodeId: string, messageRef: string, correlationKeyExpression: string | undefined, locals: Variables | undefined): Promise<EventData> {
    let name: string;
    let correlationKey: string | undefined;
    if (token.resume?.kind === 'message' && !token.resume.signal) {
      ({ name, correlationKey } = token.resume);
      token.resume = undefined;
    } else {
      name = this.model.messages[messageRef]?.name ?? messageRef;
      correlationKey = correlationKeyExpression === undefined ? undefined : correlationString(evaluateValue(correlationKeyExpression, this.context(locals)));
    }
    const early = this.takeBuffered(name, correlationKey);
    if (early) return early;
    return this.subscribed({ name, correlationKey }, async (subscription) => {
      await this.waiting(token, { kind: 'message', nodeId, since: token.since, viaFlow: token.viaFlow, name, correlationKey }, () =>
        condition(() => subscription.received !== undefined),
      );
      return { variables: subscription.received!.variables };
    });
  }

  /** Waits for a BPMN signal: only one sent while it waits counts (signals are never buffered). */
  private async receiveSignal(token: Token, nodeId: string, name: string): Promise<EventData> {
    if (token.resume?.kind === 'message' && token.resume.signal) token.resume = undefined;
    return this.subscribed({ name, signal: true }, async (subscription) => {
      await this.waiting(token, { kind: 'message', nodeId, since: token.since, viaFlow: token.viaFlow, name, signal: true }, () =>
        condition(() => subscription.received !== undefined),
      );
      return { variables: subscription.received!.variables };
    });
  }

  /**
   * A message throw drawn with message flows to other pools publishes its message to the processes
   * they reach (`engine.publishMessage`), with its correlation key and its inputs (all variables
   * when it maps none). One without message flows has no behaviour of its own, as before.
   */
  private async publishMessage(token: Token, event: Extract<EventDefinition, { kind: 'message' }>): Promise<void> {
    const node = this.model.nodes[token.nodeId];
    const targets = node && (node.type === 'intermediateThrowEvent' || node.type === 'endEvent') ? (node.messageTargets ?? []) : [];
    if (targets.length === 0 || !patched(patches.messageFlows)) return;
    const context = this.context(token.scope.locals);
    const input: PublishMessageInput = {
      name: this.model.messages[event.messageRef]?.name ?? event.messageRef,
      ...(event.correlationKey !== undefined ? { correlationKey: correlationString(evaluateValue(event.correlationKey, context)) } : {}),
      messageId: idempotencyKey(this.workflowId, token.nodeId, String(this.nextExecution(token.nodeId))),
      variables: node!.inputs?.length ? applyMappings(node!.inputs, context) : { ...context },
      targets,
      sentBy: `process:${this.workflowId}`,
      ...(this.input.orgUnitId ? { orgUnitId: this.input.orgUnitId } : {}),
      ...(this.input.customerId ? { customerId: this.input.customerId } : {}),
    };
    await scheduleActivity<PublishMessageResult>(engineActivityNames.publishMessage, [input], publishMessageActivityOptions);
  }

  /** A signal reaches every subscription waiting for its name at this moment. */
  private broadcastSignal(signal: MessageInput): void {
    for (const subscription of this.subscriptions) {
      if (!subscription.signal || subscription.name !== signal.name) continue;
      if (subscription.queue) subscription.queue.push(signal);
      else subscription.received ??= signal;
    }
  }

  /** Runs a wait with the token counted as waiting (KfActiveNodes) and, when given, resumable across continue-as-new. */
  private async waiting<T>(token: Token, resumable: ResumedToken | undefined, wait: () => Promise<T>): Promise<T> {
    token.waits++;
    if (resumable && token.waits === 1) token.resumable = resumable;
    this.markIndex();
    try {
      return await wait();
    } finally {
      token.waits--;
      token.resumable = undefined;
      this.markIndex();
    }
  }

  private applyEventOutputs(node: FlowNode, data: EventData, locals: Variables | undefined): void {
    const variables = { ...(data.variables ?? {}), ...(data.error ?? {}), ...(data.escalation ?? {}) };
    if (node.outputs && node.outputs.length > 0) {
      this.writeMapped(node.outputs, { ...this.context(locals), ...variables }, locals);
    } else if (data.variables) {
      this.mergeVariables(data.variables, locals);
    }
  }

  // ---------------------------------------------------------------- activities

  private async activity(token: Token, node: Activity): Promise<StepResult> {
    const locals = token.scope.locals;
    const boundaries = node.boundaryEventIds.map((id) => this.node(id) as BoundaryEvent).filter((boundary) => boundary.event.kind !== 'compensation');
    const run = () => (node.multiInstance ? this.multiInstance(token, node, locals) : this.body(token, node, { locals, loopCounter: 0, execution: this.nextExecution(node.id) }));
    if (boundaries.length === 0) {
      await run();
      this.rememberCompensation(node, locals);
      return node.outgoing;
    }
    const body = new CancellationScope();
    const watchers = new CancellationScope();
    let interruptedBy: { boundary: BoundaryEvent; data: EventData } | undefined;
    for (const boundary of boundaries) {
      if (boundary.event.kind !== 'timer' && boundary.event.kind !== 'message' && boundary.event.kind !== 'signal' && boundary.event.kind !== 'conditional') continue;
      watchers
        .run(() =>
          this.watchBoundary(token, boundary, locals, (data) => {
            if (interruptedBy) return;
            interruptedBy = { boundary, data };
            body.cancel();
          }),
        )
        .catch((error: unknown) => {
          if (!isCancellation(error)) log.warn('boundary event failed', { nodeId: boundary.id, error: String(error) });
        });
    }
    const escalationBoundaries = boundaries.filter((boundary) => boundary.event.kind === 'escalation');
    if (escalationBoundaries.length > 0) {
      token.escalationCatcher = (escalationCode, data) => {
        const codeOf = (boundary: BoundaryEvent) => (boundary.event as { escalationCode?: string }).escalationCode;
        const boundary = escalationBoundaries.find((candidate) => codeOf(candidate) === escalationCode) ?? escalationBoundaries.find((candidate) => codeOf(candidate) === undefined);
        if (!boundary) return undefined;
        if (!boundary.cancelActivity) {
          this.spawnToken(token.scope, boundary.id, undefined, { fired: data });
          return 'nonInterrupting';
        }
        if (!interruptedBy) {
          interruptedBy = { boundary, data };
          body.cancel();
        }
        return 'interrupting';
      };
    }
    try {
      await body.run(run);
      // An interrupting escalation whose thrower was the scope's last token can finish it before the cancel lands.
      if (interruptedBy?.boundary.event.kind === 'escalation') return { jump: interruptedBy.boundary.id, fired: interruptedBy.data };
      this.rememberCompensation(node, locals);
      return node.outgoing;
    } catch (error) {
      if (interruptedBy && isCancellation(error)) return { jump: interruptedBy.boundary.id, fired: interruptedBy.data };
      if (error instanceof BpmnErrorThrow) {
        const boundary = this.matchErrorBoundary(boundaries, error);
        if (boundary) return { jump: boundary.id, fired: { error: { errorCode: error.errorCode, errorMessage: error.message } } };
      }
      throw error;
    } finally {
      watchers.cancel();
      token.escalationCatcher = undefined;
    }
  }

  private matchErrorBoundary(boundaries: BoundaryEvent[], error: BpmnErrorThrow): BoundaryEvent | undefined {
    const errorBoundaries = boundaries.filter((boundary) => boundary.event.kind === 'error');
    if (!error.technical) {
      const specific = errorBoundaries.find((boundary) => {
        const ref = (boundary.event as { errorRef?: string }).errorRef;
        return ref !== undefined && (this.model.errors[ref]?.errorCode ?? ref) === error.errorCode;
      });
      if (specific) return specific;
    }
    return errorBoundaries.find((boundary) => (boundary.event as { errorRef?: string }).errorRef === undefined);
  }

  private async watchBoundary(token: Token, boundary: BoundaryEvent, locals: Variables | undefined, interrupt: (data: EventData) => void): Promise<void> {
    const event = boundary.event;
    if (event.kind === 'timer') {
      const schedule = timerSchedule(event.timer, this.context(locals), Date.now());
      let delay = schedule.firstDelayMs;
      const times = boundary.cancelActivity ? 1 : schedule.repetitions;
      for (let fired = 0; fired < times; fired++) {
        await sleep(delay);
        if (boundary.cancelActivity) return interrupt({});
        this.spawnToken(token.scope, boundary.id, undefined, { fired: {} });
        delay = schedule.intervalMs;
      }
      return;
    }
    if (event.kind === 'message') {
      for (;;) {
        const data = await this.receive(token, boundary.id, event.messageRef, event.correlationKey, locals);
        if (boundary.cancelActivity) return interrupt(data);
        this.spawnToken(token.scope, boundary.id, undefined, { fired: data });
      }
    }
    if (event.kind === 'conditional') {
      // Deploy refused conditional events before they worked: only an instance migrated onto such a version meets one on old code.
      if (!patched(patches.conditionalEvents)) return;
      // Fires when the condition turns true (on entry, then after each change that makes it true again).
      let first = true;
      for (;;) {
        await this.conditionBecomes(event.condition, locals, true, first);
        first = false;
        if (boundary.cancelActivity) return interrupt({});
        this.spawnToken(token.scope, boundary.id, undefined, { fired: {} });
        await this.conditionBecomes(event.condition, locals, false, true);
      }
    }
    if (event.kind === 'signal') {
      // Subscribing issues no command: only the patch marker, once a signal boundary is first armed.
      if (!patched(patches.signalEvents)) return;
      await this.takeSignals(event.signalRef, (data) => {
        if (boundary.cancelActivity) {
          interrupt(data);
          return false;
        }
        this.spawnToken(token.scope, boundary.id, undefined, { fired: data });
        return true;
      });
    }
  }

  private async multiInstance(token: Token, node: Activity, locals: Variables | undefined): Promise<void> {
    const spec = node.multiInstance!;
    const items = evaluateExpression(spec.inputCollection, this.context(locals));
    if (!Array.isArray(items)) throw new ExpressionError(spec.inputCollection, `the multi-instance collection of ${node.id} is not a list`);
    const results: unknown[] = items.map(() => null);
    let completed = 0;
    let active = 0;
    let done = false;
    const iterate = async (index: number) => {
      const iterationLocals: Variables = { ...(locals ?? {}), loopCounter: index + 1 };
      if (spec.inputElement) iterationLocals[spec.inputElement] = items[index];
      active++;
      try {
        await this.body(token, node, { locals: iterationLocals, loopCounter: index + 1, execution: this.nextExecution(node.id) });
      } finally {
        active--;
      }
      completed++;
      const context = { ...this.vars, ...iterationLocals };
      if (spec.outputElement) results[index] = evaluateExpression(spec.outputElement, context);
      if (spec.completionCondition) {
        const counts = { nrOfInstances: items.length, nrOfCompletedInstances: completed, nrOfActiveInstances: active };
        if (evaluateCondition(spec.completionCondition, { ...context, ...counts })) done = true;
      }
    };
    if (spec.sequential) {
      for (let index = 0; index < items.length && !done; index++) await iterate(index);
    } else {
      const scope = new CancellationScope();
      let failure: unknown;
      await scope.run(() =>
        Promise.allSettled(
          items.map((_, index) =>
            iterate(index).then(
              () => {
                if (done) scope.cancel();
              },
              (error: unknown) => {
                if (done && isCancellation(error)) return;
                if (failure === undefined) failure = error;
                scope.cancel();
              },
            ),
          ),
        ),
      );
      if (failure !== undefined) throw failure;
    }
    if (spec.outputCollection) this.writeVariable(spec.outputCollection, results, locals);
  }

  /** One execution of an activity's behaviour; a technical failure parks it as an incident in place. */
  private async body(token: Token, node: Activity, execution: Execution): Promise<void> {
    const previous = token.loopCounter;
    if (execution.loopCounter) token.loopCounter = execution.loopCounter;
    try {
      for (;;) {
        try {
          await this.executeBody(token, node, execution);
          return;
        } catch (error) {
          if (!isIncidentCause(error) && !this.unhandledError(node, error)) throw error;
          const attempts = node.type === 'serviceTask' && error instanceof ActivityFailure ? node.retries : 1;
          const resolution = await this.parkIncident(token, node.id, error, attempts);
          if (resolution.variables) this.mergeVariables(resolution.variables, execution.locals);
          if (resolution.kind === 'resolve') return;
        }
      }
    } finally {
      token.loopCounter = previous;
    }
  }

  private async executeBody(token: Token, node: Activity, execution: Execution): Promise<void> {
    switch (node.type) {
      case 'serviceTask':
        return this.serviceTask(node, execution);
      case 'userTask':
        return this.userTask(token, node, execution);
      case 'scriptTask':
        this.writeMapped(node.assignments, this.context(execution.locals), execution.locals, true);
        return;
      case 'businessRuleTask':
        return this.businessRuleTask(node, execution);
      case 'receiveTask': {
        const data = token.fired ?? (await this.receive(token, node.id, node.messageRef, node.correlationKey, execution.locals));
        token.fired = undefined;
        this.applyEventOutputs(node, data, execution.locals);
        return;
      }
      case 'task':
        if (node.outputs?.length) this.writeMapped(node.outputs, this.context(execution.locals), execution.locals);
        return;
      case 'callActivity':
        return this.callActivity(node, execution);
      case 'subProcess': {
        const locals = node.inputs?.length ? { ...(execution.locals ?? {}), ...applyMappings(node.inputs, this.context(execution.locals)) } : execution.locals;
        const inner = this.createScope(token.scope, locals, node.id);
        inner.escalationCatcher = token.escalationCatcher;
        const startData = node.triggeredByEvent ? token.fired : undefined;
        token.fired = undefined;
        await this.runScope(
          inner,
          this.startNodes(node.id).slice(0, 1).map((start) => start.id),
          undefined,
          undefined,
          startData,
        );
        if (node.outputs?.length) this.writeMapped(node.outputs, this.context(locals), execution.locals);
        return;
      }
    }
  }

  private async serviceTask(node: ServiceTask, execution: Execution): Promise<void> {
    const context = this.context(execution.locals);
    const request: ServiceTaskRequest = {
      input: node.inputs?.length ? applyMappings(node.inputs, context) : context,
      context: {
        workflowId: this.workflowId,
        processKey: this.model.key,
        processVersion: this.model.version,
        businessKey: this.input.businessKey,
        nodeId: node.id,
        loopCounter: execution.loopCounter,
        idempotencyKey: idempotencyKey(this.workflowId, node.id, String(execution.execution)),
      },
    };
    let result: unknown;
    try {
      result = await scheduleActivity(node.taskType, [request], this.serviceTaskOptions(node));
    } catch (error) {
      if (isCancellation(error)) throw error;
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === bpmnErrorType) {
        const details = cause.details?.[0] as { errorCode?: unknown } | undefined;
        throw new BpmnErrorThrow(String(details?.errorCode ?? cause.message), cause.message);
      }
      if (this.hasCatchAllErrorBoundary(node)) {
        throw new BpmnErrorThrow(cause instanceof ApplicationFailure && cause.type ? cause.type : 'TECHNICAL_FAILURE', (cause ?? (error as Error)).message, true);
      }
      throw error;
    }
    const variables = isPlainObject(result) ? result : {};
    if (node.outputs?.length) this.writeMapped(node.outputs, { ...context, ...variables }, execution.locals);
    else this.mergeVariables(variables, execution.locals);
  }

  /**
   * Evaluates the task's decision inside the workflow: the pinned graph travels in the model, and
   * the evaluator is pure, so a replay computes the same result and no command is issued. Only
   * `kf:decisionVersion="latest"` loads the graph, through an activity whose result the history
   * keeps. Inputs, when mapped, are all the decision sees; outputs map from the result variable.
   */
  private async businessRuleTask(node: BusinessRuleTask, execution: Execution): Promise<void> {
    if (!patched(patches.businessRuleTasks)) throw new Error(`business rule task ${node.id} cannot run on the code this instance started with`);
    const graph =
      node.decision ??
      (await scheduleActivity<DecisionGraph>(engineActivityNames.loadDecision, [{ key: node.decisionRef } satisfies LoadDecisionInput], engineActivityOptions));
    const context = this.context(execution.locals);
    const evaluation = evaluateDecision(graph, node.inputs?.length ? applyMappings(node.inputs, context) : context);
    this.decisions.push({
      nodeId: node.id,
      decisionKey: evaluation.decisionKey,
      decisionVersion: evaluation.version,
      evaluatedAt: nowIso(),
      ...(execution.loopCounter ? { loopCounter: execution.loopCounter } : {}),
      result: evaluation.result,
      decisions: evaluation.decisions,
    });
    if (this.decisions.length > maxDecisionRecords) this.decisions.splice(0, this.decisions.length - maxDecisionRecords);
    if (node.outputs?.length) {
      const scope: Variables = { ...context };
      setPath(scope, node.resultVariable, evaluation.result);
      this.writeMapped(node.outputs, scope, execution.locals);
    } else {
      this.writeVariable(node.resultVariable, evaluation.result, execution.locals);
    }
  }

  private serviceTaskOptions(node: ServiceTask): ActivityOptions {
    let options = this.activityOptions.get(node.id);
    if (!options) {
      const timeoutMs = safeDuration(node.timeout, 60_000);
      options = {
        startToCloseTimeout: timeoutMs,
        retry: {
          maximumAttempts: Math.max(1, node.retries),
          initialInterval: safeDuration(node.retryBackoff, 1_000),
          backoffCoefficient: 2,
          // Activities mark these failures non-retryable themselves too; the list says so to Temporal.
          nonRetryableErrorTypes: [...new Set([bpmnErrorType, ...nonRetryableExternalErrorTypes])],
        },
      };
      this.activityOptions.set(node.id, options);
    }
    return options;
  }

  private hasCatchAllErrorBoundary(node: Activity): boolean {
    return node.boundaryEventIds.some((id) => {
      const boundary = this.model.nodes[id];
      return boundary?.type === 'boundaryEvent' && boundary.event.kind === 'error' && boundary.event.errorRef === undefined;
    });
  }

  private async userTask(token: Token, node: UserTask, execution: Execution): Promise<void> {
    let task: OpenTask;
    const resumed = token.resume?.kind === 'userTask' ? token.resume : undefined;
    if (resumed) {
      token.resume = undefined;
      task = resumed.task;
    } else {
      const context = this.context(execution.locals);
      const taskId = humanTaskId(this.workflowId, node.id, execution.execution);
      const candidateGroups = node.candidateGroups === undefined ? [] : toStringList(evaluateValue(node.candidateGroups, context));
      const assignee = node.assignee === undefined ? undefined : optionalString(evaluateValue(node.assignee, context));
      const dueAt = node.dueDate === undefined ? undefined : dueInstant(evaluateValue(node.dueDate, context));
      task = {
        taskId,
        nodeId: node.id,
        name: node.name ?? node.id,
        candidateGroups,
        ...(assignee ? { assignee } : {}),
        ...(dueAt ? { dueAt } : {}),
        ...(node.formKey ? { formKey: node.formKey } : {}),
      };
      const taskContext = node.inputs?.length ? applyMappings(node.inputs, context) : {};
      const open: OpenUserTaskInput = {
        taskId,
        workflowId: this.workflowId,
        runId: this.runId,
        processKey: this.model.key,
        processVersion: this.model.version,
        businessKey: this.input.businessKey,
        nodeId: node.id,
        name: task.name,
        candidateGroups,
        assignee,
        dueAt,
        formKey: node.formKey,
        formSchema: node.form,
        priority: node.priority,
        orgUnitId: this.input.orgUnitId,
        customerId: this.input.customerId,
        context: { ...taskContext, ...(execution.loopCounter ? { loopCounter: execution.loopCounter } : {}) },
      };
      try {
        await scheduleActivity(engineActivityNames.openUserTask, [open], openTaskActivityOptions);
      } catch (error) {
        if (isCancellation(error)) await CancellationScope.nonCancellable(() => this.closeTask({ taskId, status: 'cancelled' }));
        throw error;
      }
    }
    const entry: OpenTaskEntry = { task, node, token };
    this.openTasks.set(task.taskId, entry);
    const resumable: ResumedToken | undefined =
      token.scope === this.root && !node.multiInstance
        ? { kind: 'userTask', nodeId: node.id, since: token.since, viaFlow: token.viaFlow, execution: execution.execution, task }
        : undefined;
    try {
      await this.waiting(token, resumable, () => condition(() => entry.completion !== undefined));
    } catch (error) {
      this.openTasks.delete(task.taskId);
      if (isCancellation(error)) await CancellationScope.nonCancellable(() => this.closeTask({ taskId: task.taskId, status: 'cancelled' }));
      throw error;
    }
    const completion = entry.completion!;
    this.openTasks.delete(task.taskId);
    this.completedTaskIds.add(task.taskId);
    if (node.outputs?.length) this.writeMapped(node.outputs, { ...this.context(execution.locals), ...completion.variables }, execution.locals);
    else this.mergeVariables(completion.variables, execution.locals);
    await this.closeTask({ taskId: task.taskId, status: 'completed', completedBy: completion.completedBy, outcome: completion.variables });
  }

  private async closeTask(input: CloseUserTaskInput): Promise<void> {
    await scheduleActivity(engineActivityNames.closeUserTask, [input], engineActivityOptions);
  }

  private async callActivity(node: Extract<Activity, { type: 'callActivity' }>, execution: Execution): Promise<void> {
    const context = this.context(execution.locals);
    const calledKey = String(evaluateValue(node.calledElement, context));
    const version = typeof node.calledVersion === 'number' ? node.calledVersion : undefined;
    const definition = await scheduleActivity<ProcessModel>(engineActivityNames.loadDefinition, [{ key: calledKey, version }], engineActivityOptions);
    const childBusinessKey = node.businessKey
      ? String(evaluateValue(node.businessKey, context))
      : `${this.input.businessKey}/${node.id}${execution.loopCounter ? `/${execution.loopCounter}` : ''}`;
    const propagate = node.propagateAllVariables !== false;
    const variables = node.inputs?.length ? applyMappings(node.inputs, context) : propagate ? { ...context } : {};
    let result: BpmnProcessResult;
    try {
      result = await executeChild<(input: BpmnProcessInput) => Promise<BpmnProcessResult>>(bpmnProcessWorkflowType, {
        workflowId: processInstanceId(calledKey, childBusinessKey),
        args: [
          {
            definition,
            businessKey: childBusinessKey,
            variables,
            parent: { workflowId: this.workflowId, nodeId: node.id },
            startedBy: this.input.startedBy,
            customerId: this.input.customerId,
            orgUnitId: this.input.orgUnitId,
            indexSearchAttributes: this.input.indexSearchAttributes,
            historyLimit: this.input.historyLimit,
          },
        ],
      });
    } catch (error) {
      const cause = error instanceof ChildWorkflowFailure ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === bpmnErrorType) {
        const details = cause.details?.[0] as { errorCode?: unknown } | undefined;
        throw new BpmnErrorThrow(String(details?.errorCode ?? cause.message), cause.message);
      }
      throw error;
    }
    const childVariables = result.variables ?? {};
    if (node.outputs?.length) this.writeMapped(node.outputs, { ...context, ...childVariables }, execution.locals);
    else if (propagate) this.mergeVariables(childVariables, execution.locals);
  }

  // ---------------------------------------------------------------- compensation

  private rememberCompensation(node: Activity, locals: Variables | undefined): void {
    if (node.isForCompensation) return;
    for (const id of node.boundaryEventIds) {
      const boundary = this.model.nodes[id];
      if (boundary?.type === 'boundaryEvent' && boundary.event.kind === 'compensation' && boundary.compensationHandlerId) {
        this.compensations.push({ nodeId: node.id, handlerId: boundary.compensationHandlerId, ...(locals ? { locals } : {}) });
      }
    }
  }

  /** Runs the handlers of completed activities (all, or those of one activity) in reverse completion order. */
  private async compensate(activityRef: string | undefined): Promise<void> {
    const due = this.compensations.filter((entry) => activityRef === undefined || entry.nodeId === activityRef);
    this.compensations = this.compensations.filter((entry) => !due.includes(entry));
    for (const entry of due.reverse()) {
      const handler = this.node(entry.handlerId) as Activity;
      const token: Token = { id: `t${++this.tokenSeq}`, nodeId: handler.id, scope: this.root, since: nowIso(), waits: 0, compensating: true };
      this.liveTokens.set(token.id, token);
      try {
        await this.body(token, handler, { locals: entry.locals, loopCounter: 0, execution: this.nextExecution(handler.id) });
        this.recordCompletion(handler.id, token.since);
      } finally {
        this.liveTokens.delete(token.id);
        if (token.waits > 0) this.markIndex();
      }
    }
  }

  // ---------------------------------------------------------------- incidents

  private async parkIncident(token: Token, nodeId: string, error: unknown, attempts: number): Promise<IncidentResolution> {
    const { errorType, message, errorCode } = describeFailure(error);
    const incident: Incident = {
      id: `${nodeId}:${++this.incidentSeq}`,
      nodeId,
      tokenId: token.id,
      errorType,
      message,
      ...(errorCode !== undefined ? { errorCode } : {}),
      attempts,
      createdAt: nowIso(),
    };
    const entry: IncidentEntry = { incident };
    this.incidents.set(incident.id, entry);
    log.info('incident', { ...incident });
    try {
      await this.waiting(token, undefined, () => condition(() => entry.resolution !== undefined));
      return entry.resolution!;
    } finally {
      this.incidents.delete(incident.id);
      this.markIndex();
    }
  }

  // ---------------------------------------------------------------- continue-as-new

  private async continueAsNewPoint(): Promise<void> {
    const limit = this.input.historyLimit ?? defaultHistoryLimit;
    await condition(() => {
      const info = workflowInfo();
      return (info.historyLength > limit || info.continueAsNewSuggested) && this.quiescent() && allHandlersFinished();
    });
  }

  /** Every token waits at the process level somewhere it can resume, with nothing else in flight. */
  private quiescent(): boolean {
    if (this.liveTokens.size === 0 || this.incidents.size > 0 || this.root.interrupted) return false;
    // A message an event sub-process start just took has not started it yet.
    if (this.subscriptions.some((subscription) => subscription.received !== undefined || (subscription.queue?.length ?? 0) > 0)) return false;
    for (const token of this.liveTokens.values()) {
      if (token.scope !== this.root || token.compensating || !token.resumable || token.waits !== 1) return false;
      const node = this.model.nodes[token.nodeId];
      if (!node || (isActivityNode(node) && node.boundaryEventIds.some((id) => this.model.nodes[id]?.type === 'boundaryEvent' && (this.model.nodes[id] as BoundaryEvent).event.kind !== 'compensation'))) {
        return false;
      }
    }
    return this.openTasks.size === [...this.liveTokens.values()].filter((token) => token.resumable?.kind === 'userTask').length;
  }

  private continueAsNew(): Promise<never> {
    const resume: ResumeState = {
      tokens: [...this.liveTokens.values()].map((token) => token.resumable!),
      ...(this.root.listeners ? { eventSubscriptions: [...this.root.subscriptions.values()] } : {}),
      bufferedMessages: this.buffered,
      seenMessageIds: this.seenMessageIds,
      completedTaskIds: [...this.completedTaskIds].slice(-maxSeenMessageIds),
      counters: this.counters,
      compensations: this.compensations,
      completedNodes: this.completedNodes.slice(-200),
      ...(this.decisions.length > 0 ? { decisions: this.decisions } : {}),
      tokenSeq: this.tokenSeq,
      incidentSeq: this.incidentSeq,
      runs: (this.input.resume?.runs ?? 0) + 1,
    };
    return continueAsNew<(input: BpmnProcessInput) => Promise<BpmnProcessResult>>({ ...this.input, variables: this.vars, resume });
  }

  // ---------------------------------------------------------------- helpers

  private node(id: string): FlowNode {
    const node = this.model.nodes[id];
    if (!node) throw new Error(`model ${this.model.key} has no node ${id}`);
    return node;
  }

  private flowTarget(flowId: string): string {
    const flow = this.model.flows[flowId];
    if (!flow) throw new Error(`model ${this.model.key} has no sequence flow ${flowId}`);
    return flow.targetId;
  }

  private startNodes(parentId: string | undefined): FlowNode[] {
    const starts = (this.children.get(parentId ?? '') ?? []).filter((node) => node.type === 'startEvent');
    // A process with a none start and message starts is started at the none start.
    return [...starts.filter((node) => node.type === 'startEvent' && node.event.kind === 'none'), ...starts.filter((node) => node.type === 'startEvent' && node.event.kind !== 'none')];
  }

  private nextExecution(nodeId: string): number {
    const next = this.counters[nodeId] ?? 0;
    this.counters[nodeId] = next + 1;
    return next;
  }

  private context(locals: Variables | undefined): Variables {
    return locals ? { ...this.vars, ...locals } : this.vars;
  }

  private writeVariable(target: string, value: unknown, locals: Variables | undefined): void {
    setPath(this.vars, target, value);
    if (locals) setPath(locals, target, value);
    this.variableVersion++;
  }

  private mergeVariables(variables: Variables, locals: Variables | undefined): void {
    for (const [name, value] of Object.entries(variables)) this.writeVariable(name, value, locals);
  }

  /**
   * Evaluates mappings and writes them. `sequential` (script tasks) lets each assignment see the
   * ones before it; otherwise all are evaluated first, so a failing one writes nothing.
   */
  private writeMapped(mappings: { source: string; target: string }[], context: Variables, locals: Variables | undefined, sequential = false): void {
    if (sequential) {
      for (const mapping of mappings) {
        this.writeVariable(mapping.target, evaluateExpression(mapping.source, this.context(locals)), locals);
      }
      return;
    }
    const values = mappings.map((mapping) => [mapping.target, evaluateExpression(mapping.source, context)] as const);
    for (const [target, value] of values) this.writeVariable(target, value, locals);
  }
}

/** Runs one BPMN process instance: the model in `input.definition`, pinned for the instance's life. */
export async function bpmnProcess(input: BpmnProcessInput): Promise<BpmnProcessResult> {
  return new Interpreter(input).run();
}

/** The completion's variables a task may write: with a form, its fields only. */
function formVariables(node: UserTask, variables: Variables): Variables {
  if (!node.form?.length || !patched(patches.completionFormFieldsOnly)) return variables;
  const declared = new Set(node.form.map((field) => field.id));
  return Object.fromEntries(Object.entries(variables).filter(([key]) => declared.has(key)));
}

function needsStepScope(node: FlowNode): boolean {
  return node.type !== 'startEvent' && node.type !== 'endEvent' && node.type !== 'exclusiveGateway' && node.type !== 'parallelGateway' && node.type !== 'boundaryEvent';
}

function isActivityNode(node: FlowNode): node is Activity {
  return 'boundaryEventIds' in node;
}

function isIncidentCause(error: unknown): boolean {
  return !isCancellation(error) && !(error instanceof BpmnErrorThrow);
}

function describeFailure(error: unknown): { errorType: string; message: string; errorCode?: string } {
  if (error instanceof BpmnErrorThrow) {
    return {
      errorType: unhandledErrorIncidentType,
      errorCode: error.errorCode,
      message: `BPMN error ${error.errorCode} (${error.message}) was not caught: no error boundary event or error event sub-process matches it`,
    };
  }
  if (error instanceof ActivityFailure || error instanceof ChildWorkflowFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure) return { errorType: cause.type ?? 'ApplicationFailure', message: cause.message };
    return { errorType: cause?.name ?? error.name, message: cause?.message ?? error.message };
  }
  if (error instanceof ExpressionError) return { errorType: 'ExpressionError', message: error.message };
  if (error instanceof Error) return { errorType: error.name, message: error.message };
  return { errorType: 'Error', message: String(error) };
}

function messageMatches(message: MessageInput, name: string, correlationKey: string | undefined): boolean {
  return message.name === name && (correlationKey === undefined || message.correlationKey === correlationKey);
}

function correlationString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Variables {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: updateRejections.invalidInput, message, nonRetryable: true });
}

function nowIso(): string {
  return new Date().toISOString();
}

function safeDuration(text: string | undefined, fallbackMs: number): number {
  if (!text) return fallbackMs;
  const ms = durationMs(text);
  return ms > 0 ? ms : fallbackMs;
}

function toStringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter((entry) => entry.length > 0);
  if (typeof value === 'string') return value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return [];
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : String(value);
}

/** A due date is a duration from now (`P2D`) or an instant. */
function dueInstant(value: unknown): string | undefined {
  const text = optionalString(value);
  if (!text) return undefined;
  if (/^P/i.test(text.trim())) return new Date(Date.now() + durationMs(text)).toISOString();
  return new Date(instantMs(text)).toISOString();
}
