/**
 * The billing cycle's service tasks (`kf:type="billing.…"`), as processes/billing-cycle.bpmn and
 * processes/dunning.bpmn call them: each takes a ServiceTaskRequest and returns variables, does
 * set-based work, and is idempotent (see the modules it calls).
 */

import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { billRunAccounts, refreshRollups } from '../../db/analytics';
import { computeValueScores } from '../../db/customer-value';
import { createTemporalClient } from '../../runtime/temporal-client';
import { bpmnProcessWorkflowType, processInstanceId, type BpmnProcessInput } from '../../workflows/contracts';
import type { ActivityDependencies } from '../context';
import { createAccountingClient } from '../external/accounting';
import { endpointFor } from '../external/endpoints';
import { createNotifyClient } from '../external/notify';
import { createProvisioningClient } from '../external/provisioning';
import { defineServiceTask } from '../external/service-task';
import { previousPeriodId } from '../rating';
import { AccountBillingError } from './account-billing';
import { BillRunError, decideRun, finishRating, getRun, issueBills, openRun, planRun, rateAndBillBatch, setRunStatus } from './bill-run';
import { BulkDatabase } from './bulk';
import { collectInbox, inboxLayout } from './collect';
import { collectFeed, createUsageFeedClient } from './feed';
import { GuidingContext } from './guiding';
import { DunningError, dunningSchedule, dunningStep, dunningSteps, durationMs, openDunning } from './dunning';
import { billBalance, PaymentError } from './payments';
import { billingProcessKeys, latestModel } from './processes';
import { publishBatch } from './publish';

/** ApplicationFailure type of a billing step that cannot succeed by retrying (a state or data problem). */
export const billingFailureType = 'BillingError';

const runInput = z.object({ billRunId: z.coerce.number().int().positive() }).passthrough();
const batchInput = runInput.extend({ batch: z.coerce.number().int().min(0) });

