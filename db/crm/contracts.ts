import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { orgScope, type OrgScoped } from '../scope';
import { minor } from './common';

export const contract = z.object({
  id: z.string(),
  accountId: z.string(),
  orgUnitId: z.string(),
  contractNo: z.string(),
  title: z.string(),
  status: z.enum(['draft', 'active', 'expired', 'terminated']),
  signedOn: z.string().nullable(),
  startsOn: z.string(),
  endsOn: z.string().nullable(),
  valueMinor: minor,
  currency: z.string(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Contract = z.infer<typeof contract>;

/** An account's contracts, newest first. */
export async function listContracts(db: CommonQueryMethods, scope: OrgScoped, accountId: string): Promise<Contract[]> {
  return [
    ...(await db.any(sql.type(contract)`
      SELECT k.id, k.account_id AS "accountId", k.org_unit_id AS "orgUnitId", k.contract_no AS "contractNo", k.title, k.status,
             k.signed_on AS "signedOn", k.starts_on AS "startsOn", k.ends_on AS "endsOn", k.value_minor AS "valueMinor", k.currency,
             k.version, k.created_at AS "createdAt", k.updated_at AS "updatedAt"
      FROM contracts k
      WHERE k.account_id = ${accountId} AND ${orgScope(scope, sql.identifier(['k', 'org_unit_id']))}
      ORDER BY k.starts_on DESC, k.id`)),
  ];
}
