import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { getOrgUnit } from '../db/org-units';
import { inOrgScope, type OrgScoped } from '../db/scope';
import { ApiError } from './errors';

/** Ids of CRM rows: a prefix and digits ('KA00000042'), or catalogue codes; nothing else reaches SQL. */
export const entityId = z.string().min(2).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'letters, digits and dashes');
export const orgUnitId = z.string().min(1).max(64).regex(/^[A-Z0-9][A-Z0-9-]*$/, 'upper-case letters, digits and dashes');
export const idParams = z.object({ id: entityId }).strict();
export const version = z.number().int().min(1).describe('the version you read; a stale one is refused with 409');
export const limit = z.coerce.number().int().min(1).max(200).default(50);
export const cursor = z.string().min(1).max(500).describe('`nextCursor` of the previous page');
/** Free text typed by a person into a filter. */
export const searchText = z.string().trim().min(1).max(100);
export const text = (max: number) => z.string().trim().min(1).max(max);
export const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();
export const currency = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code such as CNY');
export const money = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('integer minor units (fen)');
export const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');

export function pageOf<T extends z.ZodTypeAny>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const badCursor = () => new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.cursor', message: 'not a cursor this API returned' }]);

/**
 * The unit a write targets must exist (422) and lie in the caller's subtree (403): no one creates
 * or moves customer rows into a part of the tree they do not cover.
 */
export async function requireUnitInScope(pool: DatabasePool, scope: OrgScoped, id: string, field: string): Promise<void> {
  const unit = await getOrgUnit(pool, id);
  if (!unit) throw new ApiError('UNPROCESSABLE', `org unit ${id} does not exist`, { field });
  if (!inOrgScope(scope, unit.path)) throw new ApiError('FORBIDDEN', `org unit ${id} is outside your org scope`, { field });
}

export function notFoundError(entity: string, id: string): ApiError {
  return new ApiError('NOT_FOUND', `${entity} ${id} not found`);
}
