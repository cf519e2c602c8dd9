import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { recordAudit, type Actor } from './audit';
import type { OrgScoped } from './scope';

/**
 * Campaigns (migration 0954): an SMS to the contacts of a segment of key accounts, approved by a
 * supervisor in processes/campaign.bpmn, sent by `campaign.send` into the ledger, campaign_messages.
 */

export const campaignProcessKey = 'campaign';

export const campaignSegment = z
  .object({
    orgUnitId: z.string().min(1).max(64).regex(/^[A-Z0-9][A-Z0-9-]*$/).optional().describe('accounts at or below this unit (in your scope); default your unit'),
    tiers: z.array(z.enum(['gold', 'silver', 'bronze'])).min(1).max(3).optional(),
    industries: z.array(z.string().min(1).max(40)).min(1).max(20).optional(),
    minChurnProbability: z.number().min(0).max(1).optional().describe("accounts whose latest churn score is at least this"),
  })
  .strict();
export type CampaignSegment = z.infer<typeof campaignSegment>;

export const campaignRow = z.object({
  id: z.coerce.number(),
  name: z.string(),
  text: z.string(),
  segment: campaignSegment,
  org_unit_id: z.string(),
  rate_per_second: z.number(),
  status: z.enum(['awaiting_approval', 'rejected', 'sending', 'sent']),
  workflow_id: z.string().nullable(),
  created_by: z.string(),
  decided_by: z.string().nullable(),
  recipients: z.number().nullable(),
  skipped_opted_out: z.number().nullable(),
  sent: z.number(),
  failed: z.number(),
});
export type Campaign = z.infer<typeof campaignRow>;
const columns = sql.fragment`id, name, text, segment, org_unit_id, rate_per_second, status, workflow_id, created_by, decided_by, recipients, skipped_opted_out, sent, failed`;

export async function insertCampaign(
  db: CommonQueryMethods,
  actor: Actor,
  input: { name: string; text: string; segment: CampaignSegment; orgUnitId: string; ratePerSecond: number; workflowIdOf: (id: number) => string },
): Promise<Campaign> {
  return db.transaction(async (tx) => {
    const id = await tx.oneFirst(sql.type(z.object({ id: z.coerce.number() }))`
      INSERT INTO campaigns (name, text, segment, org_unit_id, rate_per_second, created_by)
      VALUES (${input.name}, ${input.text}, ${sql.jsonb(input.segment as never)}, ${input.orgUnitId}, ${input.ratePerSecond}, ${actor.actor}) RETURNING id`);
    const row = await tx.one(sql.type(campaignRow)`UPDATE campaigns SET workflow_id = ${input.workflowIdOf(id)} WHERE id = ${id} RETURNING ${columns}`);
    await recordAudit(tx, actor, { action: 'campaign.create', entityType: 'campaign', entityId: String(id), orgUnitId: input.orgUnitId, after: { name: input.name, segment: input.segment } });
    return row;
  });
}

export async function getCampaign(db: CommonQueryMethods, scope: OrgScoped, id: number): Promise<Campaign | null> {
  return db.maybeOne(sql.type(campaignRow)`
    SELECT ${columns} FROM campaigns WHERE id = ${id} AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE ${`${scope.orgPath}%`})`);
}

export async function campaignOf(db: CommonQueryMethods, workflowId: string): Promise<Campaign | null> {
  return db.maybeOne(sql.type(campaignRow)`SELECT ${columns} FROM campaigns WHERE workflow_id = ${workflowId}`);
}

const recipientRow = z.object({ contact_id: z.string(), account_id: z.string(), phone: z.string(), opted_out: z.boolean() });

/** The contacts with a phone of the segment's live accounts, each saying whether it opted out. */
export async function segmentContacts(db: CommonQueryMethods, campaign: Pick<Campaign, 'segment' | 'org_unit_id'>) {
  const segment = campaign.segment;
  const filters = [
    sql.fragment`a.org_path LIKE (SELECT path FROM org_units WHERE id = ${segment.orgUnitId ?? campaign.org_unit_id}) || '%'`,
    sql.fragment`a.status IN ('active', 'suspended')`,
    sql.fragment`c.active AND c.phone IS NOT NULL`,
    ...(segment.tiers ? [sql.fragment`a.tier = ANY(${sql.array(segment.tiers, 'text')})`] : []),
    ...(segment.industries ? [sql.fragment`a.industry = ANY(${sql.array(segment.industries, 'text')})`] : []),
    ...(segment.minChurnProbability === undefined
      ? []
      : [sql.fragment`(SELECT s.probability FROM churn_scores s WHERE s.account_id = a.id ORDER BY s.month DESC LIMIT 1) >= ${segment.minChurnProbability}`]),
  ];
  return db.any(sql.type(recipientRow)`
    SELECT c.id AS contact_id, a.id AS account_id, regexp_replace(c.phone, '[ -]', '', 'g') AS phone, c.sms_opt_out AS opted_out
      FROM contacts c JOIN key_accounts a ON a.id = c.account_id
     WHERE ${sql.join(filters, sql.fragment` AND `)}
     ORDER BY c.id`);
}

