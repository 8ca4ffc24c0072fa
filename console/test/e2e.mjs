// Browser test of the web console: headless Debian Chromium driven by playwright-core, against
// the server in sandbox mode (fake ConnectWise and fake KSC on 127.0.0.1). Started by
// scripts/check-console.sh, which passes the addresses below. Every request goes to 127.0.0.1.
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = need('CONSOLE_URL');
const ADMIN_PASSWORD = need('ADMIN_PASSWORD');
const CW_ADDITIONS = need('FAKE_CW_ADDITIONS'); // …/finance/agreements/<agreement_id>/additions
const CW_AUTH = need('FAKE_CW_AUTH'); // user:password
const CW_CLIENT_ID = need('FAKE_CW_CLIENT_ID');
const CONTOSO_AGREEMENT = need('CONTOSO_AGREEMENT');
const SHOTS = process.env.SCREENSHOT_DIR ?? 'target/console-screenshots';
const README_SHOT = process.env.README_SCREENSHOT;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AXE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
mkdirSync(SHOTS, { recursive: true });

/** @param {string} name */
function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// --- the API, as a second client would use it ---------------------------------------------
async function api(method, path, { token, body, ifMatch } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  const r = await fetch(`${BASE}api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return { data: text ? JSON.parse(text) : null, etag: r.headers.get('ETag') };
}
async function apiLogin(username, password) {
  return (await api('POST', '/auth/login', { body: { username, password } })).data.access_token;
}
async function additions(agreement) {
  const url = CW_ADDITIONS.replace('<agreement_id>', agreement);
  const r = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(CW_AUTH).toString('base64')}`, clientId: CW_CLIENT_ID } });
  assert.equal(r.status, 200, `fake ConnectWise additions: ${r.status}`);
  return r.json();
}

// --- browser helpers ----------------------------------------------------------------------
const problems = [];
function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|404|409|412|422)/.test(m.text())) problems.push(`${who}: console error: ${m.text()}`);
    if (/Content Security Policy/i.test(m.text())) problems.push(`${who}: CSP: ${m.text()}`);
  });
}

async function axe(page, screen) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = result.filter((v) => !bad.includes(v)).map((v) => `${v.id} (${v.impact})`);
  console.log(`  axe ${screen}: ${bad.length} serious/critical${minor.length ? `, minor: ${minor.join(', ')}` : ''}`);
  assert.deepEqual(bad, [], `axe on ${screen}: ${JSON.stringify(bad, null, 1)}`);
}

/** Presses Tab until the focused element matches; the keyboard-only path. */
async function tabTo(page, predicate, description, max = 120) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const name = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return '';
      const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
      return `${el.tagName}|${el.getAttribute('role') ?? ''}|${el.getAttribute('aria-label') ?? label ?? ''}|${el.textContent ?? ''}`;
    });
    if (predicate(name)) return;
  }
  throw new Error(`Tab never reached ${description}`);
}

async function pick(page, label, search, optionText) {
  const box = page.getByRole('combobox', { name: label, exact: true });
  await box.click();
  await box.fill(search);
  await page.getByRole('option', { name: optionText }).first().click();
  await assert.doesNotReject(box.waitFor());
}

async function shot(page, name, opts = {}) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: opts.fullPage ?? false });
}

