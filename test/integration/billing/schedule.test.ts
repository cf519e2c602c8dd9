import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../../activities/billing/processes';
import { syncBillingSchedule } from '../../../activities/billing/schedule';
import { eventually } from '../../support/billing';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { startTestStack, testConfig, type TestStack } from '../../support/services';

describe('the monthly bill run schedule', () => {
  let database: TestDatabase;
  let stack: TestStack;
  const scheduleId = `billing-cycle-test-${randomUUID()}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    stack = await startTestStack(testConfig(database, { KEYFLOW_USAGE_INBOX: `/tmp/keyflow-schedule-${randomUUID()}` }), database);
    await deployBillingProcesses(database.pool, 'test');
  });

  afterAll(async () => {
    await stack?.api.temporal.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  it('fires on the 1st at 02:00 Shanghai time and bills the month just ended', async () => {
    const temporal = stack.api.temporal;
    expect(await syncBillingSchedule(temporal, database.pool, stack.config.KEYFLOW_TASK_QUEUE, { scheduleId })).toBe('created');
    expect(await syncBillingSchedule(temporal, database.pool, stack.config.KEYFLOW_TASK_QUEUE, { scheduleId })).toBe('updated');
    const description = await temporal.schedule.getHandle(scheduleId).describe();
    expect(description.spec.timezone).toBe('Asia/Shanghai');
    expect(description.spec.calendars?.[0]).toMatchObject({ dayOfMonth: [{ start: 1, end: 1, step: 1 }], hour: [{ start: 2, end: 2, step: 1 }] });

    // when it fires (triggered now)
    await temporal.schedule.getHandle(scheduleId).trigger();

    // then a run of last month opens (and waits at collection's end for nothing to bill)
    const expected = DateTime.now().setZone('Asia/Shanghai').minus({ months: 1 }).toFormat('yyyy-MM');
    const run = await eventually(
      () => database.pool.maybeOne(sql.type(z.object({ period: z.string(), requested_by: z.string(), workflow_id: z.string() }))`SELECT period, requested_by, workflow_id FROM bill_runs`),
      60_000,
      'the scheduled run',
    );
    expect(run).toMatchObject({ period: expected, requested_by: `schedule ${scheduleId}` });
    expect(run.workflow_id).toMatch(/^billing-cycle:scheduled-/);
    await temporal.workflow.getHandle(run.workflow_id).terminate('test over').catch(() => undefined);
  });
});
