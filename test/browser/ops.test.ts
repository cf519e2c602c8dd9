import type { Browser, Page } from 'playwright-core';
import { createTestStaff, login, seedOrgTree, testOrg, type Session, type TestStaff } from '../support/auth';
import { expectVisible, launchChromium, openApp, screenshot, seriousViolations, signIn } from '../support/browser';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { simControl, type SimControl } from '../support/external';
import { collectNodeExecutions } from '../../ops/node-stats';
import { startTestStack, testConfig, type TestStack } from '../support/services';
import { provisionModelXml } from './fixtures/ops-models';
import { until } from '../support/eventually';

/**
 * An ops engineer's shift in the ops room, in a real Chromium against the real API, worker,
 * Temporal dev server, PostgreSQL and simulator. The steps build on each other: one instance is
 * broken by a provisioning fault, found, retried, reset, moved and completed; a second is migrated.
 */
const runId = Date.now().toString(36);
const testStartedAt = new Date(Date.now() - 1000).toISOString();
const processKey = `ops-line-${runId}`;

describe('the ops room, as an ops engineer uses it', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let sim: SimControl;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let opsStaff: TestStaff;
  let ops: Session;
  let supervisor: TestStaff;
  const started: string[] = [];

  const call = async (session: Session, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${stack.api.url}${route}`, {
      method,
      headers: { ...session.headers, ...(typeof body === 'string' ? { 'content-type': 'application/xml' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
  };
  const instanceRoute = (workflowId: string) => `/api/ops/instances/${encodeURIComponent(workflowId)}`;
  const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([]);
  const node = (id: string) => page.locator(`.kf-ops-diagram .djs-element[data-element-id="${id}"]`);

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000) => until(what, probe, timeoutMs, 200);

  async function startInstance(businessKey: string): Promise<string> {
    const response = await call(ops, 'POST', '/api/process-instances', { processKey, version: 1, businessKey, variables: {} });
    expect(response.status).toBe(201);
    started.push(response.body.processInstanceId);
    return response.body.processInstanceId as string;
  }

  const stateOf = async (workflowId: string) => (await call(ops, 'GET', instanceRoute(workflowId))).body.state;
  const waitAt = (workflowId: string, nodeId: string) =>
    waitFor(`${workflowId} at ${nodeId}`, async () => (await stateOf(workflowId))?.activeNodes.some((active: any) => active.nodeId === nodeId)).catch(async (error) => {
      console.log('DEBUG', JSON.stringify(await stateOf(workflowId)));
      throw error;
    });

  async function completeTask(workflowId: string, nodeId: string): Promise<void> {
    const task = await waitFor(`the task at ${nodeId}`, async () => (await stateOf(workflowId))?.openTasks.find((open: any) => open.nodeId === nodeId));
    const completed = await call(ops, 'POST', `/api/tasks/${encodeURIComponent(task.taskId)}/complete`, { variables: {} });
    expect(completed.status).toBe(200);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    sim = simControl(`http://${stack.config.KEYFLOW_SIM_HOST}:${stack.config.KEYFLOW_SIM_PORT}`);
    const designer = await createTestStaff(database.pool, { roles: ['designer'], orgUnitId: testOrg.province });
    const designerSession = await login(stack.api.url, designer.username, designer.password);
    for (const variant of ['v1', 'v2'] as const) {
      const deployed = await call(designerSession, 'POST', `/api/process-definitions?note=${variant}`, provisionModelXml(processKey, variant));
      expect(deployed.status).toBe(201);
    }
    opsStaff = await createTestStaff(database.pool, { roles: ['ops'], orgUnitId: testOrg.province, displayName: 'Wang Ops' });
    ops = await login(stack.api.url, opsStaff.username, opsStaff.password);
    supervisor = await createTestStaff(database.pool, { roles: ['supervisor'], orgUnitId: testOrg.province });
    browser = await launchChromium();
    ({ page, errors } = await openApp(browser, stack.api.url));
  });

  afterAll(async () => {
    await sim?.clearFaults().catch(() => undefined);
    await browser?.close();
    // The namespace is shared by every test file: leave no instance of this file running.
    for (const id of started) await stack?.api.temporal.workflow.getHandle(id).terminate('the ops browser test is over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
  });

  afterEach(() => {
    expect(errors).toEqual([]);
  });

  let broken: string;

  it('shows an incident from a provisioning fault grouped under its node, and its failed node in red on the instance page', async () => {
    // given: the network management system is down
    await sim.setFaults({ 'provisioning.reserve': { outage: true } });
    broken = await startInstance(`broken-${runId}`);
    await waitFor('the incident', async () => (await stateOf(broken))?.incidents[0]);

    // when
    await page.goto('/ops');
    await page.waitForURL(/\/login/);
    await signIn(page, opsStaff.username, opsStaff.password);
    const group = page.locator('.kf-incident-groups tr', { hasText: processKey }).filter({ has: page.locator('code', { hasText: 'reserve' }) });
    await expectVisible(group, 30_000).catch(async (error) => {
      console.log('DEBUG', JSON.stringify((await call(ops, 'GET', '/api/ops/incidents')).body).slice(0, 2000), await page.locator('main').innerText());
      throw error;
    });

    // then: grouped by process, version and node, with the error text and a count
    await expect(group.locator('td').nth(1).textContent()).resolves.toBe('v1');
    await expect(group.locator('.kf-ops-error').textContent()).resolves.toMatch(/503|unavailable/i);
    await expect(group.locator('td.kf-num').textContent()).resolves.toBe('1');
    await expectAccessible();
    await screenshot(page, 'ops-console');

    await group.locator('td.kf-num a').click();
    const row = page.locator('.kf-table tr', { hasText: broken });
    await expectVisible(row);
    await row.getByRole('link').click();

    await expectVisible(node('reserve').and(page.locator('.kf-op-incident')));
    await expectVisible(page.locator('.kf-op-incident-note', { hasText: /503|unavailable/i }));
    await expect(node('start').getAttribute('class')).resolves.toMatch(/kf-op-done/);
    await expectVisible(page.locator('.kf-ops-timeline tr[data-kind="activity.failed"]').first());
    await expectAccessible();
    await screenshot(page, 'ops-instance-incident');
  });

  it('retries the incident once the fault is lifted, and the token moves on with the path drawn', async () => {
    // given: the network is back
    await sim.clearFaults();

    // when
    await page.locator('.kf-ops-incident').getByRole('button', { name: 'Retry' }).click();
    const dialog = page.getByRole('dialog', { name: /Retry at reserve/ });
    await dialog.getByRole('button', { name: 'Retry' }).click();
    await expectVisible(dialog.getByText('the reason is required'));
    await dialog.getByLabel(/Reason/).fill('NMS is back');
    await dialog.getByRole('button', { name: 'Retry' }).click();

    // then
    await expectVisible(page.getByText('Retried: the instance runs on.'));
    await expectVisible(node('review').and(page.locator('.kf-op-active')), 30_000);
    await expect(node('reserve').getAttribute('class')).resolves.toMatch(/kf-op-done/);
    await expect(page.locator('.djs-element[data-element-id="f2"]').getAttribute('class')).resolves.toMatch(/kf-op-taken/);
    await expectVisible(page.locator('.kf-ops-audit tr[data-action="ops.retry"]', { hasText: 'NMS is back' }));
    await screenshot(page, 'ops-instance');
  });

  it('resets the instance to just before an earlier node ran, and the token stands there again', async () => {
    await completeTask(broken, 'review');
    await expectVisible(node('approve').and(page.locator('.kf-op-active')), 30_000);

    // when
    await page.getByRole('button', { name: 'Reset…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset the instance' });
    await dialog.getByLabel('Just before review ran').check();
    await dialog.getByLabel(/Reason/).fill('the review was done on the wrong line');
    await dialog.getByRole('button', { name: 'Reset', exact: true }).click();

    // then
    await expectVisible(page.getByText(/^Reset: the instance continues/));
    await expectVisible(node('review').and(page.locator('.kf-op-active')), 30_000);
    await expectVisible(page.locator('.kf-ops-audit tr[data-action="ops.reset"]'));
    await expectAccessible();
  });

  it('moves the token to a node picked on the diagram, then the instance completes with its whole path drawn', async () => {
    await waitAt(broken, 'review');

    // when
    await page.getByRole('button', { name: 'Move token…' }).click();
    await node('approve').click();
    await expect(page.locator('.kf-ops-move select').nth(1).inputValue()).resolves.toBe('approve');
    await page.locator('.kf-ops-move').getByRole('button', { name: 'Move…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Move a token' });
    await dialog.getByLabel(/Reason/).fill('reviewed by phone');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();

    // then
    await expectVisible(node('approve').and(page.locator('.kf-op-active')), 30_000);
    await completeTask(broken, 'approve');
    await expectVisible(page.locator('.kf-ops-toolbar [data-status="COMPLETED"]'), 30_000);
    await expectVisible(node('approve').and(page.locator('.kf-op-done')));
    await expect(page.locator('.djs-element[data-element-id="f4"]').getAttribute('class')).resolves.toMatch(/kf-op-taken/);
  });

  it('refuses a migration while an active node is unmapped, and migrates once it is mapped', async () => {
    const moving = await startInstance(`migrate-${runId}`);
    await waitAt(moving, 'review');
    await page.goto(`/ops/instances/${encodeURIComponent(moving)}`);
    await expectVisible(node('review').and(page.locator('.kf-op-active')));

    // when: version 2 has no node `review`
    await page.getByRole('button', { name: 'Migrate…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Migrate to another version' });
    await expectVisible(dialog.getByText('Cannot migrate: review not mapped to the target version.'));

    // then: the button is disabled and the node is red on the diagram
    await expect(dialog.getByRole('button', { name: 'Migrate', exact: true }).isDisabled()).resolves.toBe(true);
    await expectVisible(dialog.locator('.djs-element[data-element-id="review"].kf-op-unmapped'));
    await expectAccessible();
    await screenshot(page, 'ops-migrate-mapping');
    const refused = await call(ops, 'POST', `${instanceRoute(moving)}/migrate`, { reason: 'check', toVersion: 2, nodeMapping: {} });
    expect(refused.status).toBe(422);

    // when mapped
    await dialog.getByLabel('Target of review').selectOption('check');
    await dialog.getByLabel(/Reason/).fill('v2 renames the review');
    await dialog.getByRole('button', { name: 'Migrate', exact: true }).click();

    // then
    await expectVisible(page.getByText('Migrated.'));
    await expectVisible(node('check').and(page.locator('.kf-op-active')), 30_000);
    expect((await stateOf(moving)).processVersion).toBe(2);
  });

  it("draws the heat map of a version with the API's counts of waiting instances per node", async () => {
    const waiting = await Promise.all([1, 2, 3].map((index) => startInstance(`heat-${index}-${runId}`)));
    for (const id of waiting) await waitAt(id, 'review');
    await completeTask(waiting[0]!, 'review');
    await waitAt(waiting[0]!, 'approve');
    const expected = await waitFor('visibility to count the seeded instances', async () => {
      const counts = await call(ops, 'GET', `/api/ops/counts?status=running&processKey=${processKey}&processVersion=1`);
      const at = (nodeId: string) => counts.body.byNode.find((entry: any) => entry.nodeId === nodeId)?.active ?? 0;
      return at('review') === 2 && at('approve') === 1 && { review: at('review'), approve: at('approve') };
    });

    // the completed instance's node durations, collected as the API's collector would
    await waitFor('the completed instance in visibility', async () => (await stack.api.temporal.workflow.count(`WorkflowId = '${broken}' AND ExecutionStatus = 'Completed'`)).count === 1);
    await collectNodeExecutions(stack.api.temporal, database.pool, { closedAfter: testStartedAt, closedBefore: new Date(Date.now() + 60_000).toISOString() });
    const stats = await call(ops, 'GET', `/api/ops/processes/${processKey}/node-stats?version=1`);
    expect(stats.body.nodes.map((stat: any) => stat.nodeId).sort()).toEqual(['approve', 'reserve', 'review']);

    // when
    await page.goto(`/ops/processes/${encodeURIComponent(processKey)}?version=1`);

    // then
    for (const [nodeId, count] of Object.entries(expected)) {
      await expectVisible(page.locator(`[data-testid="heat-table"] tr[data-node="${nodeId}"] td[data-count="active"]`, { hasText: String(count) }));
      await expectVisible(node(nodeId).and(page.locator('[class*="kf-op-heat-"]')));
    }
    for (const stat of stats.body.nodes) {
      await expectVisible(page.locator(`[data-testid="heat-table"] tr[data-node="${stat.nodeId}"] td[data-stat="p95"]`).filter({ hasNotText: '—' }));
    }
    await expectVisible(page.locator('.kf-op-time', { hasText: 'p95' }).first());
    const throughput = await call(ops, 'GET', `/api/ops/processes/${processKey}/throughput?version=1&hours=24`);
    const started = throughput.body.hours.reduce((sum: number, hour: any) => sum + hour.started, 0);
    expect(started).toBeGreaterThanOrEqual(4);
    await expectVisible(page.locator(`.kf-ops-throughput [data-started="${started}"] canvas`));
    await expectAccessible();
    await screenshot(page, 'ops-heatmap');
  });

  it('retries every incident a search matches as one batch: a dry run counts them, then the progress runs to the end', async () => {
    await sim.setFaults({ 'provisioning.reserve': { outage: true } });
    const stuck = await Promise.all([1, 2].map((index) => startInstance(`batch-${index}-${runId}`)));
    for (const id of stuck) await waitFor(`the incident of ${id}`, async () => (await stateOf(id))?.incidents[0]);
    await waitFor('visibility to see both incidents', async () => (await call(ops, 'GET', `/api/ops/counts?status=incident&processKey=${processKey}`)).body.total === 2);
    await sim.clearFaults();

    // when
    await page.goto(`/ops?status=incident&processKey=${processKey}`);
    const panel = page.locator('.kf-ops-batch');
    await panel.getByLabel(/Reason/).fill('NMS back after maintenance');
    await panel.getByRole('button', { name: 'Count (dry run)' }).click();

    // then: counted first, nothing started
    await expectVisible(panel.locator('[data-count="2"]'));
    expect((await call(ops, 'GET', '/api/ops/batches')).body.batches).toEqual([]);
    await expectAccessible();

    // when
    await panel.getByRole('button', { name: 'Start batch' }).click();

    // then
    await expectVisible(panel.locator('.kf-ops-batch-progress progress'));
    await expectVisible(panel.locator('.kf-ops-batch-progress[data-status="completed"]'), 30_000);
    await expectVisible(panel.getByText('2 succeeded, 0 failed, 0 skipped'));
    for (const id of stuck) await waitAt(id, 'review');
  });

  it('shows a non-ops user no ops room, and their ops calls answer 403', async () => {
    const other = await openApp(browser, stack.api.url);
    try {
      await other.page.goto('/login');
      await signIn(other.page, supervisor.username, supervisor.password);
      const rooms = await other.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link').allTextContents();
      expect(rooms).not.toContain('Ops console');
      await other.page.goto(`/ops/instances/${encodeURIComponent(broken)}`);
      await expectVisible(other.page.getByText('403'));
      await expect(other.page.locator('.kf-ops-incident, .kf-ops-toolbar-end button').count()).resolves.toBe(0);
    } finally {
      await other.context.close();
    }
    const session = await login(stack.api.url, supervisor.username, supervisor.password);
    for (const [method, route, body] of [
      ['GET', '/api/ops/incidents', undefined],
      ['GET', instanceRoute(broken), undefined],
      ['POST', `${instanceRoute(broken)}/reset`, { reason: 'not mine' }],
      ['POST', `${instanceRoute(broken)}/incidents/x/retry`, { reason: 'not mine' }],
      ['POST', '/api/ops/batches', { action: 'retry', filter: { processKey }, reason: 'not mine', dryRun: true }],
    ] as const) {
      expect({ route, status: (await call(session, method, route, body)).status }).toEqual({ route, status: 403 });
    }
  });
});