/**
 * The decision and the ledger rows of the opted-in recipients (once: a repeat finds them), counting
 * the opted-out ones skipped. A rejected campaign writes no rows.
 */
export async function decideCampaign(db: CommonQueryMethods, workflowId: string, decision: { approved: boolean; by: string | null }) {
  return db.transaction(async (tx) => {
    const campaign = await tx.one(sql.type(campaignRow)`SELECT ${columns} FROM campaigns WHERE workflow_id = ${workflowId} FOR UPDATE`);
    if (campaign.status !== 'awaiting_approval') return campaign;
    if (!decision.approved) {
      return tx.one(sql.type(campaignRow)`UPDATE campaigns SET status = 'rejected', decided_by = ${decision.by}, finished_at = now() WHERE id = ${campaign.id} RETURNING ${columns}`);
    }
    const contacts = await segmentContacts(tx, campaign);
    const opted = contacts.filter((contact) => !contact.opted_out);
    if (opted.length > 0) {
      await tx.query(sql.type(z.object({}))`
        INSERT INTO campaign_messages (campaign_id, contact_id, account_id, phone)
        SELECT ${campaign.id}, x.c, x.a, x.p FROM ${sql.unnest(opted.map((contact) => [contact.contact_id, contact.account_id, contact.phone]), ['text', 'text', 'text'])} AS x (c, a, p)
        ON CONFLICT DO NOTHING`);
    }
    return tx.one(sql.type(campaignRow)`
      UPDATE campaigns SET status = 'sending', decided_by = ${decision.by}, recipients = ${opted.length}, skipped_opted_out = ${contacts.length - opted.length}
       WHERE id = ${campaign.id} RETURNING ${columns}`);
  });
}

export const ledgerRow = z.object({ contact_id: z.string(), account_id: z.string(), phone: z.string(), status: z.enum(['pending', 'sent', 'failed']), message_id: z.string().nullable() });

export async function campaignLedger(db: CommonQueryMethods, campaignId: number, status?: 'pending') {
  return db.any(sql.type(ledgerRow)`
    SELECT contact_id, account_id, phone, status, message_id FROM campaign_messages
     WHERE campaign_id = ${campaignId} ${status ? sql.fragment`AND status = ${status}` : sql.fragment``} ORDER BY contact_id`);
}

