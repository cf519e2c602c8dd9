import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommonQueryMethods } from 'slonik';
import { deployDefinition, findDefinition } from '../../db/definitions';
import { projectRoot } from '../../runtime/config';
import { parseBpmn } from '../../workflows/bpmn';
import type { ProcessModel } from '../../workflows/model';
import { knownTaskTypes } from '../catalog';

export const billingProcessKeys = { cycle: 'billing-cycle', dunning: 'dunning' } as const;

export const processesDir = path.join(projectRoot, 'processes');

/** A shipped model failed validation: a build error, named with every problem. */
export class ShippedProcessError extends Error {
  constructor(
    readonly file: string,
    readonly problems: unknown[],
  ) {
    super(`${file} is not deployable: ${JSON.stringify(problems)}`);
    this.name = 'ShippedProcessError';
  }
}

/** Parses and validates a BPMN file (against the activity catalog), with its XML. */
export async function loadProcessFile(file: string, transform: (xml: string) => string = (xml) => xml): Promise<{ xml: string; model: ProcessModel }> {
  const xml = transform(await fs.readFile(file, 'utf8'));
  const parsed = await parseBpmn(xml, { knownTaskTypes: knownTaskTypes() });
  if (!parsed.model || parsed.problems.length > 0) throw new ShippedProcessError(path.basename(file), parsed.problems);
  return { xml, model: parsed.model };
}

/**
 * Deploys the billing cycle and dunning models from processes/ (a no-op for XML deployed before).
 * `transform` lets a test deploy the same model with, say, shorter timeouts.
 */
export async function deployBillingProcesses(pool: CommonQueryMethods, deployedBy: string, transform?: (xml: string) => string): Promise<Record<string, number>> {
  const versions: Record<string, number> = {};
  for (const key of Object.values(billingProcessKeys)) {
    const { xml, model } = await loadProcessFile(path.join(processesDir, `${key}.bpmn`), transform);
    const { definition } = await deployDefinition(pool, { key: model.key, name: model.name, xml, model, deployedBy });
    versions[key] = definition.version;
  }
  return versions;
}

/** The latest deployed model of a key, deploying the shipped ones first when none is. */
export async function latestModel(pool: CommonQueryMethods, key: string): Promise<ProcessModel> {
  let row = await findDefinition(pool, key);
  if (!row) {
    await deployBillingProcesses(pool, 'system:billing');
    row = await findDefinition(pool, key);
  }
  if (!row) throw new Error(`process ${key} is not deployed`);
  return { ...row.model, version: row.version };
}
