import { DateTime } from 'luxon';
import { z } from 'zod';
import {
  arrearsReport,
  managerLeague,
  reportMeasures,
  reportUnit,
  slaReport,
  trendGroupings,
  trendReport,
  type ReportUnit,
  type TrendRow,
} from '../../db/analytics';
import { accountValue, computeValueScores, factorDetail, updateValueWeights, valueFactors, valueWeights, type ValueWeight } from '../../db/customer-value';
import { accountChurn } from '../../db/churn';
import { findDefinition } from '../../db/definitions';
import { openRetentionCases, retentionProcessKey } from '../../db/retention';
import { startInstance } from '../engine/instances';
import type { ApiDependencies } from '../dependencies';
import type { AuthenticatedStaff, Role } from '../auth';
import { ApiError } from '../errors';
import { reportFormats, sendReport, type ReportColumn, type ReportRecord } from '../reports-export';
import { ApiRoutes } from '../routing';
import { idParams, notFoundError, orgUnitId } from '../schemas';

/** Who reads reports: the managers of the business and the people measured by them. */
export const reportReaders: Role[] = ['admin', 'supervisor', 'customer_manager', 'billing_clerk'];

/** Months and dates are the operator's (Asia/Shanghai). */
const operatorZone = 'Asia/Shanghai';
const maxMonths = 36;

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month as YYYY-MM');
const format = z.enum(reportFormats).default('json').describe('json, or a download: csv (UTF-8, RFC 4180) or xlsx');
const unit = orgUnitId.optional().describe('the org unit reported on, in your scope; default your own unit');

const lastFullMonth = () => DateTime.now().setZone(operatorZone).minus({ months: 1 }).toFormat('yyyy-MM');
const monthsBetween = (from: string, to: string) => {
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  return (ty - fy) * 12 + (tm - fm) + 1;
};
const shiftMonth = (value: string, by: number) => DateTime.fromFormat(value, 'yyyy-MM', { zone: 'UTC' }).plus({ months: by }).toFormat('yyyy-MM');

const rangeQuery = z
  .object({
    unit,
    from: month.optional().describe('first month; default eleven months before `to`'),
    to: month.optional().describe('last month; default the last full month'),
    format,
  })
  .strict();

/** The range asked for, or the last twelve full months; refused when backwards or too long. */
function rangeOf(query: { from?: string; to?: string }): { from: string; to: string } {
  const to = query.to ?? (query.from ? shiftMonth(query.from, 11) : lastFullMonth());
  const from = query.from ?? shiftMonth(to, -11);
  if (from > to) throw new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.from', message: 'must not be after `to`' }]);
  if (monthsBetween(from, to) > maxMonths) throw new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.from', message: `at most ${maxMonths} months` }]);
  return { from, to };
}

/** Percent change from `before` to `now`, two decimals; null when there is nothing to compare with. */
export function changePercent(now: number, before: number | null): number | null {
  if (before === null || before === 0) return null;
  return Math.round(((now - before) / Math.abs(before)) * 10_000) / 100;
}

const unitSummary = z.object({ id: z.string(), name: z.string(), level: z.string() });
const trendItem = z.object({
  key: z.string().describe('unit id, product id (`-` for lines of no product), account id, or the unit itself (by=month)'),
  name: z.string(),
  month,
  value: z.number(),
  previousMonth: z.number().nullable().describe('the same group a month earlier (环比 base)'),
  yearAgo: z.number().nullable().describe('the same group twelve months earlier (同比 base)'),
  momPercent: z.number().nullable().describe('month-on-month change (环比), percent'),
  yoyPercent: z.number().nullable().describe('year-on-year change (同比), percent'),
});
const trendColumns: ReportColumn[] = [
  { key: 'key', title: 'Group', type: 'text' },
  { key: 'name', title: 'Name', type: 'text' },
  { key: 'month', title: 'Month', type: 'text' },
  { key: 'value', title: 'Value', type: 'integer' },
  { key: 'previousMonth', title: 'Previous month', type: 'integer' },
  { key: 'yearAgo', title: 'A year earlier', type: 'integer' },
  { key: 'momPercent', title: 'MoM % (环比)', type: 'percent' },
  { key: 'yoyPercent', title: 'YoY % (同比)', type: 'percent' },
];
const trendItemOf = (row: TrendRow) => ({
  key: row.key,
  name: row.name,
  month: row.month,
  value: row.value,
  previousMonth: row.previous_month,
  yearAgo: row.year_ago,
  momPercent: changePercent(row.value, row.previous_month),
  yoyPercent: changePercent(row.value, row.year_ago),
});