export async function markMessage(db: CommonQueryMethods, campaignId: number, contactId: string, outcome: { messageId: string } | { error: string }): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE campaign_messages SET status = ${'messageId' in outcome ? 'sent' : 'failed'}, message_id = ${'messageId' in outcome ? outcome.messageId : null},
           error = ${'error' in outcome ? outcome.error.slice(0, 500) : null}, sent_at = now()
     WHERE campaign_id = ${campaignId} AND contact_id = ${contactId} AND status = 'pending'`);
}

/** The campaign's counts from its ledger, and sent when nothing is pending. */
export async function finishCampaign(db: CommonQueryMethods, campaignId: number): Promise<Campaign> {
  return db.one(sql.type(campaignRow)`
    UPDATE campaigns c SET sent = x.sent, failed = x.failed,
           status = CASE WHEN x.pending = 0 THEN 'sent' ELSE c.status END, finished_at = CASE WHEN x.pending = 0 THEN now() ELSE NULL END
      FROM (SELECT count(*) FILTER (WHERE status = 'sent') AS sent, count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'pending') AS pending
              FROM campaign_messages WHERE campaign_id = ${campaignId}) x
     WHERE c.id = ${campaignId}
    RETURNING c.id, c.name, c.text, c.segment, c.org_unit_id, c.rate_per_second, c.status, c.workflow_id, c.created_by, c.decided_by, c.recipients, c.skipped_opted_out, c.sent, c.failed`);
}

/** A contact's SMS opt-out, in the caller's scope; null when not found there. */
export async function setSmsOptOut(db: CommonQueryMethods, actor: Actor, scope: OrgScoped, contactId: string, optOut: boolean) {
  return db.transaction(async (tx) => {
    const row = await tx.maybeOne(sql.type(z.object({ id: z.string(), account_id: z.string(), org_unit_id: z.string(), sms_opt_out: z.boolean() }))`
      UPDATE contacts SET sms_opt_out = ${optOut}, sms_opted_out_at = CASE WHEN ${optOut} THEN now() ELSE NULL END, updated_at = now(), version = version + 1
       WHERE id = ${contactId} AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE ${`${scope.orgPath}%`})
      RETURNING id, account_id, org_unit_id, sms_opt_out`);
    if (row) await recordAudit(tx, actor, { action: 'contact.smsOptOut', entityType: 'contact', entityId: row.id, orgUnitId: row.org_unit_id, accountId: row.account_id, after: { smsOptOut: optOut } });
    return row;
  });
}

/** A contact's birthday and anniversary (either may be cleared with null), in the caller's scope; null when not found there. */
export async function setCareDates(db: CommonQueryMethods, actor: Actor, scope: OrgScoped, contactId: string, dates: { birthday: string | null; anniversary: string | null }) {
  return db.transaction(async (tx) => {
    const row = await tx.maybeOne(sql.type(z.object({ id: z.string(), account_id: z.string(), org_unit_id: z.string(), birthday: z.string().nullable(), anniversary: z.string().nullable() }))`
      UPDATE contacts SET birthday = ${dates.birthday}::date, anniversary = ${dates.anniversary}::date, updated_at = now(), version = version + 1
       WHERE id = ${contactId} AND org_unit_id IN (SELECT id FROM org_units WHERE path LIKE ${`${scope.orgPath}%`})
      RETURNING id, account_id, org_unit_id, to_char(birthday, 'YYYY-MM-DD') AS birthday, to_char(anniversary, 'YYYY-MM-DD') AS anniversary`);
    if (row) await recordAudit(tx, actor, { action: 'contact.careDates', entityType: 'contact', entityId: row.id, orgUnitId: row.org_unit_id, accountId: row.account_id, after: dates });
    return row;
  });
}

const greetingRow = z.object({ contact_id: z.string(), occasion: z.enum(['birthday', 'anniversary']), year: z.number(), phone: z.string(), name: z.string(), account_name: z.string() });

/**
 * Writes the greetings due on `localDate` (YYYY-MM-DD, Asia/Shanghai): key contacts with a phone of
 * live accounts, not opted out, whose birthday or anniversary falls on that month and day (29
 * February on 28 February in other years), once per contact, occasion and year. Returns the
 * greetings of that day still to send.
 */
export async function dueGreetings(db: CommonQueryMethods, localDate: string) {
  await db.query(sql.type(z.object({}))`
    WITH day AS (SELECT ${localDate}::date AS d)
    INSERT INTO care_greetings (contact_id, occasion, year, account_id, phone)
    SELECT c.id, o.occasion, extract(year FROM day.d), c.account_id, regexp_replace(c.phone, '[ -]', '', 'g')
      FROM contacts c JOIN key_accounts a ON a.id = c.account_id CROSS JOIN day
      CROSS JOIN LATERAL (VALUES ('birthday', c.birthday), ('anniversary', c.anniversary)) AS o (occasion, on_date)
     WHERE c.is_key_person AND c.active AND c.phone IS NOT NULL AND NOT c.sms_opt_out AND a.status IN ('active', 'suspended')
       AND o.on_date IS NOT NULL
       AND (to_char(o.on_date, 'MM-DD') = to_char(day.d, 'MM-DD')
            OR (to_char(o.on_date, 'MM-DD') = '02-29' AND to_char(day.d, 'MM-DD') = '02-28' AND NOT (extract(year FROM day.d)::int % 4 = 0 AND (extract(year FROM day.d)::int % 100 <> 0 OR extract(year FROM day.d)::int % 400 = 0))))
    ON CONFLICT DO NOTHING`);
  return db.any(sql.type(greetingRow)`
    SELECT g.contact_id, g.occasion, g.year, g.phone, c.name, a.name AS account_name
      FROM care_greetings g JOIN contacts c ON c.id = g.contact_id JOIN key_accounts a ON a.id = g.account_id
     WHERE g.status = 'pending' AND g.year = extract(year FROM ${localDate}::date)
     ORDER BY g.contact_id, g.occasion`);
}

export async function markGreeting(db: CommonQueryMethods, greeting: { contact_id: string; occasion: string; year: number }, outcome: { messageId: string } | { error: string }): Promise<void> {
  await db.query(sql.type(z.object({}))`
    UPDATE care_greetings SET status = ${'messageId' in outcome ? 'sent' : 'failed'}, message_id = ${'messageId' in outcome ? outcome.messageId : null}, sent_at = now()
     WHERE contact_id = ${greeting.contact_id} AND occasion = ${greeting.occasion} AND year = ${greeting.year} AND status = 'pending'`);
}
