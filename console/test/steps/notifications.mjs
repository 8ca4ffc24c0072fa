// Browser test steps: the Notifications screen (channels, a test message, the delivery log,
// acknowledging) and the notice settings on the Settings screen.
// Each step takes the shared state of the run (see ../e2e.mjs). Only 127.0.0.1 is contacted: the
// ticket channel goes to the sandbox's fake ConnectWise, the webhook to a closed local port.
import { assert, api, axe, open, shot, step, until } from '../helpers.mjs';

/** Channels: a ConnectWise ticket channel with a test, a field error, a webhook, edit and delete. */
export async function channels(s) {
  const { page } = s;
  await step('Notifications: a ticket channel and its test, a field error, a webhook edited and deleted', async () => {
    await open(page, 'Notifications');
    await page.getByRole('heading', { name: 'Channels', level: 2 }).waitFor();
    await page.getByRole('button', { name: 'Add a channel' }).click();
    let form = page.getByRole('form', { name: 'New channel' });
    await form.getByLabel(/^Name/).fill('Service desk');
    await form.getByLabel('ConnectWise ticket').check();
    await form.getByLabel(/^Service board/).fill('Help Desk');
    await form.getByLabel(/^Status of a new ticket/).fill('New');
    await form.getByLabel(/^Status when resolved/).fill('Closed');
    await form.getByLabel(/^Priority/).fill('Priority 3 - Normal Response');
    await form.getByLabel(/^Type/).fill('Billing');
    await form.getByLabel(/^Company/).fill('Contoso');
    await form.getByLabel('Open a notice about one company on that company').check();
    await form.getByLabel('Sync run outcome').check();
    await form.getByLabel('Unmapped tenant').check();
    await form.getByLabel('Held lines moving a bill').check();
    await form.getByLabel('Minimum severity').selectOption('warning');
    await axe(page, 'notifications: ticket channel form');
    await form.getByRole('button', { name: 'Save channel' }).click();
    await page.getByText('The channel Service desk is saved.').waitFor();
    const row = page.getByRole('row', { name: /Service desk.*ConnectWise ticket.*yes.*Sync run outcome, Unmapped tenant, Held lines moving a bill.*warning/ });
    await row.waitFor();
    const stored = (await api('GET', '/notification-channels', { token: s.adminToken })).data.find((c) => c.name === 'Service desk');
    // The records as typed (the API writes every key of a record reference, null when not given).
    const given = Object.fromEntries(Object.entries(stored.ticket).map(([k, v]) => [k, v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null)) : v]));
    assert.deepEqual(given, {
      board: { name: 'Help Desk' }, status: { name: 'New' }, closed_status: { name: 'Closed' }, priority: { name: 'Priority 3 - Normal Response' },
      type: { name: 'Billing' }, company: { identifier: 'Contoso' }, on_affected_company: true,
    }, JSON.stringify(stored.ticket));

    // A test message: a ticket opened and closed at once on the fake ConnectWise.
    await page.getByRole('button', { name: 'Send test to Service desk' }).click();
    const result = page.getByText(/^Test of Service desk: /);
    await result.waitFor({ timeout: 30000 });
    const text = await result.innerText();
    console.log(`  ticket channel test: ${text}`);
    assert.match(text, /delivered/);
    assert.match(text, /opened and closed/);

    // A webhook with a URL the server refuses: the error next to the URL, the edits kept.
    await page.getByRole('button', { name: 'Add a channel' }).click();
    form = page.getByRole('form', { name: 'New channel' });
    await form.getByLabel(/^Name/).fill('Billing hook');
    await form.getByLabel('Webhook').check();
    const url = form.getByLabel(/^URL/);
    await url.fill('ftp://127.0.0.1/hook');
    await form.getByLabel(/^Signing secret/).fill('a-long-random-signing-secret');
    await form.getByRole('button', { name: 'Save channel' }).click();
    await form.getByRole('alert').filter({ hasText: /^Not saved/ }).waitFor();
    assert.equal(await url.getAttribute('aria-invalid'), 'true');
    const why = await form.locator(`#${await url.getAttribute('aria-describedby')}`);
    assert.equal(await why.getAttribute('class'), 'field-error');
    console.log(`  webhook URL refused: ${await why.innerText()}`);
    await axe(page, 'notifications: a field error');
    await shot(page, 'notifications-error-1280');
    await url.fill('http://127.0.0.1:9/hook');
    await form.getByRole('button', { name: 'Save channel' }).click();
    await page.getByText('The channel Billing hook is saved.').waitFor();
    await page.getByRole('row', { name: /Billing hook.*Webhook.*127\.0\.0\.1:9\/hook.*every kind/ }).waitFor();

    // Edit it (If-Match with the channel's ETag): the secret stays stored when left empty.
    await page.getByRole('button', { name: 'Edit Billing hook' }).click();
    form = page.getByRole('form', { name: 'Channel Billing hook' });
    await form.getByText('A secret is stored — leave empty to keep it.').waitFor();
    await form.getByLabel('Minimum severity').selectOption('critical');
    await form.getByRole('button', { name: 'Save channel' }).click();
    await page.getByText('The channel Billing hook is saved.').waitFor();
    await page.getByRole('row', { name: /Billing hook.*Webhook.*critical/ }).waitFor();
    const hook = (await api('GET', '/notification-channels', { token: s.adminToken })).data.find((c) => c.name === 'Billing hook');
    assert.equal(hook.secret_set, true);
    assert.equal(hook.min_severity, 'critical');
    await axe(page, 'notifications');
    await shot(page, 'notifications-1280');

    // Delete asks first: "Cancel" keeps it, "OK" deletes it.
    const asked = s.dialogs.length;
    await page.getByRole('button', { name: 'Delete Billing hook' }).click();
    await until(() => s.dialogs.length > asked, 'the delete asks first');
    assert.match(s.dialogs.at(-1), /Delete the channel Billing hook\?/);
    assert.equal(await page.getByRole('row', { name: /Billing hook/ }).count(), 1);
    s.acceptDialogs = true;
    try {
      await page.getByRole('button', { name: 'Delete Billing hook' }).click();
      await page.getByText('The channel Billing hook is deleted.').waitFor();
    } finally { s.acceptDialogs = false; }
    await until(async () => (await page.getByRole('row', { name: /Billing hook/ }).count()) === 0, 'the webhook is gone');
  });
}

