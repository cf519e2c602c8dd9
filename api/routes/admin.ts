import { z } from 'zod';
import { decodeCursor, toPage } from '../../db/crm/common';
import { createOrgUnit, listOrgUnits, orgLevels } from '../../db/org-units';
import { inOrgScope } from '../../db/scope';
import { createStaff, getStaff, listStaff, publicStaff, roles, updateStaff } from '../../db/staff';
import type { ApiDependencies } from '../dependencies';
import { forgetSessions, type Role } from '../auth';
import { ApiError } from '../errors';
import { hashPassword } from '../password';
import { ApiRoutes } from '../routing';
import { badCursor, cursor, limit, notFoundError, optionalText, orgUnitId, requireUnitInScope, searchText, text, version } from '../schemas';

export const staffAdmins: Role[] = ['admin'];
export const staffReaders: Role[] = ['admin', 'supervisor'];

const orgUnit = z.object({
  id: z.string(),
  parentId: z.string().nullable(),
  level: z.enum(orgLevels),
  name: z.string(),
  path: z.string(),
  createdAt: z.string(),
});

const staffMember = z.object({
  id: z.number().int(),
  username: z.string(),
  displayName: z.string(),
  orgUnitId: z.string(),
  orgPath: z.string(),
  roles: z.array(z.enum(roles)),
  email: z.string().nullable(),
  mobile: z.string().nullable(),
  active: z.boolean(),
  lockedUntil: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const username = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'lower-case letters, digits, dot, dash, underscore; 2–64 characters');
const password = z.string().min(12, 'at least 12 characters').max(1024);
const roleList = z.array(z.enum(roles)).min(1).max(roles.length).refine((list) => new Set(list).size === list.length, 'each role once');
const staffId = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();

const toOrgUnit = (row: { id: string; parent_id: string | null; level: (typeof orgLevels)[number]; name: string; path: string; created_at: string }) => ({
  id: row.id,
  parentId: row.parent_id,
  level: row.level,
  name: row.name,
  path: row.path,
  createdAt: row.created_at,
});

/** The org tree and the staff who work in it: read by all (tree) or admins and supervisors, changed by admins. */
export function createAdminRoutes({ pool }: ApiDependencies): ApiRoutes {
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/org-units',
        summary: 'Your unit and every unit below it, parents first',
        tags: ['admin'],
        access: 'authenticated',
        response: { status: 200, description: 'org units', schema: z.object({ items: z.array(orgUnit) }) },
      },
      async ({ staff }) => ({ items: (await listOrgUnits(pool, staff)).map(toOrgUnit) }),
    )
    .add(
      {
        method: 'post',
        path: '/api/org-units',
        summary: 'Add a unit under a unit in your scope (its level is the one below its parent)',
        tags: ['admin'],
        access: staffAdmins,
        body: z.object({ id: orgUnitId, parentId: orgUnitId, name: text(200) }).strict(),
        response: { status: 201, description: 'the new unit', schema: orgUnit },
        errors: ['CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, body }) => {
        await requireUnitInScope(pool, staff, body.parentId, 'body.parentId');
        return toOrgUnit(await createOrgUnit(pool, { actor: staff.username, requestId: String(req.id) }, body));
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/staff',
        summary: 'Staff in your org scope, by username (keyset-paginated)',
        tags: ['admin'],
        access: staffReaders,
        query: z
          .object({ role: z.enum(roles).optional(), orgUnitId: orgUnitId.optional(), q: searchText.optional(), limit, cursor: cursor.optional() })
          .strict(),
        response: { status: 200, description: 'a page of staff', schema: z.object({ items: z.array(staffMember), nextCursor: z.string().nullable() }) },
      },
      async ({ staff, query }) => {
        const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, z.tuple([z.string().max(64)]));
        if (after === null) throw badCursor();
        const rows = await listStaff(pool, staff, { ...query, after: after?.[0], limit: query.limit + 1 });
        const page = toPage(rows, query.limit, (row) => [row.username]);
        return { items: page.items.map(publicStaff), nextCursor: page.nextCursor };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/staff/:id',
        summary: 'A staff member',
        tags: ['admin'],
        access: staffReaders,
        params: staffId,
        response: { status: 200, description: 'the staff member', schema: staffMember },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        const row = await getStaff(pool, params.id);
        if (!row || !inOrgScope(staff, row.org_path)) throw notFoundError('staff', String(params.id));
        return publicStaff(row);
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/staff',
        summary: 'Add a staff member to a unit in your scope',
        tags: ['admin'],
        access: staffAdmins,
        body: z
          .object({
            username,
            displayName: text(200),
            orgUnitId,
            roles: roleList,
            password,
            email: z.string().email().max(320).nullable().optional(),
            mobile: optionalText(32),
          })
          .strict(),
        response: { status: 201, description: 'the new staff member', schema: staffMember },
        errors: ['CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, body }) => {
        await requireUnitInScope(pool, staff, body.orgUnitId, 'body.orgUnitId');
        const { password: plain, ...rest } = body;
        const row = await createStaff(pool, { actor: staff.username, requestId: String(req.id) }, { ...rest, passwordHash: await hashPassword(plain) });
        return publicStaff(row);
      },
    )
    .add(
      {
        method: 'patch',
        path: '/api/staff/:id',
        summary: 'Change a staff member: unit, roles, contact details, password, active, or lift a lock-out',
        tags: ['admin'],
        access: staffAdmins,
        params: staffId,
        body: z
          .object({
            version,
            displayName: text(200).optional(),
            orgUnitId: orgUnitId.optional(),
            roles: roleList.optional(),
            email: z.string().email().max(320).nullable().optional(),
            mobile: optionalText(32),
            active: z.boolean().optional(),
            password: password.optional(),
            unlock: z.literal(true).optional(),
          })
          .strict()
          .refine((body) => Object.keys(body).length > 1, { message: 'change at least one field besides version' }),
        response: { status: 200, description: 'the staff member as changed', schema: staffMember },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, params, body }) => {
        const target = await getStaff(pool, params.id);
        if (!target || !inOrgScope(staff, target.org_path)) throw notFoundError('staff', String(params.id));
        if (body.orgUnitId) await requireUnitInScope(pool, staff, body.orgUnitId, 'body.orgUnitId');
        if (target.id === staff.id && (body.active === false || (body.roles && !body.roles.includes('admin')))) {
          throw new ApiError('UNPROCESSABLE', 'you cannot disable yourself or take away your own admin role', { field: 'body' });
        }
        const { version: expected, password: plain, ...changes } = body;
        const row = await updateStaff(pool, { actor: staff.username, requestId: String(req.id) }, params.id, expected, {
          ...changes,
          ...(plain !== undefined ? { passwordHash: await hashPassword(plain) } : {}),
        });
        // Roles, unit and the right to log in apply from the next request on, here at least.
        forgetSessions({ staffId: params.id });
        return publicStaff(row);
      },
    );
}

