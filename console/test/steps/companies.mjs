// Browser test steps: The Companies screen: search, filters, mapping in the row, billing off for many.
// Each step takes the shared state of the run (see ../e2e.mjs).
import { assert, api, axe, focused, open, shot, step } from '../helpers.mjs';

/** Search, filters, mapping in the row with the focus where the work is. */
export async function mapInRow(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
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
}

/** Billing off for many at once. */
export async function billingOff(s) {
  const { page, browser, net, dialogs, tenants, contoso } = s;
  await step('Companies: billing off for many at once', async () => {
    const fabrikam = (await api('GET', '/connectwise/companies?search=Fabrikam', { token: s.adminToken })).data.items[0];
    const agreement = (await api('GET', `/connectwise/companies/${fabrikam.id}/agreements`, { token: s.adminToken })).data.items[0];
    const tenant = tenants.find((t) => t.name === 'Fabrikam');
    await api('POST', '/company-mappings', { token: s.adminToken, body: { tenant_id: tenant.id, cw_company_id: fabrikam.id, agreement_id: agreement.id } });
    await open(page, 'Companies');
    await page.getByLabel('Show', { exact: true }).selectOption('mapped');
    await page.getByText('2 of 5 tenants').waitFor();
    await page.getByRole('checkbox', { name: 'Select every mapped tenant shown' }).check();
    await page.getByText('2 tenants selected').waitFor();
    await page.getByRole('button', { name: 'Billing off' }).click();
    await page.getByText('Billing off for 2 tenants.').waitFor();
    await page.getByLabel('Show', { exact: true }).selectOption('billing_off');
    await page.getByText('2 of 5 tenants').waitFor();
    const mappings = (await api('GET', '/company-mappings', { token: s.adminToken })).data.items;
    assert.deepEqual(mappings.map((m) => m.billing_enabled), [false, false]);
    await axe(page, 'companies, filtered');
  });
}
