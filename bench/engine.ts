/**
 * `npm run bench:engine [N]` (or BENCH_ENGINE_N): the same five-step process — 3 service tasks, an
 * exclusive gateway, a parallel split/join — run N times as a bpmnProcess and as a hand-written
 * workflow (both started with Keyflow's search attributes), against one Temporal dev server this bench starts on its own ports, in alternating rounds
 * (BENCH_ENGINE_ROUNDS, default 4) so neither shape runs on a fresher server. Prints instances/s,
 * their ratio, start-to-complete latencies, the worker's CPU per instance and RSS, and the share of
 * the two cores the dev server and the worker took while each shape ran (who limits whom); the last
 * line is JSON.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { bundleWorkflowCode } from '@temporalio/worker';
import { loadConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { Supervisor, temporalSettings } from '../runtime/services';
import { ensureTemporal } from '../runtime/services/temporal';
import { cpuMsOfTree } from './support/processes';
import type { BpmnProcessInput } from '../workflows/contracts';
import type { FlowNode, ProcessModel } from '../workflows/model';

const n = Number(process.argv[2] ?? process.env.BENCH_ENGINE_N ?? 2_000);
const concurrency = Number(process.env.BENCH_ENGINE_CONCURRENCY ?? 100);
const rounds = Math.max(1, Number(process.env.BENCH_ENGINE_ROUNDS ?? 4));
const portBase = Number(process.env.KEYFLOW_BENCH_PORT_BASE ?? 56470);

function service(id: string): FlowNode {
  return { id, type: 'serviceTask', taskType: 'bench.step', retries: 3, timeout: 'PT10S', retryBackoff: 'PT1S', incoming: [], outgoing: [], boundaryEventIds: [] };
}

/** validate → amount > 100 ? → fork → provision ∥ notify → join → end (else → end). */
export function benchModel(): ProcessModel {
  const nodes: Record<string, FlowNode> = {
    start: { id: 'start', type: 'startEvent', event: { kind: 'none' }, incoming: [], outgoing: [] },
    validate: service('validate'),
    route: { id: 'route', type: 'exclusiveGateway', defaultFlowId: 'small', incoming: [], outgoing: [] },
    fork: { id: 'fork', type: 'parallelGateway', incoming: [], outgoing: [] },
    provision: service('provision'),
    notify: service('notify'),
    join: { id: 'join', type: 'parallelGateway', incoming: [], outgoing: [] },
    end: { id: 'end', type: 'endEvent', event: { kind: 'none' }, incoming: [], outgoing: [] },
  };
  const flows: [string, string, string, string?][] = [
    ['f1', 'start', 'validate'],
    ['f2', 'validate', 'route'],
    ['big', 'route', 'fork', '=amount > 100'],
    ['small', 'route', 'end'],
    ['f3', 'fork', 'provision'],
    ['f4', 'fork', 'notify'],
    ['f5', 'provision', 'join'],
    ['f6', 'notify', 'join'],
    ['f7', 'join', 'end'],
  ];
  const model: ProcessModel = { key: 'bench', version: 1, nodes, flows: {}, messages: {}, errors: {} };
  for (const [id, sourceId, targetId, condition] of flows) {
    model.flows[id] = { id, sourceId, targetId, ...(condition ? { condition } : {}) };
    nodes[sourceId]!.outgoing.push(id);
    nodes[targetId]!.incoming.push(id);
  }
  return model;
}

interface RunFigures {
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  workerCpuMsPerInstance: number;
  /** Of the two cores' time while the shape ran (1 = both busy all along). */
  workerCpuShare: number;
  serverCpuShare: number;
}

interface Run {
  count: number;
  seconds: number;
  latencies: number[];
  /** CPU the worker and the dev server spent while the run went on. */
  workerCpuMs: number;
  serverCpuMs: number;
}

interface CpuSample {
  worker: number;
  server: number;
}

/** The worker's CPU (its process tree) and the dev server's (every other process under this bench but the bench itself). */
let sampleCpu: () => CpuSample = () => ({ worker: 0, server: 0 });

