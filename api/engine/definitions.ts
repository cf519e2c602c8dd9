import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommonQueryMethods } from 'slonik';
import { knownTaskTypes } from '../../activities/catalog';
import type { Client } from '@temporalio/client';
import { deployDefinition, findDefinition, findDefinitionBySha, sha256Hex, type DefinitionRow } from '../../db/definitions';
import { parseBpmn, type ModelProblem, type SkippedProcess } from '../../workflows/bpmn';
import { ApiError } from '../errors';
import { decodeXmlDocument } from '../xml-encoding';
import { decisionLookup, deployDecisionFiles, pinDecisions } from './decisions';
import { syncStartSchedule } from './schedules';

/** Where timer start events are scheduled; without it, deploy only stores. */
export interface ScheduleTarget {
  client: Client;
  taskQueue: string;
}

export interface DeployResult {
  definition: DefinitionRow;
  /** False when the same XML was deployed before: its existing version is returned. */
  created: boolean;
  /** What happened to the timer-start schedule (only when a ScheduleTarget was given). */
  schedule?: 'created' | 'updated' | 'removed' | 'none';
}

/** A deployment of a document: one entry per process it holds (a collaboration's executable pools), the first one first. */
export interface DocumentDeployment extends DeployResult {
  processes: DeployResult[];
  /** Pools left out (not marked executable), with why. */
  skipped: SkippedProcess[];
}

/** Problems listed in a refusal: a model with thousands of bad attributes would answer megabytes. */
export const maxListedProblems = 200;

/** Why a deployment was refused: every problem, each tied to its element (the first `maxListedProblems` listed). */
export class DefinitionInvalidError extends ApiError {
  constructor(readonly problems: ModelProblem[]) {
    // The answer lists the first `maxListedProblems`; the message says how many there are in all.
    super(
      'VALIDATION_FAILED',
      `the process model has ${problems.length} problem${problems.length === 1 ? '' : 's'}${problems.length > maxListedProblems ? ` (the first ${maxListedProblems} are listed)` : ''}`,
      problems.slice(0, maxListedProblems),
    );
  }
}

/**
 * Parses, validates (service-task types against the activity catalog) and stores a BPMN document
 * as the next version of its process key, or finds the identical version deployed before. A
 * collaboration deploys each executable pool as its own key, all or none, in one transaction.
 * @throws DefinitionInvalidError (400 VALIDATION_FAILED) listing every problem; nothing is stored
 */
export async function deployBpmn(db: CommonQueryMethods, xml: string, deployedBy: string, schedules?: ScheduleTarget, note?: string): Promise<DocumentDeployment> {
  const { model, models, skipped, problems } = await parseBpmn(xml, { knownTaskTypes: knownTaskTypes() });
  if (!model || !models || problems.length > 0) throw new DefinitionInvalidError(problems);
  const sha = sha256Hex(xml);
  const processes = await db.transaction(async (tx) => {
    // Identical XML finds its version before decisions are looked up: that version keeps what it pinned.
    const known = await Promise.all(models.map((each) => findDefinitionBySha(tx, each.key, sha)));
    const unpinned = (await Promise.all(models.map((each, index) => (known[index] ? [] : pinDecisions(each, decisionLookup(tx)))))).flat();
    if (unpinned.length > 0) throw new DefinitionInvalidError(unpinned);
    const results: DeployResult[] = [];
    for (const [index, each] of models.entries()) {
      const found = known[index];
      results.push(found ? { definition: found, created: false } : await deployDefinition(tx, { key: each.key, ...(each.name ? { name: each.name } : {}), xml, model: each, deployedBy, ...(note ? { note } : {}) }));
    }
    return results;
  });
  if (schedules) {
    for (const result of processes) {
      // Only the latest version drives the timer start: re-deploying an older identical file must not move it back.
      const latest = await findDefinition(db, result.definition.key);
      if (latest && latest.version === result.definition.version) {
        result.schedule = await syncStartSchedule(schedules.client, schedules.taskQueue, { ...latest.model, version: latest.version });
      }
    }
  }
  return { ...processes[0]!, processes, skipped: skipped ?? [] };
}

/** The folder of shipped models, deployed at start. */
export const processesDir = path.join(__dirname, '..', '..', 'processes');

/**
 * Deploys every `*.dmn` in a folder, then every `*.bpmn` (a no-op for files deployed before), so
 * the business rule tasks of a shipped process find the shipped decisions they pin. A shipped
 * model that does not validate stops the start with its problems: it would otherwise fail at its
 * first instance. Entries of `.dmn` files name a decision key, one per decision.
 * @throws Error naming the file and each of its problems
 */
export async function deployProcessFiles(
  db: CommonQueryMethods,
  dir: string = processesDir,
  deployedBy = 'system',
  schedules?: ScheduleTarget,
): Promise<{ file: string; key: string; version: number; created: boolean }[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((name) => name.endsWith('.bpmn')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const deployed = await deployDecisionFiles(db, dir, deployedBy);
  for (const name of names) {
    const xml = decodeXmlDocument(await fs.readFile(path.join(dir, name)));
    try {
      const { definition, created } = await deployBpmn(db, xml, deployedBy, schedules);
      deployed.push({ file: name, key: definition.key, version: definition.version, created });
    } catch (error) {
      if (error instanceof DefinitionInvalidError) {
        throw new Error(`processes/${name} is not a valid model: ${error.problems.map((problem) => `${problem.elementId}: ${problem.message}`).join('; ')}`);
      }
      throw error;
    }
  }
  return deployed;
}