const slaColumns: ReportColumn[] = [
  { key: 'unitId', title: 'Unit', type: 'text' },
  { key: 'unitName', title: 'Unit name', type: 'text' },
  { key: 'kind', title: 'Kind', type: 'text' },
  { key: 'category', title: 'Category', type: 'text' },
  { key: 'opened', title: 'Opened', type: 'integer' },
  { key: 'resolved', title: 'Resolved', type: 'integer' },
  { key: 'slaMet', title: 'SLA met', type: 'integer' },
  { key: 'slaBreached', title: 'SLA breached', type: 'integer' },
  { key: 'reopened', title: 'Re-opened', type: 'integer' },
  { key: 'compliancePercent', title: 'SLA compliance %', type: 'percent' },
];
const slaItem = z.object({
  unitId: z.string(),
  unitName: z.string(),
  kind: z.string(),
  category: z.string(),
  opened: z.number(),
  resolved: z.number(),
  slaMet: z.number(),
  slaBreached: z.number(),
  reopened: z.number(),
  compliancePercent: z.number().nullable().describe('met of (met + breached); open tickets within their SLA are not counted yet'),
});

const arrearsColumns: ReportColumn[] = [
  { key: 'unitId', title: 'Unit', type: 'text' },
  { key: 'unitName', title: 'Unit name', type: 'text' },
  { key: 'currency', title: 'Currency', type: 'text' },
  { key: 'bills', title: 'Bills owing', type: 'integer' },
  { key: 'notDueMinor', title: 'Not yet due', type: 'integer' },
  { key: 'days1To30Minor', title: '1–30 days overdue', type: 'integer' },
  { key: 'days31To60Minor', title: '31–60 days', type: 'integer' },
  { key: 'days61To90Minor', title: '61–90 days', type: 'integer' },
  { key: 'daysOver90Minor', title: 'over 90 days', type: 'integer' },
  { key: 'outstandingMinor', title: 'Outstanding', type: 'integer' },
];
const arrearsItem = z.object({
  unitId: z.string(),
  unitName: z.string(),
  currency: z.string(),
  bills: z.number(),
  notDueMinor: z.number(),
  days1To30Minor: z.number(),
  days31To60Minor: z.number(),
  days61To90Minor: z.number(),
  daysOver90Minor: z.number(),
  outstandingMinor: z.number(),
});

const managerColumns: ReportColumn[] = [
  { key: 'rank', title: 'Rank', type: 'integer' },
  { key: 'username', title: 'Customer manager', type: 'text' },
  { key: 'displayName', title: 'Name', type: 'text' },
  { key: 'orgUnitId', title: 'Unit', type: 'text' },
  { key: 'accounts', title: 'Accounts', type: 'integer' },
  { key: 'revenueMinor', title: 'Revenue', type: 'integer' },
  { key: 'previousMonthMinor', title: 'Previous month', type: 'integer' },
  { key: 'yearAgoMinor', title: 'A year earlier', type: 'integer' },
  { key: 'momPercent', title: 'MoM % (环比)', type: 'percent' },
  { key: 'yoyPercent', title: 'YoY % (同比)', type: 'percent' },
  { key: 'outstandingMinor', title: 'Outstanding', type: 'integer' },
  { key: 'complaints', title: 'Complaints', type: 'integer' },
  { key: 'slaCompliancePercent', title: 'SLA compliance %', type: 'percent' },
];
const managerItem = z.object({
  rank: z.number(),
  username: z.string(),
  displayName: z.string(),
  orgUnitId: z.string(),
  accounts: z.number(),
  revenueMinor: z.number(),
  previousMonthMinor: z.number().nullable(),
  yearAgoMinor: z.number().nullable(),
  momPercent: z.number().nullable(),
  yoyPercent: z.number().nullable(),
  outstandingMinor: z.number(),
  complaints: z.number(),
  slaCompliancePercent: z.number().nullable(),
});

