import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { BpmnProcessInput, BpmnProcessResult } from '../contracts';
import type { ResumeState } from '../engine-state';
import type { BoundaryEvent } from '../model';
import type { Engine } from './engine';
import { isActivityNode } from './graph';

const defaultHistoryLimit = 4_000;
/** Ids kept across a run, as the message handler keeps them. */
const maxCarriedTaskIds = 2_000;

/**
 * Keeps a long-lived instance's history bounded: past the limit (or when Temporal suggests it), at
 * the first quiescent point the run hands its tokens and bookkeeping to a new run of itself.
 */
export class ContinueAsNew {
  constructor(private readonly engine: Engine) {}

  /** Resolves at the first moment the run may continue as new. */
  async point(): Promise<void> {
    const limit = this.engine.state.input.historyLimit ?? defaultHistoryLimit;
    await condition(() => {
      const info = workflowInfo();
      return (info.historyLength > limit || info.continueAsNewSuggested) && this.quiescent() && allHandlersFinished();
    });
  }

  continue(): Promise<never> {
    const { state } = this.engine;
    const resume: ResumeState = {
      tokens: [...state.liveTokens.values()].map((token) => token.resumable!),
      ...(state.root.listeners ? { eventSubscriptions: [...state.root.subscriptions.values()] } : {}),
      bufferedMessages: state.buffered,
      seenMessageIds: state.seenMessageIds,
      completedTaskIds: [...state.completedTaskIds].slice(-maxCarriedTaskIds),
      counters: state.counters,
      compensations: state.compensations,
      completedNodes: state.completedNodes.slice(-200),
      ...(state.decisions.length > 0 ? { decisions: state.decisions } : {}),
      tokenSeq: state.tokenSeq,
      incidentSeq: state.incidentSeq,
      runs: (state.input.resume?.runs ?? 0) + 1,
    };
    return continueAsNew<(input: BpmnProcessInput) => Promise<BpmnProcessResult>>({ ...state.input, variables: state.vars, resume });
  }

  /** Every token waits at the process level somewhere it can resume, with nothing else in flight. */
  private quiescent(): boolean {
    const { state } = this.engine;
    if (state.liveTokens.size === 0 || state.incidents.size > 0 || state.root.interrupted) return false;
    // A message an event sub-process start just took has not started it yet.
    if (this.engine.subscriptions.inFlight()) return false;
    for (const token of state.liveTokens.values()) {
      if (token.scope !== state.root || token.compensating || !token.resumable || token.waits !== 1) return false;
      const node = state.model.nodes[token.nodeId];
      if (!node || (isActivityNode(node) && node.boundaryEventIds.some((id) => state.model.nodes[id]?.type === 'boundaryEvent' && (state.model.nodes[id] as BoundaryEvent).event.kind !== 'compensation'))) {
        return false;
      }
    }
    return state.openTasks.size === [...state.liveTokens.values()].filter((token) => token.resumable?.kind === 'userTask').length;
  }
}
