import { sql, type FragmentSqlToken, type IdentifierSqlToken } from 'slonik';

/** What a caller's org scope is made of: the materialised path of their unit ('/GD/GD-GZ/'). */
export interface OrgScoped {
  orgPath: string;
}

/**
 * `column IN (the caller's unit and everything under it)`, for any table whose rows carry an
 * org_unit_id. Unit ids are `[A-Z0-9-]`, so the path holds no LIKE wildcard to escape.
 *
 * @example sql.fragment`SELECT … FROM key_accounts a WHERE ${orgScope(staff, sql.identifier(['a', 'org_unit_id']))}`
 */
export function orgScope(scope: OrgScoped, column: IdentifierSqlToken = sql.identifier(['org_unit_id'])): FragmentSqlToken {
  return sql.fragment`${column} IN (SELECT id FROM org_units WHERE path LIKE ${`${scope.orgPath}%`})`;
}

/**
 * `path LIKE '<caller's path>%'` for a query that already joins org_units: cheaper to plan and run
 * than `orgScope`'s sub-select, for the hottest queries.
 */
export function orgPathScope(scope: OrgScoped, pathColumn: IdentifierSqlToken): FragmentSqlToken {
  return sql.fragment`${pathColumn} LIKE ${`${scope.orgPath}%`}`;
}

/** Whether a unit (given by its path) lies within the caller's subtree. */
export function inOrgScope(scope: OrgScoped, orgPath: string): boolean {
  return orgPath.startsWith(scope.orgPath);
}

/** The whole tree: for processes and callbacks acting for the system, never for a person. */
export const systemScope: OrgScoped = { orgPath: '/' };
