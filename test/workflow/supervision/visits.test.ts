import { DateTime } from 'luxon';
import { sql } from 'slonik';
import { z } from 'zod';
import { testOrg } from '../../support/auth';
import { eventually } from '../../support/complaint';
import { createAccountFixture } from '../../support/crm';
import { nodesOf } from '../../support/supervision';
import { createSupervisionWorkflows, type SupervisionWorkflows } from '../../support/supervision-workflows';

const days = (n: number) => n * 86_400_000;

/**
 * processes/supervision-visits.bpmn on Temporal's time-skipping test server (its own, so the other
 * supervision timers never share its clock), with the real activities and PostgreSQL. The model
 * starts from a Temporal schedule (its timer start event), which the test server does not run: the
 * test starts each round as the schedule would, a month apart.
 */
describe('supervision: visit tickets by account class on the time-skipping test server', () => {
  let harness: SupervisionWorkflows;
  let env: SupervisionWorkflows['env'];
  let database: SupervisionWorkflows['database'];
  let models: SupervisionWorkflows['models'];
  let staff: SupervisionWorkflows['staff'];

  beforeAll(async () => {
    harness = await createSupervisionWorkflows('supervision-visits');
    ({ env, database, models, staff } = harness);
  }, 120_000);
  afterAll(() => harness?.stop());

  const start: SupervisionWorkflows['start'] = (...args) => harness.start(...args);
  const complete: SupervisionWorkflows['complete'] = (...args) => harness.complete(...args);
  const record: SupervisionWorkflows['record'] = (...args) => harness.record(...args);
  const finished: SupervisionWorkflows['finished'] = (...args) => harness.finished(...args);
  const ticketStatus: SupervisionWorkflows['ticketStatus'] = (...args) => harness.ticketStatus(...args);

  it("opens an A-class account's visit ticket every month, and a B-class one's only when its quarter is up; recording the visit closes it", async () => {
    // given a gold (A: monthly) account never visited and a silver (B: quarterly) one visited this month
    const gold = await createAccountFixture(database.pool, testOrg.nanshan, { tier: 'gold', customerManagerId: staff.nanshanManager.id });
    const silver = await createAccountFixture(database.pool, testOrg.nanshan, { tier: 'silver', customerManagerId: staff.nanshanManager.id });
    const today = DateTime.fromMillis(await env.currentTimeMs(), { zone: 'Asia/Shanghai' }).toFormat('yyyy-MM-dd');
    await database.pool.query(sql.type(z.object({}))`
      INSERT INTO supervision_visits (account_id, org_unit_id, manager, visited_on, notes) VALUES (${silver.accountId}, ${testOrg.nanshan}, ${staff.nanshanManager.username}, ${today}, '季度走访')`);
    const visits = () =>
      database.pool.any(sql.type(z.object({ id: z.string(), accountId: z.string(), status: z.string(), class: z.string() }))`
        SELECT id, account_id AS "accountId", status, cause->>'class' AS class FROM supervision_tickets WHERE kind = 'visit' ORDER BY id`);

    // when the monthly schedule fires
    const round1 = await start(models['supervision-visits'], 'scheduled-round-1');
    const [visit] = await eventually(visits, (rows) => rows.length > 0, 'a visit ticket');

    // then the A-class account has a visit ticket for its manager; the B-class one none
    expect(await visits()).toEqual([{ id: visit!.id, accountId: gold.accountId, status: expect.any(String), class: 'A' }]);
    const [node] = await eventually(() => nodesOf(database.pool, visit!.id), (nodes) => nodes[0]?.state === 'in_progress', 'the visit reaches the manager');
    expect(node).toMatchObject({ assignee: staff.nanshanManager.username, reviewer: null });

    // when the manager records the visit, the ticket closes and the round ends
    await complete(node!.id, 'work', { result: '走访完成，会见张伟', outcome: 'done' }, staff.nanshanManager.username);
    await finished(round1);
    expect(await ticketStatus(visit!.id)).toBe('closed');
    await record('supervision-visits', round1);

    // when thirty days pass and the schedule fires again: the A-class account is due again, the B-class still not
    await database.pool.query(sql.type(z.object({}))`
      INSERT INTO supervision_visits (ticket_id, account_id, org_unit_id, manager, visited_on, notes) VALUES (${visit!.id}, ${gold.accountId}, ${testOrg.nanshan}, ${staff.nanshanManager.username}, ${today}, '月度走访')`);
    await env.sleep(days(31));
    const round2 = await start(models['supervision-visits'], 'scheduled-round-2');
    const again = await eventually(visits, (rows) => rows.length === 2, "the next month's visit");
    expect(again.map((row) => row.accountId)).toEqual([gold.accountId, gold.accountId]);
    await round2.terminate('test over').catch(() => undefined);
  }, 120_000);
});
