import v8 from 'node:v8';

/**
 * Creates a worker whose workflow threads start with `Error.stackTraceLimit` = `limit`, while this
 * thread (activities, logging) keeps its own. The SDK captures a stack trace for every promise
 * workflow code creates (for its `__stack_trace` query); the interpreter's tokens await through
 * several layers per step, and that capture, which grows with the stack's depth, was most of what
 * it cost beyond a hand-written workflow (bench:engine, 2,000 instances: ratio to a hand-written workflow 0.74 with V8's
 * default of 10 frames, 0.91 with 2). Raise KEYFLOW_WORKFLOW_STACK_TRACE_LIMIT to debug workflow code.
 * V8 gives a new context the limit of the flag at its creation, and Worker.create starts the
 * workflow threads and their contexts before it resolves; the flag is put back right after.
 */
export async function withWorkflowStackTraceLimit<T>(limit: number, create: () => Promise<T>): Promise<T> {
  const own = Error.stackTraceLimit;
  v8.setFlagsFromString(`--stack-trace-limit=${limit}`);
  try {
    return await create();
  } finally {
    v8.setFlagsFromString(`--stack-trace-limit=${own}`);
  }
}
