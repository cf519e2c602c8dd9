import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommonQueryMethods } from 'slonik';
import { knownTaskTypes } from '../../activities/catalog';
import type { Client } from '@temporalio/client';
import { deployDefinition, findDefinition, type DefinitionRow } from '../../db/definitions';
import { parseBpmn, type ModelProblem } from '../../workflows/bpmn';
import { ApiError } from '../errors';
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

/** Why a deployment was refused: every problem, each tied to its element. */
export class DefinitionInvalidError extends ApiError {
  constructor(readonly problems: ModelProblem[]) {
    super('VALIDATION_FAILED', `the process model has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
  }
}

/**
 * Parses, validates (service-task types against the activity catalog) and stores a BPMN document
 * as the next version of its process key, or finds the identical version deployed before.
 * @throws DefinitionInvalidError (400 VALIDATION_FAILED) listing every problem; nothing is stored
 */
export async function deployBpmn(db: CommonQueryMethods, xml: string, deployedBy: string, schedules?: ScheduleTarget): Promise<DeployResult> {
  const { model, problems } = await parseBpmn(xml, { knownTaskTypes: knownTaskTypes() });
  if (!model || problems.length > 0) throw new DefinitionInvalidError(problems);
  const result: DeployResult = await deployDefinition(db, { key: model.key, ...(model.name ? { name: model.name } : {}), xml, model, deployedBy });
  if (schedules) {
    // Only the latest version drives the timer start: re-deploying an older identical file must not move it back.
    const latest = await findDefinition(db, model.key);
    if (latest && latest.version === result.definition.version) {
      result.schedule = await syncStartSchedule(schedules.client, schedules.taskQueue, { ...latest.model, version: latest.version });
    }
  }
  return result;
}

/** The folder of shipped models, deployed at start. */
export const processesDir = path.join(__dirname, '..', '..', 'processes');

/**
 * Deploys every `*.bpmn` in a folder (a no-op for files deployed before). A shipped model that does
 * not validate stops the start with its problems: it would otherwise fail at its first instance.
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
  const deployed = [];
  for (const name of names) {
    const xml = await fs.readFile(path.join(dir, name), 'utf8');
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
