import { stringAttr } from '../document-reading';
import { staffRoles, type FlowNode, type ProcessModel, type SequenceFlow, type StaffRole } from '../model';
import { ElementReading, supportedSummary } from './element-reading';
import { definitionForBpmnType } from './elements/registry';
import { localName, problem, processOf, type El } from './moddle-element';
import { documentElementId, type ModelProblem, type ModelProblemCode } from './problems';

/** Elements that may sit in a process but carry no behaviour: pools, lanes, annotations, data. */
const ignoredElements = new Set([
  'bpmn:TextAnnotation',
  'bpmn:Association',
  'bpmn:Group',
  'bpmn:DataObject',
  'bpmn:DataObjectReference',
  'bpmn:DataStoreReference',
  'bpmn:Category',
]);

/** Element kinds Keyflow cannot execute; the validator names them. */
const unsupportedElements: Record<string, string> = {
  'bpmn:ComplexGateway': 'complex gateways',
  'bpmn:Transaction': 'transaction sub-processes',
  'bpmn:AdHocSubProcess': 'ad-hoc sub-processes',
  'bpmn:ImplicitThrowEvent': 'implicit throw events',
  'bpmn:ChoreographyTask': 'choreographies',
};

/**
 * Builds one process's executable model from its moddle tree: messages and errors, then every
 * flow element through its kind's definition (elements/), then what needs every node known —
 * link flows, message flows to other pools, incoming/outgoing, boundaries and compensation.
 */
export class ModelBuilder {
  private readonly model: ProcessModel;
  private readonly reading: ElementReading;
  /** Flow elements that were reported as unsupported and left out of the model. */
  readonly refusedNodeIds = new Set<string>();

  constructor(
    private readonly definitions: El,
    private readonly process: El,
    private readonly problems: ModelProblem[],
  ) {
    this.model = { key: process.id ?? '', name: process.name, version: 0, nodes: {}, flows: {}, messages: {}, errors: {} };
    this.reading = new ElementReading(this.model, problems);
  }

  /**
   * Message flows of the document's collaborations that leave a message throw of this process:
   * the throw publishes its message to the processes they reach. A message flow from anything else
   * (a task, the pool's border) is documentation only.
   */
  private linkMessageFlows(): void {
    for (const collaboration of ((this.definitions.rootElements ?? []) as El[]).filter((root) => root.$type === 'bpmn:Collaboration')) {
      for (const flow of (collaboration.messageFlows ?? []) as El[]) {
        const source = this.model.nodes[(flow.sourceRef as El | undefined)?.id ?? ''];
        if (!source || (source.type !== 'intermediateThrowEvent' && source.type !== 'endEvent') || source.event.kind !== 'message') continue;
        const target = flow.targetRef as El | undefined;
        const processId = target?.$type === 'bpmn:Participant' ? (target.processRef as El | undefined)?.id : processOf(target);
        if (!processId) {
          this.report(flow.id ?? source.id, 'MISSING_REFERENCE', `the message flow from "${source.id}" reaches no process (a pool without a process, or nothing)`);
          continue;
        }
        if (!(source.messageTargets ?? []).includes(processId)) source.messageTargets = [...(source.messageTargets ?? []), processId];
      }
    }
  }

  build(): ProcessModel {
    for (const root of (this.definitions.rootElements ?? []) as El[]) {
      if (root.$type === 'bpmn:Message' && root.id) this.model.messages[root.id] = { id: root.id, name: root.name ?? root.id };
      if (root.$type === 'bpmn:Error' && root.id) {
        if (!root.errorCode) this.report(root.id, 'MISSING_ATTRIBUTE', 'the error has no errorCode; an error boundary event matches on it');
        this.model.errors[root.id] = { id: root.id, errorCode: root.errorCode ?? root.id, ...(root.name ? { name: root.name } : {}) };
      }
    }
    this.readStarters();
    this.collect(this.process, undefined);
    this.reading.joinLinks();
    this.linkMessageFlows();
    this.linkFlows();
    this.linkCompensationHandlers(this.process);
    return this.model;
  }

