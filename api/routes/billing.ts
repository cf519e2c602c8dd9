import { WorkflowNotFoundError } from '@temporalio/common';
import { sql } from 'slonik';
import { z } from 'zod';
import { AccountBillingError } from '../../activities/billing/account-billing';
import { renderBillHtml } from '../../activities/billing/bill-html';
import { BulkDatabase } from '../../activities/billing/bulk';
import { paymentMethods, PaymentError, recordPayment } from '../../activities/billing/payments';
import { billingProcessKeys, latestModel } from '../../activities/billing/processes';
import { RerateError, rerate } from '../../activities/billing/rerate';
import { discardRejection, resubmitRejection, ResubmitError } from '../../activities/billing/resubmit';
import { rejectionReasons } from '../../activities/billing/preprocess';
import { refreshBillRollups } from '../../db/analytics';
import { billDetail, billRun, billSummary, countBillRuns, getBill, getBillRun, getRejection, listBillRuns, listBills, listRejections, usageRejection } from '../../db/billing';
import { getOrgUnit } from '../../db/org-units';
import { orgScope } from '../../db/scope';
import { processInstanceId } from '../../workflows/contracts';
import { messageSignal } from '../../workflows/handles';
import type { ApiDependencies } from '../dependencies';
import { requireOperatorScope, type Role } from '../auth';
import { startInstance } from '../engine/instances';
import { streamEvents } from '../event-stream';
import { ApiError } from '../errors';
import { ApiRoutes } from '../routing';
import { currency, cursor, entityId, limit, notFoundError, pageOf, text } from '../schemas';

/** Billing clerks run the cycle, take payments and correct usage; admins may look. */
export const billingRoles: Role[] = ['billing_clerk', 'admin'];
const clerks: Role[] = ['billing_clerk'];

const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month YYYY-MM');
const numericId = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();
const pageCursor = cursor.regex(/^\d{1,15}$/, 'not a cursor this API returned');

const startRunBody = z
  .object({
    period,
    cycleDay: z.number().int().min(1).max(28).default(1),
    thresholdPercent: z.number().min(0).max(1000).default(20).describe('a clerk approves when the totals deviate more than this from last period'),
    accountsPerBatch: z.number().int().min(1).max(10_000).optional(),
    dueDays: z.number().int().min(0).max(90).optional(),
  })
  .strict();

const paymentBody = z
  .object({
    billNo: z.string().regex(/^BL-\d{4}-\d{8}$/, 'a bill number such as BL-2025-00000042'),
    paymentRef: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable characters without spaces'),
    amountMinor: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('integer minor units (fen)'),
    currency,
    method: z.enum(paymentMethods),
    receivedAt: z.string().datetime({ offset: true }).optional().describe('default: now'),
  })
  .strict();

const corrections = z
  .object({
    source: z.string().min(1).max(50),
    recordId: z.string().min(1).max(100),
    usageType: z.enum(['voice', 'sms', 'data']),
    serviceNumber: z.string().min(1).max(40),
    startedAt: z.string().min(1).max(40),
    durationSec: z.string().max(20),
    volumeBytes: z.string().max(20),
    messages: z.string().max(10),
    destination: z.string().max(40),
  })
  .partial()
  .strict();

const rerateBody = z
  .object({
    requestKey: z.string().min(1).max(300).describe('asking again with the same key returns the first answer'),
    period,
    billingAccountId: entityId.optional().describe('omitted: every account with a bill for the period'),
    reason: text(2000),
  })
  .strict();

const rerateSummary = z.object({
  rerateId: z.number(),
  period: z.string(),
  accounts: z.number(),
  records: z.number(),
  differenceMinor: z.number(),
  notes: z.array(z.object({ noteNo: z.string(), kind: z.enum(['credit', 'debit']), billNo: z.string(), totalMinor: z.number() })),
  differences: z.array(
    z.object({ billingAccountId: z.string(), billNo: z.string(), key: z.string(), description: z.string(), beforeMinor: z.number(), afterMinor: z.number(), differenceMinor: z.number() }),
  ),
  replayed: z.boolean(),
});


