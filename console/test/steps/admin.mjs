// Browser test steps: Settings, audit, admin screens, the phone width, repeat load, my account, the viewer.
// Each step takes the shared state of the run (see ../e2e.mjs).
import { assert, BASE, TARGET_REPEAT_LOAD_KB, api, apiLogin, watch, axe, nav, open, shot, isConsoleFile, kb, measured, step, homeReady, overflow } from '../helpers.mjs';

/** Settings: a field error, a session that ends while editing. */
export async function settings(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Settings: the sync settings, a field error, a session that ends while editing', async () => {
    await open(page, 'Settings');
    await axe(page, 'settings');
    await shot(page, 'settings-1280');
    const cron = page.getByLabel('Schedule (cron)');
    await cron.fill('61 * * * *');
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not saved: some fields are not valid.' }).waitFor();
    assert.equal(await cron.getAttribute('aria-invalid'), 'true');
    await cron.fill('30 6 * * 1-5');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByLabel('Hold decreases above (%)').fill('40');
    // The session ends meanwhile (here: "log out everywhere" from another client).
    await api('POST', '/auth/me/sessions/revoke', { token: s.adminToken });
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByText(/Your session ended\. Log in again to carry on: your unsaved changes are kept\./).waitFor();
    assert.equal(await dialog.getByLabel('User name').inputValue(), 'admin');
    await axe(page, 'session dialog');
    await shot(page, 'session-expired-1280', { fullPage: false });
    await dialog.getByLabel('Password').fill(s.adminPassword);
    await dialog.getByRole('button', { name: 'Log in' }).click();
    // The save that was refused goes out again: the edits were kept.
    await page.getByText(/^Sync settings saved\. Next run /).waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
    s.adminToken = await apiLogin('admin', s.adminPassword);
    const settings = (await api('GET', '/settings/sync', { token: s.adminToken })).data;
    assert.deepEqual([settings.schedule, settings.time_zone, settings.max_decrease_percent], ['30 6 * * 1-5', 'Europe/Berlin', 40]);
  });
}

/** Audit trail: who, what, when. */
export async function audit(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Audit trail: who, what, when', async () => {
    await open(page, 'Audit trail');
    await page.getByLabel('Who').fill('admin');
    await page.getByLabel('What').selectOption('sync_settings');
    const today = await page.evaluate(() => { const d = new Date(); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; });
    await page.getByLabel('From').fill(today);
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByText('1 event.').waitFor();
    await page.getByRole('button', { name: /fields?$/ }).first().click();
    await page.getByText(/max_decrease_percent: 50 → 40/).waitFor();
    await axe(page, 'audit trail');
    await shot(page, 'audit-1280');
    await page.getByLabel('From').fill('2099-01-01');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByText('No event matches.').waitFor();
  });
}

/** Connections, users and tokens. */
export async function adminScreens(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('admin screens: connections, users and tokens', async () => {
    await open(page, 'Connections');
    await page.getByRole('button', { name: 'Test connection' }).first().click();
    await page.getByText(/ConnectWise Manage: connection works/).waitFor();
    await axe(page, 'connections');
    await shot(page, 'connections-1280');
    await open(page, 'Users', 'Users and service tokens');
    await page.getByLabel('Name', { exact: true }).fill('rmm-script');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(/Token rmm-script created/).waitFor();
    await axe(page, 'users');
    await shot(page, 'users-1280');
  });
}

