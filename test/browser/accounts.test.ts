import type { Browser, Page } from 'playwright-core';
import { createTestStaff, login, seedOrgTree, testOrg, type Session, type TestStaff } from '../support/auth';
import { expectVisible, launchChromium, openApp, screenshot, seriousViolations, signIn } from '../support/browser';
import { createAccountFixture, type AccountFixture } from '../support/crm';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestStack, testConfig, type TestStack } from '../support/services';

/**
 * The key-account workspace as customer managers use it, in a real Chromium against the real API
 * and PostgreSQL: their accounts only, the account page with what hangs off it, and an edit that
 * meets someone else's change.
 */
describe('the key-account workspace, as customer managers use it', () => {
  let database: TestDatabase;
  let stack: TestStack;
  let browser: Browser;
  let manager: TestStaff;
  let managerSession: Session;
  let otherCountyManager: TestStaff;
  let account: AccountFixture;
  let otherCountyAccount: AccountFixture;
  const errors: string[][] = [];

  const api = (session: Session, route: string, init: RequestInit = {}) => fetch(`${stack.api.url}${route}`, { ...init, headers: { ...session.headers, ...(init.headers ?? {}) } });
  const openAs = async (staff: TestStaff, path: string): Promise<Page> => {
    const opened = await openApp(browser, stack.api.url);
    errors.push(opened.errors);
    await opened.page.goto('/login');
    await signIn(opened.page, staff.username, staff.password);
    await opened.page.goto(path);
    return opened.page;
  };
  const expectAccessible = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedOrgTree(database.pool);
    stack = await startTestStack(testConfig(database), database);
    manager = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.tianhe, displayName: '赵经理' });
    otherCountyManager = await createTestStaff(database.pool, { roles: ['customer_manager'], orgUnitId: testOrg.yuexiu, displayName: '孙经理' });
    account = await createAccountFixture(database.pool, testOrg.tianhe, { name: '广州天河智联物流有限公司', tier: 'gold', customerManagerId: manager.id });
    otherCountyAccount = await createAccountFixture(database.pool, testOrg.yuexiu, { name: '越秀云港贸易有限公司' });
    managerSession = await login(stack.api.url, manager.username, manager.password);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await database?.drop();
  });

  afterEach(() => {
    for (const list of errors) expect(list).toEqual([]);
  });

  it("lists a county's accounts to its customer manager and opens one with its contacts, contracts, subscriptions, orders, tickets and audit trail", async () => {
    const page = await openAs(manager, '/accounts');
    const link = page.getByRole('link', { name: '广州天河智联物流有限公司' });
    await expectVisible(link);
    await expect(page.getByRole('link', { name: '越秀云港贸易有限公司' }).count()).resolves.toBe(0);
    await expectAccessible(page);

    await link.click();
    await expectVisible(page.getByRole('heading', { name: '广州天河智联物流有限公司', level: 1 }));
    for (const section of ['Contacts', 'Contracts', 'Billing accounts', 'Subscriptions', 'Orders', 'Open tickets', 'Recent bills', 'Audit trail']) {
      await expectVisible(page.getByRole('heading', { name: section, level: 2 }));
    }
    await expectVisible(page.getByRole('cell', { name: '张伟 ★' }));
    await expectVisible(page.getByRole('cell', { name: '专线中断' }));
    await expectVisible(page.getByRole('cell', { name: 'account.create' }));
    await expectAccessible(page);
    await screenshot(page, 'account-page');
  });

  it("answers not found for another county's account, on the page and at the API", async () => {
    const page = await openAs(otherCountyManager, `/accounts/${account.accountId}`);
    await expectVisible(page.getByText('There is no such account for you'));
    expect((await api(await login(stack.api.url, otherCountyManager.username, otherCountyManager.password), `/api/accounts/${account.accountId}`)).status).toBe(404);
    expect((await api(managerSession, `/api/accounts/${otherCountyAccount.accountId}`)).status).toBe(404);
    await expectAccessible(page);
  });

  it("shows a customer manager whose edit meets another session's change what the other person changed, and saves theirs over it on request", async () => {
    const page = await openAs(manager, `/accounts/${account.accountId}`);
    await page.getByRole('button', { name: 'Edit account' }).click();
    const dialog = page.getByRole('dialog', { name: /Edit/ });
    await dialog.getByLabel('Address').fill('广州市天河区天河路 385 号');

    // when: another session renames the account meanwhile
    const current = (await (await api(managerSession, `/api/accounts/${account.accountId}`)).json()) as { version: number };
    const renamed = await api(managerSession, `/api/accounts/${account.accountId}`, { method: 'PATCH', body: JSON.stringify({ version: current.version, name: '广州天河智联物流集团' }) });
    expect(renamed.status).toBe(200);
    await dialog.getByRole('button', { name: 'Save' }).click();

    // then
    await expectVisible(dialog.getByText('Someone else changed this account'));
    await expectVisible(dialog.getByText('now: 广州天河智联物流集团'));
    await expectAccessible(page);

    // when
    await dialog.getByRole('button', { name: 'Save mine over theirs' }).click();

    // then: their name stays (this person did not touch it), and the address is this person's
    await expectVisible(page.getByRole('heading', { name: '广州天河智联物流集团', level: 1 }));
    await expectVisible(page.getByText('广州市天河区天河路 385 号', { exact: true }));
    await expectVisible(page.getByText('address: null → "广州市天河区天河路 385 号"'));
    const after = (await (await api(managerSession, `/api/accounts/${account.accountId}`)).json()) as { name: string; address: string; version: number };
    expect(after).toMatchObject({ name: '广州天河智联物流集团', address: '广州市天河区天河路 385 号', version: current.version + 2 });
  });
});
