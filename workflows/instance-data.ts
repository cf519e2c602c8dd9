// The values that go into and come out of an instance — variables, messages, open tasks,
// decisions — apart from the contracts that carry them, so the state a continue-as-new hands on
// (engine-state.ts) can name them without the contracts naming it back.
import type { EvaluatedDecision } from './dmn/evaluate';

/** Variables of a process instance: JSON values only (they travel through Temporal's payloads). */
export type Variables = Record<string, unknown>;

/**
 * A BPMN message delivered to an instance: by name, and by correlation key when the waiting
 * element declares one. `messageId` makes a redelivery (a duplicate callback) a no-op.
 */
export interface MessageInput {
  name: string;
  correlationKey?: string;
  messageId?: string;
  variables?: Variables;
  /**
   * A BPMN signal rather than a message: delivered to every signal catch event, signal boundary
   * event and signal start of an event sub-process of the instance waiting for `name` at that
   * moment (no correlation key), and dropped when none waits (signals are not buffered).
   */
  signal?: boolean;
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

/** One business rule task's evaluation, kept in the instance state so an instance view can show why it went where it went. */
export interface DecisionRecord {
  nodeId: string;
  decisionKey: string;
  decisionVersion: number;
  evaluatedAt: string;
  loopCounter?: number;
  /** The decision's result, as written to the task's result variable. */
  result: unknown;
  /** Every decision of the graph that ran (required ones first): matched rule ids, input values, result. */
  decisions: EvaluatedDecision[];
}
