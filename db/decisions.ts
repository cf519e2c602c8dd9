import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { DecisionGraph } from '../workflows/dmn/model';
import { sha256Hex } from './definitions';

const decisionSummary = z.object({
  key: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  name: z.string().nullable(),
  definitions_id: z.string(),
  deployed_by: z.string(),
  deployed_at: z.string(),
});
const decisionRow = decisionSummary.extend({ xml: z.string(), model: z.custom<DecisionGraph>((value) => typeof value === 'object' && value !== null) });

export type DecisionSummary = z.infer<typeof decisionSummary>;
export type DecisionRow = z.infer<typeof decisionRow>;

export interface DeployDecisionsInput {
  xml: string;
  definitionsId: string;
  /** One graph per decision of the document; each `version` is set here to the version assigned. */
  graphs: DecisionGraph[];
  deployedBy: string;
}

/**
 * Stores each decision of a DMN document as the next version of its key, in one transaction, or
 * finds the versions deployed from the same document before (`created: false` for those). Keys
 * are locked in sorted order (transaction-scoped advisory locks), so concurrent deploys of
 * overlapping documents neither collide nor deadlock.
 */
export async function deployDecisions(db: CommonQueryMethods, input: DeployDecisionsInput): Promise<{ definition: DecisionRow; created: boolean }[]> {
  const sha256 = sha256Hex(input.xml);
  return db.transaction(async (tx) => {
    const keys = [...new Set(input.graphs.map((graph) => graph.key))].sort();
    for (const key of keys) await tx.query(sql.type(z.object({}).passthrough())`SELECT pg_advisory_xact_lock(hashtext(${`decision_definition:${key}`}))`);
    const results: { definition: DecisionRow; created: boolean }[] = [];
    for (const graph of input.graphs) {
      const existing = await tx.maybeOne(sql.type(decisionRow)`
        SELECT key, version, sha256, name, definitions_id, xml, model, deployed_by, deployed_at
        FROM decision_definitions WHERE key = ${graph.key} AND sha256 = ${sha256}`);
      if (existing) {
        results.push({ definition: existing, created: false });
        continue;
      }
      const version =
        (await tx.oneFirst(sql.type(z.object({ max: z.number().int().nullable() }))`
          SELECT max(version) AS max FROM decision_definitions WHERE key = ${graph.key}`)) ?? 0;
      const model: DecisionGraph = { ...graph, version: version + 1 };
      const definition = await tx.one(sql.type(decisionRow)`
        INSERT INTO decision_definitions (key, version, sha256, name, definitions_id, xml, model, deployed_by)
        VALUES (${graph.key}, ${version + 1}, ${sha256}, ${graph.name ?? null}, ${input.definitionsId}, ${input.xml}, ${sql.jsonb(model as never)}, ${input.deployedBy})
        RETURNING key, version, sha256, name, definitions_id, xml, model, deployed_by, deployed_at`);
      results.push({ definition, created: true });
    }
    return results;
  });
}

/** One version of a decision, or the latest when `version` is omitted; null when there is none. */
export async function findDecision(db: CommonQueryMethods, key: string, version?: number): Promise<DecisionRow | null> {
  return db.maybeOne(sql.type(decisionRow)`
    SELECT key, version, sha256, name, definitions_id, xml, model, deployed_by, deployed_at
    FROM decision_definitions
    WHERE key = ${key} ${version === undefined ? sql.fragment`` : sql.fragment`AND version = ${version}`}
    ORDER BY version DESC LIMIT 1`);
}

/** Every deployed version, newest first per key (without XML and model). */
export async function listDecisions(db: CommonQueryMethods, key?: string): Promise<readonly DecisionSummary[]> {
  return db.any(sql.type(decisionSummary)`
    SELECT key, version, sha256, name, definitions_id, deployed_by, deployed_at
    FROM decision_definitions
    ${key === undefined ? sql.fragment`` : sql.fragment`WHERE key = ${key}`}
    ORDER BY key, version DESC`);
}
