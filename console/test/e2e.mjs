// Browser test of the web console: headless Debian Chromium driven by playwright-core, against
// the server in sandbox mode (fake ConnectWise with a 2,505-product catalog and fake KSC on
// 127.0.0.1). Started by scripts/check-console.sh, which passes the addresses below. Every
// request goes to 127.0.0.1. Walks the console as a technician would, checks axe-core on every
// screen, writes screenshots at 1280 and 390 px, and measures and prints what issue 24 asks:
// log-in to the first useful screen, the console's transfer on first and repeat load.
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = need('CONSOLE_URL');
let ADMIN_PASSWORD = need('ADMIN_PASSWORD');
const CW_ADDITIONS = need('FAKE_CW_ADDITIONS'); // …/finance/agreements/<agreement_id>/additions
const CW_AUTH = need('FAKE_CW_AUTH'); // user:password
const CW_CLIENT_ID = need('FAKE_CW_CLIENT_ID');
const CONTOSO_AGREEMENT = need('CONTOSO_AGREEMENT');
const SHOTS = process.env.SCREENSHOT_DIR ?? 'target/console-screenshots';
const README_SHOT = process.env.README_SCREENSHOT;
const HOME_SHOT = process.env.HOME_SCREENSHOT;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const AXE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
mkdirSync(SHOTS, { recursive: true });

// Targets of issue 24, measured here and printed as PASS/FAIL lines.
const TARGET_LOGIN_MS = 300;
const TARGET_FIRST_LOAD_KB = 60;
const TARGET_REPEAT_LOAD_KB = 5;

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
async function productId(token, identifier) {
  const page = (await api('GET', `/connectwise/products?search=${encodeURIComponent(identifier)}&per_page=1`, { token })).data;
  assert.equal(page.items[0]?.identifier, identifier, `${identifier} is first in its search`);
  return page.items[0].id;
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
async function tabTo(page, predicate, description, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const name = await focused(page);
    if (predicate(name)) return;
  }
  throw new Error(`Tab never reached ${description}`);
}

/** "TAG|role|accessible name|text" of the focused element. */
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return '';
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
    return `${el.tagName}|${el.getAttribute('role') ?? ''}|${el.getAttribute('aria-label') ?? label ?? ''}|${el.textContent ?? ''}`;
  });
}

