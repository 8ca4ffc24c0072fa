// Swagger UI as a person meets it, in headless Chromium (Debian's, no browser download): no
// "Explore" bar, the Authorize dialog says how to get a token and the token survives a reload,
// summaries carry no literal backticks, and an operation shows its description and a real
// example rather than `{}`. Leaves a screenshot in SCREENSHOT (not committed).
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.BRIDGE_URL;
const TOKEN = process.env.BRIDGE_TOKEN;
const SCREENSHOT = process.env.SCREENSHOT;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 2200 } });
  await page.goto(`${BASE}/swagger-ui/`);
  await page.locator('.opblock').first().waitFor();

  assert.equal(await page.locator('.topbar').count(), 0, 'the Explore bar is shown');
  const summaries = await page.locator('.opblock-summary-description').allTextContents();
  assert.ok(summaries.length >= 50, `only ${summaries.length} operations`);
  for (const summary of summaries) {
    assert.ok(!summary.includes('`'), `a summary shows backticks: ${summary}`);
  }

  await page.getByRole('button', { name: /Authorize/ }).first().click();
  const dialog = page.locator('.auth-container');
  await dialog.getByText('How to get a token').waitFor();
  await dialog.locator('input').first().fill(TOKEN);
  await dialog.locator('button.authorize').click();
  await page.locator('.auth-btn-wrapper .btn-done').click();
  await page.reload();
  await page.locator('.opblock').first().waitFor();
  const stored = await page.evaluate(() => localStorage.getItem('authorized') ?? '');
  assert.ok(stored.includes(TOKEN), 'the token did not survive the reload');

  const grid = page.locator('#operations-products-listProductMappings');
  await grid.locator('.opblock-summary').click();
  await grid.getByText('Role: any', { exact: false }).first().waitFor();
  const example = await grid.locator('.responses-wrapper .microlight').first().textContent();
  assert.ok(example.includes('"bill_devices_by_category": true'), `no grid example: ${example}`);
  assert.ok(example.includes('"form_in_force": "category"'), 'the example does not bill by category');
  await grid.scrollIntoViewIfNeeded();
  if (SCREENSHOT) {
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
  }
  console.log('swagger ui: examples, descriptions, persisted authorization, no Explore bar');
} finally {
  await browser.close();
}
