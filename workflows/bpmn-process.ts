import type { BpmnProcessInput, BpmnProcessResult } from './contracts';
import { runInstance } from './interpreter/instance';

/**
 * Runs one BPMN process instance: the model in `input.definition`, pinned for the instance's life.
 * The interpreter lives in `interpreter/` (docs/engine.md describes it).
 */
export async function bpmnProcess(input: BpmnProcessInput): Promise<BpmnProcessResult> {
  return runInstance(input);
}
