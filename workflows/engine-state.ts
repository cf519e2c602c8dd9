import type { DecisionRecord, MessageInput, OpenTask, Variables } from './instance-data';

/**
 * A completed activity with a compensation handler, remembered until it is compensated; or a
 * completed sub-process without one of its own, holding what completed inside it (compensating
 * the sub-process compensates those, last first).
 */
export type CompensationEntry =
  | {
      nodeId: string;
      handlerId: string;
      /** The local variables (multi-instance element, loop counter) the activity ran with. */
      locals?: Variables;
      /** The scope it completed in (absent before scoped compensation: the process). */
      scopeId?: string;
    }
  | { nodeId: string; scopeId?: string; children: CompensationEntry[] };

export interface CompletedNode {
  nodeId: string;
  startedAt: string;
  completedAt: string;
}

/**
 * A token carried over a continue-as-new: it stands at a wait state and resumes waiting there, or
 * at an embedded sub-process whose own tokens wait inside it (carried with the sub-process's
 * locals, joins and scope id, so they resume where they were), or at a multi-instance activity
 * whose iterations in flight wait in their bodies.
 */
export type ResumedToken =
  | { kind: 'userTask'; nodeId: string; since: string; viaFlow?: string; execution: number; task: OpenTask }
  | { kind: 'message'; nodeId: string; since: string; viaFlow?: string; name: string; correlationKey?: string; signal?: boolean }
  | { kind: 'timer'; nodeId: string; since: string; viaFlow?: string; deadline: number }
  | { kind: 'subProcess'; nodeId: string; since: string; viaFlow?: string; scopeId: string; locals?: Variables; tokens: ResumedToken[]; joins?: CarriedJoin[] }
  | {
      kind: 'multiInstance';
      nodeId: string;
      since: string;
      viaFlow?: string;
      /** The input collection as it was evaluated when the activity started (not evaluated again). */
      items: unknown[];
      /** The output element of each iteration so far, by index. */
      results: unknown[];
      /** Indexes of the iterations that completed. */
      completed: number[];
      /** The iterations in flight, each waiting in its body. */
      iterations: CarriedIteration[];
    };

/** One multi-instance iteration a continue-as-new carried: its index, execution number and where its body waits. */
export interface CarriedIteration {
  index: number;
  execution: number;
  /** A user task or receive task's wait, or (for a sub-process body) the sub-process with its tokens. */
  body: ResumedToken;
}

/** A parallel join's arrivals so far, by incoming flow: tokens already absorbed there count after a continue-as-new too. */
export interface CarriedJoin {
  gatewayId: string;
  arrivals: [string, number][];
}

/**
 * A process-level event sub-process start that still listens, carried over a continue-as-new so a
 * timer keeps its deadline (and a cycle its remaining repetitions) and a message its correlation key.
 */
export type ResumedEventSubscription =
  | { kind: 'timer'; nodeId: string; deadline: number; remaining: number; intervalMs: number }
  | { kind: 'message'; nodeId: string; name: string; correlationKey?: string; signal?: boolean };

/**
 * Everything a run hands to the next when it continues as new at a quiescent point (every token
 * waiting at the process level): tokens, open tasks, message subscriptions and buffered messages,
 * timer deadlines, and the bookkeeping that keeps ids and idempotency keys stable.
 */
export interface ResumeState {
  tokens: ResumedToken[];
  /** Absent from runs before event sub-processes: the process-level ones then open afresh. */
  eventSubscriptions?: ResumedEventSubscription[];
  bufferedMessages: MessageInput[];
  seenMessageIds: string[];
  completedTaskIds: string[];
  counters: Record<string, number>;
  compensations: CompensationEntry[];
  completedNodes: CompletedNode[];
  /** Absent from runs before business rule tasks. */
  decisions?: DecisionRecord[];
  tokenSeq: number;
  incidentSeq: number;
  /** Absent from runs before tokens resumed inside sub-processes. */
  scopeSeq?: number;
  /** The process-level parallel joins' arrivals (absent from earlier runs). */
  joins?: CarriedJoin[];
  /** How many runs came before this one (1 after the first continue-as-new). */
  runs: number;
}
