// Helpers of the browser test (../e2e.mjs runs it): the addresses it is given, the API as a
// second client uses it, and the browser helpers the steps share — axe-core, keyboard paths,
// screenshots, transfer sizes, measured targets, timed steps.
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';

export { assert };

export const BASE = need('CONSOLE_URL');
/** The admin's password at the start (a step changes it: the run's state holds the current one). */
export const ADMIN_PASSWORD = need('ADMIN_PASSWORD');
export const CW_ADDITIONS = need('FAKE_CW_ADDITIONS'); // …/finance/agreements/<agreement_id>/additions
export const CW_AUTH = need('FAKE_CW_AUTH'); // user:password
export const CW_CLIENT_ID = need('FAKE_CW_CLIENT_ID');
export const CONTOSO_AGREEMENT = need('CONTOSO_AGREEMENT');
export const SHOTS = process.env.SCREENSHOT_DIR ?? 'target/console-screenshots';
export const README_SHOT = process.env.README_SCREENSHOT;
export const HOME_SHOT = process.env.HOME_SCREENSHOT;
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const AXE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
mkdirSync(SHOTS, { recursive: true });

// Targets of issue 24, measured here and printed as PASS/FAIL lines.
export const TARGET_LOGIN_MS = 300;
export const TARGET_FIRST_LOAD_KB = 60;
export const TARGET_REPEAT_LOAD_KB = 5;

/** @param {string} name */
export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// --- the API, as a second client would use it ---------------------------------------------
export async function api(method, path, { token, body, ifMatch } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  const r = await fetch(`${BASE}api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return { data: text ? JSON.parse(text) : null, etag: r.headers.get('ETag') };
}
export async function apiLogin(username, password) {
  return (await api('POST', '/auth/login', { body: { username, password } })).data.access_token;
}
export async function additions(agreement) {
  const url = CW_ADDITIONS.replace('<agreement_id>', agreement);
  const r = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(CW_AUTH).toString('base64')}`, clientId: CW_CLIENT_ID } });
  assert.equal(r.status, 200, `fake ConnectWise additions: ${r.status}`);
  return r.json();
}
export async function productId(token, identifier) {
  const page = (await api('GET', `/connectwise/products?search=${encodeURIComponent(identifier)}&per_page=1`, { token })).data;
  assert.equal(page.items[0]?.identifier, identifier, `${identifier} is first in its search`);
  return page.items[0].id;
}

// --- browser helpers ----------------------------------------------------------------------
export const problems = [];
export function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|404|409|412|422)/.test(m.text())) problems.push(`${who}: console error: ${m.text()}`);
    if (/Content Security Policy/i.test(m.text())) problems.push(`${who}: CSP: ${m.text()}`);
  });
}

export async function axe(page, screen) {
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
export async function tabTo(page, predicate, description, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const name = await focused(page);
    if (predicate(name)) return;
  }
  throw new Error(`Tab never reached ${description}`);
}

/** "TAG|role|accessible name|text" of the focused element. */
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return '';
    const label = el.labels && el.labels[0] ? el.labels[0].textContent : '';
    return `${el.tagName}|${el.getAttribute('role') ?? ''}|${el.getAttribute('aria-label') ?? label ?? ''}|${el.textContent ?? ''}`;
  });
}

/** A link of the screens' navigation. */
export const nav = (page, name) => page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name, exact: true });
export async function open(page, tab, heading = tab) {
  await nav(page, tab).click();
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

export async function pick(page, label, search, optionText) {
  const box = page.getByRole('combobox', { name: label, exact: true });
  await box.click();
  await box.fill(search);
  await page.getByRole('option', { name: optionText }).first().click();
  await assert.doesNotReject(box.waitFor());
}

/** Polls `check` until it holds (at most 5 s). */
export async function until(check, what) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never: ${what}`);
}
/** Waits until a box shows a committed choice (its "identifier — description" label). */
export async function chosen(box, identifier) {
  await until(async () => (await box.inputValue()).startsWith(`${identifier} — `), `${identifier} is chosen`);
}

export async function shot(page, name, opts = {}) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: opts.fullPage ?? true });
}

/** The console's own files (the page and /console/…) a page fetched, with their bytes on the wire. */
export async function recordTransfers(page) {
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
export const isConsoleFile = (path) => path === '/' || path.startsWith('/console/');
export const kb = (bytes) => (bytes / 1024).toFixed(1);

export const results = [];
export function measured(name, value, unit, target) {
  const pass = value <= target;
  results.push(`${pass ? 'PASS' : 'FAIL'} ${name}: ${value}${unit} (target ≤ ${target}${unit})`);
  return pass;
}

export const timings = [];
/** The browser of the run, for screenshots of every page when a step fails. */
export const run = { browser: null };
export async function step(name, fn) {
  const t = Date.now();
  process.stdout.write(`- ${name}\n`);
  try {
    await fn();
  } catch (e) {
    for (const [i, p] of run.browser.contexts().flatMap((c) => c.pages()).entries()) await p.screenshot({ path: `${SHOTS}/failure-${i}.png`, fullPage: true }).catch(() => {});
    throw e;
  }
  timings.push(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

/** Starts the page's clock at the log-in form's submit; it stops when the home screen is ready. */
export async function armLoginClock(page) {
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
export async function loginTime(page) {
  return Math.round(await page.evaluate(() => window.__loginReady - window.__loginStart));
}

/** Waits for the home screen with every card loaded. */
export async function homeReady(page) {
  await page.getByRole('heading', { name: 'Home', level: 1 }).waitFor();
  await page.locator('[data-ready="true"]').waitFor();
}
export const card = (page, id) => page.locator(`[data-card="${id}"]`);

/** Elements wider than the viewport (a phone must not scroll sideways), and the page's width. */
export async function overflow(page, width) {
  return page.evaluate((w) => ({
    width: document.documentElement.scrollWidth,
    wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1 && e.getClientRects().length > 0)
      .slice(0, 5).map((e) => `${e.tagName}.${e.className}`),
  }), width);
}
