import { Worker } from 'node:worker_threads';
import { withWorkflowStackTraceLimit } from '../../../runtime/workflow-stack-traces';

/** The Error.stackTraceLimit a thread created now starts with. */
function limitOfNewThread(): Promise<number> {
  return new Promise((resolve, reject) => {
    const thread = new Worker("require('node:worker_threads').parentPort.postMessage(Error.stackTraceLimit)", { eval: true });
    thread.once('message', (limit: number) => void thread.terminate().then(() => resolve(limit)));
    thread.once('error', reject);
  });
}

describe('workflow threads keep short stack traces', () => {
  it('starts threads created inside with the limit, and leaves this thread and later threads as they were', async () => {
    const own = Error.stackTraceLimit;

    const inside = await withWorkflowStackTraceLimit(3, limitOfNewThread);

    expect(inside).toBe(3);
    expect(Error.stackTraceLimit).toBe(own);
    expect(await limitOfNewThread()).toBe(own);
  });

  it('puts the limit back when creating the worker fails', async () => {
    const own = Error.stackTraceLimit;
    await expect(withWorkflowStackTraceLimit(2, () => Promise.reject(new Error('no server')))).rejects.toThrow('no server');
    expect(await limitOfNewThread()).toBe(own);
  });
});
