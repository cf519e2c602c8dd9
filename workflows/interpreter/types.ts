import type { CancellationScope } from '@temporalio/workflow';
import type { CompleteTaskInput, Incident, MessageInput, OpenTask, Variables } from '../contracts';
import type { ResumedEventSubscription, ResumedToken } from '../engine-state';
import type { UserTask } from '../model';

/** What an event brought with it: a message's or signal's variables, a caught error, an escalation. */
export interface EventData {
  variables?: Variables;
  error?: { errorCode: string; errorMessage: string };
  escalation?: { escalationCode: string };
}

/** Takes an escalation thrown inside a sub-process to the sub-process's escalation boundary; undefined when none matches. */
export type EscalationCatcher = (escalationCode: string, data: EventData) => 'interrupting' | 'nonInterrupting' | undefined;

/** Where tokens run together: the process, or one execution of a (event) sub-process. */
export interface Scope {
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
  /** The token at the sub-process whose content runs here (absent for the process). */
  holder?: Token;
  /** The multi-instance iteration whose sub-process body runs here. */
  iteration?: Iteration;
}

/**
 * Where a token is in its life at its node: `activating` (placed, about to step), `active` (its
 * step runs: waiting, calling, deciding), `completing` (the step answered; its flows are being
 * taken), `completed` (its path ended), `terminating` (cancelled with its scope, or by an
 * interrupting event sub-process: how it ends is expected, whatever it ends with).
 */
export type TokenPhase = 'activating' | 'active' | 'completing' | 'completed' | 'terminating';

/** One position in the process: it walks from node to node as an async flow of its own. */
export interface Token {
  id: string;
  nodeId: string;
  phase: TokenPhase;
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
  /** While the token runs a multi-instance activity: its progress (absent in runs from before it was tracked). */
  multiInstance?: MultiInstanceProgress;
  /** Set on tokens that run a compensation handler (not part of any scope). */
  compensating?: boolean;
  /** While the token runs a sub-process with escalation boundaries: the scope it opens hands escalations here. */
  escalationCatcher?: EscalationCatcher;
}

/** One execution of an activity's behaviour (one per multi-instance iteration). */
export interface Execution {
  locals?: Variables;
  /** Multi-instance loop counter (1-based); 0 outside multi-instance. */
  loopCounter: number;
  /** Per-node execution number: the stable part of task ids and idempotency keys. */
  execution: number;
  /** The multi-instance iteration this execution is: it resumes and is carried on its own, not on the token. */
  iteration?: Iteration;
}

/**
 * One multi-instance iteration in flight. The iterations of a parallel multi-instance share the
 * token at the activity, so what a continue-as-new carries of each (and what it resumes) is kept here.
 */
export interface Iteration {
  index: number;
  execution: number;
  /** Waits in progress in this iteration's body. */
  waits: number;
  /** Carried over a continue-as-new: the body resumes this wait. */
  resume?: ResumedToken;
  /** What a continue-as-new would carry of the body while it waits somewhere resumable. */
  resumable?: ResumedToken;
  /** The scope of a sub-process body. */
  scope?: Scope;
}

/** A multi-instance activity's progress, as a continue-as-new carries it. */
export interface MultiInstanceProgress {
  items: unknown[];
  results: unknown[];
  completed: Set<number>;
  inFlight: Map<number, Iteration>;
}

export interface OpenTaskEntry {
  task: OpenTask;
  node: UserTask;
  token: Token;
  completion?: CompleteTaskInput;
}

export type IncidentResolution = { kind: 'retry'; variables?: Variables } | { kind: 'resolve'; variables: Variables };

export interface IncidentEntry {
  incident: Incident;
  resolution?: IncidentResolution;
}

/** An open wait for a message or signal, matched by the message handler and listed in KfWaitingFor. */
export interface Subscription {
  name: string;
  correlationKey?: string;
  /** Waits for a BPMN signal of this name, not a message. */
  signal?: boolean;
  received?: MessageInput;
  /** A listener that takes every signal (a boundary or event sub-process start): several may come in one activation. */
  queue?: MessageInput[];
}

/** A step's outcome: flows to take, a jump to a (boundary) node, or null when the token was consumed by a join. */
export type StepResult = string[] | { jump: string; fired?: EventData } | null;
