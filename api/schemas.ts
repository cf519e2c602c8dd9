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
/**
 * A name people read (an account, a contact): no control characters, and no bidirectional
 * overrides or isolates, which make a name display as something else than it is.
 */
export const displayName = (max: number) =>
  text(max).regex(/^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$/, 'no control or bidirectional-override characters');
export const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();
export const currency = z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code such as CNY');
export const money = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('integer minor units (fen)');
export const booleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');

const reservedKeys = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The first key anywhere in a JSON value that must never become a variable name: `__proto__`,
 * `constructor`, `prototype` (also as a segment of a dotted path such as `a.__proto__.b`), or an
 * empty key or segment. Walks iteratively, so a deeply nested value cannot overflow the stack.
 */
export function findReservedKey(value: unknown): string | null {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object') continue;
    for (const [key, entry] of Object.entries(current)) {
      if (key === '' || key.split('.').some((segment) => segment === '' || reservedKeys.has(segment))) return JSON.stringify(key);
      pending.push(entry);
    }
  }
  return null;
}

/**
 * Process variables as a client sends them (start, message, completion): an object whose keys are
 * variable names. Checked on the raw JSON, before zod copies it (which would turn a `__proto__`
 * key into a prototype).
 */
export const processVariables = z
  .unknown()
  .superRefine((value, context) => {
    const reserved = findReservedKey(value);
    if (reserved) context.addIssue({ code: z.ZodIssueCode.custom, message: `the key ${reserved} is reserved` });
  })
  .pipe(z.record(z.unknown()));

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
