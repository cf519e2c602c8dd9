import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { sql } from 'slonik';
import { z } from 'zod';
import { deployBillingProcesses } from '../../activities/billing/processes';
import { simulatorUrl } from '../../activities/external';
import { createTestStaff, type TestStaff } from '../support/auth';
import { expectVisible, launchChromium, openApp, screenshot, seriousViolations, signIn } from '../support/browser';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { simControlHeaders } from '../support/external';
import { startTestStack, testConfig, type TestStack } from '../support/services';
import { dropUsageFiles, seedCycleOperator } from '../integration/billing/operator-fixture';

/**
 * The billing clerk's room in a real Chromium against the real API, worker, Temporal, PostgreSQL
 * and simulator: a bill run started from the room, its progress pushed to the bar while it goes,
 * and its approval done in the task list.
 */
describe("the billing clerk's room", () => {
  let database: TestDatabase;
  let stack: TestStack;
  let browser: Browser;
  let clerk: TestStaff;
  let dir: string;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyflow-billing-room-'));
    stack = await startTestStack(testConfig(database, { KEYFLOW_USAGE_INBOX: path.join(dir, 'inbox') }), database);
    await stack.api.billRuns.ready;
    const operator = await seedCycleOperator(database.pool, 16);
    // Test files share one Temporal namespace, where a run's instance id is its period, cycle day and
    // number: this file bills its accounts on the 2nd, so its run is not the billing API test's.
    await database.pool.query(sql.type(z.object({}))`UPDATE billing_accounts SET bill_cycle_day = 2`);
    await dropUsageFiles(path.join(dir, 'inbox'), operator);
    // The simulator's feed is shared with other test files: this one starts reading after its end.
    const marker = await fetch(`${simulatorUrl(stack.config)}/sim/usage`, {
      method: 'POST',
      headers: { ...simControlHeaders(), 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ recordId: `marker-${Date.now()}`, source: 'test', serviceNumber: 'none', usageType: 'sms', startedAt: '2025-01-01T00:00:00Z' }] }),
    });
    const { lastCursor } = (await marker.json()) as { lastCursor: string };
    await database.pool.query(sql.type(z.object({}))`INSERT INTO usage_feed_cursors (feed, cursor) VALUES ('usage', ${lastCursor})`);
    await deployBillingProcesses(database.pool, 'test');
    clerk = await createTestStaff(database.pool, { roles: ['billing_clerk'], orgUnitId: 'GD', displayName: '周计费' });
    browser = await launchChromium();
    ({ page, errors } = await openApp(browser, stack.api.url));
  });

  afterAll(async () => {
    await browser?.close();
    // The instance waits for its bills' due date; other test files share this Temporal.
    await stack?.api.temporal.workflow.getHandle('billing-cycle:2025-03-c2-1').terminate('test over').catch(() => undefined);
    await stack?.stop();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(errors).toEqual([]);
  });

  it("starts a bill run and watches its progress bar move, pushed while it goes, until the run waits for the clerk's approval", async () => {
    await page.goto('/login');
    await signIn(page, clerk.username, clerk.password);
    await page.goto('/billing');
    await expectVisible(page.getByText('No bill run yet.'));
    await expect(seriousViolations(page)).resolves.toEqual([]);

    // Every value the bar shows, as the page shows it — watched before the run starts, so a fast
    // run's first steps are not missed.
    await page.evaluate(`(() => {
      window.progressSeen = [];
      const record = () => {
        const bar = document.querySelector('[role="progressbar"]');
        const value = bar && Number(bar.getAttribute('aria-valuenow'));
        if (bar && window.progressSeen[window.progressSeen.length - 1] !== value) window.progressSeen.push(value);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, attributes: true, childList: true, attributeFilter: ['aria-valuenow'] });
    })()`);

    // when
    await page.getByRole('button', { name: 'Start a bill run' }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a bill run' });
    await dialog.getByLabel('Period (YYYY-MM)').fill('2025-03');
    await dialog.getByLabel('Cycle day (the accounts billed on this day of the month)').fill('2');
    await dialog.getByLabel('Accounts per batch (optional)').fill('1');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('progressbar', { name: /2025-03/ }).waitFor();
    // then: the bar moves while the run goes
    // (a function, not a string: the app's Content-Security-Policy forbids eval)
    await page.waitForFunction(() => ((globalThis as { progressSeen?: number[] }).progressSeen ?? []).some((value) => value > 0), undefined, { timeout: 150_000, polling: 50 });
    await screenshot(page, 'billing-run');
    await expectVisible(page.getByText('awaiting approval'), 150_000);
    const seen = (await page.evaluate('window.progressSeen')) as number[];
    expect(seen[seen.length - 1]).toBe(100);
    expect(seen.filter((value) => value > 0 && value < 100).length).toBeGreaterThan(0);
    await expectVisible(page.getByText('20 of 20 accounts'));
    await expectVisible(page.getByRole('cell', { name: /UNKNOWN_SUBSCRIBER/ }));
    await expect(seriousViolations(page)).resolves.toEqual([]);
  }, 300_000);

  it('approves the run in the task list, and the room shows it issued', async () => {
    // when
    await page.getByRole('link', { name: 'Open the approval task' }).click();
    await expectVisible(page.getByRole('heading', { name: 'Approve the bill run' }));
    await page.getByLabel('Issue these bills').check();
    await page.keyboard.press('Control+Enter');
    await page.waitForURL((url) => url.pathname === '/tasks');

    // then
    await page.goto('/billing');
    await expectVisible(page.getByText(`decided by ${clerk.username}`), 60_000);
    await expectVisible(page.getByText(/^completed$|^publishing$|^issuing$/).first(), 60_000);
  });
});