/** A link of the screens' navigation. */
const nav = (page, name) => page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true });
async function open(page, tab, heading = tab) {
  await nav(page, tab).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

async function pick(page, label, search, optionText) {
  const box = page.getByRole('combobox', { name: label, exact: true });
  await box.click();
  await box.fill(search);
  await page.getByRole('option', { name: optionText }).first().click();
  await assert.doesNotReject(box.waitFor());
}

/** Polls `check` until it holds (at most 5 s). */
async function until(check, what) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never: ${what}`);
}
/** Waits until a box shows a committed choice (its "identifier — description" label). */
async function chosen(box, identifier) {
  await until(async () => (await box.inputValue()).startsWith(`${identifier} — `), `${identifier} is chosen`);
}

async function shot(page, name, opts = {}) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: opts.fullPage ?? true });
}

/** The console's own files (the page and /console/…) a page fetched, with their bytes on the wire. */
async function recordTransfers(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const responses = new Map();
  const done = [];
  cdp.on('Network.responseReceived', (e) => responses.set(e.requestId, { url: e.response.url, status: e.response.status, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '' }));
  cdp.on('Network.loadingFinished', (e) => { const r = responses.get(e.requestId); if (r) done.push({ ...r, bytes: e.encodedDataLength }); });
  return {
    reset() { done.length = 0; },
    /** @param {(path: string) => boolean} which */
    of(which) { return done.filter((r) => which(new URL(r.url).pathname + new URL(r.url).search)); },
  };
}
const isConsoleFile = (path) => path === '/' || path.startsWith('/console/');
const kb = (bytes) => (bytes / 1024).toFixed(1);

const results = [];
function measured(name, value, unit, target) {
  const pass = value <= target;
  results.push(`${pass ? 'PASS' : 'FAIL'} ${name}: ${value}${unit} (target ≤ ${target}${unit})`);
  return pass;
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

/** Starts the page's clock at the log-in form's submit; it stops when the home screen is ready. */
async function armLoginClock(page) {
  await page.evaluate(() => {
    window.__loginStart = 0;
    window.__loginReady = 0;
    document.addEventListener('submit', () => { window.__loginStart = performance.now(); }, { capture: true, once: true });
    new MutationObserver((_, observer) => {
      if (window.__loginStart && document.querySelector('[data-ready="true"]')) { window.__loginReady = performance.now(); observer.disconnect(); }
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
}
/** Milliseconds from the submit to the home screen with every card loaded (measured in the page). */
async function loginTime(page) {
  return Math.round(await page.evaluate(() => window.__loginReady - window.__loginStart));
}

/** Waits for the home screen with every card loaded. */
async function homeReady(page) {
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
  await page.locator('[data-ready="true"]').waitFor();
}
const card = (page, id) => page.locator(`[data-card="${id}"]`);

// --- the test -----------------------------------------------------------------------------
const started = Date.now();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
try {
  let adminToken = await apiLogin('admin', ADMIN_PASSWORD);
  await api('POST', '/users', { token: adminToken, body: { username: 'viewer', password: 'viewer-password-1', role: 'viewer' } });
  const tenants = (await api('GET', '/tenants', { token: adminToken })).data.items;
  const contoso = tenants.find((t) => t.name === 'Contoso');
  assert.ok(contoso, 'the sandbox has a Contoso tenant');

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  watch(page, 'admin');
  const net = await recordTransfers(page);
  const dialogs = [];
  // Confirmations are answered "Cancel" unless a step says otherwise.
  let acceptDialogs = false;
  page.on('dialog', async (d) => { dialogs.push(d.message()); if (acceptDialogs) await d.accept(); else await d.dismiss(); });

  await step('CSP, security headers, compression and caching of the console files', async () => {
    const r = await fetch(BASE, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.ok(r.headers.get('etag'), 'the page has an ETag');
    const body = await r.text();
    assert.doesNotMatch(body, /<script(?![^>]*\bsrc=)/, 'no inline script');
    assert.doesNotMatch(body, /<style|style=/, 'no inline style');
    const script = body.match(/src="(\/console\/[0-9a-f]{12}\/app\.js)"/);
    assert.ok(script, `the page loads its script under the build's version: ${body}`);
    const app = await fetch(new URL(script[1], BASE), { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(app.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(app.headers.get('content-encoding'), 'gzip');
    const again = await fetch(BASE, { headers: { 'If-None-Match': r.headers.get('etag') ?? '', 'Accept-Encoding': 'gzip' } });
    assert.equal(again.status, 304);
  });

  await step('log in with the keyboard only: the home screen, fast and small', async () => {
    net.reset();
    await page.goto(BASE);
    await axe(page, 'login');
    await tabTo(page, (n) => n.startsWith('INPUT') && n.includes('User name'), 'the user name');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_PASSWORD);
    await armLoginClock(page);
    await page.keyboard.press('Enter');
    await homeReady(page);
    const times = [await loginTime(page)];
    const calls = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/api/') && e.startTime >= window.__loginStart)
      .map((e) => `${new URL(e.name).pathname.replace('/api/v1', '')} ${Math.round(e.startTime - window.__loginStart)}+${Math.round(e.duration)}`));
    console.log(`  log-in path (ms from the submit: start+duration): ${calls.join(', ')}`);
    const files = net.of(isConsoleFile);
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    const api = net.of((p) => p.startsWith('/api/'));
    console.log(`  first load: ${files.length} console files, ${kb(bytes)} KB on the wire (${files.filter((f) => f.encoding === 'gzip').length} gzip); ${api.length} API calls, ${kb(api.reduce((n, f) => n + f.bytes, 0))} KB`);
    measured('console transfer on first load (compressed)', Number(kb(bytes)), ' KB', TARGET_FIRST_LOAD_KB);
    // Twice more (log out, log in), and the median: one slow moment of a shared machine is not the console.
    for (let i = 0; i < 2; i++) {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByLabel('User name').fill('admin');
      await page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await armLoginClock(page);
      await page.getByLabel('Password').press('Enter');
      await homeReady(page);
      times.push(await loginTime(page));
    }
    const median = [...times].sort((a, b) => a - b)[1];
    console.log(`  log-in to the home screen: ${times.join(', ')} ms`);
    measured('log-in to the home screen (every card loaded; median of 3)', median, ' ms', TARGET_LOGIN_MS);
    const { url, cookie, session } = await page.evaluate(() => ({ url: location.href, cookie: document.cookie, session: sessionStorage.length }));
    assert.ok(!/token|eyJ/.test(url), 'no token in the URL');
    assert.equal(cookie, '', 'no cookie');
    assert.equal(session, 1, 'the session is in sessionStorage');
    // The first morning: nothing has run, three tenants are not mapped — each a link to fix it.
    await card(page, 'runs').getByText('No sync has run yet.').waitFor();
    await card(page, 'tenants').getByRole('link', { name: 'Map it' }).first().waitFor();
    await axe(page, 'home');
    await shot(page, 'home-first-1280');
  });

  await step('the home screen links to where each thing is fixed', async () => {
    // Open notices first, with their count as a badge.
    const notices = card(page, 'notices');
    await notices.getByRole('heading', { name: /^Notices/ }).waitFor();
    assert.match(await notices.locator('h2 .count').innerText(), /^\d+$/);
    const map = card(page, 'tenants').getByRole('link', { name: 'Map it' }).first();
    const target = await map.getAttribute('href');
    assert.match(target, /^#\/companies\?tenant=/);
    await map.click();
    await page.getByRole('heading', { name: 'Companies', level: 1 }).waitFor();
    const row = page.locator('tr.target');
    await row.waitFor();
    assert.equal(await row.getAttribute('id'), `tenant-${decodeURIComponent(target.split('tenant=')[1])}`);
    await until(async () => /^TH\|/.test(await focused(page)), 'the focus is on the tenant');
    await nav(page, 'Home').click();
    await homeReady(page);
  });

  const pg02401 = await productId(adminToken, 'PG-02401');
  await step('the product picker never takes a result that does not belong to the text', async () => {
    await open(page, 'Products');
    const W = 'Kaspersky Endpoint Security for Windows – Product';
    const box = page.getByRole('combobox', { name: W, exact: true });
    await box.click();
    // A search with more results than shown says so.
    await page.keyboard.type('PG-0');
    await page.getByRole('option', { name: /^PG-00001/ }).waitFor();
    assert.equal(await page.getByRole('option').count(), 25);
    assert.match(await page.locator('.combo-more').first().textContent(), /^2475 more — keep typing/);
    await shot(page, 'picker-more-1280', { fullPage: false });
    // The race: the list of "PG-0" is open, the technician retypes and presses Enter at once,
    // well within the search delay. The old first option (PG-00001) must not be taken.
    await box.fill('');
    await page.keyboard.type('PG-02401');
    await page.keyboard.press('Enter');
    await chosen(box, 'PG-02401');
    // Type, ↓, Enter at once: the first option of the new text, not the second of the old list.
    await box.fill('');
    await page.keyboard.type('KES-');
    await page.getByRole('option', { name: /^KES-LINUX/ }).waitFor();
    await box.fill('');
    await page.keyboard.type('KES-SRV');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await chosen(box, 'KES-SRV');
    // An exact identifier typed and tabbed away is taken…
    await box.fill('');
    await page.keyboard.type('PG-02401');
    await page.keyboard.press('Tab');
    await chosen(box, 'PG-02401');
    // …and text that names no product is put back, saying so (never emptied silently).
    await box.click();
    await box.fill('NOPE-42');
    await page.keyboard.press('Tab');
    const note = page.locator('.combo-note:not(.empty)').first();
    await note.waitFor();
    assert.match(await note.textContent(), /“NOPE-42” is not a product: PG-02401 is kept/);
    assert.match(await box.inputValue(), /^PG-02401 — /);
    await axe(page, 'products with a picker note');
    // Saved is what is on screen.
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved: 1 mapping.').waitFor();
    const one = (await api('GET', '/product-mappings/kes-windows', { token: adminToken })).data;
    assert.equal(one.product_id, pg02401, 'the product typed is the product saved');
  });

  await step('map with the toggle off, keyboard only: type-ahead, Enter, Save changes', async () => {
    await page.getByRole('combobox').first().waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Bill devices by category' }).isChecked(), false);
    await page.getByRole('heading', { name: 'Products', level: 1 }).focus();
    await tabTo(page, (n) => n.includes('combobox') && n.includes('Endpoint Security for Linux – Product'), 'the Linux product box');
    await page.keyboard.type('KES-LINUX');
    await page.getByRole('option', { name: /^KES-LINUX/ }).waitFor();
    await page.keyboard.press('Enter');
    await tabTo(page, (n) => n.includes('combobox') && n.includes('Endpoint Security for Windows – Product'), 'the Windows product box');
    await page.keyboard.press('Control+A');
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
    await nav(page, 'Companies').click();
    await page.waitForTimeout(200);
    assert.ok(dialogs.some((d) => d.includes('unsaved changes')), 'a confirmation was asked');
    assert.ok(await page.getByRole('heading', { name: 'Products', level: 1 }).isVisible(), 'still on Products after "Cancel"');
    await page.getByRole('button', { name: 'Discard changes' }).click();
  });

  await step('Companies: search, filters, mapping in the row with the focus where the work is', async () => {
    await open(page, 'Companies');
    const search = page.getByLabel('Search tenants');
    await search.fill('fab');
    await page.getByText('1 of 4 tenants').waitFor();
    await page.getByRole('row', { name: /Fabrikam/ }).waitFor();
    assert.equal(await page.getByRole('row', { name: /Contoso/ }).count(), 0);
    await search.fill('');
    await page.getByLabel('Show', { exact: true }).selectOption('unmapped');
    await page.getByText('4 tenants', { exact: true }).waitFor();
    await page.getByLabel('Show', { exact: true }).selectOption('all');
    await page.getByRole('button', { name: 'Map Contoso' }).click();
    // The form opens in Contoso's row, with the focus in its first box.
    const form = page.getByRole('form', { name: 'Map Contoso' });
    await form.waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('role') === 'combobox', null, { timeout: 2000 })
      .catch(() => undefined);
    assert.match(await focused(page), /^INPUT\|combobox\|/, 'the focus is in the company box');
    assert.equal(await page.locator('#tenant-' + contoso.id + ' + tr.form-row').count(), 1, 'the form is right under the row');
    await page.keyboard.type('Contoso Ltd');
    await page.keyboard.press('Enter');
    await page.getByLabel('Agreement').selectOption({ label: 'Managed security – Contoso Ltd' });
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByText('Contoso is mapped to Contoso Ltd').waitFor();
    await page.getByRole('row', { name: /Contoso.*Contoso Ltd.*Managed security/ }).waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Edit Contoso');
    await page.getByText('Add a Kaspersky Business Hub tenant').click();
    await page.getByLabel('Name', { exact: true }).fill('Adatum (Business Hub)');
    await page.getByLabel(/^External id/).fill('bh-adatum');
    await page.getByRole('button', { name: 'Add tenant' }).click();
    await page.getByRole('row', { name: /Adatum \(Business Hub\).*unmapped/ }).waitFor();
    await axe(page, 'companies');
    await shot(page, 'companies-1280');
  });

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

  // A licence key nothing recognises, as if an admin elsewhere had edited the rules: the
  // tenant's cancels are then held, so the move below waits for approval.
  await api('PATCH', '/security-applications/ksws', { token: adminToken, body: { match_rules: { app_ids: [], name_patterns: [] } } });

  await step('Unbilled usage shows the unknown key after a collection', async () => {
    await open(page, 'Unbilled usage');
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText(/Usage read again/).waitFor();
    await page.getByRole('row', { name: /Kaspersky Security 11 for Windows Server/ }).waitFor();
    await axe(page, 'unbilled usage');
    await shot(page, 'unbilled-1280');
  });

  await step('toggle on: the products carried over, three products, a save conflict, save, reload', async () => {
    await open(page, 'Products');
    const W = 'Kaspersky Endpoint Security for Windows – ';
    const L = 'Kaspersky Endpoint Security for Linux – ';
    await page.getByRole('switch', { name: 'Bill devices by category' }).check();
    // Single product → the three categories, where it is known.
    const carried = page.getByRole('status').filter({ hasText: 'Carried over to the three category products' });
    await carried.waitFor();
    assert.match(await carried.textContent(), /Kaspersky Endpoint Security for Windows[,.]/);
    assert.match(await carried.textContent(), /Kaspersky Endpoint Security for Linux[,.]/);
    for (const c of ['Windows workstations', 'Windows servers', 'Non-Windows devices']) {
      assert.match(await page.getByRole('combobox', { name: `${W}${c}`, exact: true }).inputValue(), /^KES-WS/);
      assert.match(await page.getByRole('combobox', { name: `${L}${c}`, exact: true }).inputValue(), /^KES-LINUX/);
    }
    assert.equal(await page.locator('#row-kes-windows .status').textContent(), 'complete');
    await shot(page, 'products-carried-over-1280');
    // Switching back undoes the carry-over; on again carries it again.
    await page.getByRole('switch', { name: 'Bill devices by category' }).uncheck();
    assert.equal(await page.getByRole('button', { name: 'Save changes' }).isDisabled(), true, 'nothing left to save');
    await page.getByRole('switch', { name: 'Bill devices by category' }).check();
    await pick(page, `${W}Windows servers`, 'KES-SRV', /^KES-SRV/);
    await pick(page, `${W}Non-Windows devices`, 'NONWIN', /^KES-NONWIN/);
    for (const c of ['Windows workstations', 'Windows servers', 'Non-Windows devices']) await pick(page, `${L}${c}`, 'NONWIN', /^KES-NONWIN/);
    await page.getByRole('button', { name: 'Refresh catalog' }).click();
    await page.getByText(/^Catalog refreshed: 2505 products/).waitFor();
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
    // Their row is carried over too.
    assert.match(await page.getByRole('combobox', { name: 'Kaspersky Endpoint Security for Mac – Windows servers', exact: true }).inputValue(), /^KES-MAC/);
    await shot(page, 'products-conflict-1280');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Saved: 3 mappings, Bill devices by category on\.$/).waitFor();
    await page.reload();
    await page.getByRole('switch', { name: 'Bill devices by category' }).waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Bill devices by category' }).isChecked(), true);
    assert.match(await page.getByRole('combobox', { name: `${W}Windows servers`, exact: true }).inputValue(), /^KES-SRV/);
    assert.match(await page.getByRole('combobox', { name: `${L}Windows workstations`, exact: true }).inputValue(), /^KES-NONWIN/);
    const grid = (await api('GET', '/product-mappings?solution=ksc', { token: adminToken })).data;
    const win = grid.mappings.find((m) => m.application_id === 'kes-windows');
    assert.deepEqual([win.product_id, win.workstation_product_id, win.server_product_id, win.non_windows_product_id], [1, 1, 2, 3]);
    const mac = grid.mappings.find((m) => m.application_id === 'kes-mac');
    assert.deepEqual([mac.product_id, mac.workstation_product_id, mac.server_product_id, mac.non_windows_product_id], [5, 5, 5, 5], 'the other client\'s product, carried over');
    await page.waitForTimeout(300);
    await axe(page, 'products');
    await shot(page, 'products-1280', { fullPage: false });
    if (README_SHOT) await page.screenshot({ path: README_SHOT });
  });

  await step('Sync: the move is held, approve it, run with progress, see the additions', async () => {
    await open(page, 'Sync');
    await page.getByRole('button', { name: 'Preview' }).click();
    const approve = page.getByRole('checkbox', { name: 'Approve the move of Contoso' });
    await approve.waitFor();
    await page.getByRole('row', { name: /KES-LINUX.*held/ }).waitFor();
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

  await step('Sync history: the run\'s changes', async () => {
    // The finished run's details open by themselves; the latest run is first in the history.
    const details = page.getByRole('button', { name: /^Details of the run/ }).first();
    if ((await details.getAttribute('aria-expanded')) !== 'true') await details.click();
    await page.getByRole('table', { name: 'Changes' }).getByRole('row', { name: /KES-SRV.*create.*0 → 3.*applied/ }).waitFor();
    await shot(page, 'sync-1280');
  });

  await step('teach the unknown key', async () => {
    await open(page, 'Unbilled usage');
    await page.getByLabel('Teach this key to').selectOption('ksws');
    await page.getByRole('button', { name: 'Teach this key (C-KSWS)' }).click();
    await page.getByText(/now recognises "Kaspersky Security 11 for Windows Server"/).waitFor();
    const app = (await api('GET', '/security-applications/ksws', { token: adminToken })).data;
    assert.deepEqual(app.match_rules.name_patterns, ['Kaspersky Security 11 for Windows Server']);
    await page.getByRole('button', { name: 'Collect usage now' }).click();
    await page.getByText('Every licence key is recognised.').waitFor();
  });

  await step('Run sync now: nothing changed, nothing written', async () => {
    await open(page, 'Sync');
    await page.getByRole('button', { name: 'Run sync now' }).click();
    await page.getByText(/The run finished: succeeded/).waitFor({ timeout: 30000 });
    await page.getByText(/Last finished run: succeeded .*Trigger: console\. No change\./).waitFor();
  });

  await step('the README\'s dead end: a switch that leaves a row incomplete is named, blocked usage is shown, each a link to the row', async () => {
    const S = 'Kaspersky Security for Windows Server – ';
    await open(page, 'Products');
    // Security for Windows Server, by category with three different products.
    await pick(page, `${S}Windows workstations`, 'KES-WS', /^KES-WS/);
    await pick(page, `${S}Windows servers`, 'KES-SRV', /^KES-SRV/);
    await pick(page, `${S}Non-Windows devices`, 'KES-NONWIN', /^KES-NONWIN/);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved: 1 mapping.').waitFor();
    // Off again: nothing to carry to a single product (three different ones), so it is named.
    await page.getByRole('switch', { name: 'Bill devices by category' }).uncheck();
    const open1 = page.getByRole('alert').filter({ hasText: 'These rows still need products' });
    await open1.waitFor();
    assert.match(await open1.textContent(), /Kaspersky Security for Windows Server: needs a product/);
    await page.getByRole('button', { name: 'Save changes' }).click();
    const warn = page.getByRole('alert').filter({ hasText: 'Not saved yet' });
    await warn.waitFor();
    assert.match(await warn.textContent(), /Kaspersky Security for Windows Server: needs a product while "Bill devices by category" is off/);
    await shot(page, 'products-incomplete-1280', { fullPage: false });
    await page.getByRole('button', { name: 'Save anyway' }).click();
    const saved = page.getByRole('alert').filter({ hasText: /^Saved: 0 mappings, Bill devices by category off — but this row is incomplete/ });
    await saved.waitFor();
    // Preview: not "Nothing to do" but the blocked tenant, with a link to the row.
    await open(page, 'Sync');
    await page.getByRole('button', { name: 'Preview' }).click();
    const blocked = page.getByRole('alert').filter({ hasText: 'not billed by this plan' });
    await blocked.waitFor();
    assert.match(await blocked.textContent(), /Contoso is not billed at all until these mappings are complete:\s+Kaspersky Security for Windows Server/);
    assert.equal(await blocked.getByRole('link', { name: 'Kaspersky Security for Windows Server' }).getAttribute('href'), '#/products?row=ksws');
    await page.getByRole('button', { name: 'Run sync now' }).click();
    await page.getByText('The run finished: partial.').waitFor({ timeout: 30000 });
    // Unbilled usage lists the blocked devices, with the link.
    await open(page, 'Unbilled usage');
    const row = page.getByRole('row', { name: /Contoso.*Kaspersky Security for Windows Server.*1.*blocked/ });
    await row.waitFor();
    assert.equal(await row.getByRole('link', { name: 'complete its mapping' }).getAttribute('href'), '#/products?row=ksws');
    // Home: the tenant not billed, since when, and the link to the row.
    await open(page, 'Home');
    await homeReady(page);
    const notBilled = card(page, 'not-billed');
    assert.equal(await notBilled.locator('.count').textContent(), '1');
    await notBilled.getByText(/Contoso: blocked by an incomplete product mapping/).waitFor();
    await notBilled.getByText(/not billed since/).waitFor();
    await axe(page, 'home, a tenant blocked');
    await shot(page, 'home-1280');
    if (HOME_SHOT) await page.screenshot({ path: HOME_SHOT });
    await notBilled.getByRole('link', { name: 'Complete Kaspersky Security for Windows Server' }).click();
    await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    await page.locator('#row-ksws.target').waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('tr')?.id === 'row-ksws');
    // Fixed where the link led: the focus is in the row's product box.
    await page.keyboard.type('KES-SRV');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Saved: 1 mapping\.$/).waitFor();
    await page.getByRole('switch', { name: 'Bill devices by category' }).check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Saved: 0 mappings, Bill devices by category on\.$/).waitFor();
    const unbilled = (await api('GET', '/reports/unbilled-usage', { token: adminToken })).data.items;
    assert.deepEqual(unbilled.filter((u) => u.reason === 'blocked'), [], 'nothing is blocked any more');
  });

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
    await api('POST', '/auth/me/sessions/revoke', { token: adminToken });
    await page.getByRole('button', { name: 'Save sync settings' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByText(/Your session ended\. Log in again to carry on: your unsaved changes are kept\./).waitFor();
    assert.equal(await dialog.getByLabel('User name').inputValue(), 'admin');
    await axe(page, 'session dialog');
    await shot(page, 'session-expired-1280', { fullPage: false });
    await dialog.getByLabel('Password').fill(ADMIN_PASSWORD);
    await dialog.getByRole('button', { name: 'Log in' }).click();
    // The save that was refused goes out again: the edits were kept.
    await page.getByText(/^Sync settings saved\. Next run /).waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
    adminToken = await apiLogin('admin', ADMIN_PASSWORD);
    const settings = (await api('GET', '/settings/sync', { token: adminToken })).data;
    assert.deepEqual([settings.schedule, settings.time_zone, settings.max_decrease_percent], ['30 6 * * 1-5', 'Europe/Berlin', 40]);
  });

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

  await step('Companies: billing off for many at once', async () => {
    const fabrikam = (await api('GET', '/connectwise/companies?search=Fabrikam', { token: adminToken })).data.items[0];
    const agreement = (await api('GET', `/connectwise/companies/${fabrikam.id}/agreements`, { token: adminToken })).data.items[0];
    const tenant = tenants.find((t) => t.name === 'Fabrikam');
    await api('POST', '/company-mappings', { token: adminToken, body: { tenant_id: tenant.id, cw_company_id: fabrikam.id, agreement_id: agreement.id } });
    await open(page, 'Companies');
    await page.getByLabel('Show', { exact: true }).selectOption('mapped');
    await page.getByText('2 of 5 tenants').waitFor();
    await page.getByRole('checkbox', { name: 'Select every mapped tenant shown' }).check();
    await page.getByText('2 tenants selected').waitFor();
    await page.getByRole('button', { name: 'Billing off' }).click();
    await page.getByText('Billing off for 2 tenants.').waitFor();
    await page.getByLabel('Show', { exact: true }).selectOption('billing_off');
    await page.getByText('2 of 5 tenants').waitFor();
    const mappings = (await api('GET', '/company-mappings', { token: adminToken })).data.items;
    assert.deepEqual(mappings.map((m) => m.billing_enabled), [false, false]);
    await axe(page, 'companies, filtered');
  });

  await step('admin screens: connections, users and tokens', async () => {
    await open(page, 'Connections');
    await page.getByRole('button', { name: 'Test connection' }).first().click();
    await page.getByText(/ConnectWise Manage: connection works/).waitFor();
    await axe(page, 'connections');
    await shot(page, 'connections-1280');
    await open(page, 'Users and tokens', 'Users and service tokens');
    await page.getByLabel('Name', { exact: true }).fill('rmm-script');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText(/Token rmm-script created/).waitFor();
    await axe(page, 'users');
    await shot(page, 'users-1280');
  });

  await step('390 px wide phone: every screen readable, nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const screens = [['Home', 'home'], ['Products', 'products'], ['Companies', 'companies'], ['Sync', 'sync'], ['Unbilled usage', 'unbilled'],
      ['Settings', 'settings'], ['Audit trail', 'audit'], ['Connections', 'connections'], ['Users and tokens', 'users']];
    for (const [tab, name] of screens) {
      await nav(page, tab).click();
      await page.locator('main h1').waitFor();
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
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('repeat load: only the page is revalidated', async () => {
    net.reset();
    await page.goto(BASE);
    await homeReady(page);
    const files = net.of(isConsoleFile);
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    console.log(`  repeat load: ${files.length} console file request(s) (${files.map((f) => `${new URL(f.url).pathname} ${f.bytes} B`).join(', ')}), ${kb(bytes)} KB`);
    measured('console transfer on repeat load', Number(kb(bytes)), ' KB', TARGET_REPEAT_LOAD_KB);
  });

  await step('my account: change my password, then log out everywhere', async () => {
    await page.getByRole('link', { name: /^My account/ }).click();
    await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
    await axe(page, 'my account');
    await shot(page, 'account-1280');
    const next = `${ADMIN_PASSWORD}-new`;
    await page.getByLabel('Current password').fill(ADMIN_PASSWORD);
    await page.getByLabel('New password (at least 10 characters)').fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(/^Password changed\./).waitFor();
    ADMIN_PASSWORD = next;
    await assert.rejects(api('GET', '/auth/me', { token: adminToken }), /401/, 'the old sessions ended');
    adminToken = await apiLogin('admin', ADMIN_PASSWORD);
    // This session carried on with the new password.
    await nav(page, 'Home').click();
    await homeReady(page);
    await page.getByRole('link', { name: /^My account/ }).click();
    acceptDialogs = true;
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    acceptDialogs = false;
    await page.getByText('You logged out everywhere: every session of yours has ended.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await assert.rejects(api('GET', '/auth/me', { token: adminToken }), /401/, 'every session ended');
  });

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
    await open(viewer, 'Companies');
    await viewer.getByRole('row', { name: /Contoso/ }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Map|Edit|Unmap|Refresh|Billing/ }).count(), 0);
    assert.equal(await viewer.getByRole('checkbox').count(), 0);
    await open(viewer, 'Sync');
    await viewer.getByRole('heading', { name: 'History' }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Preview|Run sync now|Collect/ }).count(), 0);
    await open(viewer, 'Unbilled usage');
    assert.equal(await viewer.getByRole('button').filter({ hasText: /Teach|Collect/ }).count(), 0);
    await open(viewer, 'Settings');
    await viewer.getByLabel('Schedule (cron)').waitFor();
    assert.equal(await viewer.getByLabel('Schedule (cron)').isDisabled(), true);
    assert.equal(await viewer.getByRole('button', { name: /Save sync settings/ }).count(), 0);
    await axe(viewer, 'settings (viewer)');
  });

  assert.deepEqual(problems, [], problems.join('\n'));
  console.log(`console e2e: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const t of timings) console.log(`  ${t}`);
  console.log('issue 24 targets, measured:');
  for (const r of results) console.log(`  ${r}`);
} finally {
  await browser.close();
}
