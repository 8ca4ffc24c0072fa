// Browser test steps: The Products screen: the picker, the toggle, unsaved changes, conflicts, the dead end.
// Each step takes the shared state of the run (see ../e2e.mjs).
import { assert, README_SHOT, HOME_SHOT, api, productId, axe, tabTo, nav, open, pick, until, chosen, shot, step, homeReady, card } from '../helpers.mjs';

/** The product picker never takes a result that does not belong to the text. */
export async function picker(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  const pg02401 = await productId(s.adminToken, 'PG-02401');
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
    const one = (await api('GET', '/product-mappings/kes-windows', { token: s.adminToken })).data;
    assert.equal(one.product_id, pg02401, 'the product typed is the product saved');
  });
}

/** Mapping with the toggle off, keyboard only. */
export async function toggleOff(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
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
}

/** Leaving with unsaved changes asks first. */
export async function unsaved(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('unsaved changes: leaving asks first', async () => {
    await pick(page, 'Kaspersky Endpoint Security for Mac – Product', 'KES-MAC', /^KES-MAC/);
    await nav(page, 'Companies').click();
    await page.waitForTimeout(200);
    assert.ok(dialogs.some((d) => d.includes('unsaved changes')), 'a confirmation was asked');
    assert.ok(await page.getByRole('heading', { name: 'Products', level: 1 }).isVisible(), 'still on Products after "Cancel"');
    await page.getByRole('button', { name: 'Discard changes' }).click();
  });
}

/** The toggle on: carried over, a conflict, save, reload. */
export async function toggleOn(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
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
    const one = await api('GET', '/product-mappings/kes-mac', { token: s.adminToken });
    await api('PUT', '/product-mappings/kes-mac', { token: s.adminToken, ifMatch: one.etag, body: { product_id: 5 } });
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
    const grid = (await api('GET', '/product-mappings?solution=ksc', { token: s.adminToken })).data;
    const win = grid.mappings.find((m) => m.application_id === 'kes-windows');
    assert.deepEqual([win.product_id, win.workstation_product_id, win.server_product_id, win.non_windows_product_id], [1, 1, 2, 3]);
    const mac = grid.mappings.find((m) => m.application_id === 'kes-mac');
    assert.deepEqual([mac.product_id, mac.workstation_product_id, mac.server_product_id, mac.non_windows_product_id], [5, 5, 5, 5], 'the other client\'s product, carried over');
    await page.waitForTimeout(300);
    await axe(page, 'products');
    await shot(page, 'products-1280', { fullPage: false });
    if (README_SHOT) await page.screenshot({ path: README_SHOT });
  });
}

/** The README's dead end: an incomplete row named, blocked usage shown, links to the row. */
export async function deadEnd(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
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
    const unbilled = (await api('GET', '/reports/unbilled-usage', { token: s.adminToken })).data.items;
    assert.deepEqual(unbilled.filter((u) => u.reason === 'blocked'), [], 'nothing is blocked any more');
  });
}
