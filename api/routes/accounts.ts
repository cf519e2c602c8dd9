import { openKpiAlert, type KpiAlert } from '../../activities/supervision';
import { z } from 'zod';
import { listAccountAudit } from '../../db/audit';
import { listBillingAccounts, billingAccount } from '../../db/crm/billing-accounts';
import { billSummary, listRecentBills } from '../../db/crm/bills';
import { accountStatuses, accountTiers, creditLists, industries } from '../../db/crm/common';
import { changeCreditList, createAccount, getAccount, keyAccount, keyAccountSummary, listAccounts, updateAccount } from '../../db/crm/accounts';
import { contact, contactRoles, createContact, deleteContact, listContacts, updateContact } from '../../db/crm/contacts';
import { contract, listContracts } from '../../db/crm/contracts';
import { listOrders, order } from '../../db/crm/orders';
import { listSubscriptions, subscription } from '../../db/crm/subscriptions';
import { listTroubleTickets, troubleTicket } from '../../db/crm/tickets';
import type { ApiDependencies } from '../dependencies';
import type { Role } from '../auth';
import { ApiRoutes, JsonText } from '../routing';
import {
  badCursor,
  currency,
  cursor,
  displayName,
  idParams,
  limit,
  money,
  notFoundError,
  optionalText,
  orgUnitId,
  pageOf,
  requireUnitInScope,
  searchText,
  text,
  version,
} from '../schemas';

/** Who reads customer data; who changes accounts and contacts; who moves accounts between credit lists. */
export const customerReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk', 'ops'];
export const accountWriters: Role[] = ['admin', 'supervisor', 'customer_manager'];
export const creditListKeepers: Role[] = ['admin', 'supervisor', 'billing_clerk'];
export const auditReaders: Role[] = ['admin', 'supervisor', 'customer_manager'];

const registrationNo = z.string().regex(/^[0-9A-Z]{18}$/, 'unified social credit code: 18 digits or upper-case letters');
const phone = z.string().regex(/^\+?[0-9 -]{5,32}$/, 'digits, spaces and dashes, optionally a leading +');
const email = z.string().email().max(320);

const accountQuery = z
  .object({
    q: searchText.optional().describe('name contains this (case-insensitive), or the exact account id or registration number'),
    tier: z.enum(accountTiers).optional(),
    status: z.enum(accountStatuses).optional(),
    creditList: z.enum(creditLists).optional(),
    industry: z.enum(industries).optional(),
    orgUnitId: orgUnitId.optional().describe('only accounts of this unit and the units below it'),
    customerManagerId: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    limit,
    cursor: cursor.optional(),
  })
  .strict();

const newAccountBody = z
  .object({
    name: displayName(200),
    registrationNo: registrationNo.nullable().optional(),
    industry: z.enum(industries),
    tier: z.enum(accountTiers),
    status: z.enum(accountStatuses).optional(),
    creditLimitMinor: money.optional(),
    currency: currency.optional(),
    customerManagerId: z.number().int().min(1).nullable().optional(),
    orgUnitId: orgUnitId.optional().describe("defaults to the caller's unit"),
    address: optionalText(500),
    notes: optionalText(4000),
  })
  .strict();