/** The delivery log: at least one notice with what it concerns; acknowledge one. */
export async function log(s) {
  const { page } = s;
  await step('Notifications: the delivery log lists the open notices; acknowledge one', async () => {
    // A Business Hub tenant added by a second client: a notice (evaluated in the background within
    // about a second), delivered as a ticket by the channel made above.
    // Tenants read again (a refresh) wake the notices at once, rather than at their 30-second pass.
    await api('POST', '/tenants', { token: s.adminToken, body: { name: 'Woodgrove Bank', external_id: 'bh-woodgrove' } });
    const added = Date.now();
    await api('POST', '/tenants/refresh', { token: s.adminToken });
    let notice;
    for (let i = 0; i < 600 && !notice; i++) {
      const open_ = (await api('GET', '/notifications?state=open&per_page=100', { token: s.adminToken })).data.items;
      notice = open_.find((n) => n.kind === 'unmapped_tenant' && n.tenants.includes('Woodgrove Bank') && n.deliveries.some((d) => d.status === 'delivered'));
      if (!notice) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(notice, 'the new tenant\'s notice is delivered as a ticket');
    console.log(`  notification: the new tenant's ticket delivered ${Date.now() - added} ms after it was added`);
    await open(page, 'Notifications');
    const log = page.getByRole('region', { name: 'Notices and deliveries' });
    // The screen was open already (the channels above): read the log again.
    await log.getByRole('button', { name: 'Check again' }).click();
    await log.getByRole('heading', { name: notice.title, exact: true }).waitFor();
    await log.getByText(/^\d+ open notices?\.$/).waitFor();
    const items = log.locator('li.notice-item');
    await items.first().waitFor();
    console.log(`  delivery log: ${await log.getByRole('status').first().innerText()} First: ${(await items.first().locator('h3').innerText())}`);
    const open_ = (await api('GET', '/notifications?state=open&per_page=100', { token: s.adminToken })).data.items;
    const target = open_.find((n) => !n.acknowledged_at);
    assert.ok(target, 'an open notice nobody acknowledged');
    const item = items.filter({ has: page.getByRole('heading', { name: target.title, exact: true }) }).first();
    if (target.tenants.length) await item.getByText(target.tenants.join(', ')).first().waitFor();
    if (target.money_at_stake) await item.getByText(target.money_at_stake, { exact: true }).waitFor();
    await item.getByRole('link', { name: /^Resolve it/ }).waitFor();
    await item.getByRole('button', { name: `Acknowledge: ${target.title}` }).click();
    await item.getByText(/^by admin, /).waitFor();
    const after = (await api('GET', '/notifications?state=all&per_page=100', { token: s.adminToken })).data.items.find((n) => n.id === target.id);
    assert.equal(after.acknowledged_by, 'admin');
    // Its delivery: the channel by name, the message, the status, the attempts and the answer.
    const woodgrove = items.filter({ has: page.getByRole('heading', { name: notice.title, exact: true }) }).first();
    const delivery = woodgrove.getByRole('row', { name: /Service desk.*opened.*delivered/ });
    await delivery.waitFor();
    console.log(`  delivery: ${(await delivery.innerText()).replace(/\s+/g, ' ')}`);
    await log.getByLabel('Show').selectOption('all');
    await log.getByText(/^\d+ notices?\.$/).waitFor();
    await axe(page, 'notifications: delivery log');
    await shot(page, 'notifications-log-1280');
  });
}

/** Settings: the notice settings, an amount the server refuses, then one it keeps. */
export async function noticeSettings(s) {
  const { page } = s;
  await step('Settings: the held-money notice threshold, a field error, saved', async () => {
    await open(page, 'Settings');
    const hours = page.getByLabel('Notify of lines held longer than (hours)');
    assert.equal(await hours.inputValue(), '24');
    const box = page.getByLabel(/^Notify at once of held lines moving a company's bill by/);
    assert.equal(await box.inputValue(), '');
    await box.fill('12,50');
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not saved: some fields are not valid.' }).waitFor();
    assert.equal(await box.getAttribute('aria-invalid'), 'true');
    await box.fill('250.00');
    await hours.fill('12');
    await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    await page.getByText(/^Sync settings saved\./).waitFor();
    const settings = (await api('GET', '/settings/sync', { token: s.adminToken })).data;
    assert.deepEqual([settings.held_money_notice_threshold, settings.held_notice_after_hours], ['250.00', 12]);
    await page.reload();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await until(async () => (await page.getByLabel(/^Notify at once of held lines moving/).inputValue()) === '250.00', 'the threshold shown after a reload');
    // Emptied: no such notice (null).
    await page.getByLabel(/^Notify at once of held lines moving/).fill('');
    await page.getByText(/^Sync settings saved\./).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    await page.getByText(/^Sync settings saved\./).waitFor();
    assert.equal((await api('GET', '/settings/sync', { token: s.adminToken })).data.held_money_notice_threshold, null);
    await page.getByLabel(/^Notify at once of held lines moving/).fill('250.00');
    await page.getByText(/^Sync settings saved\./).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    await page.getByText(/^Sync settings saved\./).waitFor();
    assert.equal((await api('GET', '/settings/sync', { token: s.adminToken })).data.held_money_notice_threshold, '250.00');
  });
}
