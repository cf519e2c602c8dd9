import type { Client, WorkflowHandle } from '@temporalio/client';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { billingProcessKeys, latestModel } from '../../activities/billing/processes';
import type { AccountAgreementInput, RatingPlanInput } from '../../activities/rating';
import { bpmnProcessWorkflowType, completeTaskUpdateName, processInstanceId, type BpmnProcessInput, type Variables } from '../../workflows/contracts';

const nothing = z.object({});

export interface OperatorOptions {
  /** Key accounts, each with one billing account. */
  accounts: number;
  subscriptionsPerAccount: number;
  orgUnitId: string;
  plan: RatingPlanInput;
  productId?: string;
  tariffId?: string;
  /** Local date-time the subscriptions were activated (default long before any tested period). */
  activatedAt?: string;
  timeZone?: string;
  homePrefix?: string;
  cycleDay?: number;
  agreement?: AccountAgreementInput;
  /** Prefix of the generated ids, so two seeds in one database do not collide. */
  idPrefix?: string;
}

export interface SeededOperator {
  productId: string;
  tariffId: string;
  /** `KA<prefix><n>` / `BA<prefix><n>`, n from 1. */
  accountIds: string[];
  billingAccountIds: string[];
  /** Per account, its subscriptions' ids and service numbers (national mobile numbers). */
  subscriptions: { id: string; serviceNumber: string; billingAccountId: string }[][];
}

/**
 * A key-account operator in a few set-based statements: a product with one tariff version (the
 * given plan), N key accounts each with a billing account (zone, area, cycle day, agreement) and K
 * mobile subscriptions. Fast enough for 10 000 accounts.
 */
export async function seedOperator(pool: DatabasePool, options: OperatorOptions): Promise<SeededOperator> {
  const prefix = options.idPrefix ?? 'T';
  const productId = options.productId ?? `MOBILE-${prefix}`;
  const tariffId = options.tariffId ?? `TF-${prefix}-1`;
  const k = options.subscriptionsPerAccount;
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  const activatedAt = options.activatedAt ?? '2020-01-01T00:00:00+08:00';
  const digits = 7;
  await pool.query(sql.type(nothing)`
    INSERT INTO products (id, name, category) VALUES (${productId}, ${`Key-account mobile ${prefix}`}, 'mobile') ON CONFLICT (id) DO NOTHING`);
  await pool.query(sql.type(nothing)`
    INSERT INTO tariffs (id, product_id, version, name, valid_from, currency, monthly_fee_minor, plan)
    VALUES (${tariffId}, ${productId}, 1, ${`Key-account mobile ${prefix} v1`}, '2020-01-01T00:00:00Z', ${options.plan.currency}, 0, ${sql.jsonb(options.plan as never)})
    ON CONFLICT (id) DO NOTHING`);
  await pool.query(sql.type(nothing)`
    INSERT INTO key_accounts (id, name, industry, tier, status, org_unit_id)
    SELECT 'KA' || ${prefix} || lpad(n::text, ${digits}, '0'), 'Account ' || ${prefix} || n, 'technology', 'gold', 'active', ${options.orgUnitId}
      FROM generate_series(1, ${options.accounts}) n`);
  await pool.query(sql.type(nothing)`
    INSERT INTO billing_accounts (id, account_id, org_unit_id, name, bill_cycle_day)
    SELECT 'BA' || ${prefix} || lpad(n::text, ${digits}, '0'), 'KA' || ${prefix} || lpad(n::text, ${digits}, '0'), ${options.orgUnitId}, 'Billing ' || n, ${options.cycleDay ?? 1}
      FROM generate_series(1, ${options.accounts}) n`);
  await pool.query(sql.type(nothing)`
    INSERT INTO billing_terms (billing_account_id, time_zone, home_prefix, agreement)
    SELECT 'BA' || ${prefix} || lpad(n::text, ${digits}, '0'), ${timeZone}, ${options.homePrefix ?? '86755'}, ${sql.jsonb((options.agreement ?? {}) as never)}
      FROM generate_series(1, ${options.accounts}) n`);
  // Service numbers 1<3–9><prefix digit>…: 11-digit national mobile numbers, unique per seed prefix.
  const numberBase = 13_000_000_000 + (prefix.charCodeAt(0) % 60) * 100_000_000;
  await pool.query(sql.type(nothing)`
    INSERT INTO subscriptions (id, account_id, org_unit_id, product_id, tariff_id, billing_account_id, service_number, status, activated_at)
    SELECT 'SB' || ${prefix} || lpad(n::text, ${digits}, '0') || lpad(s::text, 2, '0'), 'KA' || ${prefix} || lpad(n::text, ${digits}, '0'), ${options.orgUnitId},
           ${productId}, ${tariffId}, 'BA' || ${prefix} || lpad(n::text, ${digits}, '0'),
           (${numberBase}::bigint + n * 100 + s)::text, 'active', ${activatedAt}::timestamptz
      FROM generate_series(1, ${options.accounts}) n, generate_series(1, ${k}) s`);
  const pad = (n: number) => String(n).padStart(digits, '0');
  return {
    productId,
    tariffId,
    accountIds: Array.from({ length: options.accounts }, (_, index) => `KA${prefix}${pad(index + 1)}`),
    billingAccountIds: Array.from({ length: options.accounts }, (_, index) => `BA${prefix}${pad(index + 1)}`),
    subscriptions: Array.from({ length: options.accounts }, (_, account) =>
      Array.from({ length: k }, (_, sub) => ({
        id: `SB${prefix}${pad(account + 1)}${String(sub + 1).padStart(2, '0')}`,
        serviceNumber: String(numberBase + (account + 1) * 100 + sub + 1),
        billingAccountId: `BA${prefix}${pad(account + 1)}`,
      })),
    ),
  };
}