const accountChangesBody = z
  .object({
    version,
    name: displayName(200).optional(),
    registrationNo: registrationNo.nullable().optional(),
    industry: z.enum(industries).optional(),
    tier: z.enum(accountTiers).optional(),
    status: z.enum(accountStatuses).optional(),
    creditLimitMinor: money.optional(),
    customerManagerId: z.number().int().min(1).nullable().optional(),
    orgUnitId: orgUnitId.optional(),
    address: optionalText(500),
    notes: optionalText(4000),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 1, { message: 'change at least one field besides version' });

const creditListBody = z.object({ version, creditList: z.enum(creditLists), reason: text(500) }).strict();

const contactFields = {
  name: displayName(200),
  title: optionalText(200),
  role: z.enum(contactRoles).optional(),
  isKeyPerson: z.boolean().optional(),
  phone: phone.nullable().optional(),
  email: email.nullable().optional(),
  notes: optionalText(4000),
};
const newContactBody = z.object(contactFields).strict();
const contactChangesBody = z
  .object({
    version,
    ...contactFields,
    name: contactFields.name.optional(),
    active: z.boolean().optional().describe('false: the contact left (kept on record); a key person leaving opens a KPI alert ticket to the account manager'),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 1, { message: 'change at least one field besides version' });

const accountDetail = keyAccount.extend({
  contacts: z.array(contact),
  contracts: z.array(contract),
  billingAccounts: z.array(billingAccount),
  subscriptions: z.array(subscription),
  openTickets: z.array(troubleTicket),
  recentOrders: z.array(order),
  recentBills: z.array(billSummary),
});

const auditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  requestId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  details: z.unknown(),
});

