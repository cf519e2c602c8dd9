import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import { DataError, notFound } from './errors';
import { orgScope, type OrgScoped } from './scope';

export const orgLevels = ['province', 'city', 'county', 'area'] as const;
export type OrgLevel = (typeof orgLevels)[number];

export const orgUnitRow = z.object({
  id: z.string(),
  parent_id: z.string().nullable(),
  level: z.enum(orgLevels),
  name: z.string(),
  path: z.string(),
  created_at: z.string(),
});
export type OrgUnitRow = z.infer<typeof orgUnitRow>;

const columns = sql.fragment`id, parent_id, level, name, path, created_at`;

export async function getOrgUnit(db: CommonQueryMethods, id: string): Promise<OrgUnitRow | null> {
  return db.maybeOne(sql.type(orgUnitRow)`SELECT ${columns} FROM org_units WHERE id = ${id}`);
}

/** The caller's unit and everything under it, parents before children. */
export async function listOrgUnits(db: CommonQueryMethods, scope: OrgScoped): Promise<OrgUnitRow[]> {
  return [...(await db.any(sql.type(orgUnitRow)`SELECT ${columns} FROM org_units WHERE ${orgScope(scope, sql.identifier(['id']))} ORDER BY path`))];
}

export interface NewOrgUnit {
  id: string;
  parentId: string | null;
  name: string;
}

/**
 * Adds a unit under `parentId` (a province when null); its level is the one below its parent's.
 * @throws DataError INVALID_REFERENCE when the parent is missing or is already an area
 */
export async function createOrgUnit(db: CommonQueryMethods, who: Actor, input: NewOrgUnit): Promise<OrgUnitRow> {
  return db.transaction(async (tx) => {
  let level: OrgLevel = 'province';
  let path = `/${input.id}/`;
  if (input.parentId !== null) {
    const parent = await getOrgUnit(tx, input.parentId);
    if (!parent) throw new DataError('INVALID_REFERENCE', `parent org unit ${input.parentId} not found`);
    const next = orgLevels[orgLevels.indexOf(parent.level) + 1];
    if (!next) throw new DataError('INVALID_REFERENCE', `an ${parent.level} has no units below it`);
    level = next;
    path = `${parent.path}${input.id}/`;
  }
  const row = await tx.one(sql.type(orgUnitRow)`
    INSERT INTO org_units (id, parent_id, level, name, path) VALUES (${input.id}, ${input.parentId}, ${level}, ${input.name}, ${path})
    RETURNING ${columns}`);
  await recordAudit(tx, who, { action: 'org_unit.create', entityType: 'org_unit', entityId: row.id, orgUnitId: row.id, after: row });
  return row;
  });
}

export async function requireOrgUnit(db: CommonQueryMethods, id: string): Promise<OrgUnitRow> {
  const unit = await getOrgUnit(db, id);
  if (!unit) throw notFound('org unit', id);
  return unit;
}