/** A finance contact with a mobile number and an e-mail address for each key account (bill notices go there). */
export async function seedFinanceContacts(pool: DatabasePool, accountIds: readonly string[], orgUnitId: string): Promise<void> {
  await pool.query(sql.type(nothing)`
    INSERT INTO contacts (account_id, org_unit_id, name, role, is_key_person, phone, email)
    SELECT a, ${orgUnitId}, 'Finance ' || a, 'finance', true, '139' || lpad(row_number() OVER ()::text, 8, '0'), lower(a) || '@example.com'
      FROM unnest(${sql.array([...accountIds], 'text')}::text[]) a`);
}

/** Starts the billing cycle process (the latest deployed version) with these variables. */
export async function startBillingCycle(client: Client, pool: DatabasePool, taskQueue: string, businessKey: string, variables: Variables): Promise<WorkflowHandle> {
  const definition = await latestModel(pool, billingProcessKeys.cycle);
  return client.workflow.start(bpmnProcessWorkflowType, {
    taskQueue,
    workflowId: processInstanceId(definition.key, businessKey),
    args: [{ definition, businessKey, variables, startedBy: 'test' } satisfies BpmnProcessInput],
  });
}

/** Waits until `check` returns a value (polling), or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Completes a process's open user task as a billing clerk would, through the engine's update. */
export async function completeOpenTask(client: Client, pool: DatabasePool, workflowId: string, variables: Variables, completedBy: string, timeoutMs = 60_000): Promise<string> {
  const taskId = await eventually(
    () => pool.maybeOneFirst(sql.type(z.object({ id: z.string() }))`SELECT id FROM human_tasks WHERE workflow_id = ${workflowId} AND status = 'open' LIMIT 1`),
    timeoutMs,
    `an open task of ${workflowId}`,
  );
  await client.workflow.getHandle(workflowId).executeUpdate(completeTaskUpdateName, { args: [{ taskId, variables, completedBy }] });
  return taskId;
}
