import { z } from 'zod';
import { campaignLedger, campaignProcessKey, campaignSegment, getCampaign, insertCampaign, segmentContacts, setCareDates, setSmsOptOut, type Campaign } from '../../db/campaigns';
import { findDefinition } from '../../db/definitions';
import { processInstanceId } from '../../workflows/contracts';
import type { ApiDependencies } from '../dependencies';
import type { Role } from '../auth';
import { startInstance } from '../engine/instances';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { entityId, idParams, notFoundError, requireUnitInScope, text } from '../schemas';

/** Who drafts campaigns and reads them; a supervisor approves each in processes/campaign.bpmn. */
const campaigners: Role[] = ['admin', 'supervisor', 'customer_manager'];

const campaignView = z.object({
  id: z.number(),
  name: z.string(),
  text: z.string(),
  segment: campaignSegment,
  orgUnitId: z.string(),
  ratePerSecond: z.number(),
  status: z.enum(['awaiting_approval', 'rejected', 'sending', 'sent']),
  processInstanceId: z.string().nullable(),
  createdBy: z.string(),
  decidedBy: z.string().nullable(),
  recipients: z.number().nullable().describe('opted-in contacts the campaign went to (known once approved)'),
  skippedOptedOut: z.number().nullable(),
  sent: z.number(),
  failed: z.number(),
});
const viewOf = (row: Campaign): z.infer<typeof campaignView> => ({
  id: row.id,
  name: row.name,
  text: row.text,
  segment: row.segment,
  orgUnitId: row.org_unit_id,
  ratePerSecond: row.rate_per_second,
  status: row.status,
  processInstanceId: row.workflow_id,
  createdBy: row.created_by,
  decidedBy: row.decided_by,
  recipients: row.recipients,
  skippedOptedOut: row.skipped_opted_out,
  sent: row.sent,
  failed: row.failed,
});
const campaignParams = z.object({ id: z.coerce.number().int().positive() }).strict();

export function createCampaignRoutes(deps: ApiDependencies): ApiRoutes {
  const { pool, temporal, config } = deps;
  const routes = new ApiRoutes();

  routes.add(
    {
      method: 'post',
      path: '/api/campaigns',
      summary: 'Draft an SMS campaign to a segment of key accounts; a supervisor approves it before it is sent',
      description:
        'Starts processes/campaign.bpmn. Once approved, every contact with a phone of the segment\'s live accounts who did not opt out gets the text once ' +
        '(the ledger: GET /api/campaigns/:id/messages), at most `ratePerSecond` a second. `estimate` counts the segment now.',
      tags: ['campaigns'],
      access: campaigners,
      body: z.object({ name: text(200), text: text(500), segment: campaignSegment.default({}), ratePerSecond: z.number().int().min(1).max(100).default(10) }).strict(),
      response: { status: 201, description: 'the campaign, awaiting approval', schema: campaignView.extend({ estimate: z.object({ recipients: z.number(), optedOut: z.number() }) }) },
      errors: ['FORBIDDEN', 'UNPROCESSABLE', 'UNAVAILABLE'],
    },
    async ({ staff, body }) => {
      if (body.segment.orgUnitId) await requireUnitInScope(pool, staff, body.segment.orgUnitId, 'body.segment.orgUnitId');
      const definition = await findDefinition(pool, campaignProcessKey);
      if (!definition) throw new ApiError('UNAVAILABLE', 'the campaign process is not deployed');
      const orgUnitId = body.segment.orgUnitId ?? staff.orgUnitId;
      const campaign = await insertCampaign(pool, { actor: staff.username }, {
        name: body.name,
        text: body.text,
        segment: body.segment,
        orgUnitId,
        ratePerSecond: body.ratePerSecond,
        workflowIdOf: (id) => processInstanceId(campaignProcessKey, String(id)),
      });
      await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
        definition: { ...definition.model, version: definition.version },
        businessKey: String(campaign.id),
        variables: { campaignId: campaign.id, name: campaign.name, text: campaign.text },
        orgUnitId,
        startedBy: staff.username,
      });
      const contacts = await segmentContacts(pool, campaign);
      const optedOut = contacts.filter((contact) => contact.opted_out).length;
      return { ...viewOf(campaign), estimate: { recipients: contacts.length - optedOut, optedOut } };
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/campaigns/:id',
      summary: 'A campaign with its counts',
      tags: ['campaigns'],
      access: campaigners,
      params: campaignParams,
      response: { status: 200, description: 'the campaign', schema: campaignView },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params }) => {
      const campaign = await getCampaign(pool, staff, params.id);
      if (!campaign) throw notFoundError('campaign', String(params.id));
      return viewOf(campaign);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/campaigns/:id/messages',
      summary: "A campaign's ledger: one row per contact it went to",
      tags: ['campaigns'],
      access: campaigners,
      params: campaignParams,
      response: {
        status: 200,
        description: 'the messages',
        schema: z.object({ items: z.array(z.object({ contactId: z.string(), accountId: z.string(), phone: z.string(), status: z.string(), messageId: z.string().nullable() })) }),
      },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params }) => {
      const campaign = await getCampaign(pool, staff, params.id);
      if (!campaign) throw notFoundError('campaign', String(params.id));
      const rows = await campaignLedger(pool, campaign.id);
      return { items: rows.map((row) => ({ contactId: row.contact_id, accountId: row.account_id, phone: row.phone, status: row.status, messageId: row.message_id })) };
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/contacts/:id/sms-opt-out',
      summary: 'Record that a contact wants no campaign SMS (or wants them again)',
      tags: ['campaigns', 'accounts'],
      access: campaigners,
      params: idParams.extend({ id: entityId }),
      body: z.object({ optOut: z.boolean() }).strict(),
      response: { status: 200, description: 'the contact\'s choice', schema: z.object({ contactId: z.string(), smsOptOut: z.boolean() }) },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params, body }) => {
      const row = await setSmsOptOut(pool, { actor: staff.username }, staff, params.id, body.optOut);
      if (!row) throw notFoundError('contact', params.id);
      return { contactId: row.id, smsOptOut: row.sms_opt_out };
    },
  );

  routes.add(
    {
      method: 'put',
      path: '/api/contacts/:id/care-dates',
      summary: "A contact's birthday and the anniversary of the relationship, for the daily care greetings (亲情服务)",
      description: 'processes/care-greetings.bpmn greets key contacts (is_key_person) on these days, once a year each, unless they opted out of SMS.',
      tags: ['campaigns', 'accounts'],
      access: campaigners,
      params: idParams.extend({ id: entityId }),
      body: z.object({ birthday: z.string().date().nullable(), anniversary: z.string().date().nullable() }).strict(),
      response: { status: 200, description: 'the dates', schema: z.object({ contactId: z.string(), birthday: z.string().nullable(), anniversary: z.string().nullable() }) },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params, body }) => {
      const row = await setCareDates(pool, { actor: staff.username }, staff, params.id, body);
      if (!row) throw notFoundError('contact', params.id);
      return { contactId: row.id, birthday: row.birthday, anniversary: row.anniversary };
    },
  );

  return routes;
}
