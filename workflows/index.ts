// The workflow types the worker registers. Everything reachable from here is bundled into
// Temporal's deterministic sandbox.
export { echoWorkflow } from './echo';
export { bpmnProcess } from './bpmn-process';
export { opsBatch } from './ops-batch';
export { signalBroadcast } from './signal-broadcast';