const compliance = (met: number, breached: number) => (met + breached === 0 ? null : Math.round((met / (met + breached)) * 10_000) / 100);

export function createReportRoutes(deps: ApiDependencies): ApiRoutes {
  const { pool, temporal, config } = deps;
  const routes = new ApiRoutes();

  /** The unit asked for (default the caller's own); another subtree's is "not found". */
  const unitFor = async (staff: AuthenticatedStaff, id: string | undefined): Promise<ReportUnit> => {
    const found = await reportUnit(pool, staff, id ?? staff.orgUnitId);
    if (!found) throw new ApiError('NOT_FOUND', `no org unit ${id} in your scope`);
    return found;
  };
  const answer = async (
    res: Parameters<typeof sendReport>[0],
    formatAsked: (typeof reportFormats)[number],
    name: string,
    columns: ReportColumn[],
    rows: ReportRecord[],
    json: Record<string, unknown>,
  ) => {
    if (formatAsked === 'json') return json;
    await sendReport(res, formatAsked, name, columns, rows);
    return undefined;
  };
  const summaryOf = (found: ReportUnit) => ({ id: found.id, name: found.name, level: found.level });

  routes.add(
    {
      method: 'get',
      path: '/api/reports/revenue',
      summary: 'Revenue and volume by unit, product, account or month, with 同比 (YoY) and 环比 (MoM)',
      description:
        'From the monthly rollups (kept fresh by the bill run, payments, orders and tickets). `by=unit`: the units right below `unit` ' +
        '(drill down by asking again with one of them; a unit with none below has its accounts under `by=account`); `by=product`; ' +
        '`by=account` (the `limit` accounts with the most of the measure); `by=month`: the unit itself. Money in minor units. ' +
        '`format=csv|xlsx` downloads the rows with the same keys and numbers.',
      tags: ['reports'],
      access: reportReaders,
      query: rangeQuery.extend({
        measure: z.enum(Object.keys(reportMeasures) as [keyof typeof reportMeasures, ...(keyof typeof reportMeasures)[]]).default('revenue')
          .describe('revenue (net, minor units), billed (with tax), voice (seconds), data (bytes), sms (messages), subscriptions (active at month end)'),
        by: z.enum(trendGroupings).default('unit'),
        limit: z.coerce.number().int().min(1).max(1000).default(50).describe('by=account: how many accounts'),
      }).strict(),
      response: {
        status: 200,
        description: 'the rows, and the unit\'s own totals per month',
        schema: z.object({ unit: unitSummary, measure: z.string(), by: z.string(), from: month, to: month, rows: z.array(trendItem), totals: z.array(trendItem) }),
      },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, query, res }) => {
      if (query.by === 'product' && query.measure === 'billed') {
        throw new ApiError('VALIDATION_FAILED', 'invalid request query', [{ field: 'query.measure', message: 'billed amounts include tax, which is not a product\'s; use revenue' }]);
      }
      const range = rangeOf(query);
      const found = await unitFor(staff, query.unit);
      const base = { unit: found, measure: query.measure, limit: query.limit, ...range };
      const rows = (await trendReport(pool, { ...base, by: query.by })).map(trendItemOf);
      const totals = query.by === 'month' ? rows : (await trendReport(pool, { ...base, by: 'month' })).map(trendItemOf);
      return answer(res, query.format, `revenue-${query.measure}-${found.id}-${range.from}-${range.to}`, trendColumns, rows, {
        unit: summaryOf(found),
        measure: query.measure,
        by: query.by,
        ...range,
        rows,
        totals,
      });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/reports/sla',
      summary: 'SLA compliance of trouble tickets by unit and category',
      description: 'Tickets opened in the months, by the units right below `unit` (or `unit` itself for its own accounts), kind and category. `format=csv|xlsx` downloads.',
      tags: ['reports'],
      access: reportReaders,
      query: rangeQuery,
      response: { status: 200, description: 'one row per unit, kind and category', schema: z.object({ unit: unitSummary, from: month, to: month, rows: z.array(slaItem) }) },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, query, res }) => {
      const range = rangeOf(query);
      const found = await unitFor(staff, query.unit);
      const rows = (await slaReport(pool, found, range.from, range.to)).map((row) => ({
        unitId: row.unit_id,
        unitName: row.unit_name,
        kind: row.kind,
        category: row.category,
        opened: row.opened,
        resolved: row.resolved,
        slaMet: row.sla_met,
        slaBreached: row.sla_breached,
        reopened: row.reopened,
        compliancePercent: compliance(row.sla_met, row.sla_breached),
      }));
      return answer(res, query.format, `sla-${found.id}-${range.from}-${range.to}`, slaColumns, rows, { unit: summaryOf(found), ...range, rows });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/reports/arrears',
      summary: 'Arrears ageing by unit',
      description: 'What issued bills still owe on `asOf`, by the units right below `unit` and by days past the due date (minor units). `format=csv|xlsx` downloads.',
      tags: ['reports'],
      access: reportReaders,
      query: z
        .object({ unit, asOf: z.string().date('a date as YYYY-MM-DD').optional().describe('default today (Asia/Shanghai)'), format })
        .strict(),
      response: { status: 200, description: 'one row per unit and currency', schema: z.object({ unit: unitSummary, asOf: z.string(), rows: z.array(arrearsItem) }) },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, query, res }) => {
      const found = await unitFor(staff, query.unit);
      const asOf = query.asOf ?? DateTime.now().setZone(operatorZone).toISODate()!;
      const rows = (await arrearsReport(pool, found, asOf)).map((row) => ({
        unitId: row.unit_id,
        unitName: row.unit_name,
        currency: row.currency,
        bills: row.bills,
        notDueMinor: row.not_due_minor,
        days1To30Minor: row.days_1_30_minor,
        days31To60Minor: row.days_31_60_minor,
        days61To90Minor: row.days_61_90_minor,
        daysOver90Minor: row.days_over_90_minor,
        outstandingMinor: row.outstanding_minor,
      }));
      return answer(res, query.format, `arrears-${found.id}-${asOf}`, arrearsColumns, rows, { unit: summaryOf(found), asOf, rows });
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/reports/managers',
      summary: 'Customer-manager league table',
      description: 'The customer managers of the accounts under `unit` in `month`, ranked by revenue, with 环比/同比, arrears, complaints and SLA compliance. `format=csv|xlsx` downloads.',
      tags: ['reports'],
      access: reportReaders,
      query: z.object({ unit, month: month.optional().describe('default the last full month'), format }).strict(),
      response: { status: 200, description: 'ranked, most revenue first', schema: z.object({ unit: unitSummary, month, rows: z.array(managerItem) }) },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, query, res }) => {
      const found = await unitFor(staff, query.unit);
      const at = query.month ?? lastFullMonth();
      const rows = (await managerLeague(pool, found, at)).map((row, index) => ({
        rank: index + 1,
        username: row.username,
        displayName: row.display_name,
        orgUnitId: row.org_unit_id,
        accounts: row.accounts,
        revenueMinor: row.revenue_minor,
        previousMonthMinor: row.previous_month_minor,
        yearAgoMinor: row.year_ago_minor,
        momPercent: changePercent(row.revenue_minor, row.previous_month_minor),
        yoyPercent: changePercent(row.revenue_minor, row.year_ago_minor),
        outstandingMinor: row.outstanding_minor,
        complaints: row.complaints,
        slaCompliancePercent: compliance(row.sla_met, row.sla_breached),
      }));
      return answer(res, query.format, `managers-${found.id}-${at}`, managerColumns, rows, { unit: summaryOf(found), month: at, rows });
    },
  );

  const weightOf = (row: ValueWeight) => ({ factor: row.factor, weight: row.weight, fullAt: row.full_at, description: row.description, version: row.version, updatedBy: row.updated_by, updatedAt: row.updated_at.toISOString() });
  const weightItem = z.object({ factor: z.enum(valueFactors), weight: z.number(), fullAt: z.number(), description: z.string(), version: z.number(), updatedBy: z.string(), updatedAt: z.string() });

  routes.add(
    {
      method: 'get',
      path: '/api/reports/value-weights',
      summary: 'The weights of the customer value score and the value at which each factor scores full marks',
      tags: ['reports'],
      access: reportReaders,
      response: { status: 200, description: 'one row per factor', schema: z.object({ items: z.array(weightItem) }) },
    },
    async () => ({ items: (await valueWeights(pool)).map(weightOf) }),
  );

  routes.add(
    {
      method: 'put',
      path: '/api/reports/value-weights',
      summary: 'Change factor weights (and full-marks values) of the customer value score',
      description: 'Send the version of each factor you read. Scores already computed keep their weights; recompute a month with POST /api/reports/value-scores.',
      tags: ['reports'],
      access: ['admin'],
      body: z
        .object({
          weights: z
            .array(z.object({ factor: z.enum(valueFactors), weight: z.number().min(0).max(1000), fullAt: z.number().positive().max(1e12).optional(), version: z.number().int().min(1) }).strict())
            .min(1)
            .max(valueFactors.length)
            .refine((items) => new Set(items.map((item) => item.factor)).size === items.length, 'each factor at most once'),
        })
        .strict(),
      response: { status: 200, description: 'the weights after the change', schema: z.object({ items: z.array(weightItem) }) },
      errors: ['CONFLICT', 'UNPROCESSABLE'],
    },
    async ({ staff, body }) => {
      const result = await updateValueWeights(pool, { actor: staff.username }, body.weights);
      if (!result.ok && result.reason === 'VERSION_CONFLICT') throw new ApiError('CONFLICT', `the weight of ${result.factor} was changed meanwhile; read it again`, { reason: result.reason, factor: result.factor });
      if (!result.ok) throw new ApiError('UNPROCESSABLE', 'the weights must add up to more than zero', { reason: result.reason });
      return { items: result.weights.map(weightOf) };
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/reports/value-scores',
      summary: "Recompute every account's customer value score for a month with today's weights",
      description: 'The bill run computes its accounts\' scores when it issues; this is for after a change of weights.',
      tags: ['reports'],
      access: ['admin'],
      body: z.object({ month }).strict(),
      response: { status: 200, description: 'how many accounts were scored', schema: z.object({ month, scored: z.number() }) },
    },
    async ({ body }) => ({ month: body.month, scored: await computeValueScores(pool, body.month, null) }),
  );

  routes.add(
    {
      method: 'get',
      path: '/api/accounts/:id/value',
      summary: "A key account's customer value score with its factors, and the tier it suggests beside the hand-set one",
      tags: ['reports', 'accounts'],
      access: reportReaders,
      params: idParams,
      query: z.object({ month: month.optional().describe('default the latest scored month') }).strict(),
      response: {
        status: 200,
        description: 'the score',
        schema: z.object({
          accountId: z.string(),
          month,
          score: z.number(),
          tier: z.string().describe('the hand-set tier'),
          suggestedTier: z.enum(['gold', 'silver', 'bronze']),
          factors: z.record(z.enum(valueFactors), factorDetail),
          computedAt: z.string(),
        }),
      },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params, query }) => {
      const value = await accountValue(pool, staff, params.id, query.month ?? null);
      if (!value) throw notFoundError('value score of key account', params.id);
      return {
        accountId: value.account_id,
        month: value.month,
        score: value.score,
        tier: value.tier,
        suggestedTier: value.suggested_tier,
        factors: value.factors,
        computedAt: value.computed_at.toISOString(),
      };
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/api/accounts/:id/churn',
      summary: "A key account's churn risk (probability of leaving within the model's horizon) and the factors that drive it",
      description: 'From the latest scored month. `factors`: each feature with its value and its contribution to the log-odds, largest first (docs/analytics.md).',
      tags: ['reports', 'accounts'],
      access: reportReaders,
      params: idParams,
      response: {
        status: 200,
        description: 'the risk',
        schema: z.object({
          accountId: z.string(),
          month,
          probability: z.number(),
          modelId: z.number(),
          factors: z.array(z.object({ feature: z.string(), value: z.number(), contribution: z.number() })),
        }),
      },
      errors: ['NOT_FOUND'],
    },
    async ({ staff, params }) => {
      const risk = await accountChurn(pool, staff, params.id);
      if (!risk) throw notFoundError('churn score of key account', params.id);
      return { accountId: risk.account_id, month: risk.month, probability: risk.probability, modelId: risk.model_id, factors: risk.factors };
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/api/reports/retention-runs',
      summary: 'Open a retention process for every account in your scope whose churn risk of the month is at least the threshold',
      description:
        'Once per account and period: a case row and the instance `retention:<account>-<period>` (processes/retention.bpmn); asking again opens none ' +
        'for accounts already opened, and starts any instance a failed attempt left unstarted. A counter-offer above `offerLimitMinor` needs a supervisor.',
      tags: ['reports'],
      access: ['admin', 'supervisor'],
      body: z
        .object({
          period: month,
          threshold: z.number().gt(0).max(1).describe('churn probability at or above which an account is worked'),
          offerLimitMinor: z.number().int().min(0).max(100_000_000).default(50_000).describe('counter-offers above it (fen a month) go to a supervisor'),
        })
        .strict(),
      response: { status: 200, description: 'what was opened', schema: z.object({ period: month, cases: z.number(), opened: z.array(z.string()), alreadyOpen: z.number() }) },
      errors: ['UNAVAILABLE'],
    },
    async ({ staff, body }) => {
      const definition = await findDefinition(pool, retentionProcessKey);
      if (!definition) throw new ApiError('UNAVAILABLE', 'the retention process is not deployed');
      const { cases } = await openRetentionCases(pool, staff, { period: body.period, threshold: body.threshold, openedBy: staff.username });
      const opened: string[] = [];
      let alreadyOpen = 0;
      for (const item of cases) {
        try {
          const started = await startInstance(temporal, config.KEYFLOW_TASK_QUEUE, {
            definition: { ...definition.model, version: definition.version },
            businessKey: `${item.account_id}-${item.period}`,
            variables: {
              caseId: item.id,
              accountId: item.account_id,
              period: item.period,
              probability: item.probability,
              customerManager: item.customer_manager,
              offerLimitMinor: body.offerLimitMinor,
            },
            customerId: item.account_id,
            orgUnitId: item.org_unit_id,
            startedBy: staff.username,
          });
          opened.push(started.processInstanceId);
        } catch (error) {
          if (error instanceof ApiError && error.code === 'CONFLICT') alreadyOpen += 1;
          else throw error;
        }
      }
      return { period: body.period, cases: cases.length, opened, alreadyOpen };
    },
  );

  return routes;
}
