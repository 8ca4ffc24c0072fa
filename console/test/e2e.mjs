// Browser test of the web console: headless Debian Chromium driven by playwright-core, against
// the server in sandbox mode (fake ConnectWise with a 2,505-product catalog and fake KSC on
// 127.0.0.1). Started by scripts/check-console.sh, which passes the addresses (helpers.mjs reads
// them). Every request goes to 127.0.0.1. Walks the console as a technician would, checks
// axe-core on every screen, writes screenshots at 1280 and 390 px, and measures and prints what
// issue 24 asks: log-in to the first useful screen, the console's transfer on first and repeat
// load. The steps live in steps/*.mjs, one module per part of the console, and run in the order
// below: each leaves the sandbox in the state the next one expects.
import { chromium } from 'playwright-core';
import { ADMIN_PASSWORD, CHROMIUM, assert, api, apiLogin, problems, recordTransfers, results, run, timings, watch } from './helpers.mjs';
import * as start from './steps/start.mjs';
import * as products from './steps/products.mjs';
import * as companies from './steps/companies.mjs';
import * as money from './steps/money.mjs';
import * as sync from './steps/sync.mjs';
import * as admin from './steps/admin.mjs';
import * as notifications from './steps/notifications.mjs';

const started = Date.now();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
run.browser = browser;
try {
  const adminToken = await apiLogin('admin', ADMIN_PASSWORD);
  await api('POST', '/users', { token: adminToken, body: { username: 'viewer', password: 'viewer-password-1', role: 'viewer' } });
  const tenants = (await api('GET', '/tenants', { token: adminToken })).data.items;
  const contoso = tenants.find((t) => t.name === 'Contoso');
  assert.ok(contoso, 'the sandbox has a Contoso tenant');

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  watch(page, 'admin');
  const net = await recordTransfers(page);
  /**
   * The state the steps share: the admin's page, its password and token (a step changes
   * them), the dialogs seen and whether they are accepted ("Cancel" unless a step says otherwise).
   */
  const s = { browser, page, net, dialogs: [], tenants, contoso, adminPassword: ADMIN_PASSWORD, adminToken, acceptDialogs: false };
  page.on('dialog', async (d) => { s.dialogs.push(d.message()); if (s.acceptDialogs) await d.accept(); else await d.dismiss(); });

  await start.security(s);
  await start.login(s);
  await start.homeLinks(s);
  await products.picker(s);
  await products.toggleOff(s);
  await products.unsaved(s);
  await money.billingProfile(s);
  await companies.mapInRow(s);
  await money.companyTerms(s);
  await money.reconciliation(s);
  await sync.firstSync(s);
  await sync.unknownKey(s);
  await products.toggleOn(s);
  await sync.heldMove(s);
  await sync.history(s);
  await sync.teach(s);
  await sync.runNow(s);
  await products.deadEnd(s);
  await admin.settings(s);
  await admin.audit(s);
  await companies.billingOff(s);
  await notifications.channels(s);
  await notifications.log(s);
  await notifications.noticeSettings(s);
  await admin.adminScreens(s);
  await admin.phone(s);
  await admin.repeatLoad(s);
  await admin.account(s);
  await admin.viewer(s);

  assert.deepEqual(problems, [], problems.join('\n'));
  console.log(`console e2e: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const t of timings) console.log(`  ${t}`);
  console.log('issue 24 targets, measured:');
  for (const r of results) console.log(`  ${r}`);
} finally {
  await browser.close();
}