/** Key accounts, their contacts and their audit trail. */
export function createAccountRoutes({ pool, reads, directory, temporal, config, logger }: ApiDependencies): ApiRoutes {
  /** A KPI alert (a supervision ticket to the account's manager) must not undo the change that raised it. */
  const raiseAlert = async (alert: KpiAlert) => {
    try {
      await openKpiAlert({ pool, client: temporal, taskQueue: config.KEYFLOW_TASK_QUEUE, now: new Date() }, alert);
    } catch (error) {
      logger.warn({ err: error, alert: { cause: alert.cause, accountId: alert.accountId } }, 'could not open the KPI alert ticket');
    }
  };
  return new ApiRoutes()
    .add(
      {
        method: 'get',
        path: '/api/accounts',
        summary: 'Key accounts in your org scope, by name (keyset-paginated)',
        tags: ['accounts'],
        access: customerReaders,
        query: accountQuery,
        response: { status: 200, description: 'a page of account summaries; `GET /api/accounts/{id}` has the rest', schema: pageOf(keyAccountSummary) },
      },
      async ({ staff, query }) => {
        const page = await listAccounts(pool, reads, directory, staff, query);
        if (!page) throw badCursor();
        return new JsonText('{"items":[', page.items, `],"nextCursor":${JSON.stringify(page.nextCursor)}}`);
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/accounts',
        summary: 'Create a key account',
        tags: ['accounts'],
        access: accountWriters,
        body: newAccountBody,
        response: { status: 201, description: 'the new account', schema: keyAccount },
        errors: ['CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, body }) => {
        const unit = body.orgUnitId ?? staff.orgUnitId;
        await requireUnitInScope(pool, staff, unit, 'body.orgUnitId');
        return createAccount(pool, { actor: staff.username, requestId: String(req.id) }, staff, { ...body, orgUnitId: unit });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/accounts/:id',
        summary: 'A key account with its contacts, contracts, billing accounts, subscriptions, open tickets, recent orders and recent bills',
        tags: ['accounts'],
        access: customerReaders,
        params: idParams,
        response: { status: 200, description: 'the account', schema: accountDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        const account = await getAccount(pool, staff, params.id);
        if (!account) throw notFoundError('key account', params.id);
        const [contacts, contracts, billingAccounts, subscriptions, openTickets, recentOrders, recentBills] = await Promise.all([
          listContacts(pool, staff, params.id),
          listContracts(pool, staff, params.id),
          listBillingAccounts(pool, staff, params.id),
          listSubscriptions(pool, staff, params.id),
          listTroubleTickets(pool, staff, { accountId: params.id, open: true, limit: 50 }),
          listOrders(pool, staff, { accountId: params.id, limit: 10 }),
          listRecentBills(pool, staff, params.id),
        ]);
        return {
          ...account,
          contacts,
          contracts,
          billingAccounts,
          subscriptions,
          openTickets: openTickets!.items,
          recentOrders: recentOrders!.items,
          recentBills,
        };
      },
    )
    .add(
      {
        method: 'patch',
        path: '/api/accounts/:id',
        summary: 'Change a key account (optimistic: send the version you read)',
        tags: ['accounts'],
        access: accountWriters,
        params: idParams,
        body: accountChangesBody,
        response: { status: 200, description: 'the account as changed', schema: keyAccount },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ req, staff, params, body }) => {
        const { version: expected, ...changes } = body;
        if (changes.orgUnitId) await requireUnitInScope(pool, staff, changes.orgUnitId, 'body.orgUnitId');
        return updateAccount(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, expected, changes);
      },
    )
    .add(
      {
        method: 'put',
        path: '/api/accounts/:id/credit-list',
        summary: 'Put a key account on a credit list (red, grey, black) or take it off (none), with a reason',
        tags: ['accounts'],
        access: creditListKeepers,
        params: idParams,
        body: creditListBody,
        response: { status: 200, description: 'the account as changed', schema: keyAccount },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, body }) => {
        const account = await changeCreditList(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, body.version, body);
        if (body.creditList === 'black') await raiseAlert({ cause: 'credit_black', accountId: account.id, period: new Date().toISOString().slice(0, 7), title: '信用名单转黑', figures: { creditList: 'black', reason: body.reason, changedBy: staff.username } });
        return account;
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/accounts/:id/contacts',
        summary: "A key account's contacts, key persons first",
        tags: ['contacts'],
        access: customerReaders,
        params: idParams,
        response: { status: 200, description: 'the contacts', schema: z.object({ items: z.array(contact) }) },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        if (!(await getAccount(pool, staff, params.id))) throw notFoundError('key account', params.id);
        return { items: await listContacts(pool, staff, params.id) };
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/accounts/:id/contacts',
        summary: 'Add a contact to a key account',
        tags: ['contacts'],
        access: accountWriters,
        params: idParams,
        body: newContactBody,
        response: { status: 201, description: 'the new contact', schema: contact },
        errors: ['NOT_FOUND'],
      },
      async ({ req, staff, params, body }) => createContact(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, body),
    )
    .add(
      {
        method: 'patch',
        path: '/api/contacts/:id',
        summary: 'Change a contact (optimistic: send the version you read)',
        tags: ['contacts'],
        access: accountWriters,
        params: idParams,
        body: contactChangesBody,
        response: { status: 200, description: 'the contact as changed', schema: contact },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, body }) => {
        const { version: expected, ...changes } = body;
        const contact = await updateContact(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, expected, changes);
        if (body.active === false && contact.isKeyPerson) {
          await raiseAlert({ cause: 'key_contact_left', accountId: contact.accountId, period: contact.id, title: `关键联系人离职 ${contact.name}`, figures: { contactId: contact.id, name: contact.name, title: contact.title, changedBy: staff.username } });
        }
        return contact;
      },
    )
    .add(
      {
        method: 'delete',
        path: '/api/contacts/:id',
        summary: 'Remove a contact',
        tags: ['contacts'],
        access: accountWriters,
        params: idParams,
        query: z.object({ version: z.coerce.number().int().min(1).describe('the version you read') }).strict(),
        response: { status: 204, description: 'removed' },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ req, staff, params, query }) => {
        await deleteContact(pool, { actor: staff.username, requestId: String(req.id) }, staff, params.id, query.version);
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/accounts/:id/audit',
        summary: 'The audit trail of a key account and the rows that hang off it, newest first',
        tags: ['accounts'],
        access: auditReaders,
        params: idParams,
        query: z.object({ limit, before: z.coerce.number().int().min(1).optional().describe('entries older than this audit id') }).strict(),
        response: { status: 200, description: 'audit entries', schema: z.object({ items: z.array(auditEntry) }) },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params, query }) => {
        if (!(await getAccount(pool, staff, params.id))) throw notFoundError('key account', params.id);
        const rows = await listAccountAudit(pool, params.id, query);
        return {
          items: rows.map((row) => ({
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            entityType: row.entity_type,
            entityId: row.entity_id,
            requestId: row.request_id,
            before: row.before,
            after: row.after,
            details: row.details,
          })),
        };
      },
    );
}