const timings = [];
async function step(name, fn) {
  const t = Date.now();
  process.stdout.write(`- ${name}\n`);
  try {
    await fn();
  } catch (e) {
    for (const [i, p] of browser.contexts().flatMap((c) => c.pages()).entries()) await p.screenshot({ path: `${SHOTS}/failure-${i}.png`, fullPage: true }).catch(() => {});
    throw e;
  }
  timings.push(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// --- the test -----------------------------------------------------------------------------
const started = Date.now();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  const adminToken = await apiLogin('admin', ADMIN_PASSWORD);
  await api('POST', '/users', { token: adminToken, body: { username: 'viewer', password: 'viewer-password-1', role: 'viewer' } });
  const tenants = (await api('GET', '/tenants', { token: adminToken })).data.items;
  const contoso = tenants.find((t) => t.name === 'Contoso');
  assert.ok(contoso, 'the sandbox has a Contoso tenant');

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  watch(page, 'admin');
  const dialogs = [];
  // Confirmations are answered "Cancel".
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });

  await step('CSP and security headers on /', async () => {
    const r = await fetch(BASE);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const body = await r.text();
    assert.doesNotMatch(body, /<script(?![^>]*\bsrc=)/, 'no inline script');
    assert.doesNotMatch(body, /<style|style=/, 'no inline style');
  });

  await step('log in with the keyboard only', async () => {
    await page.goto(BASE);
    await axe(page, 'login');
    await tabTo(page, (n) => n.startsWith('INPUT') && n.includes('User name'), 'the user name');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    const { url, cookie, session } = await page.evaluate(() => ({ url: location.href, cookie: document.cookie, session: sessionStorage.length }));
    assert.ok(!/token|eyJ/.test(url), 'no token in the URL');
    assert.equal(cookie, '', 'no cookie');
    assert.equal(session, 1, 'the session is in sessionStorage');
  });

  await step('map with the toggle off, keyboard only: type-ahead, Enter, Save changes', async () => {
    await page.getByRole('combobox').first().waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Bill devices by category' }).isChecked(), false);
    await tabTo(page, (n) => n.includes('combobox') && n.includes('Endpoint Security for Linux – Product'), 'the Linux product box');
    await page.keyboard.type('KES-LINUX');
    await page.getByRole('option', { name: /^KES-LINUX/ }).waitFor();
    await page.keyboard.press('Enter');
    await tabTo(page, (n) => n.includes('combobox') && n.includes('Endpoint Security for Windows – Product'), 'the Windows product box');
    await page.keyboard.type('KES-WS');
    await page.getByRole('option', { name: /^KES-WS/ }).waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await tabTo(page, (n) => n.startsWith('BUTTON') && n.endsWith('Save changes'), 'Save changes');
    await page.keyboard.press('Enter');
    await page.getByText('Saved: 2 mappings.').waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    const win = page.getByRole('combobox', { name: 'Kaspersky Endpoint Security for Windows – Product', exact: true });
    await win.waitFor();
    assert.match(await win.inputValue(), /^KES-WS/);
    assert.match(await page.getByRole('combobox', { name: 'Kaspersky Endpoint Security for Linux – Product', exact: true }).inputValue(), /^KES-LINUX/);
  });

  await step('unsaved changes: leaving asks first', async () => {
    await pick(page, 'Kaspersky Endpoint Security for Mac – Product', 'KES-MAC', /^KES-MAC/);
    await page.getByRole('link', { name: 'Companies' }).click();
    await page.waitForTimeout(200);
    assert.ok(dialogs.some((d) => d.includes('unsaved changes')), 'a confirmation was asked');
    assert.ok(await page.getByRole('heading', { name: 'Products', level: 1 }).isVisible(), 'still on Products after "Cancel"');
    await page.getByRole('button', { name: 'Discard changes' }).click();
  });

  await step('Companies: map Contoso to its ConnectWise company and agreement', async () => {
    await page.getByRole('link', { name: 'Companies' }).click();
    await page.getByRole('button', { name: 'Map Contoso' }).click();
    await pick(page, 'ConnectWise company', 'Contoso', /Contoso Ltd/);
    await page.getByLabel('Agreement').selectOption({ label: 'Managed security – Contoso Ltd' });
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByText('Contoso is mapped to Contoso Ltd').waitFor();
    await page.getByRole('row', { name: /Contoso.*Contoso Ltd.*Managed security/ }).waitFor();
    await page.getByText('Add a Kaspersky Business Hub tenant').click();
    await page.getByLabel('Name', { exact: true }).fill('Adatum (Business Hub)');
    await page.getByLabel(/^External id/).fill('bh-adatum');
    await page.getByRole('button', { name: 'Add tenant' }).click();
    await page.getByRole('row', { name: /Adatum \(Business Hub\).*unmapped/ }).waitFor();
    await axe(page, 'companies');
    await shot(page, 'companies-1280');
  });

  await step('Sync: preview, apply, see the additions in the fake ConnectWise', async () => {
    // From the keyboard only.
    await tabTo(page, (n) => n.startsWith('A|') && n.endsWith('|Sync'), 'the Sync tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Sync', level: 1 }).waitFor();
    await tabTo(page, (n) => n.startsWith('BUTTON') && n.endsWith('|Preview'), 'Preview');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Preview/ }).waitFor();
    await page.getByRole('row', { name: /KES-WS.*create.*0 → 6/ }).waitFor();
    await page.getByRole('row', { name: /KES-LINUX.*create.*0 → 1/ }).waitFor();
    await tabTo(page, (n) => n.startsWith('BUTTON') && n.endsWith('|Apply this preview'), 'Apply this preview');
    await page.keyboard.press('Enter');
    await page.getByText(/The run finished: succeeded/).waitFor({ timeout: 30000 });
    const lines = await additions(CONTOSO_AGREEMENT);
    const qty = Object.fromEntries(lines.map((a) => [a.product.identifier, a.quantity]));
    assert.deepEqual(qty, { 'KES-WS': 6, 'KES-LINUX': 1 }, JSON.stringify(lines));
  });

  // A licence key nothing recognises, as if an admin elsewhere had edited the rules: the
  // tenant's cancels are then held, so the move below waits for approval.
  await api('PATCH', '/security-applications/ksws', { token: adminToken, body: { match_rules: { app_ids: [], name_patterns: [] } } });

  await step('Unbilled usage shows the unknown key after a collection', async () => {
    await page.getByRole('link', { name: 'Unbilled usage' }).click();
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText(/Usage read again/).waitFor();
    await page.getByRole('row', { name: /Kaspersky Security 11 for Windows Server/ }).waitFor();
    await axe(page, 'unbilled usage');
  });

  await step('toggle on, three products, a save conflict from a second client, save, reload', async () => {
    await page.getByRole('link', { name: 'Products' }).click();
    await page.getByRole('switch', { name: 'Bill devices by category' }).check();
    const W = 'Kaspersky Endpoint Security for Windows – ';
    const L = 'Kaspersky Endpoint Security for Linux – ';
    await pick(page, `${W}Windows workstations`, 'KES-WS', /^KES-WS/);
    await pick(page, `${W}Windows servers`, 'KES-SRV', /^KES-SRV/);
    await pick(page, `${W}Non-Windows devices`, 'NONWIN', /^KES-NONWIN/);
    for (const c of ['Windows workstations', 'Windows servers', 'Non-Windows devices']) await pick(page, `${L}${c}`, 'NONWIN', /^KES-NONWIN/);
    await page.getByRole('button', { name: 'Refresh catalog' }).click();
    await page.getByText(/^Catalog refreshed: 5 products/).waitFor();
    assert.match(await page.getByRole('combobox', { name: `${W}Windows servers`, exact: true }).inputValue(), /^KES-SRV/, 'a refresh keeps the edits');
    await shot(page, 'products-edited-1280');
    // The second client saves another row meanwhile.
    const one = await api('GET', '/product-mappings/kes-mac', { token: adminToken });
    await api('PUT', '/product-mappings/kes-mac', { token: adminToken, ifMatch: one.etag, body: { product_id: 5 } });
    await page.getByRole('button', { name: 'Save changes' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Someone else saved changes' });
    await alert.waitFor();
    assert.match(await alert.textContent(), /Kaspersky Endpoint Security for Mac: now KES-MAC/);
    assert.match(await page.getByRole('combobox', { name: `${W}Windows servers`, exact: true }).inputValue(), /^KES-SRV/, 'the edits are kept');
    assert.equal(await page.getByRole('switch', { name: 'Bill devices by category' }).isChecked(), true);
    await shot(page, 'products-conflict-1280');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Saved: 2 mappings, Bill devices by category on/).waitFor();
    await page.reload();
    await page.getByRole('switch', { name: 'Bill devices by category' }).waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Bill devices by category' }).isChecked(), true);
    assert.match(await page.getByRole('combobox', { name: `${W}Windows servers`, exact: true }).inputValue(), /^KES-SRV/);
    assert.match(await page.getByRole('combobox', { name: `${L}Windows workstations`, exact: true }).inputValue(), /^KES-NONWIN/);
    const grid = (await api('GET', '/product-mappings?solution=ksc', { token: adminToken })).data;
    const win = grid.mappings.find((m) => m.application_id === 'kes-windows');
    assert.deepEqual([win.product_id, win.workstation_product_id, win.server_product_id, win.non_windows_product_id], [1, 1, 2, 3]);
    assert.equal(grid.mappings.find((m) => m.application_id === 'kes-mac').product_id, 5, 'the other client\'s change is kept');
    await page.waitForTimeout(300);
    await axe(page, 'products');
    await shot(page, 'products-1280');
    if (README_SHOT) await page.screenshot({ path: README_SHOT });
  });

  await step('Sync: the move is held, approve it, run with progress, see the additions', async () => {
    await page.getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('button', { name: 'Preview' }).click();
    const approve = page.getByRole('checkbox', { name: 'Approve the move of Contoso' });
    await approve.waitFor();
    await page.getByRole('row', { name: /KES-LINUX.*held/ }).waitFor();
    await axe(page, 'sync preview');
    await shot(page, 'sync-preview-1280', { fullPage: true });
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

  await step('Sync history: the run\'s changes', async () => {
    // The finished run's details open by themselves; the latest run is first in the history.
    const details = page.getByRole('button', { name: /^Details of the run/ }).first();
    if ((await details.getAttribute('aria-expanded')) !== 'true') await details.click();
    await page.getByRole('table', { name: 'Changes' }).getByRole('row', { name: /KES-SRV.*create.*0 → 3.*applied/ }).waitFor();
    await shot(page, 'sync-1280', { fullPage: true });
  });

  await step('teach the unknown key', async () => {
    await page.getByRole('link', { name: 'Unbilled usage' }).click();
    await page.getByLabel('Teach this key to').selectOption('ksws');
    await page.getByRole('button', { name: 'Teach this key (C-KSWS)' }).click();
    await page.getByText(/now recognises "Kaspersky Security 11 for Windows Server"/).waitFor();
    const app = (await api('GET', '/security-applications/ksws', { token: adminToken })).data;
    assert.deepEqual(app.match_rules.name_patterns, ['Kaspersky Security 11 for Windows Server']);
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText('Every licence key is recognised.').waitFor();
  });

  await step('Run sync now: nothing changed, nothing written', async () => {
    await page.getByRole('link', { name: 'Sync' }).click();
    await page.getByRole('button', { name: 'Run sync now' }).click();
    await page.getByText(/The run finished: succeeded/).waitFor({ timeout: 30000 });
    await page.getByText(/Last finished run: succeeded .*No change\./).waitFor();
  });

  await step('admin screens: connections, users and tokens', async () => {
    await page.getByRole('link', { name: 'Connections' }).click();
    await page.getByRole('button', { name: 'Test connection' }).first().click();
    await page.getByText(/ConnectWise Manage: connection works/).waitFor();
    await axe(page, 'connections');
    await shot(page, 'connections-1280', { fullPage: true });
    await page.getByRole('link', { name: 'Users and tokens' }).click();
    await page.getByLabel('Name', { exact: true }).fill('rmm-script');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(/Token rmm-script created/).waitFor();
    await axe(page, 'users');
  });

  await step('390 px wide phone: readable, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [tab, name] of [['Products', 'products'], ['Sync', 'sync'], ['Companies', 'companies']]) {
      await page.getByRole('link', { name: tab }).click();
      await page.getByRole('heading', { name: tab, level: 1 }).waitFor();
      await page.waitForTimeout(300);
      const { width, wide } = await page.evaluate(() => ({
        width: document.documentElement.scrollWidth,
        wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap'))
          .slice(0, 5).map((e) => `${e.tagName}.${e.className}`),
      }));
      assert.ok(width <= 390, `${tab} is ${width} px wide at 390: ${wide.join(', ')}`);
      await shot(page, `${name}-390`, { fullPage: true });
    }
    await axe(page, 'companies at 390 px');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  await step('a viewer sees no edit controls', async () => {
    const viewer = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    watch(viewer, 'viewer');
    await viewer.goto(BASE);
    await viewer.getByLabel('User name').fill('viewer');
    await viewer.getByLabel('Password').fill('viewer-password-1');
    await viewer.getByRole('button', { name: 'Log in' }).click();
    await viewer.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    await viewer.getByText('KES-SRV').first().waitFor();
    assert.equal(await viewer.getByRole('combobox').count(), 0);
    assert.equal(await viewer.getByRole('switch').count(), 0);
    assert.equal(await viewer.getByRole('button', { name: /Save changes|Refresh catalog/ }).count(), 0);
    assert.equal(await viewer.getByRole('link', { name: /Connections|Users/ }).count(), 0);
    await axe(viewer, 'products (viewer)');
    await viewer.getByRole('link', { name: 'Companies' }).click();
    await viewer.getByRole('row', { name: /Contoso/ }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Map|Edit|Unmap|Refresh/ }).count(), 0);
    await viewer.getByRole('link', { name: 'Sync' }).click();
    await viewer.getByRole('heading', { name: 'History' }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Preview|Run sync now|Collect/ }).count(), 0);
    await viewer.getByRole('link', { name: 'Unbilled usage' }).click();
    await viewer.getByRole('heading', { name: 'Unbilled usage', level: 1 }).waitFor();
    assert.equal(await viewer.getByRole('button').filter({ hasText: /Teach|Collect/ }).count(), 0);
  });

  assert.deepEqual(problems, [], problems.join('\n'));
  console.log(`console e2e: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const t of timings) console.log(`  ${t}`);
} finally {
  await browser.close();
}
