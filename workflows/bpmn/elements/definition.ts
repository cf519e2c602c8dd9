import type { FlowNode, ProcessModel } from '../../model';
import type { ElementReading, NodeBase } from '../element-reading';
import type { El } from '../moddle-element';
import type { ModelProblemCode } from '../problems';

export type Report = (elementId: string, code: ModelProblemCode, message: string) => void;

export interface NodeCheckOptions {
  /** The service-task types the worker runs; absent, `kf:type` is not checked. */
  knownTaskTypes?: ReadonlySet<string>;
}

/**
 * How one kind of element is read from BPMN and checked once the model is whole. What it does at
 * run time is its processor in workflows/interpreter/elements: the designer runs these readers in
 * the browser, the workflow bundle runs the processors, and neither carries the other's code.
 */
export interface ElementDefinition<N extends FlowNode = FlowNode> {
  /** The BPMN element types read into this kind (a send task is a service task). */
  readonly bpmnTypes: readonly string[];
  /** The node, or null when the element cannot be read (reported). */
  read(element: El, base: NodeBase, reading: ElementReading): FlowNode | null;
  /** Checks that need the whole model: references, flows, the worker's catalog. */
  validate?(node: N, model: ProcessModel, report: Report, options: NodeCheckOptions): void;
}
