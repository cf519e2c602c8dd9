import { patched } from '@temporalio/workflow';
import { isEventSubprocess, type Activity, type BoundaryEvent, type FlowNode, type StartEvent, type SubProcess } from '../model';
import { patches } from '../patches';
import type { Engine } from './engine';
import { BpmnErrorThrow } from './failures';
import { isActivityNode } from './graph';

/**
 * Which catcher takes a code: the one drawn for that code, else a catch-all (drawn without one).
 * The one search behind error boundaries, error and escalation event sub-processes and escalation
 * boundaries; `specificFirst` false skips the code (a technical failure only a catch-all takes).
 */
export function pickCatcher<T>(candidates: T[], codeOf: (candidate: T) => string | undefined, code: string, specificFirst = true): T | undefined {
  const specific = specificFirst ? candidates.find((candidate) => codeOf(candidate) !== undefined && codeOf(candidate) === code) : undefined;
  return specific ?? candidates.find((candidate) => codeOf(candidate) === undefined);
}

/** Where BPMN errors and escalations are caught: boundaries of activities and event sub-processes of scopes. */
export class ErrorCatching {
  constructor(private readonly engine: Engine) {}

  /** The error boundary among `boundaries` that catches this error. */
  errorBoundary(boundaries: BoundaryEvent[], error: BpmnErrorThrow): BoundaryEvent | undefined {
    const errorBoundaries = boundaries.filter((boundary) => boundary.event.kind === 'error');
    return pickCatcher(errorBoundaries, (boundary) => this.errorCodeOf((boundary.event as { errorRef?: string }).errorRef), error.errorCode, !error.technical);
  }

  /** The error event sub-process of a scope that catches this error. */
  errorEventSubprocess(containerId: string | undefined, error: BpmnErrorThrow): SubProcess | undefined {
    const { graph } = this.engine;
    const catching = graph
      .eventSubprocesses(containerId)
      .map((eventSubprocess) => ({ eventSubprocess, start: graph.eventSubprocessStart(eventSubprocess) }))
      .filter((entry) => entry.start?.event.kind === 'error');
    const refOf = (start: StartEvent | undefined) => (start?.event as { errorRef?: string }).errorRef;
    return pickCatcher(catching, (entry) => this.errorCodeOf(refOf(entry.start)), error.errorCode)?.eventSubprocess;
  }

  /** The escalation event sub-process of a scope that catches this code. */
  escalationEventSubprocess(containerId: string | undefined, escalationCode: string): SubProcess | undefined {
    const { graph } = this.engine;
    const catching = graph.eventSubprocesses(containerId).filter((eventSubprocess) => graph.eventSubprocessStart(eventSubprocess)?.event.kind === 'escalation');
    return pickCatcher(catching, (eventSubprocess) => (graph.eventSubprocessStart(eventSubprocess)!.event as { escalationCode?: string }).escalationCode, escalationCode);
  }

  /** A service task with an error boundary for any error turns its last technical failure into a BPMN error. */
  hasCatchAllErrorBoundary(node: Activity): boolean {
    return node.boundaryEventIds.some((id) => {
      const boundary = this.engine.state.model.nodes[id];
      return boundary?.type === 'boundaryEvent' && boundary.event.kind === 'error' && boundary.event.errorRef === undefined;
    });
  }

  /**
   * A BPMN error thrown at `node` that nothing in this instance would catch, on an instance that
   * raises incidents for them (Camunda 8) rather than failing as instances before the change did.
   * The patch is consulted last, so only instances that meet such an error record its marker.
   */
  unhandledError(node: FlowNode, error: unknown): error is BpmnErrorThrow {
    if (!(error instanceof BpmnErrorThrow) || error.technical) return false;
    if (node.type !== 'endEvent' && node.type !== 'serviceTask' && node.type !== 'callActivity') return false;
    return !this.isCaught(node, error) && patched(patches.unhandledErrorIncident);
  }

  /**
   * Whether an error thrown at `node` finds a catcher, searched as the token would unwind: the
   * node's own error boundary events, then for each enclosing scope its error event sub-processes
   * and the error boundary events of the sub-process that opened it, up to the process. A called
   * process hands every error it does not catch to its call activity in the parent.
   */
  private isCaught(node: FlowNode, error: BpmnErrorThrow): boolean {
    const { graph, state } = this.engine;
    if (isActivityNode(node) && this.errorBoundary(graph.boundariesOf(node), error)) return true;
    let from: FlowNode = node;
    let containerId = node.parentId;
    for (;;) {
      // Inside an interrupting event sub-process its scope is interrupted: that scope's event sub-processes no longer listen.
      const interruptedScope = isEventSubprocess(from) && graph.eventSubprocessStart(from)?.isInterrupting !== false;
      if (!interruptedScope && this.errorEventSubprocess(containerId, error)) return true;
      if (containerId === undefined) break;
      const container = state.model.nodes[containerId];
      if (!container || !isActivityNode(container)) break;
      if (this.errorBoundary(graph.boundariesOf(container), error)) return true;
      from = container;
      containerId = container.parentId;
    }
    return state.input.parent !== undefined;
  }

  private errorCodeOf(errorRef: string | undefined): string | undefined {
    return errorRef === undefined ? undefined : (this.engine.state.model.errors[errorRef]?.errorCode ?? errorRef);
  }
}
