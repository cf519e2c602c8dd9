import type { Variables } from '../contracts';
import { evaluateExpression } from '../expression';
import type { FlowNode } from '../model';
import { setPath } from '../variables';
import type { InstanceState } from './state';
import type { EventData } from './types';

/** The instance's variables, with the locals of a scope or multi-instance iteration laid over them. */
export class VariableStore {
  constructor(private readonly state: InstanceState) {}

  /** What an expression sees: the process variables, overlaid by `locals`. */
  context(locals: Variables | undefined): Variables {
    return locals ? { ...this.state.vars, ...locals } : this.state.vars;
  }

  write(target: string, value: unknown, locals: Variables | undefined): void {
    setPath(this.state.vars, target, value);
    if (locals) setPath(locals, target, value);
    this.state.variableVersion++;
  }

  merge(variables: Variables, locals: Variables | undefined): void {
    for (const [name, value] of Object.entries(variables)) this.write(name, value, locals);
  }

  /**
   * Evaluates mappings and writes them. `sequential` (script tasks) lets each assignment see the
   * ones before it; otherwise all are evaluated first, so a failing one writes nothing.
   */
  writeMapped(mappings: { source: string; target: string }[], context: Variables, locals: Variables | undefined, sequential = false): void {
    if (sequential) {
      for (const mapping of mappings) {
        this.write(mapping.target, evaluateExpression(mapping.source, this.context(locals)), locals);
      }
      return;
    }
    const values = mappings.map((mapping) => [mapping.target, evaluateExpression(mapping.source, context)] as const);
    for (const [target, value] of values) this.write(target, value, locals);
  }

  /** What an event brought, through the node's output mappings (or all its variables when it maps none). */
  applyEventOutputs(node: FlowNode, data: EventData, locals: Variables | undefined): void {
    const variables = { ...(data.variables ?? {}), ...(data.error ?? {}), ...(data.escalation ?? {}) };
    if (node.outputs && node.outputs.length > 0) {
      this.writeMapped(node.outputs, { ...this.context(locals), ...variables }, locals);
    } else if (data.variables) {
      this.merge(data.variables, locals);
    }
  }
}
