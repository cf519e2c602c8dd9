import { isEventSubprocess, type Activity, type BoundaryEvent, type FlowNode, type ProcessModel, type StartEvent, type SubProcess } from '../model';

/**
 * The pinned model read as a graph: nodes by id, children by container, reachability for inclusive
 * joins. Indexed once per model (again when an instance migrates to another version).
 */
export class ModelGraph {
  private readonly children = new Map<string, FlowNode[]>();
  private readonly reachers = new Map<string, Set<string>>();

  constructor(private model: ProcessModel) {
    this.indexChildren();
  }

  /** Re-reads the graph for another version of the model (an instance migrated onto it). */
  repin(model: ProcessModel): void {
    this.model = model;
    this.indexChildren();
    this.reachers.clear();
  }

  node(id: string): FlowNode {
    const node = this.model.nodes[id];
    if (!node) throw new Error(`model ${this.model.key} has no node ${id}`);
    return node;
  }

  flowTarget(flowId: string): string {
    const flow = this.model.flows[flowId];
    if (!flow) throw new Error(`model ${this.model.key} has no sequence flow ${flowId}`);
    return flow.targetId;
  }

  startNodes(parentId: string | undefined): FlowNode[] {
    const starts = (this.children.get(parentId ?? '') ?? []).filter((node) => node.type === 'startEvent');
    // A process with a none start and message starts is started at the none start.
    return [...starts.filter((node) => node.type === 'startEvent' && node.event.kind === 'none'), ...starts.filter((node) => node.type === 'startEvent' && node.event.kind !== 'none')];
  }

  eventSubprocesses(containerId: string | undefined): SubProcess[] {
    return (this.children.get(containerId ?? '') ?? []).filter((node): node is SubProcess => isEventSubprocess(node));
  }

  eventSubprocessStart(eventSubprocess: SubProcess): StartEvent | undefined {
    return (this.children.get(eventSubprocess.id) ?? []).find((node): node is StartEvent => node.type === 'startEvent');
  }

  boundariesOf(node: Activity): BoundaryEvent[] {
    return node.boundaryEventIds.map((id) => this.model.nodes[id]).filter((boundary): boundary is BoundaryEvent => boundary?.type === 'boundaryEvent');
  }

  /** Every node from which a token could still reach `nodeId` (boundaries through their activity). */
  reachersOf(nodeId: string): Set<string> {
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

  private indexChildren(): void {
    this.children.clear();
    for (const node of Object.values(this.model.nodes)) {
      const parent = node.parentId ?? '';
      const list = this.children.get(parent) ?? [];
      list.push(node);
      this.children.set(parent, list);
    }
  }
}

export function isActivityNode(node: FlowNode): node is Activity {
  return 'boundaryEventIds' in node;
}
