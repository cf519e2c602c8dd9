import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from '../audit';
import { notFound, staleVersion } from '../errors';
import { orgScope, type OrgScoped } from '../scope';
import { updateVersioned } from './common';

export const contactRoles = ['decision_maker', 'technical', 'finance', 'procurement', 'other'] as const;

export const contact = z.object({
  id: z.string(),
  accountId: z.string(),
  orgUnitId: z.string(),
  name: z.string(),
  title: z.string().nullable(),
  role: z.enum(contactRoles),
  isKeyPerson: z.boolean(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  notes: z.string().nullable(),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Contact = z.infer<typeof contact>;

const columns = sql.fragment`
  c.id, c.account_id AS "accountId", c.org_unit_id AS "orgUnitId", c.name, c.title, c.role, c.is_key_person AS "isKeyPerson",
  c.phone, c.email, c.notes, c.version, c.created_at AS "createdAt", c.updated_at AS "updatedAt"`;

/** An account's contacts, key persons first. */
export async function listContacts(db: CommonQueryMethods, scope: OrgScoped, accountId: string): Promise<Contact[]> {
  return [
    ...(await db.any(sql.type(contact)`
      SELECT ${columns} FROM contacts c
      WHERE c.account_id = ${accountId} AND ${orgScope(scope, sql.identifier(['c', 'org_unit_id']))}
      ORDER BY c.is_key_person DESC, c.name, c.id`)),
  ];
}

export async function getContact(db: CommonQueryMethods, scope: OrgScoped, id: string, lock = false): Promise<Contact | null> {
  return db.maybeOne(sql.type(contact)`
    SELECT ${columns} FROM contacts c WHERE c.id = ${id} AND ${orgScope(scope, sql.identifier(['c', 'org_unit_id']))}
    ${lock ? sql.fragment`FOR UPDATE` : sql.fragment``}`);
}

export interface ContactFields {
  name: string;
  title?: string | null;
  role?: (typeof contactRoles)[number];
  isKeyPerson?: boolean;
  phone?: string | null;
  email?: string | null;
  notes?: string | null;
}

/**
 * Adds a contact to an account in the caller's subtree; it takes the account's org unit.
 * @throws DataError NOT_FOUND when the account is missing or outside the subtree
 */
export async function createContact(db: CommonQueryMethods, who: Actor, scope: OrgScoped, accountId: string, input: ContactFields): Promise<Contact> {
  return db.transaction(async (tx) => {
    const orgUnitId = await tx.maybeOneFirst(sql.type(z.object({ org_unit_id: z.string() }))`
      SELECT org_unit_id FROM key_accounts a WHERE a.id = ${accountId} AND ${orgScope(scope, sql.identifier(['a', 'org_unit_id']))} FOR SHARE`);
    if (!orgUnitId) throw notFound('key account', accountId);
    const id = await tx.oneFirst(sql.type(z.object({ id: z.string() }))`
      INSERT INTO contacts (account_id, org_unit_id, name, title, role, is_key_person, phone, email, notes)
      VALUES (${accountId}, ${orgUnitId}, ${input.name}, ${input.title ?? null}, ${input.role ?? 'other'}, ${input.isKeyPerson ?? false},
              ${input.phone ?? null}, ${input.email ?? null}, ${input.notes ?? null})
      RETURNING id`);
    const row = (await getContact(tx, scope, id))!;
    await recordAudit(tx, who, { action: 'contact.create', entityType: 'contact', entityId: id, orgUnitId, accountId, after: row });
    return row;
  });
}

export async function updateContact(
  db: CommonQueryMethods,
  who: Actor,
  scope: OrgScoped,
  id: string,
  version: number,
  changes: Partial<ContactFields> & { active?: boolean },
): Promise<Contact> {
  const sets = [];
  // A contact who left (离职) stays on record, inactive; a key person leaving raises a KPI alert (api/routes/accounts.ts).
  if (changes.active !== undefined) sets.push(sql.fragment`active = ${changes.active}`);
  if (changes.name !== undefined) sets.push(sql.fragment`name = ${changes.name}`);
  if (changes.title !== undefined) sets.push(sql.fragment`title = ${changes.title}`);
  if (changes.role !== undefined) sets.push(sql.fragment`role = ${changes.role}`);
  if (changes.isKeyPerson !== undefined) sets.push(sql.fragment`is_key_person = ${changes.isKeyPerson}`);
  if (changes.phone !== undefined) sets.push(sql.fragment`phone = ${changes.phone}`);
  if (changes.email !== undefined) sets.push(sql.fragment`email = ${changes.email}`);
  if (changes.notes !== undefined) sets.push(sql.fragment`notes = ${changes.notes}`);
  return updateVersioned(db, who, {
    table: 'contacts',
    entity: 'contact',
    id,
    version,
    sets,
    read: (reader, lock) => getContact(reader, scope, id, lock),
    audit: (before) => ({ action: 'contact.update', entityType: 'contact', accountId: before.accountId }),
  });
}

/** @throws DataError NOT_FOUND, STALE_VERSION */
export async function deleteContact(db: CommonQueryMethods, who: Actor, scope: OrgScoped, id: string, version: number): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await getContact(tx, scope, id, true);
    if (!before) throw notFound('contact', id);
    if (before.version !== version) {
      throw staleVersion('contact', id, version, before.version);
    }
    // Tickets may name the contact who reported them; they keep the ticket, lose the link.
    await tx.query(sql.type(z.object({}))`UPDATE trouble_tickets SET contact_id = NULL WHERE contact_id = ${id}`);
    await tx.query(sql.type(z.object({}))`DELETE FROM contacts WHERE id = ${id}`);
    await recordAudit(tx, who, { action: 'contact.delete', entityType: 'contact', entityId: id, orgUnitId: before.orgUnitId, accountId: before.accountId, before });
  });
}