/** 390 px wide: every screen readable, nothing wider than the screen. */
export async function phone(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('390 px wide phone: every screen readable, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const screens = [['Home', 'home'], ['Products', 'products'], ['Companies', 'companies'], ['Sync', 'sync'], ['Unbilled usage', 'unbilled'], ['Reconciliation', 'reconciliation'],
      ['Notifications', 'notifications'], ['Settings', 'settings'], ['Audit trail', 'audit'], ['Connections', 'connections'], ['Users', 'users']];
    for (const [tab, name] of screens) {
      await nav(page, tab).click();
      await page.locator('main h1').waitFor();
      if (name === 'reconciliation') await page.locator('.outcome').waitFor();
      if (name === 'notifications') await page.getByText(/open notices?\.$|^No open notice/).waitFor();
      await page.waitForTimeout(400);
      const { width, wide } = await page.evaluate(() => ({
        width: document.documentElement.scrollWidth,
        wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && e.getClientRects().length > 0)
          .slice(0, 5).map((e) => `${e.tagName}.${e.className}`),
      }));
      assert.ok(width <= 390 && wide.length === 0, `${tab} is ${width} px wide at 390: ${wide.join(', ')}`);
      await shot(page, `${name}-390`);
    }
    await axe(page, 'users at 390 px');
    await nav(page, 'Companies').click();
    await page.getByRole('heading', { name: 'Companies', level: 1 }).waitFor();
    await axe(page, 'companies at 390 px');
    // The new forms fit too: a company's terms, a billing profile.
    await page.getByRole('button', { name: 'Terms for Contoso' }).click();
    await page.getByRole('form', { name: 'Terms of Contoso Ltd' }).getByRole('button', { name: 'Save terms' }).waitFor();
    let o = await overflow(page, 390);
    assert.ok(o.width <= 390 && o.wide.length === 0, `the terms are ${o.width} px wide at 390: ${o.wide.join(', ')}`);
    await axe(page, 'company terms at 390 px');
    await shot(page, 'company-terms-390');
    await page.getByRole('form', { name: 'Terms of Contoso Ltd' }).getByRole('button', { name: 'Cancel' }).click();
    await nav(page, 'Products').click();
    await page.getByRole('button', { name: 'Edit the billing profile of KES-SRV' }).click();
    await page.getByRole('form', { name: 'Billing profile of KES-SRV' }).getByRole('button', { name: 'Save profile' }).waitFor();
    o = await overflow(page, 390);
    assert.ok(o.width <= 390 && o.wide.length === 0, `the billing profile is ${o.width} px wide at 390: ${o.wide.join(', ')}`);
    await axe(page, 'billing profile at 390 px');
    await shot(page, 'billing-profile-390');
    await page.getByRole('form', { name: 'Billing profile of KES-SRV' }).getByRole('button', { name: 'Cancel' }).click();
    // A notification channel's form, the ticket kind (the widest).
    await nav(page, 'Notifications').click();
    await page.getByRole('button', { name: 'Add a channel' }).click();
    const channel = page.getByRole('form', { name: 'New channel' });
    await channel.getByLabel(/^Service board/).waitFor();
    o = await overflow(page, 390);
    assert.ok(o.width <= 390 && o.wide.length === 0, `the channel form is ${o.width} px wide at 390: ${o.wide.join(', ')}`);
    await axe(page, 'notification channel at 390 px');
    await shot(page, 'notification-channel-390');
    await channel.getByRole('button', { name: 'Cancel' }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
  });
}

/** Repeat load: only the page is revalidated. */
export async function repeatLoad(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('repeat load: only the page is revalidated', async () => {
    net.reset();
    await page.goto(BASE);
    await homeReady(page);
    const files = net.of(isConsoleFile);
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    console.log(`  repeat load: ${files.length} console file request(s) (${files.map((f) => `${new URL(f.url).pathname} ${f.bytes} B`).join(', ')}), ${kb(bytes)} KB`);
    measured('console transfer on repeat load', Number(kb(bytes)), ' KB', TARGET_REPEAT_LOAD_KB);
  });
}