export function createBillingActivities(deps: ActivityDependencies) {
  const logger = deps.logger.child({ component: 'billing' });
  let bulk: BulkDatabase | undefined;
  // Built on first use: the worker's config always has a database, a unit test building the
  // activity list may not.
  const db = () => (bulk ??= new BulkDatabase(deps.config.DATABASE_URL!, 3));
  let temporal: Promise<Client> | undefined;
  const accounting = createAccountingClient(endpointFor(deps.config, 'accounting'), logger);
  const notify = createNotifyClient(endpointFor(deps.config, 'notify'), logger);
  const provisioning = createProvisioningClient(endpointFor(deps.config, 'provisioning'), logger);
  const usageFeed = createUsageFeedClient(endpointFor(deps.config, 'usage'), logger);

  /** A billing task: the shared request check, and our own errors as non-retryable failures. */
  const task = <S extends z.ZodTypeAny>(name: string, input: S, body: (input: z.infer<S>, call: { workflowId: string; idempotencyKey: string }) => Promise<Record<string, unknown>>) =>
    defineServiceTask(name, input, { logger }, async (parsed, call) => {
      try {
        await requireOwnIds(parsed as Record<string, unknown>, call.workflowId);
        return await body(parsed, call);
      } catch (error) {
        if (error instanceof BillRunError && error.code === 'RUN_INCOMPLETE') throw error;
        if (error instanceof BillRunError || error instanceof AccountBillingError || error instanceof PaymentError || error instanceof DunningError) {
          throw ApplicationFailure.create({ type: billingFailureType, message: error.message, nonRetryable: true, details: [{ code: 'code' in error ? error.code : undefined }] });
        }
        throw error;
      }
    });

  /**
   * A variable is only what the instance was told: a completion or a message could have changed it.
   * The ids an instance stands for — its bill run, the bill it duns — are checked against what the
   * store and the instance id say, so no variable can point a step at another run or bill.
   * @throws BillRunError RUN_NOT_OWNED / DunningError BILL_NOT_OWNED (non-retryable)
   */
  const requireOwnIds = async (input: Record<string, unknown>, workflowId: string): Promise<void> => {
    if (typeof input.billRunId === 'number') {
      const [run] = await db().query(z.object({ workflow_id: z.string().nullable() }), 'SELECT workflow_id FROM bill_runs WHERE id = $1', [input.billRunId]);
      if (!run || run.workflow_id !== workflowId) throw new BillRunError('RUN_NOT_OWNED', `bill run ${input.billRunId} is not the run of ${workflowId}`);
    }
    if (typeof input.billNo === 'string' && workflowId.startsWith(`${billingProcessKeys.dunning}:`) && workflowId !== processInstanceId(billingProcessKeys.dunning, input.billNo)) {
      throw new DunningError('BILL_NOT_OWNED', `bill ${input.billNo} is not the bill ${workflowId} duns`);
    }
  };

  return {
    'billing.openRun': task(
      'billing.openRun',
      z
        .object({
          period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/).optional(),
          cycleDay: z.coerce.number().int().min(1).max(28).default(1),
          thresholdPercent: z.coerce.number().min(0).max(1000).default(20),
          requestedBy: z.string().min(1).max(100).default('system:schedule'),
        })
        .passthrough(),
      async (input, call) => {
        // Without a period, the run bills the last full month in the operator's zone.
        const period = input.period ?? previousPeriodId(DateTime.fromJSDate(deps.now(), { zone: 'Asia/Shanghai' }).toFormat('yyyy-MM'));
        const run = await openRun(db(), { period, cycleDay: input.cycleDay, requestedBy: input.requestedBy, thresholdPercent: input.thresholdPercent, workflowId: call.workflowId });
        return { billRunId: run.id, period: run.period, cycleDay: run.cycle_day };
      },
    ),

    'billing.collectUsage': task('billing.collectUsage', runInput.extend({ includeFeed: z.boolean().default(true) }), async (input) => {
      const run = await db().transaction((client) => getRun(client, input.billRunId));
      if (run.status !== 'collecting') return { collected: false, runStatus: run.status };
      const now = deps.now();
      const guiding = await db().transaction((client) => GuidingContext.load(client, now));
      const runRef = { id: run.id, period: run.period, cycleDay: run.cycle_day };
      const heartbeat = () => heartbeatIfActive();
      const inbox = await collectInbox(db(), guiding, {
        layout: inboxLayout(deps.config.KEYFLOW_USAGE_INBOX ?? path.join(deps.config.KEYFLOW_DATA_DIR, 'usage', 'inbox')),
        now,
        settleMs: 2_000,
        // File times are the file system's wall clock, not the business clock.
        fileClockMs: Date.now(),
        maxFileBytes: 2 * 1024 ** 3,
        run: runRef,
        onFile: heartbeat,
      });
      const feed = input.includeFeed ? await collectFeed(db(), guiding, usageFeed, { now, run: runRef, onPage: heartbeat }) : { pages: 0, recordsIn: 0, accepted: 0, rejected: 0, duplicates: 0 };
      return {
        filesLoaded: inbox.loaded,
        filesQuarantined: inbox.quarantined,
        feedPages: feed.pages,
        recordsIn: inbox.recordsIn + feed.recordsIn,
        recordsAccepted: inbox.accepted + feed.accepted,
        recordsRejected: inbox.rejected + feed.rejected,
        recordsDuplicate: inbox.duplicates + feed.duplicates,
      };
    }),

    'billing.planRun': task(
      'billing.planRun',
      runInput.extend({ accountsPerBatch: z.coerce.number().int().min(1).max(10_000).default(250), maxRecordsPerBatch: z.coerce.number().int().min(1).default(25_000) }),
      async (input) => {
        const plan = await planRun(db(), input.billRunId, input.accountsPerBatch, input.maxRecordsPerBatch);
        return { batches: plan.batches, batchCount: plan.batches.length, accountsTotal: plan.accountsTotal, recordsTotal: plan.recordsTotal };
      },
    ),

    'billing.rateBatch': task('billing.rateBatch', batchInput, async (input) => {
      const result = await rateAndBillBatch(db(), input.billRunId, input.batch);
      return { batch: result.batchNo, bills: result.bills, recordsRated: result.recordsRated, recordsRejected: result.recordsRejected };
    }),

    'billing.finishRating': task('billing.finishRating', runInput, async (input) => {
      const outcome = await finishRating(db(), input.billRunId);
      return {
        needsApproval: outcome.needsApproval,
        billsTotalMinor: outcome.run.bills_total_minor,
        previousTotalMinor: outcome.run.previous_total_minor,
        deviationPercent: outcome.run.deviation_percent,
        ledger: outcome.ledger,
      };
    }),

    'billing.recordDecision': task(
      'billing.recordDecision',
      runInput.extend({ approved: z.boolean(), comment: z.string().max(2000).nullish() }),
      async (input, call) => {
        // Who decided: the clerk who completed this instance's approval task (the inbox knows).
        const [task] = await db().query(
          z.object({ completed_by: z.string().nullable() }),
          `SELECT completed_by FROM human_tasks WHERE workflow_id = $1 AND status = 'completed' ORDER BY closed_at DESC LIMIT 1`,
          [call.workflowId],
        );
        const run = await decideRun(db(), input.billRunId, { approved: input.approved, by: task?.completed_by ?? 'unknown', comment: input.comment ?? undefined });
        return { runStatus: run.status };
      },
    ),

    'billing.issueBills': task(
      'billing.issueBills',
      runInput.extend({
        dueDays: z.coerce.number().int().min(0).max(90).default(15),
        dunningGrace: z.string().regex(/^P/).default('P3D'),
        dunningAt: z.string().datetime({ offset: true }).nullish(),
      }),
      async (input) => {
        const issuedAt = deps.now();
        const issued = await issueBills(db(), input.billRunId, issuedAt, input.dueDays);
        // The month's rollups (reports) and value scores follow the issued bills; both are
        // recomputed from the sources, so a retried step writes the same figures.
        const billed = await billRunAccounts(deps.pool, input.billRunId);
        await refreshRollups(deps.pool, billed.accountIds, [billed.period]);
        await computeValueScores(deps.pool, billed.period, billed.accountIds);
        const [latest] = await db().query(
          z.object({ due_end: z.date().nullable() }),
          `SELECT max((due_date + 1)::timestamp AT TIME ZONE time_zone) AS due_end FROM bills WHERE bill_run_id = $1`,
          [input.billRunId],
        );
        const dunningAt = input.dunningAt ?? new Date((latest?.due_end ?? issuedAt).getTime() + durationMs(input.dunningGrace)).toISOString();
        return { billsIssued: issued.issued, firstBillNo: issued.firstNo, lastBillNo: issued.lastNo, dunningAt };
      },
    ),

    'billing.publishBatch': task('billing.publishBatch', batchInput, async (input, call) => {
      const result = await publishBatch(db(), { accounting, notify }, input.billRunId, input.batch, call.idempotencyKey);
      heartbeatIfActive();
      return { published: result.published + result.alreadySent, publishFailures: result.failed };
    }),

    'billing.completeRun': task('billing.completeRun', runInput, async (input) => {
      const run = await db().transaction(async (client) => {
        await setRunStatus(client, input.billRunId, 'completed', ['publishing', 'completed']);
        return getRun(client, input.billRunId);
      });
      return { runStatus: run.status, billsTotalMinor: run.bills_total_minor };
    }),

    'billing.startDunning': task(
      'billing.startDunning',
      runInput.extend({ dunningSchedule: dunningSchedule.default({}), dunningAnchor: z.enum(['dueDate', 'now']).default('dueDate') }),
      async (input) => {
        const unpaid = await db().query(
          z.object({ bill_no: z.string(), org_unit_id: z.string(), account_id: z.string() }),
          `SELECT bill_no, org_unit_id, account_id FROM bills WHERE bill_run_id = $1 AND status IN ('validated', 'sent', 'partiallyPaid')
              AND total_minor + adjusted_minor - paid_minor > 0 ORDER BY bill_no`,
          [input.billRunId],
        );
        if (unpaid.length === 0) return { dunningStarted: 0, dunningAlreadyRunning: 0 };
        const client = await (temporal ??= createTemporalClient(deps.config));
        const definition = await latestModel(deps.pool, billingProcessKeys.dunning);
        let started = 0;
        let running = 0;
        for (const bill of unpaid) {
          try {
            await client.workflow.start(bpmnProcessWorkflowType, {
              taskQueue: deps.config.KEYFLOW_TASK_QUEUE,
              workflowId: processInstanceId(definition.key, bill.bill_no),
              args: [
                {
                  definition,
                  businessKey: bill.bill_no,
                  variables: { billNo: bill.bill_no, dunningSchedule: input.dunningSchedule, dunningAnchor: input.dunningAnchor },
                  startedBy: 'system:billing',
                  customerId: bill.account_id,
                  orgUnitId: bill.org_unit_id,
                } satisfies BpmnProcessInput,
              ],
            });
            started += 1;
          } catch (error) {
            // A retried step finds the instances it started: one dunning per bill.
            if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
            running += 1;
          }
          heartbeatIfActive();
        }
        return { dunningStarted: started, dunningAlreadyRunning: running };
      },
    ),

    'billing.openDunning': task(
      'billing.openDunning',
      z.object({ billNo: z.string().min(1).max(64), dunningSchedule: dunningSchedule.default({}), dunningAnchor: z.enum(['dueDate', 'now']).default('dueDate') }).passthrough(),
      async (input) => ({ ...(await openDunning(db(), input.billNo, input.dunningSchedule, input.dunningAnchor, deps.now())) }),
    ),

    'billing.dunningStep': task('billing.dunningStep', z.object({ billNo: z.string().min(1).max(64), step: z.enum(dunningSteps) }).passthrough(), async (input, call) => {
      const outcome = await dunningStep(db(), { notify, provisioning }, input.billNo, input.step, call.idempotencyKey);
      return { lastDunningStep: outcome.step, stepPerformed: outcome.performed, outstandingMinor: outcome.outstandingMinor, settled: outcome.settled };
    }),

    'billing.dunningStatus': task('billing.dunningStatus', z.object({ billNo: z.string().min(1).max(64) }).passthrough(), async (input) => {
      const bill = await db().transaction((client) => billBalance(client, input.billNo));
      if (!bill) throw new DunningError('BILL_NOT_FOUND', `no bill ${input.billNo}`);
      return { outstandingMinor: bill.outstandingMinor, settled: bill.outstandingMinor <= 0, billStatus: bill.status };
    }),
  };
}

function heartbeatIfActive(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Not inside an activity (a test calling the step directly).
  }
}

export type BillingActivities = ReturnType<typeof createBillingActivities>;
