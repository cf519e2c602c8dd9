import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

/** Who caused a change and under which request: written on every audit row. */
export interface Actor {
  /** Username of the staff member, or `system:<part>` for a process or a callback. */
  actor: string;
  requestId?: string;
}

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  orgUnitId?: string | null;
  accountId?: string | null;
  before?: unknown;
  after?: unknown;
  details?: unknown;
}

const auditRow = z.object({
  id: z.coerce.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  entity_type: z.string(),
  entity_id: z.string(),
  org_unit_id: z.string().nullable(),
  account_id: z.string().nullable(),
  request_id: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  details: z.unknown(),
});
export type AuditRow = z.infer<typeof auditRow>;

const json = (value: unknown) => (value === undefined || value === null ? null : sql.jsonb(value as never));

/** Appends one audit row; call it inside the transaction that made the change. */
export async function recordAudit(db: CommonQueryMethods, who: Actor, entry: AuditEntry): Promise<void> {
  await db.query(sql.type(z.object({}))`
    INSERT INTO audit_log (actor, action, entity_type, entity_id, org_unit_id, account_id, request_id, before, after, details)
    VALUES (${who.actor}, ${entry.action}, ${entry.entityType}, ${entry.entityId}, ${entry.orgUnitId ?? null}, ${entry.accountId ?? null},
            ${who.requestId ?? null}, ${json(entry.before)}, ${json(entry.after)}, ${json(entry.details)})`);
}

/** The audit trail of one account (its own rows and those of its contacts, contracts, …), newest first. */
export async function listAccountAudit(db: CommonQueryMethods, accountId: string, options: { limit: number; before?: number }): Promise<AuditRow[]> {
  const rows = await db.any(sql.type(auditRow)`
    SELECT id, at, actor, action, entity_type, entity_id, org_unit_id, account_id, request_id, before, after, details
    FROM audit_log
    WHERE account_id = ${accountId} ${options.before === undefined ? sql.fragment`` : sql.fragment`AND id < ${options.before}`}
    ORDER BY id DESC
    LIMIT ${options.limit}`);
  return [...rows];
}
