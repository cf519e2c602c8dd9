import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { deployProcessFiles } from '../../api/engine/definitions';
import { createTestStaff, login, seedOrgTree, testOrg, type Session, type TestStaff } from '../support/auth';
import { expectVisible, launchChromium, openApp, screenshot, seriousViolations, signIn } from '../support/browser';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestStack, testConfig, type TestStack } from '../support/services';
import { brokenOrderXml, chainModelXml } from './fixtures/models';
import { until } from '../support/eventually';

/**
 * A process designer's day in the designer, in a real Chromium against the real API, worker,
 * Temporal and PostgreSQL. The steps build on each other, as a designer's session does.
 */
const runId = Date.now().toString(36);

describe('the designer, as a process designer uses it', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let designer: TestStaff;
  let supervisor: Session;
  let reviewTaskId: string;

  const api = (session: Session, route: string, init: RequestInit = {}) => fetch(`${stack.api.url}${route}`, { ...init, headers: { ...session.headers, ...(init.headers ?? {}) } });
  const modeler = <T>(script: string): Promise<T> => page.evaluate(`(() => { const m = window.keyflowModeler; ${script} })()`);
  const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([]);
  /** Opens a properties-panel group unless it is open already (the panel remembers open groups across elements). */
  const openGroup = async (group: ReturnType<Page['locator']>) => {
    const header = group.locator('.bio-properties-panel-group-header');
    await header.waitFor();
    if (!/\bopen\b/.test((await header.getAttribute('class')) ?? '')) await header.click();
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    await deployProcessFiles(database.pool);
    designer = await createTestStaff(database.pool, { roles: ['designer'], orgUnitId: testOrg.province, displayName: 'Lin Designer' });
    const supervisorStaff = await createTestStaff(database.pool, { roles: ['supervisor'], orgUnitId: testOrg.province });
    supervisor = await login(stack.api.url, supervisorStaff.username, supervisorStaff.password);
    browser = await launchChromium();
    ({ context, page, errors } = await openApp(browser, stack.api.url));
  });

  afterAll(async () => {
    await browser?.close();
    // The namespace is shared by every test file: leave no instance of this file running.
    for (const id of [`example-approval:before-v2-${runId}`, `example-approval:on-v2-${runId}`]) {
      await stack?.api.temporal.workflow.getHandle(id).terminate('the designer test is over').catch(() => undefined);
    }
    await stack?.stop();
    await database?.drop();
  });

  afterEach(() => {
    expect(errors).toEqual([]);
  });

  it('greets a signed-out visitor with the login page, and lands a designer in the designer', async () => {
    await page.goto('/designer/example-approval');
    await page.waitForURL(/\/login/);
    await expectVisible(page.getByRole('heading', { name: 'Keyflow' }));
    await expectAccessible();
    await screenshot(page, 'login');

    await signIn(page, designer.username, designer.password);

    // Sent back where they were going.
    expect(new URL(page.url()).pathname).toBe('/designer/example-approval');
    await page.locator('[data-element-id="approve"]').waitFor();
    const rooms = await page.getByRole('navigation', { name: 'Rooms' }).getByRole('link').allTextContents();
    expect(rooms).toEqual(['Designer']);
  });

  it('adds a user task offered to supervisors through the context pad and the properties panel', async () => {
    // when
    await page.locator('[data-element-id="approve"]').click();
    await page.locator('.djs-context-pad [data-action="append.append-task"]').click();
    await page.keyboard.type('Review the contract');
    await page.locator('[data-element-id="requested"]').click();
    reviewTaskId = await modeler<string>(`return m.get('elementRegistry').filter((e) => e.type === 'bpmn:Task')[0].id;`);
    await page.locator(`[data-element-id="${reviewTaskId}"]`).click();
    await page.locator('.djs-context-pad [data-action="replace"]').click();
    await page.locator('.djs-popup [data-id="replace-with-user-task"]').click();
    await openGroup(page.locator('[data-group-id="group-kf-user-task"]'));
    await page.getByLabel('Offer to: Supervisor').check();
    await page.getByLabel('Due', { exact: true }).fill('P1D');
    await page.locator('[data-element-id="requested"]').click();

    // then: the model carries Keyflow's attributes, written through bpmn-js's command stack
    const task = await modeler<Record<string, string>>(`const bo = m.get('elementRegistry').get('${reviewTaskId}').businessObject; return { type: bo.$type, name: bo.name, groups: bo.get('kf:candidateGroups'), due: bo.get('kf:dueDate') };`);
    expect(task).toEqual({ type: 'bpmn:UserTask', name: 'Review the contract', groups: 'supervisor', due: 'P1D' });
  });

  it('attaches a non-interrupting boundary timer and reads its duration back in words', async () => {
    // The drag that attaches an event to a task's border is done through modeling, as bpmn-js's own specs do.
    const boundaryId = await modeler<string>(`
      const task = m.get('elementRegistry').get('${reviewTaskId}');
      const shape = m.get('elementFactory').createShape({ type: 'bpmn:BoundaryEvent', eventDefinitionType: 'bpmn:TimerEventDefinition' });
      return m.get('modeling').createShape(shape, { x: task.x + 70, y: task.y + task.height }, task, { attach: true }).id;`);
    await page.locator(`[data-element-id="${boundaryId}"]`).click();
    await page.locator('.djs-context-pad [data-action="append.end-event"]').click();
    await page.locator(`[data-element-id="${boundaryId}"]`).click();

    // when
    await openGroup(page.locator('[data-group-id="group-kf-timer"]'));
    await page.getByLabel('Value', { exact: true }).fill('PT4H');
    // The panel commits typed text after a debounce and then renders again: let that land first.
    await expectVisible(page.locator('[data-group-id="group-kf-timer"]').getByText('after 4 hours'));
    await openGroup(page.locator('[data-group-id="group-kf-boundary"]'));
    // In 2 of about 10 full-suite runs the first click left the box ticked (never alone, never under
    // plain CPU load; cause not found yet): click until the model says so, and say when it took more.
    const interrupting = page.getByLabel('Interrupts the activity');
    for (let attempt = 1; ; attempt++) {
      await interrupting.click();
      const untickedAt = Date.now() + 2_000;
      while ((await interrupting.isChecked()) && Date.now() < untickedAt) await page.waitForTimeout(100);
      if (!(await interrupting.isChecked())) break;
      if (attempt === 3) throw new Error('three clicks on "Interrupts the activity" did not untick it');
      console.warn(`designer test: click ${attempt} on "Interrupts the activity" did not untick it`);
    }

    // then
    const boundary = await modeler<Record<string, unknown>>(`const bo = m.get('elementRegistry').get('${boundaryId}').businessObject; return { cancelActivity: bo.cancelActivity, duration: bo.eventDefinitions[0].timeDuration.body, attachedTo: bo.attachedToRef.id };`);
    expect(boundary).toEqual({ cancelActivity: false, duration: 'PT4H', attachedTo: reviewTaskId });
    await expectAccessible();
    await screenshot(page, 'designer-properties');
  });

  it('marks a gateway that loses its default flow while drawing, and clears the mark once it is fixed', async () => {
    const selectFlowType = async (type: 'sequence-flow' | 'default-flow') => {
      // A straight flow's box has no height, which Playwright counts as invisible: click on its line.
      const line = (await page.locator('[data-element-id="small"] > .djs-hit').boundingBox())!;
      await page.mouse.click(line.x + line.width / 2, line.y + line.height / 2);
      await page.locator('.djs-context-pad [data-action="replace"]').click();
      await page.locator(`.djs-popup [data-id="replace-with-${type}"]`).click();
    };

    // when: the "no" flow is made a plain flow, so the gateway has an unconditioned way out
    await selectFlowType('sequence-flow');

    // then: the linter (the deploy's own rules) marks the gateway and lists the problem
    const problem = page.locator('.kf-problem', { hasText: 'CONDITION_MISSING' });
    await problem.waitFor();
    await expect(page.locator('.bjsl-overlay').count()).resolves.toBeGreaterThan(0);
    await problem.click();
    await expect(modeler<string[]>(`return m.get('selection').get().map((e) => e.id);`)).resolves.toEqual(['large']);
    await screenshot(page, 'designer-lint');

    // when: it is the default again
    await selectFlowType('default-flow');

    // then
    await problem.waitFor({ state: 'detached' });
    await expectVisible(page.getByText('No problems: this model would deploy.'));
  });

  it("designs the approval task's form with form-js: the fields a completion may write are listed as the deploy will read them", async () => {
    await page.locator('[data-element-id="approve"]').click();
    const userTaskGroup = page.locator('[data-group-id="group-kf-user-task"]');
    await openGroup(userTaskGroup);
    await expectVisible(userTaskGroup.getByText('Form with 1 field: approved'));

    // when: the editor opens on the fields the task lists, and a text area is added from the palette
    await userTaskGroup.getByRole('button', { name: 'Edit form…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Form of “Approve the request”' });
    await dialog.locator('.fjs-palette-field[data-field-type="textarea"]').waitFor();
    await expectVisible(dialog.getByText('the editor starts from them'));
    const contract = dialog.getByRole('complementary', { name: 'What a completion may write' });
    await expect(contract.locator('li').allTextContents()).resolves.toEqual(['approved yes/norequired']);
    await dialog.locator('.fjs-palette-field[data-field-type="textarea"]').focus();
    await page.keyboard.press('Enter');
    const properties = dialog.locator('.fjs-properties-container');
    // the new field has the focus; Enter on it selects it, and the properties show it
    await dialog.locator('.fjs-element[data-field-type="textarea"]').focus();
    await page.keyboard.press('Enter');
    await properties.locator('.bio-properties-panel-header-type', { hasText: /text area/i }).waitFor();
    await properties.locator('.bio-properties-panel-group-header', { hasText: 'General' }).click();
    // (the label is a templating editor, not an input: it is typed into)
    await properties.getByLabel('Field label').click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('Comment');
    await properties.getByLabel('Key', { exact: true }).fill('comment');
    // (the panel's inputs are debounced, and a new key re-renders the panel: wait until the key has landed)
    await contract.locator('li', { hasText: /^comment/ }).waitFor();
    await properties.locator('.bio-properties-panel-group-header', { hasText: 'Validation' }).click();
    await properties.getByLabel('Maximum length').fill('200');

    // then: the contract beside the canvas is the deploy's reading of the form
    await contract.locator('li', { hasText: '≤ 200' }).waitFor();
    await expect(contract.locator('li').allTextContents()).resolves.toEqual(['approved yes/norequired', 'comment text · ≤ 200']);
    await screenshot(page, 'designer-form');
    await dialog.getByRole('button', { name: 'Apply to the diagram' }).click();

    // then: one undoable command replaced the listed fields with the designed form
    await page.getByRole('status').filter({ hasText: 'Form applied: 2 fields' }).waitFor();
    await expectVisible(userTaskGroup.getByText('Form with 2 fields: approved, comment'));
    const extensions = await modeler<string[]>(`return m.get('elementRegistry').get('approve').businessObject.extensionElements.values.map((value) => value.$type);`);
    expect(extensions).toEqual(['kf:FormDefinition']);
    await expect(page.locator('.kf-problem').count()).resolves.toBe(0);
  });

  it('shows where running instances wait before deploying, then deploys v2 with its note', async () => {
    const started = await api(supervisor, '/api/process-instances', { method: 'POST', body: JSON.stringify({ processKey: 'example-approval', businessKey: `before-v2-${runId}`, variables: { amount: 5_000_000 } }) });
    expect(started.status).toBe(201);
    // Visibility (where the impact is read from) may lag the inbox a moment under load: wait for it.
    const designerSession = await login(stack.api.url, designer.username, designer.password);
    await waitFor(async () => {
      const impact = (await (await api(designerSession, '/api/process-definitions/example-approval/impact', { method: 'POST', body: JSON.stringify({ nodeIds: [] }) })).json()) as { versions: { processVersion: number; waitingAt: { nodeId: string }[] }[] };
      return impact.versions.some((version) => version.processVersion === 1 && version.waitingAt.some((node) => node.nodeId === 'approve'));
    });

    // when
    await page.keyboard.press('Control+s');
    const dialog = page.getByRole('dialog', { name: 'Deploy example-approval' });
    // (Other test files share the Temporal namespace, so there may be more running than this one.)
    await dialog.getByText(/instances? (is|are) running/).waitFor();
    await expectVisible(dialog.getByText(/^v1: \d+ instances?$/));
    await dialog.locator('code', { hasText: /^approve$/ }).first().waitFor();
    await dialog.getByLabel('Version note').fill('Adds a contract review with a 4-hour reminder');
    await expectAccessible();
    await screenshot(page, 'designer-deploy');
    await dialog.getByRole('button', { name: 'Deploy new version' }).click();

    // then
    await page.getByRole('status').filter({ hasText: 'Deployed example-approval v2.' }).waitFor();
    const versions = (await (await api(supervisor, '/api/process-definitions?key=example-approval')).json()) as { items: { version: number; note: string | null; deployedBy: string }[] };
    expect(versions.items.map(({ version, note, deployedBy }) => ({ version, note, deployedBy }))).toEqual([
      { version: 2, note: 'Adds a contract review with a 4-hour reminder', deployedBy: designer.username },
      { version: 1, note: null, deployedBy: 'system' },
    ]);
  });

  it('diffs v1 and v2 from the version history: what was added is coloured and listed', async () => {
    await page.getByRole('button', { name: 'History' }).click();
    const dialog = page.getByRole('dialog', { name: 'Versions of example-approval' });
    await expectVisible(dialog.getByText('Adds a contract review with a 4-hour reminder'));
    await dialog.getByRole('button', { name: 'Compare v1 ↔ v2' }).click();

    await page.waitForURL(/\/designer\/example-approval\/diff\/1\/2$/);
    await page.locator('.kf-diff-added').first().waitFor();
    const added = await page.locator('tr[data-change="added"]').allTextContents();
    expect(added.some((row) => row.includes('Review the contract'))).toBe(true);
    expect(added.some((row) => row.includes('BoundaryEvent'))).toBe(true);
    await expect(page.locator(`.kf-diff-canvas .djs-element.kf-diff-added[data-element-id="${reviewTaskId}"]`).count()).resolves.toBe(1);
    await expectAccessible();
    await screenshot(page, 'designer-diff');
  });

  it('runs an instance started on v2 through the new task', async () => {
    // when
    const started = await api(supervisor, '/api/process-instances', { method: 'POST', body: JSON.stringify({ processKey: 'example-approval', businessKey: `on-v2-${runId}`, variables: { amount: 5_000_000 } }) });
    expect(started.status).toBe(201);
    const approve = await waitFor(async () => ((await (await api(supervisor, '/api/tasks/group')).json()) as { items: { id: string; workflowId: string; nodeId: string }[] }).items.find((task) => task.workflowId === `example-approval:on-v2-${runId}` && task.nodeId === 'approve'));
    await api(supervisor, `/api/tasks/${encodeURIComponent(approve.id)}/claim`, { method: 'POST' });
    // the form designed in the browser is the rule: a comment longer than its 200 characters is refused
    const tooLong = await api(supervisor, `/api/tasks/${encodeURIComponent(approve.id)}/complete`, { method: 'POST', body: JSON.stringify({ variables: { approved: true, comment: 'x'.repeat(201) } }) });
    expect(tooLong.status).toBe(422);
    const completed = await api(supervisor, `/api/tasks/${encodeURIComponent(approve.id)}/complete`, { method: 'POST', body: JSON.stringify({ variables: { approved: true, comment: 'Within the frame contract' } }) });
    expect(completed.status).toBe(200);

    // then: the review task drawn in the browser is open, offered to supervisors
    const review = await waitFor(async () => ((await (await api(supervisor, '/api/tasks/group')).json()) as { items: { workflowId: string; nodeId: string; processVersion: number; candidateGroups: string[] }[] }).items.find((task) => task.workflowId === `example-approval:on-v2-${runId}` && task.nodeId === reviewTaskId));
    expect(review).toMatchObject({ processVersion: 2, candidateGroups: ['supervisor'] });
  });

  it("puts the server's problems with an imported hand-written model on its elements", async () => {
    await page.goto('/designer/new');
    await page.locator('[data-element-id="start"]').waitFor();
    const file = path.join(tmpdir(), `hand-written-${process.pid}.bpmn`);
    writeFileSync(file, brokenOrderXml);

    // when
    await page.locator('input[type=file]').setInputFiles(file);

    // then
    await page.getByRole('status').filter({ hasText: /The server finds 2 problems/ }).waitFor();
    await expect(page.locator('[data-element-id="reserve"].kf-server-problem').count()).resolves.toBe(1);
    await expect(page.locator('[data-element-id="ok"].kf-server-problem').count()).resolves.toBe(1);
    await page.locator('.kf-problem', { hasText: 'UNKNOWN_TASK_TYPE' }).click();
    await expect(modeler<string[]>(`return m.get('selection').get().map((e) => e.id);`)).resolves.toEqual(['reserve']);
    await screenshot(page, 'designer-import-problems');

    // and a deploy is refused with the same problems, and stores nothing
    await page.keyboard.press('Control+s');
    await page.getByRole('dialog').getByRole('button', { name: 'Deploy new version' }).click();
    await page.getByRole('status').filter({ hasText: 'Not deployed: 2 problems' }).waitFor();
    const stored = (await (await api(supervisor, '/api/process-definitions?key=hand-written-order')).json()) as { items: unknown[] };
    expect(stored.items).toEqual([]);
  });

  it('switches every visible label between English and Chinese, and remembers the choice', async () => {
    await page.goto('/designer/example-approval');
    await page.locator('[data-element-id="approve"]').click();
    const english = await visibleLabels(page);

    // when
    await page.getByRole('button', { name: '中文 (Switch language)' }).click();
    await page.getByRole('button', { name: '部署' }).waitFor();
    await page.locator('.bjsl-button', { hasText: '没有问题' }).waitFor();

    // then: no label the app owns is left in English
    const chinese = await visibleLabels(page);
    expect(chinese.length).toBe(english.length);
    const unchanged = english.filter((label, index) => label === chinese[index] && /[a-z]{3}/i.test(label));
    expect(unchanged).toEqual([]);
    await page.reload();
    await page.getByRole('button', { name: '部署' }).waitFor();
    await expectAccessible();
    await screenshot(page, 'designer-zh');
    await page.getByRole('button', { name: 'English (切换语言)' }).click();
    await page.getByRole('button', { name: 'Deploy' }).waitFor();
  });

  it('opens a 500-task model and says how long it took', async () => {
    const file = path.join(tmpdir(), `large-${process.pid}.bpmn`);
    writeFileSync(file, chainModelXml('large-chain', 500));
    await page.goto('/designer/new');
    await page.locator('[data-element-id="start"]').waitFor();

    await page.locator('input[type=file]').setInputFiles(file);
    await page.locator('[data-element-id="task_500"]').waitFor({ state: 'attached' });
    const openMs = Number(await page.locator('.kf-canvas').getAttribute('data-open-ms'));

    expect(openMs).toBeGreaterThan(0);
    // A figure for the closing note and bench:web, not a timed assertion.
    console.log(JSON.stringify({ metric: 'designer.open500', elements: 1001, openMs }));
  });

  it("maps a service task's inputs against what its activity reads, and says which required ones are missing", async () => {
    await page.goto('/designer/new');
    await page.locator('[data-element-id="start"]').waitFor();
    const taskId = await modeler<string>(`
      const start = m.get('elementRegistry').get('start');
      const shape = m.get('elementFactory').createShape({ type: 'bpmn:ServiceTask' });
      return m.get('modeling').appendShape(start, shape, { x: start.x + 200, y: start.y + 18 }).id;`);
    await page.locator(`[data-element-id="${taskId}"]`).click();
    const service = page.locator('[data-group-id="group-kf-service"]');
    await openGroup(service);

    // when: the activity is chosen, its contract shows
    await service.getByLabel('Service type').selectOption('provisioning.suspend');
    const contract = service.locator('.kf-contract');
    await expect(contract.locator('li').allTextContents()).resolves.toEqual(['serviceId string · required', 'reason string']);

    // when: an input gives only the optional field
    const inputs = page.locator('[data-group-id="group-kf-inputs"]');
    await inputs.getByRole('button', { name: 'Create' }).click();
    await inputs.getByLabel('Variable').fill('reason');
    await inputs.locator('[data-entry-id$="-source"] [contenteditable="true"]').fill('"late payment"');

    // then: the panel says what the task would fail without
    await contract.getByText('The inputs below do not give: serviceId.').waitFor();
    // (the panel's inputs are debounced: the item's title follows the model)
    await inputs.getByText('reason ← ="late payment"').waitFor();
    const mappings = await modeler<{ type: string; source: string; target: string }[]>(
      `return m.get('elementRegistry').get('${taskId}').businessObject.extensionElements.values.map((value) => ({ type: value.$type, source: value.source, target: value.target }));`,
    );
    expect(mappings).toEqual([{ type: 'kf:Input', source: '="late payment"', target: 'reason' }]);
    await expectAccessible();
    await screenshot(page, 'designer-mappings');
  });

  it('edits a decision table in dmn-js: a broken cell is refused on its rule, the fixed table deploys as v2, and a test run marks the rule that matched', async () => {
    await page.goto('/designer/decisions/complaint-sla');
    const cell = page.locator('td[data-element-id="sla-gold-critical-out1"]');
    await cell.waitFor();
    await expect(cell.textContent()).resolves.toContain('2');

    // when: the designer leaves an expression half-typed and deploys (Ctrl+S)
    await cell.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('2 +');
    await page.keyboard.press('Control+s');

    // then: refused, the problem listed by its rule and the rule marked in the table
    await page.getByRole('status').filter({ hasText: 'Not deployed: 1 problem to fix, marked in the table.' }).waitFor();
    await expectVisible(page.locator('.kf-problem', { hasText: 'sla-gold-critical' }).getByText(/the expression is incomplete/));
    await page.locator('td.kf-dmn-problem[data-row-id="sla-gold-critical"]').first().waitFor();

    // when: fixed to 3 hours and deployed from the toolbar
    await cell.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('3');
    await page.getByRole('toolbar', { name: 'Decision actions' }).getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('status').filter({ hasText: 'Deployed complaint-sla v2.' }).waitFor();
    const deployed = (await (await api(supervisor, '/api/decision-definitions/complaint-sla')).json()) as { version: number; deployedBy: string };
    expect(deployed).toMatchObject({ version: 2, deployedBy: designer.username });

    // when: the deployed table is tried for a gold customer's critical fault
    await page.getByRole('button', { name: 'Test…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Test complaint-sla' });
    await dialog.getByLabel('Variables (JSON)').fill('{ "tier": "gold", "severity": "critical" }');
    await dialog.getByRole('button', { name: 'Evaluate' }).click();

    // then: the answer is the new version's, and its rule is marked in the table
    await expectVisible(dialog.getByText('3', { exact: true }));
    await expectVisible(dialog.getByText('(v2)'));
    await expectVisible(dialog.locator('dd code', { hasText: 'sla-gold-critical' }));
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await page.locator('td.kf-dmn-matched[data-row-id="sla-gold-critical"]').first().waitFor();
    await screenshot(page, 'designer-decision');
  });

  it('keeps a customer manager out: no designer in the navigation, 403 at its addresses', async () => {
    const manager = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.tianhe });
    const own = await openApp(browser, stack.api.url);
    try {
      await signIn(own.page, manager.username, manager.password);
      // (by where they lead: the Tasks link also carries its count badge once that has loaded)
      const rooms = await own.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link').evaluateAll((links) => links.map((link) => link.getAttribute('href')));
      expect(rooms).toEqual(['/tasks', '/accounts']);

      // when
      const response = await own.page.goto('/designer/example-approval');

      // then
      expect(response?.status()).toBe(403);
      await own.page.getByRole('heading', { name: 'Not for your role' }).waitFor();
      await expect(own.page.locator('.kf-canvas').count()).resolves.toBe(0);
      const deploy = await own.page.evaluate(async () => (await fetch('/api/process-definitions', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<x/>' })).status);
      expect(deploy).toBe(403);
      expect(await seriousViolations(own.page)).toEqual([]);
      expect(own.errors).toEqual([]);
    } finally {
      await own.context.close();
    }
  });

  it('sends a user whose session ended back to the login page with a message', async () => {
    await page.evaluate("localStorage.setItem('keyflow.language', 'en')");
    await page.goto('/designer');
    await page.getByRole('heading', { name: 'Processes' }).waitFor();
    // (the list must have come before the cookie goes, or its own request is the one sent to the login)
    const process = page.getByRole('link', { name: /approve a large/i });
    await process.waitFor();

    // when: the session is revoked elsewhere (here: its cookie is gone), and the app next asks the API
    await context.clearCookies();
    await process.click();

    // then
    await page.waitForURL(/\/login/);
    await page.getByText('Your session has expired. Sign in again to go on.').waitFor();
  });
});

/** Polls until `probe` answers something truthy (at most 20 s). */
function waitFor<T>(probe: () => Promise<T | undefined | false>): Promise<T> {
  return until('the page', probe, 20_000, 200);
}

/** The text of every label the app itself renders (not data: ids, keys, process names, diagram labels). */
function visibleLabels(page: Page): Promise<string[]> {
  // A string, so the test's own type-check needs no DOM library.
  return page.evaluate(`(() => {
    const skip = (element) => element.closest('.kf-process-items, .djs-container svg, code, .kf-toolbar-title h2, .kf-user-name, .bio-properties-panel-header, .bjsl-overlay, .djs-minimap, input, textarea');
    return [...document.querySelectorAll('button, a, h1, h2, h3, label, th, .bio-properties-panel-group-header-title, .bio-properties-panel-description, .kf-muted')]
      .filter((element) => element.offsetParent !== null && !skip(element))
      .map((element) => (element.textContent ?? '').trim())
      .filter((text) => text !== '' && !/^(Keyflow|中文|English|[↶↷×])$/.test(text));
  })()`);
}