  /** `kf:starters="customer_manager, supervisor"`: who may start the process by hand; each must be a staff role. */
  private readStarters(): void {
    const text = stringAttr(this.process.starters);
    if (text === undefined) return;
    const names = text.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = names.filter((name) => !(staffRoles as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      this.report(this.process.id ?? documentElementId, 'INVALID_ATTRIBUTE', `kf:starters ${names.length === 0 ? 'is empty' : `names ${unknown.map((name) => JSON.stringify(name)).join(', ')}, which ${unknown.length === 1 ? 'is not a role' : 'are not roles'}`}; list roles of ${staffRoles.join(', ')}, or leave it out for a process only the system starts`);
      return;
    }
    this.model.starters = [...new Set(names)] as StaffRole[];
  }

  private report(elementId: string, code: ModelProblemCode, message: string): void {
    this.problems.push(problem(elementId, code, message));
  }

  private collect(container: El, parentId: string | undefined): void {
    for (const element of (container.flowElements ?? []) as El[]) {
      if (element.$type === 'bpmn:SequenceFlow') {
        this.addFlow(element);
        continue;
      }
      if (ignoredElements.has(element.$type)) continue;
      const node = this.toNode(element, parentId);
      if (!node) {
        if (element.id) this.refusedNodeIds.add(element.id);
        continue;
      }
      this.model.nodes[node.id] = node;
      if (node.type === 'subProcess') this.collect(element, node.id);
    }
  }

  private addFlow(element: El): void {
    const id = element.id!;
    const flow: SequenceFlow = { id, sourceId: element.sourceRef?.id ?? '', targetId: element.targetRef?.id ?? '' };
    if (element.name) flow.name = element.name;
    const condition = element.conditionExpression?.body;
    if (typeof condition === 'string' && condition.trim() !== '') flow.condition = condition.trim();
    if (!element.sourceRef) this.report(id, 'INVALID_FLOW', 'the sequence flow has no source');
    if (!element.targetRef) this.report(id, 'INVALID_FLOW', 'the sequence flow has no target');
    this.model.flows[id] = flow;
  }

  private toNode(element: El, parentId: string | undefined): FlowNode | null {
    const id = element.id;
    if (!id) {
      this.report(documentElementId, 'MISSING_ATTRIBUTE', `a <${localName(element.$type)}> has no id`);
      return null;
    }
    const unsupported = unsupportedElements[element.$type];
    if (unsupported) {
      this.report(id, 'UNSUPPORTED_ELEMENT', `${unsupported} are not supported (${supportedSummary})`);
      return null;
    }
    const base = {
      id,
      ...(element.name ? { name: element.name as string } : {}),
      ...(parentId ? { parentId } : {}),
      incoming: [] as string[],
      outgoing: [] as string[],
      ...this.reading.mappings(element),
    };
    const definition = definitionForBpmnType(element.$type);
    if (!definition) {
      this.report(id, 'UNSUPPORTED_ELEMENT', `<${localName(element.$type)}> is not supported (${supportedSummary})`);
      return null;
    }
    return definition.read(element, base, this.reading);
  }

  /** Incoming and outgoing come from the flows' own refs: hand-written XML often omits <incoming>. */
  private linkFlows(): void {
    for (const flow of Object.values(this.model.flows)) {
      this.model.nodes[flow.sourceId]?.outgoing.push(flow.id);
      this.model.nodes[flow.targetId]?.incoming.push(flow.id);
    }
  }

  /** Boundary ids onto their activities, and compensation associations onto their boundary events. */
  private linkCompensationHandlers(process: El): void {
    for (const node of Object.values(this.model.nodes)) {
      if (node.type !== 'boundaryEvent') continue;
      const host = this.model.nodes[node.attachedToRef];
      if (host && 'boundaryEventIds' in host) host.boundaryEventIds.push(node.id);
    }
    const associations: El[] = [];
    const gather = (container: El) => {
      for (const artifact of (container.artifacts ?? []) as El[]) if (artifact.$type === 'bpmn:Association') associations.push(artifact);
      for (const element of (container.flowElements ?? []) as El[]) if (element.$type === 'bpmn:SubProcess') gather(element);
    };
    gather(process);
    for (const association of associations) {
      const source = this.model.nodes[(association.sourceRef as El | undefined)?.id ?? ''];
      const target = (association.targetRef as El | undefined)?.id;
      if (source?.type === 'boundaryEvent' && source.event.kind === 'compensation' && target) source.compensationHandlerId = target;
    }
  }
}