async function runMany(count: number, startOne: (index: number) => Promise<unknown>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = sampleCpu();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        const t0 = performance.now();
        await startOne(index);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = sampleCpu();
  return { count, seconds, latencies, workerCpuMs: cpuAfter.worker - cpuBefore.worker, serverCpuMs: cpuAfter.server - cpuBefore.server };
}

/** Instances/s over all rounds of one shape (its instances over the time they ran), and latencies. */
function figuresOf(label: string, runs: Run[]): RunFigures {
  const count = runs.reduce((sum, run) => sum + run.count, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const latencies = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  const workerCpuMs = runs.reduce((sum, run) => sum + run.workerCpuMs, 0);
  const serverCpuMs = runs.reduce((sum, run) => sum + run.serverCpuMs, 0);
  const coreMs = seconds * 1000 * os.availableParallelism();
  const figures = {
    perSec: count / seconds,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    workerCpuMsPerInstance: workerCpuMs / count,
    workerCpuShare: workerCpuMs / coreMs,
    serverCpuShare: serverCpuMs / coreMs,
  };
  console.log(
    `${label.padEnd(12)} ${count} instances in ${seconds.toFixed(1)} s: ${figures.perSec.toFixed(1)}/s, p50 ${figures.p50Ms.toFixed(0)} ms, p99 ${figures.p99Ms.toFixed(0)} ms; ` +
      `worker ${figures.workerCpuMsPerInstance.toFixed(1)} CPU ms/instance; of the cores: worker ${percent(figures.workerCpuShare)}, dev server ${percent(figures.serverCpuShare)}`,
  );
  return figures;
}

async function main(): Promise<void> {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    KEYFLOW_DATA_DIR: path.join(__dirname, '..', '.data', 'bench'),
    KEYFLOW_TEMPORAL_PORT: String(portBase + 2),
    KEYFLOW_TEMPORAL_UI_PORT: String(portBase + 3),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const logger = createLogger(config.LOG_LEVEL, 'bench');
  const supervisor = new Supervisor(logger);
  let worker: ReturnType<typeof fork> | undefined;
  try {
    const temporal = await ensureTemporal(temporalSettings(config, 'test'), supervisor, logger);
    const taskQueue = `bench-engine-${process.pid}`;
    // Bundled here, so the worker's RSS is that of running workflows, not of webpack.
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'engine-workflows.ts'), logger: quietLogger });
    const bundlePath = path.join(config.KEYFLOW_DATA_DIR, 'engine-workflows.bundle.js');
    fs.mkdirSync(config.KEYFLOW_DATA_DIR, { recursive: true });
    fs.writeFileSync(bundlePath, bundle.code);
    // BENCH_ENGINE_CPU_PROFILE=<dir> writes the worker's V8 CPU profiles (one per thread) there.
    const profile = process.env.BENCH_ENGINE_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_ENGINE_CPU_PROFILE}`] : [];
    worker = fork(path.join(__dirname, 'engine-worker.ts'), [temporal.address, temporal.namespace, taskQueue, bundlePath, String(config.KEYFLOW_WORKFLOW_STACK_TRACE_LIMIT)], { execArgv: [...profile, '--import', 'tsx'], stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      worker!.once('message', () => resolve());
      worker!.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
    });
    const workerPid = worker.pid!;
    sampleCpu = () => {
      const workerMs = cpuMsOfTree(workerPid);
      const own = process.cpuUsage();
      return { worker: workerMs, server: cpuMsOfTree(process.pid) - workerMs - (own.user + own.system) / 1000 };
    };
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: temporal.namespace });
    const model = benchModel();
    const run = `${Date.now().toString(36)}`;
    const keys = {
      processKey: defineSearchAttributeKey('KfProcessKey', SearchAttributeType.KEYWORD),
      businessKey: defineSearchAttributeKey('KfBusinessKey', SearchAttributeType.KEYWORD),
      processVersion: defineSearchAttributeKey('KfProcessVersion', SearchAttributeType.INT),
    };
    const interpreter = (prefix: string) => (index: number) => {
      const businessKey = `${prefix}-${run}-${index}`;
      const input: BpmnProcessInput = { definition: model, businessKey, variables: { amount: 500, index } };
      // Started as the API starts instances: with the static search attributes set, so the interpreter upserts none.
      return client.workflow.execute('bpmnProcess', {
        taskQueue,
        workflowId: `bench:${businessKey}`,
        args: [input],
        typedSearchAttributes: [
          { key: keys.processKey, value: 'bench' },
          { key: keys.businessKey, value: businessKey },
          { key: keys.processVersion, value: 1 },
        ],
      });
    };
    // With the same search attributes: a hand-written Keyflow process is listed and found as any
    // other, and the dev server's visibility writes for them are no part of what the interpreter costs.
    const handWritten = (prefix: string) => (index: number) => {
      const businessKey = `${prefix}-${run}-${index}`;
      return client.workflow.execute('handWrittenFiveStep', {
        taskQueue,
        workflowId: `hand:${businessKey}`,
        args: [{ businessKey, variables: { amount: 500, index } }],
        typedSearchAttributes: [
          { key: keys.processKey, value: 'bench' },
          { key: keys.businessKey, value: businessKey },
          { key: keys.processVersion, value: 1 },
        ],
      });
    };

    console.log(`bench:engine — ${n} instances each in ${rounds} alternating rounds, ${concurrency} in flight, dev server ${temporal.address}`);
    const warmup = Math.min(200, n);
    await runMany(warmup, handWritten('warm'));
    await runMany(warmup, interpreter('warm'));
    // The dev server slows as its history store grows, so the two shapes take turns in rounds,
    // each going first in every other round: neither gains from running on a fresher server.
    const handRuns: Run[] = [];
    const bpmnRuns: Run[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const size = Math.floor(n / rounds) + (round < n % rounds ? 1 : 0);
      const runHand = async () => handRuns.push(await runMany(size, handWritten(`h${round}`)));
      const runBpmn = async () => bpmnRuns.push(await runMany(size, interpreter(`b${round}`)));
      if (round % 2 === 0) {
        await runHand();
        await runBpmn();
      } else {
        await runBpmn();
        await runHand();
      }
    }
    const hand = figuresOf('hand-written', handRuns);
    const bpmn = figuresOf('bpmnProcess', bpmnRuns);
    const rss = await new Promise<{ rss: number; peakRss: number }>((resolve) => {
      worker!.once('message', (message) => resolve(message as { rss: number; peakRss: number }));
      worker!.send('rss');
    });
    const events = async (workflowId: string) => (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
    const bpmnEvents = await events(`bench:b0-${run}-0`);
    const handEvents = await events(`hand:h0-${run}-0`);
    console.log(`history events per instance: bpmnProcess ${bpmnEvents}, hand-written ${handEvents}`);
    await connection.close();
    const ratio = bpmn.perSec / hand.perSec;
    const workerRssMb = Math.round(rss.peakRss / 1024 / 1024);
    console.log(`ratio ${ratio.toFixed(3)} (target ≥ 0.95); worker CPU per instance ${(bpmn.workerCpuMsPerInstance / hand.workerCpuMsPerInstance).toFixed(2)}× hand-written's; worker peak RSS ${workerRssMb} MB`);
    console.log(
      JSON.stringify({
        n,
        interpreterPerSec: round(bpmn.perSec),
        handWrittenPerSec: round(hand.perSec),
        ratio: Math.round(ratio * 1000) / 1000,
        p50Ms: round(bpmn.p50Ms),
        p99Ms: round(bpmn.p99Ms),
        handWrittenP50Ms: round(hand.p50Ms),
        handWrittenP99Ms: round(hand.p99Ms),
        workerCpuMsPerInstance: round(bpmn.workerCpuMsPerInstance),
        handWrittenWorkerCpuMsPerInstance: round(hand.workerCpuMsPerInstance),
        workerCpuShare: round2(bpmn.workerCpuShare),
        serverCpuShare: round2(bpmn.serverCpuShare),
        handWrittenWorkerCpuShare: round2(hand.workerCpuShare),
        handWrittenServerCpuShare: round2(hand.serverCpuShare),
        workerRssMb,
        bpmnEvents,
        handWrittenEvents: handEvents,
      }),
    );
  } finally {
    if (worker && worker.exitCode === null) {
      worker.send('stop');
      await new Promise((resolve) => worker!.once('exit', resolve));
    }
    await supervisor.stopAll();
  }
}

const quietLogger = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (message: string) => console.error(message) };

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