/**
 * Bill runs and their progress, bills (JSON and printable), payments, the usage error table and
 * rerating. Everything customer-related is scoped to the caller's org subtree.
 */
export function createBillingRoutes({ pool, temporal, config, billRuns }: ApiDependencies): ApiRoutes {
  let bulk: BulkDatabase | undefined;
  const db = () => (bulk ??= new BulkDatabase(config.DATABASE_URL!, 2));

  return new ApiRoutes()
    .add(
      {
        method: 'post',
        path: '/api/billing/runs',
        summary: 'Start the billing cycle of a period and bill cycle day (one live run at a time)',
        tags: ['billing'],
        access: clerks,
        body: startRunBody,
        response: { status: 202, description: 'the process instance running it', schema: z.object({ processInstanceId: z.string(), businessKey: z.string() }) },
        errors: ['FORBIDDEN', 'CONFLICT'],
      },
      async ({ staff, body }) => {
        requireOperatorScope(staff, 'bill runs and rerating');
        const runs = await countBillRuns(pool, body.period, body.cycleDay);
        if (runs.live > 0) throw new ApiError('CONFLICT', `a bill run of ${body.period} (cycle day ${body.cycleDay}) is running or done; reject it or rerate instead`);
        const businessKey = `${body.period}-c${body.cycleDay}-${runs.total + 1}`;
        const definition = await latestModel(pool, billingProcessKeys.cycle);
        const started = await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
          definition,
          businessKey,
          variables: { ...body, requestedBy: staff.username },
          startedBy: staff.username,
          orgUnitId: staff.orgUnitId,
        });
        return { processInstanceId: started.processInstanceId, businessKey };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/runs',
        summary: 'Bill runs, newest first, with their progress and ledger',
        tags: ['billing'],
        access: billingRoles,
        query: z.object({ period: period.optional(), limit, cursor: pageCursor.optional() }).strict(),
        response: { status: 200, description: 'a page of runs', schema: pageOf(billRun) },
      },
      async ({ staff, query }) => {
        requireOperatorScope(staff, 'bill runs and their totals');
        return listBillRuns(pool, { period: query.period, limit: query.limit, before: query.cursor ? Number(query.cursor) : undefined });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/runs/events',
        summary: "Server-Sent Events: a bill run's change (progress, status, totals, decision) as it is written",
        description:
          'A `text/event-stream` of `run { id, status, at }` events, fed by PostgreSQL LISTEN/NOTIFY on the bill runs: read the run again for its figures. ' +
          'Bill runs are operator-wide: only province-level clerks. The stream ends after five minutes; EventSource reconnects by itself.',
        tags: ['billing'],
        access: billingRoles,
        response: { status: 200, description: 'an event stream (text/event-stream)', schema: z.string() },
        errors: ['FORBIDDEN', 'UNAVAILABLE'],
      },
      async ({ req, res, staff }) => {
        requireOperatorScope(staff, 'bill runs and their totals');
        if (!billRuns) throw new ApiError('UNAVAILABLE', 'this API process does not push bill runs');
        return streamEvents(req, res, (sink) =>
          billRuns.subscribe({ send: (event) => sink.send('run', event), resync: () => sink.send('resync', {}), end: () => sink.end() }),
        );
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/runs/:id',
        summary: 'One bill run: progress (accounts and records done of total), conservation ledger, totals, decision',
        tags: ['billing'],
        access: billingRoles,
        params: numericId,
        response: { status: 200, description: 'the run', schema: billRun },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => {
        requireOperatorScope(staff, 'bill runs and their totals');
        return (await getBillRun(pool, params.id)) ?? Promise.reject(notFoundError('bill run', String(params.id)));
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/runs/:id/bills',
        summary: 'The bills of a run within your org scope',
        tags: ['billing'],
        access: billingRoles,
        params: numericId,
        query: z.object({ limit, cursor: pageCursor.optional() }).strict(),
        response: { status: 200, description: 'a page of bills', schema: pageOf(billSummary) },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params, query }) => {
        if (!(await getBillRun(pool, params.id))) throw notFoundError('bill run', String(params.id));
        return listBills(pool, staff, { billRunId: params.id, limit: query.limit, after: query.cursor ? Number(query.cursor) : undefined });
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/bills',
        summary: 'Bills within your org scope, by billing account, period, status or number',
        tags: ['billing'],
        access: billingRoles,
        query: z
          .object({
            billingAccountId: entityId.optional(),
            period: period.optional(),
            status: billSummary.shape.status.optional(),
            limit,
            cursor: pageCursor.optional(),
          })
          .strict(),
        response: { status: 200, description: 'a page of bills', schema: pageOf(billSummary) },
      },
      async ({ staff, query }) => listBills(pool, staff, { ...query, after: query.cursor ? Number(query.cursor) : undefined }),
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/bills/:id',
        summary: 'A bill with its lines, credit and debit notes and payments',
        tags: ['billing'],
        access: billingRoles,
        params: numericId,
        response: { status: 200, description: 'the bill', schema: billDetail },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params }) => (await getBill(pool, staff, { id: params.id })) ?? Promise.reject(notFoundError('bill', String(params.id))),
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/bills/:id/print',
        summary: 'A bill as a printable HTML page (print it to PDF from the browser)',
        tags: ['billing'],
        access: billingRoles,
        params: numericId,
        response: { status: 200, description: 'text/html', schema: z.string() },
        errors: ['NOT_FOUND'],
      },
      async ({ staff, params, res }) => {
        const bill = await getBill(pool, staff, { id: params.id });
        if (!bill) throw notFoundError('bill', String(params.id));
        // The page is ours and static: no script, no outside resource, not framable.
        res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        res.status(200).type('html').send(renderBillHtml(bill));
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/billing/payments',
        summary: 'Record a payment against an issued bill (idempotent by payment reference); ends dunning when it settles the bill',
        tags: ['billing'],
        access: clerks,
        body: paymentBody,
        response: { status: 201, description: 'the bill after the payment; `recorded: false` when this payment had been recorded before', schema: z.object({ recorded: z.boolean(), bill: billSummary }) },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ staff, body }) => {
        // Resolve the number within the caller's scope first: another unit's bill is "not found".
        const scoped = await pool.maybeOneFirst(sql.type(z.object({ id: z.coerce.number() }))`
          SELECT b.id FROM bills b WHERE b.bill_no = ${body.billNo} AND ${orgScope(staff, sql.identifier(['b', 'org_unit_id']))}`);
        if (scoped === null) throw notFoundError('bill', body.billNo);
        let result;
        try {
          result = await recordPayment(db(), { ...body, receivedAt: body.receivedAt ? new Date(body.receivedAt) : new Date(), recordedBy: staff.username });
        } catch (error) {
          if (error instanceof PaymentError) {
            throw new ApiError(error.code === 'BILL_NOT_FOUND' ? 'NOT_FOUND' : error.code === 'REFERENCE_REUSED' ? 'CONFLICT' : 'UNPROCESSABLE', error.message, { reason: error.code });
          }
          throw error;
        }
        // The bill's month in the rollups (paid, outstanding). Also when the payment was known:
        // a repeated report then mends a refresh an earlier attempt did not get to.
        await refreshBillRollups(pool, body.billNo);
        if (result.recorded) {
          // Tell the bill's dunning, if it has one; a bill never dunned has nobody to tell.
          await temporal.workflow
            .getHandle(processInstanceId(billingProcessKeys.dunning, body.billNo))
            .signal(messageSignal, { name: 'billing.paymentRecorded', correlationKey: body.billNo, messageId: body.paymentRef })
            .catch((error: unknown) => {
              if (!(error instanceof WorkflowNotFoundError)) throw error;
            });
        }
        const bill = await getBill(pool, staff, { id: scoped });
        return { recorded: result.recorded, bill: billSummary.parse(bill) };
      },
    )
    .add(
      {
        method: 'get',
        path: '/api/billing/rejections',
        summary: 'The usage error table: rejected records with their reason codes',
        tags: ['billing'],
        access: billingRoles,
        query: z
          .object({
            status: usageRejection.shape.status.optional(),
            reasonCode: z.enum(rejectionReasons).optional(),
            billRunId: z.coerce.number().int().min(1).optional(),
            limit,
            cursor: pageCursor.optional(),
          })
          .strict(),
        response: { status: 200, description: 'a page of rejected records', schema: pageOf(usageRejection) },
      },
      async ({ staff, query }) => listRejections(pool, staff, { ...query, after: query.cursor ? Number(query.cursor) : undefined }),
    )
    .add(
      {
        method: 'post',
        path: '/api/billing/rejections/:id/resubmit',
        summary: 'Correct a rejected record and resubmit it; it is checked and guided again like a collected one',
        tags: ['billing'],
        access: clerks,
        params: numericId,
        body: z.object({ corrections: corrections.default({}) }).strict(),
        response: { status: 200, description: 'the usage record it became', schema: z.object({ usageRecordId: z.number(), period: z.string(), billingAccountId: z.string() }) },
        errors: ['NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ staff, params, body }) => {
        if (!(await getRejection(pool, staff, params.id))) throw notFoundError('rejected record', String(params.id));
        try {
          return await resubmitRejection(db(), params.id, body.corrections, staff.username, new Date());
        } catch (error) {
          if (error instanceof ResubmitError) {
            const code = error.code === 'NOT_FOUND' ? 'NOT_FOUND' : error.code === 'STILL_INVALID' ? 'UNPROCESSABLE' : 'CONFLICT';
            throw new ApiError(code, error.message, error.reason ? { reasonCode: error.reason } : undefined);
          }
          throw error;
        }
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/billing/rejections/:id/discard',
        summary: 'Give up on a rejected record (it will never be billed)',
        tags: ['billing'],
        access: clerks,
        params: numericId,
        response: { status: 204, description: 'discarded' },
        errors: ['NOT_FOUND', 'CONFLICT'],
      },
      async ({ staff, params }) => {
        if (!(await getRejection(pool, staff, params.id))) throw notFoundError('rejected record', String(params.id));
        try {
          await discardRejection(db(), params.id, staff.username);
        } catch (error) {
          if (error instanceof ResubmitError) throw new ApiError(error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'CONFLICT', error.message);
          throw error;
        }
      },
    )
    .add(
      {
        method: 'post',
        path: '/api/billing/rerates',
        summary: 'Rerate an account or a whole period after a tariff correction: difference report and credit/debit notes',
        tags: ['billing'],
        access: clerks,
        body: rerateBody,
        response: { status: 200, description: 'the difference report', schema: rerateSummary },
        errors: ['FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'UNPROCESSABLE'],
      },
      async ({ staff, body }) => {
        if (body.billingAccountId) {
          const unit = await pool.maybeOneFirst(sql.type(z.object({ org_unit_id: z.string() }))`SELECT org_unit_id FROM billing_accounts WHERE id = ${body.billingAccountId}`);
          const path = unit ? (await getOrgUnit(pool, unit))?.path : undefined;
          if (!path || !path.startsWith(staff.orgPath)) throw notFoundError('billing account', body.billingAccountId);
        } else {
          requireOperatorScope(staff, 'bill runs and rerating');
        }
        try {
          return await rerate(db(), { ...body, requestedBy: staff.username });
        } catch (error) {
          if (error instanceof RerateError) {
            throw new ApiError(error.code === 'NOTHING_TO_RERATE' ? 'NOT_FOUND' : error.code === 'UNRATEABLE' ? 'UNPROCESSABLE' : 'CONFLICT', error.message);
          }
          if (error instanceof AccountBillingError) throw new ApiError('UNPROCESSABLE', error.message);
          throw error;
        }
      },
    );
}
