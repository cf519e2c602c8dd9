import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { workflowBundle } from '../support/services';

const historyDir = path.join(__dirname, 'histories');

try {
  // The change-catching test fails workflow tasks on purpose: what the SDK's core would say about
  // each (a WARN line per history) is what that test asserts, not output to read.
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } } });
} catch {
  // installed already in this process
}

function recordedHistories() {
  return fs
    .readdirSync(historyDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const recorded = JSON.parse(fs.readFileSync(path.join(historyDir, file), 'utf8')) as { workflowId: string; history: unknown };
      return { element: path.basename(file, '.json'), workflowId: recorded.workflowId, history: historyFromJSON(recorded.history) };
    });
}

async function replayAll(options: Parameters<typeof Worker.runReplayHistories>[0]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(options, recordedHistories())) results.push(result);
  return results;
}

describe('the interpreter replays every recorded history', () => {
  it('has a recorded history for each supported element', () => {
    const names = recordedHistories().map((history) => history.element);
    for (const element of [
      'service-task', 'user-task', 'script-task', 'exclusive-gateway', 'parallel-gateway', 'inclusive-gateway', 'event-based-gateway',
      'message-catch', 'message-buffered', 'timer-catch', 'timer-boundary-interrupting', 'timer-boundary-cycle', 'terminate-end',
      'error-boundary', 'error-end-subprocess', 'incident-retry', 'subprocess', 'message-boundary-subprocess', 'call-activity',
      'multi-instance-parallel', 'multi-instance-sequential', 'compensation-end', 'compensation-cancel', 'compensation-scoped-throw', 'compensation-subprocess-whole', 'compensation-subprocess-own-handler', 'continue-as-new-in-sub-process', 'continue-as-new-in-multi-instance-tasks', 'continue-as-new-in-multi-instance-sub-process', 'move-token',
      'unhandled-error-end', 'unhandled-error-task', 'error-end-uncaught-before-incidents',
      'event-subprocess-timer-interrupting', 'event-subprocess-timer-non-interrupting', 'event-subprocess-message-interrupting',
      'event-subprocess-message-non-interrupting', 'event-subprocess-error', 'event-subprocess-error-in-subprocess',
      'signal-catch-boundary-throw', 'signal-boundary-event-subprocess', 'business-rule-task',
      'send-task', 'link-event', 'terminate-in-sub-process', 'signal-ids', 'signal-broadcast',
      'escalation-boundary', 'escalation-end-interrupting', 'escalation-event-subprocess',
      'message-flow-sender', 'message-flow-receiver', 'conditional-catch', 'conditional-boundary',
      // the shipped processes, end to end (recorded by their integration tests)
      'complaint-reopen', 'order-fulfilment', 'order-fulfilment-cancel',
      'supervision-deadline', 'supervision-node-sent-back', 'supervision-weekly-plan', 'supervision-visits', 'retention', 'campaign', 'care-greetings',
    ]) {
      expect(names).toContain(element);
    }
  });

  it('replays them all without a determinism error against the current code', async () => {
    const results = await replayAll({ workflowBundle: await workflowBundle() });
    const failures = results.filter((result) => result.error).map((result) => `${result.workflowId}: ${String(result.error)}`);
    expect(failures).toEqual([]);
    expect(results).toHaveLength(recordedHistories().length);
  });

  it('catches a change that would break running instances', async () => {
    const changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./fixtures/changed-interpreter'), logger: silentLogger });
    const results = await replayAll({ workflowBundle: changed });
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) expect(result.error).toBeInstanceOf(DeterminismViolationError);
  });
});

const silentLogger = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