/** My account: change my password, then log out everywhere. */
export async function account(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('my account: change my password, then log out everywhere', async () => {
    await page.getByRole('link', { name: /^My account/ }).click();
    await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
    await axe(page, 'my account');
    await shot(page, 'account-1280');
    const next = `${s.adminPassword}-new`;
    await page.getByLabel('Current password').fill(s.adminPassword);
    await page.getByLabel('New password (at least 10 characters)').fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(/^Password changed\./).waitFor();
    s.adminPassword = next;
    await assert.rejects(api('GET', '/auth/me', { token: s.adminToken }), /401/, 'the old sessions ended');
    s.adminToken = await apiLogin('admin', s.adminPassword);
    // This session carried on with the new password.
    await nav(page, 'Home').click();
    await homeReady(page);
    await page.getByRole('link', { name: /^My account/ }).click();
    s.acceptDialogs = true;
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    s.acceptDialogs = false;
    await page.getByText('You logged out everywhere: every session of yours has ended.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await assert.rejects(api('GET', '/auth/me', { token: s.adminToken }), /401/, 'every session ended');
  });
}

/** A viewer sees no edit controls. */
export async function viewer(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('a viewer sees no edit controls', async () => {
    const viewer = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    watch(viewer, 'viewer');
    await viewer.goto(BASE);
    await viewer.getByLabel('User name').fill('viewer');
    await viewer.getByLabel('Password').fill('viewer-password-1');
    await viewer.getByRole('button', { name: 'Log in' }).click();
    await homeReady(viewer);
    await axe(viewer, 'home (viewer)');
    await open(viewer, 'Products');
    await viewer.getByText('KES-SRV').first().waitFor();
    assert.equal(await viewer.getByRole('combobox').count(), 0);
    assert.equal(await viewer.getByRole('switch').count(), 0);
    assert.equal(await viewer.getByRole('button', { name: /Save changes|Refresh catalog/ }).count(), 0);
    assert.equal(await viewer.getByRole('link', { name: /Connections|Users/ }).count(), 0);
    await axe(viewer, 'products (viewer)');
    await viewer.getByRole('region', { name: 'Billing profiles' }).getByRole('row', { name: /KES-SRV.*12\.00/ }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /^Edit the billing profile/ }).count(), 0);
    await open(viewer, 'Companies');
    await viewer.getByRole('row', { name: /Contoso/ }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Map|Edit|Unmap|Refresh|Billing/ }).count(), 0);
    assert.equal(await viewer.getByRole('checkbox').count(), 0);
    // The terms read, not changed.
    await viewer.getByRole('button', { name: 'Terms for Contoso' }).click();
    const terms = viewer.getByRole('form', { name: 'Terms of Contoso Ltd' });
    await terms.getByRole('button', { name: 'Close' }).waitFor();
    assert.equal(await terms.getByRole('button', { name: 'Save terms' }).count(), 0);
    assert.equal(await terms.getByRole('group', { name: /^KES-WS/ }).getByLabel('Included quantity', { exact: true }).inputValue(), '2');
    assert.equal(await terms.getByRole('group', { name: /^KES-WS/ }).getByLabel('Included quantity', { exact: true }).isDisabled(), true);
    await axe(viewer, 'company terms (viewer)');
    await open(viewer, 'Sync');
    await viewer.getByRole('heading', { name: 'History' }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Preview|Run sync now|Collect/ }).count(), 0);
    await open(viewer, 'Reconciliation');
    await viewer.getByRole('button', { name: 'Download CSV' }).waitFor();
    await viewer.locator('.outcome').waitFor();
    await axe(viewer, 'reconciliation (viewer)');
    await open(viewer, 'Unbilled usage');
    assert.equal(await viewer.getByRole('button').filter({ hasText: /Teach|Collect/ }).count(), 0);
    await open(viewer, 'Settings');
    await viewer.getByLabel('Schedule (cron)').waitFor();
    assert.equal(await viewer.getByLabel('Schedule (cron)').isDisabled(), true);
    assert.equal(await viewer.getByRole('button', { name: /Save sync settings/ }).count(), 0);
    await axe(viewer, 'settings (viewer)');
    // The delivery log reads; channels and acknowledging are not theirs.
    await open(viewer, 'Notifications');
    await viewer.getByText(/open notices?\.$|^No open notice/).waitFor();
    assert.equal(await viewer.getByRole('heading', { name: 'Channels' }).count(), 0);
    assert.equal(await viewer.getByRole('button', { name: /^Acknowledge/ }).count(), 0);
    await axe(viewer, 'notifications (viewer)');
  });
}
