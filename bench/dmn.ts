/**
 * `npm run bench:dmn`: decision evaluations per second on one core, with the evaluator the workflow
 * runs (workflows/dmn/evaluate.ts, FEEL through feelin): a 200-rule FIRST table — a tariff
 * discount by province, product and monthly spend, where the matching rule lies anywhere in the
 * table — and a 20-rule COLLECT SUM table adding up the surcharges that apply to an order. Inputs
 * vary per call so no rule is always first. BENCH_DMN_SECONDS (default 3) per table; last line JSON.
 */
import os from 'node:os';
import { parseDmn } from '../api/engine/dmn';
import { tableXml, type TableSpec } from '../test/unit/dmn/dmn-fixtures';
import { evaluateDecision } from '../workflows/dmn/evaluate';
import type { DecisionGraph } from '../workflows/dmn/model';

const seconds = Number(process.env.BENCH_DMN_SECONDS ?? 3);
const cities = ['GZ', 'SZ', 'FS', 'DG', 'ZH', 'ST', 'HZ', 'JM', 'ZS', 'QY'];
const products = ['mobile', 'broadband', 'leased_line', 'vpn', 'iot'];

/** 10 cities × 5 products × 4 spend bands = 200 rules, then a catch-all the FIRST policy rarely reaches. */
function discountTable(): TableSpec {
  const rules: TableSpec['rules'] = [];
  const bands = ['< 1000', '[1000..5000)', '[5000..20000)', '>= 20000'];
  for (const city of cities) {
    for (const product of products) {
      bands.forEach((band, index) => rules.push({ id: `r-${city}-${product}-${index}`, in: [`"${city}"`, `"${product}"`, band], out: [String(index * 2 + (city.charCodeAt(0) % 3))] }));
    }
  }
  return {
    id: 'discount',
    hitPolicy: 'FIRST',
    inputs: [
      { id: 'city', expression: 'city', typeRef: 'string' },
      { id: 'product', expression: 'product', typeRef: 'string' },
      { id: 'spend', expression: 'monthlySpend', typeRef: 'number' },
    ],
    outputs: [{ id: 'percent', name: 'discountPercent', typeRef: 'number' }],
    rules: rules.slice(0, 199).concat({ id: 'r-default', in: ['-', '-', '-'], out: ['0'] }),
  };
}

/** 20 surcharges, each applying on its own condition; COLLECT SUM adds those that apply. */
function surchargeTable(): TableSpec {
  const rules: TableSpec['rules'] = Array.from({ length: 20 }, (_, index) => ({
    id: `s-${index}`,
    in: [index % 2 === 0 ? `> ${index * 50}` : '-', index % 3 === 0 ? `"${products[index % products.length]}"` : '-', index % 4 === 0 ? 'true' : '-'],
    out: [String(10 + index)],
  }));
  return {
    id: 'surcharges',
    hitPolicy: 'COLLECT',
    aggregation: 'SUM',
    inputs: [
      { id: 'lines', expression: 'lines', typeRef: 'number' },
      { id: 'product', expression: 'product', typeRef: 'string' },
      { id: 'urgent', expression: 'urgent', typeRef: 'boolean' },
    ],
    outputs: [{ id: 'amount', name: 'surcharge', typeRef: 'number' }],
    rules,
  };
}

async function graphOf(spec: TableSpec): Promise<DecisionGraph> {
  const parsed = await parseDmn(tableXml(spec));
  if (parsed.problems.length > 0 || !parsed.graphs[0]) throw new Error(`${spec.id}: ${JSON.stringify(parsed.problems)}`);
  return parsed.graphs[0];
}

function measure(label: string, graph: DecisionGraph, inputs: Record<string, unknown>[]): { perSec: number; microsPerEvaluation: number; evaluations: number } {
  for (let index = 0; index < 2_000; index += 1) evaluateDecision(graph, inputs[index % inputs.length]!); // warm the JIT
  let evaluations = 0;
  let checksum = 0;
  const started = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - started < budget) {
    for (let index = 0; index < 500; index += 1) {
      const result = evaluateDecision(graph, inputs[(evaluations + index) % inputs.length]!).result;
      checksum += typeof result === 'number' ? result : 0;
    }
    evaluations += 500;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const perSec = evaluations / elapsed;
  console.log(`${label.padEnd(22)} ${evaluations} evaluations in ${elapsed.toFixed(2)} s: ${Math.round(perSec)}/s, ${(1e6 / perSec).toFixed(1)} µs each (checksum ${checksum})`);
  return { perSec: Math.round(perSec), microsPerEvaluation: Number((1e6 / perSec).toFixed(2)), evaluations };
}

async function main(): Promise<void> {
  const discount = await graphOf(discountTable());
  const surcharges = await graphOf(surchargeTable());
  // A fixed pseudo-random spread of inputs (deterministic across runs).
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const discountInputs = Array.from({ length: 1_000 }, () => ({ city: cities[Math.floor(random() * cities.length)], product: products[Math.floor(random() * products.length)], monthlySpend: Math.floor(random() * 40_000) }));
  const surchargeInputs = Array.from({ length: 1_000 }, () => ({ lines: Math.floor(random() * 1_000), product: products[Math.floor(random() * products.length)], urgent: random() < 0.3 }));
  console.log(`bench:dmn — ${seconds} s per table, one core (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
  const first = measure('FIRST, 200 rules', discount, discountInputs);
  const collect = measure('COLLECT SUM, 20 rules', surcharges, surchargeInputs);
  console.log(
    JSON.stringify({
      bench: 'dmn.evaluate',
      first200PerSec: first.perSec,
      first200MicrosPerEvaluation: first.microsPerEvaluation,
      collectSum20PerSec: collect.perSec,
      collectSum20MicrosPerEvaluation: collect.microsPerEvaluation,
      loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
    }),
  );
}

main().catch((error: unknown) => {
  console.error('bench:dmn failed:', error);
  process.exit(1);
});
