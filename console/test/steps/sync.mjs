// Browser test steps: The Sync and Unbilled usage screens: preview, apply, the held move, history, teaching a key.
// Each step takes the shared state of the run (see ../e2e.mjs).
import { assert, CONTOSO_AGREEMENT, api, additions, axe, tabTo, open, shot, kb, step } from '../helpers.mjs';

/** Preview, apply, see the additions; no catalog download. */
export async function firstSync(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Sync: preview, apply, see the additions; no catalog download', async () => {
    net.reset();
    // From the keyboard only.
    await page.getByRole('heading', { name: 'Companies', level: 1 }).focus();
    await tabTo(page, (n) => n.startsWith('A|') && n.endsWith('|Sync'), 'the Sync tab', 400);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sync', level: 1 }).waitFor();
    await tabTo(page, (n) => n.startsWith('BUTTON') && n.endsWith('|Preview'), 'Preview');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Preview/ }).waitFor();
    await page.getByRole('row', { name: /KES-WS.*create.*0 → 6/ }).waitFor();
    await page.getByRole('row', { name: /KES-LINUX.*create.*0 → 1/ }).waitFor();
    // The money each line and the preview moves: KES-WS at the profile's fixed 4.50.
    const ws = page.getByRole('row', { name: /KES-WS.*create.*0 → 6/ });
    assert.match(await ws.innerText(), /\+\d+\.\d{2}[\s\S]*at 4\.50 a unit/);
    await page.getByText(/^Applying it raises Contoso Ltd's monthly bill by \d+\.\d{2}\.$/).waitFor();
    console.log(`  first preview: ${(await page.locator('section[aria-labelledby="plan-title"] .money-summary').innerText()).replace(/\s+/g, ' ')}`);
    const catalog = net.of((p) => p.startsWith('/api/v1/connectwise/products'));
    const whole = catalog.filter((r) => !r.url.includes('ids='));
    console.log(`  Sync screen and preview: ${catalog.length} catalog look-up(s), ${kb(catalog.reduce((n, r) => n + r.bytes, 0))} KB`);
    assert.deepEqual(whole.map((r) => r.url), [], 'the Sync screen never reads the whole catalog');
    await tabTo(page, (n) => n.startsWith('BUTTON') && n.endsWith('|Apply this preview'), 'Apply this preview');
    await page.keyboard.press('Enter');
    await page.getByText(/The run finished: succeeded/).waitFor({ timeout: 30000 });
    const lines = await additions(CONTOSO_AGREEMENT);
    const qty = Object.fromEntries(lines.map((a) => [a.product.identifier, a.quantity]));
    assert.deepEqual(qty, { 'KES-WS': 6, 'KES-LINUX': 1 }, JSON.stringify(lines));
    // Ids are shown as names: a click in the console is trigger "console".
    await page.getByText(/Trigger: console\./).first().waitFor();
    await page.getByRole('row', { name: /console.*succeeded/ }).first().waitFor();
  });
}

/** A key nothing recognises, shown on Unbilled usage. */
export async function unknownKey(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  // A licence key nothing recognises, as if an admin elsewhere had edited the rules: the
  // tenant's cancels are then held, so the move below waits for approval.
  await api('PATCH', '/security-applications/ksws', { token: s.adminToken, body: { match_rules: { app_ids: [], name_patterns: [] } } });

  await step('Unbilled usage shows the unknown key after a collection', async () => {
    await open(page, 'Unbilled usage');
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText(/Usage read again/).waitFor();
    await page.getByRole('row', { name: /Kaspersky Security 11 for Windows Server/ }).waitFor();
    await axe(page, 'unbilled usage');
    await shot(page, 'unbilled-1280');
  });
}

/** The move is held, approved, applied. */
export async function heldMove(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Sync: the move is held, approve it, run with progress, see the additions', async () => {
    await open(page, 'Sync');
    await page.getByRole('button', { name: 'Preview' }).click();
    const approve = page.getByRole('checkbox', { name: 'Approve the move of Contoso' });
    await approve.waitFor();
    await page.getByRole('row', { name: /KES-LINUX.*held/ }).waitFor();
    // A held line shows what approving it does to the bill; so does the move, and the summary.
    const held = page.getByRole('row', { name: /KES-LINUX.*held/ });
    const heldText = await held.innerText();
    assert.match(heldText, /−\d+\.\d{2}[\s\S]*once approved: lowers Contoso Ltd's monthly bill by \d+\.\d{2}/);
    assert.match(await page.locator('ul.moves li').first().innerText(), /it (raises|lowers|leaves) Contoso Ltd's monthly bill/);
    await page.getByText(/^Held for approval: (raises|lowers) Contoso Ltd's monthly bill by \d+\.\d{2} once approved\.$/).waitFor();
    console.log(`  held preview: ${(await page.locator('section[aria-labelledby="plan-title"] .money-summary').innerText()).replace(/\s+/g, ' ')} | KES-LINUX: ${heldText.replace(/\s+/g, ' ')}`);
    await axe(page, 'sync preview');
    await shot(page, 'sync-preview-1280');
    await approve.check();
    await page.getByRole('button', { name: 'Apply this preview with 1 approval' }).click();
    // Contoso still holds the key nothing recognises (taught below): the run is partial and says so.
    await page.getByText('The run finished: partial.').waitFor({ timeout: 30000 });
    await page.getByText(/unknown or ambiguous licence keys\): Contoso \(Kaspersky Security 11 for Windows Server\)/).first().waitFor();
    const lines = await additions(CONTOSO_AGREEMENT);
    const active = Object.fromEntries(lines.filter((a) => !a.cancelledDate).map((a) => [a.product.identifier, a.quantity]));
    assert.deepEqual(active, { 'KES-WS': 3, 'KES-SRV': 3, 'KES-NONWIN': 1 }, JSON.stringify(lines));
    const linux = lines.find((a) => a.product.identifier === 'KES-LINUX');
    assert.ok(linux && linux.cancelledDate, `KES-LINUX is cancelled: ${JSON.stringify(linux)}`);
  });
}

/** The run's changes in the history. */
export async function history(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Sync history: the run\'s changes', async () => {
    // The finished run's details open by themselves; the latest run is first in the history.
    const details = page.getByRole('button', { name: /^Details of the run/ }).first();
    if ((await details.getAttribute('aria-expanded')) !== 'true') await details.click();
    await page.getByRole('table', { name: 'Changes' }).getByRole('row', { name: /KES-SRV.*create.*0 → 3.*applied/ }).waitFor();
    await shot(page, 'sync-1280');
  });
}

/** Teach the unknown key. */
export async function teach(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('teach the unknown key', async () => {
    await open(page, 'Unbilled usage');
    await page.getByLabel('Teach this key to').selectOption('ksws');
    await page.getByRole('button', { name: 'Teach this key (C-KSWS)' }).click();
    await page.getByText(/now recognises "Kaspersky Security 11 for Windows Server"/).waitFor();
    const app = (await api('GET', '/security-applications/ksws', { token: s.adminToken })).data;
    assert.deepEqual(app.match_rules.name_patterns, ['Kaspersky Security 11 for Windows Server']);
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText('Every licence key is recognised.').waitFor();
  });
}

/** Run sync now: nothing changed, nothing written. */
export async function runNow(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Run sync now: nothing changed, nothing written', async () => {
    await open(page, 'Sync');
    await page.getByRole('button', { name: 'Run sync now' }).click();
    await page.getByText(/The run finished: succeeded/).waitFor({ timeout: 30000 });
    await page.getByText(/Last finished run: succeeded .*Trigger: console\. No change\./).waitFor();
  });
}
