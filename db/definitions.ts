import { createHash } from 'node:crypto';
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ProcessModel } from '../workflows/model';

const definitionSummary = z.object({
  key: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  name: z.string().nullable(),
  deployed_by: z.string(),
  deployed_at: z.string(),
  note: z.string().nullable(),
});
const definitionRow = definitionSummary.extend({ xml: z.string(), model: z.custom<ProcessModel>((value) => typeof value === 'object' && value !== null) });

export type DefinitionSummary = z.infer<typeof definitionSummary>;
export type DefinitionRow = z.infer<typeof definitionRow>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface DeployInput {
  key: string;
  name?: string;
  xml: string;
  /** The parsed model; its `version` is set here to the version assigned. */
  model: ProcessModel;
  deployedBy: string;
  /** Why this version was deployed, for the version history. */
  note?: string;
}

/**
 * Stores a definition as the next version of its key, or returns the existing version when the
 * same XML was deployed before (`created: false`). Versions per key are assigned under a
 * transaction-scoped advisory lock, so concurrent deploys never collide or leave gaps.
 */
export async function deployDefinition(db: CommonQueryMethods, input: DeployInput): Promise<{ definition: DefinitionRow; created: boolean }> {
  const sha256 = sha256Hex(input.xml);
  return db.transaction(async (tx) => {
    await tx.query(sql.type(z.object({}).passthrough())`SELECT pg_advisory_xact_lock(hashtext(${`process_definition:${input.key}`}))`);
    const existing = await tx.maybeOne(sql.type(definitionRow)`
      SELECT key, version, sha256, name, xml, model, deployed_by, deployed_at, note
      FROM process_definitions WHERE key = ${input.key} AND sha256 = ${sha256}`);
    if (existing) return { definition: existing, created: false };
    const version =
      (await tx.oneFirst(sql.type(z.object({ max: z.number().int().nullable() }))`
        SELECT max(version) AS max FROM process_definitions WHERE key = ${input.key}`)) ?? 0;
    const model: ProcessModel = { ...input.model, version: version + 1 };
    const definition = await tx.one(sql.type(definitionRow)`
      INSERT INTO process_definitions (key, version, sha256, name, xml, model, deployed_by, note)
      VALUES (${input.key}, ${version + 1}, ${sha256}, ${input.name ?? null}, ${input.xml}, ${sql.jsonb(model as never)}, ${input.deployedBy}, ${input.note ?? null})
      RETURNING key, version, sha256, name, xml, model, deployed_by, deployed_at, note`);
    return { definition, created: true };
  });
}

/** One version of a definition, or the latest when `version` is omitted; null when there is none. */
export async function findDefinition(db: CommonQueryMethods, key: string, version?: number): Promise<DefinitionRow | null> {
  return db.maybeOne(sql.type(definitionRow)`
    SELECT key, version, sha256, name, xml, model, deployed_by, deployed_at, note
    FROM process_definitions
    WHERE key = ${key} ${version === undefined ? sql.fragment`` : sql.fragment`AND version = ${version}`}
    ORDER BY version DESC LIMIT 1`);
}

/** The version deployed from exactly this XML, or null. */
/** A deployed version's executable model; null when that version is not deployed. */
export async function loadModel(db: CommonQueryMethods, key: string, version: number): Promise<ProcessModel | null> {
  const row = await findDefinition(db, key, version);
  return row && row.version === version ? row.model : null;
}

export async function findDefinitionBySha(db: CommonQueryMethods, key: string, sha256: string): Promise<DefinitionRow | null> {
  return db.maybeOne(sql.type(definitionRow)`
    SELECT key, version, sha256, name, xml, model, deployed_by, deployed_at, note
    FROM process_definitions WHERE key = ${key} AND sha256 = ${sha256}`);
}

/** Every deployed version, newest first per key (without XML and model). */
export async function listDefinitions(db: CommonQueryMethods, key?: string): Promise<readonly DefinitionSummary[]> {
  return db.any(sql.type(definitionSummary)`
    SELECT key, version, sha256, name, deployed_by, deployed_at, note
    FROM process_definitions
    ${key === undefined ? sql.fragment`` : sql.fragment`WHERE key = ${key}`}
    ORDER BY key, version DESC`);
}
