import { workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { BpmnProcessInput, DecisionRecord, InstanceStatus, MessageInput, Variables } from '../contracts';
import type { CompensationEntry, CompletedNode } from '../engine-state';
import type { ProcessModel } from '../model';
import type { IncidentEntry, OpenTaskEntry, Scope, Subscription, Token } from './types';

/**
 * What one run of an instance knows: the pinned model, the variables, the live tokens and what
 * they wait on, and the bookkeeping a continue-as-new carries to the next run. Plain data: the
 * behaviours that change it live in the modules beside this one.
 */
export class InstanceState {
  model: ProcessModel;
  input: BpmnProcessInput;
  readonly workflowId: string;
  readonly runId: string;
  readonly vars: Variables;
  status: InstanceStatus = 'running';
  readonly liveTokens = new Map<string, Token>();
  readonly openTasks = new Map<string, OpenTaskEntry>();
  readonly completedTaskIds: Set<string>;
  readonly incidents = new Map<string, IncidentEntry>();
  readonly subscriptions: Subscription[] = [];
  readonly buffered: MessageInput[];
  readonly seenMessageIds: string[];
  readonly seenMessageIdSet: Set<string>;
  readonly counters: Record<string, number>;
  compensations: CompensationEntry[];
  readonly completedNodes: CompletedNode[];
  readonly decisions: DecisionRecord[];
  tokenSeq: number;
  incidentSeq: number;
  scopeSeq = 0;
  /** Counts variable writes: conditional events evaluate their condition again when it moves. */
  variableVersion = 0;
  /** Service task activity options by node id, computed once. */
  readonly activityOptions = new Map<string, ActivityOptions>();
  root!: Scope;

  constructor(input: BpmnProcessInput) {
    this.input = input;
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
    this.scopeSeq = resume?.scopeSeq ?? 0;
  }

  /** The next execution number of a node: the stable part of its task ids and idempotency keys. */
  nextExecution(nodeId: string): number {
    const next = this.counters[nodeId] ?? 0;
    this.counters[nodeId] = next + 1;
    return next;
  }
}
