// The bench's worker, in a process of its own so its RSS is the worker's alone.
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { withWorkflowStackTraceLimit } from '../runtime/workflow-stack-traces';
import type { ServiceTaskRequest } from '../workflows/contracts';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const [address, namespace, taskQueue, bundlePath, stackTraceLimit] = process.argv.slice(2) as [string, string, string, string, string];
  const connection = await NativeConnection.connect({ address });
  // As the production worker runs workflows (commands/worker.ts), so the bench measures that.
  const worker = await withWorkflowStackTraceLimit(Number(stackTraceLimit), () =>
    Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowBundle: { codePath: bundlePath },
      activities: {
        async 'bench.step'(request: ServiceTaskRequest) {
          return { [`${request.context.nodeId}Done`]: true };
        },
      },
    }),
  );
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 200);
  process.on('message', (message: unknown) => {
    if (message === 'rss') process.send!({ rss: process.memoryUsage().rss, peakRss });
    if (message === 'stop') {
      clearInterval(sampler);
      worker.shutdown();
    }
  });
  const running = worker.run();
  process.send!('ready');
  await running;
  await connection.close();
  // The IPC channel to the bench would keep this process alive.
  process.disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
