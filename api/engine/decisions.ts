import fs from 'node:fs/promises';
import path from 'node:path';
import type { CommonQueryMethods } from 'slonik';
import { deployDecisions, findDecision, type DecisionRow } from '../../db/decisions';
import type { ModelProblem } from '../../workflows/bpmn';
import type { DecisionGraph } from '../../workflows/dmn/model';
import type { ProcessModel } from '../../workflows/model';
import { ApiError } from '../errors';
import { decodeXmlDocument } from '../xml-encoding';
import { parseDmn, type DecisionProblem } from './dmn';

/** Why a DMN deployment was refused: every problem, each tied to its element. */
export class DecisionInvalidError extends ApiError {
  constructor(readonly problems: DecisionProblem[]) {
    super('VALIDATION_FAILED', `the decision model has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems);
  }
}

export interface DecisionDeployResult {
  definitionsId: string;
  /** One entry per decision of the document; `created: false` when that document was deployed before. */
  decisions: { definition: DecisionRow; created: boolean }[];
}

/**
 * Parses, validates and stores a DMN document: each decision becomes the next version of its key,
 * or, for a document deployed before, its existing versions are returned.
 * @throws DecisionInvalidError (400 VALIDATION_FAILED) listing every problem; nothing is stored
 */
export async function deployDmn(db: CommonQueryMethods, xml: string, deployedBy: string): Promise<DecisionDeployResult> {
  const { definitionsId, graphs, problems } = await parseDmn(xml);
  if (problems.length > 0 || graphs.length === 0 || !definitionsId) {
    throw new DecisionInvalidError(problems.length > 0 ? problems : [{ elementId: 'definitions', code: 'NO_DECISION', message: 'the document holds no decision' }]);
  }
  return { definitionsId, decisions: await deployDecisions(db, { xml, definitionsId, graphs, deployedBy }) };
}

/** Finds a deployed decision graph: a version, or the latest when `version` is omitted. */
export type DecisionLookup = (key: string, version?: number) => Promise<DecisionGraph | null>;

export function decisionLookup(db: CommonQueryMethods): DecisionLookup {
  return async (key, version) => {
    const row = await findDecision(db, key, version);
    return row ? { ...row.model, version: row.version } : null;
  };
}

/**
 * Pins the decision of every business rule task into the process model (in place): the version the
 * task names, or the latest deployed now. Tasks with `kf:decisionVersion="latest"` load theirs when
 * they run. Returns a problem for each decision that is not deployed.
 */
export async function pinDecisions(model: ProcessModel, lookup: DecisionLookup): Promise<ModelProblem[]> {
  const problems: ModelProblem[] = [];
  for (const node of Object.values(model.nodes)) {
    if (node.type !== 'businessRuleTask' || node.decisionVersion === 'latest' || !node.decisionRef) continue;
    const graph = await lookup(node.decisionRef, node.decisionVersion);
    if (!graph) {
      problems.push({
        elementId: node.id,
        code: 'MISSING_REFERENCE',
        message:
          node.decisionVersion === undefined
            ? `the decision "${node.decisionRef}" is not deployed; deploy its DMN first (POST /api/decision-definitions)`
            : `the decision "${node.decisionRef}" has no version ${node.decisionVersion}`,
      });
      continue;
    }
    node.decision = graph;
  }
  return problems;
}

/** The folder of shipped models and decisions, deployed at start. */
const processesDir = path.join(__dirname, '..', '..', 'processes');

/**
 * Deploys every `*.dmn` in a folder (a no-op for documents deployed before), before the `.bpmn`
 * files whose business rule tasks pin them. A shipped decision that does not validate stops the start.
 * @throws Error naming the file and each of its problems
 */
export async function deployDecisionFiles(db: CommonQueryMethods, dir: string = processesDir, deployedBy = 'system'): Promise<{ file: string; key: string; version: number; created: boolean }[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((name) => name.endsWith('.dmn')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const deployed = [];
  for (const name of names) {
    const xml = decodeXmlDocument(await fs.readFile(path.join(dir, name)));
    try {
      const result = await deployDmn(db, xml, deployedBy);
      for (const { definition, created } of result.decisions) deployed.push({ file: name, key: definition.key, version: definition.version, created });
    } catch (error) {
      if (error instanceof DecisionInvalidError) {
        throw new Error(`processes/${name} is not a valid decision model: ${error.problems.map((problem) => `${problem.elementId}: ${problem.message}`).join('; ')}`);
      }
      throw error;
    }
  }
  return deployed;
}
