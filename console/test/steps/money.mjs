// Browser test steps: money — billing profiles on Products, a company's terms, Reconciliation
// with its CSV. (The money effect of preview lines is checked in the Sync steps.)
import { readFileSync } from 'node:fs';
import { assert, api, axe, open, productId, shot, step } from '../helpers.mjs';

/** The CSV's header line, as the API writes it. */
const CSV_HEADER = 'company_id,company,agreement_id,state,product_id,units_deployed,units_due,units_billed,unit_price,amount_billed,amount_deployed,difference';

/** A billing profile: the sandbox's, then a fixed price with a field error first. */
export async function billingProfile(s) {
  const { page } = s;
  await step('Products: billing profiles, a fixed price with a field error, saved', async () => {
    await open(page, 'Products');
    const region = page.getByRole('region', { name: 'Billing profiles' });
    // The sandbox's profiles: Windows servers at the MSP's price, Mac at no charge.
    await region.getByRole('row', { name: /KES-SRV.*12\.00/ }).waitFor();
    await region.getByRole('row', { name: /KES-MAC.*No charge/ }).waitFor();
    await region.getByRole('button', { name: 'Edit the billing profile of KES-WS' }).click();
    const form = page.getByRole('form', { name: 'Billing profile of KES-WS' });
    await form.waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('form')?.getAttribute('aria-label') === 'Billing profile of KES-WS');
    const priceGroup = form.getByRole('group', { name: /^Unit price/ });
    await priceGroup.getByRole('radio', { name: 'Fixed amount' }).check();
    const price = form.getByLabel('Fixed unit price', { exact: true });
    await price.fill('4,50');
    await form.getByRole('button', { name: 'Save profile' }).click();
    await form.getByText(/must be an amount such as 24\.50/).waitFor();
    assert.equal(await price.getAttribute('aria-invalid'), 'true');
    await price.fill('4.50');
    await form.getByLabel('Taxable', { exact: true }).selectOption('no');
    await form.getByLabel('Invoice description', { exact: true }).fill('{application} for {company}: {quantity} devices');
    await axe(page, 'products, a billing profile');
    await shot(page, 'billing-profile-1280');
    await form.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText(/^The billing profile of KES-WS is saved/).waitFor();
    await region.getByRole('row', { name: /KES-WS.*4\.50.*no/ }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id?.startsWith('profile-edit-'));
    const id = await productId(s.adminToken, 'KES-WS');
    const saved = (await api('GET', `/billing-profiles/${id}`, { token: s.adminToken })).data;
    assert.deepEqual([saved.bill_customer, saved.unit_price, saved.unit_cost, saved.taxable], ['Billable', '4.50', 'catalog', false]);
    assert.equal(saved.invoice_description, '{application} for {company}: {quantity} devices');
  });
}

/** A company's terms from its row: the server's field error next to its field, then saved. */
export async function companyTerms(s) {
  const { page, contoso } = s;
  await step('Companies: the terms of Contoso Ltd, a rule of the server next to its field, saved', async () => {
    await page.getByRole('button', { name: 'Terms for Contoso' }).click();
    const form = page.getByRole('form', { name: 'Terms of Contoso Ltd' });
    await form.waitFor();
    assert.equal(await page.locator(`#tenant-${contoso.id} + tr.form-row`).count(), 1, 'the terms open under the row');
    await page.waitForFunction(() => document.activeElement?.closest('form')?.getAttribute('aria-label') === 'Terms of Contoso Ltd');
    const ws = form.getByRole('group', { name: /^KES-WS/ });
    await ws.getByLabel('Included quantity', { exact: true }).fill('2');
    await ws.getByLabel('Minimum quantity', { exact: true }).fill('1');
    await form.getByRole('button', { name: 'Save terms' }).click();
    // The server's rule, next to the field it is about.
    await ws.getByText(/must not be below the included quantity/).waitFor();
    assert.equal(await ws.getByLabel('Minimum quantity', { exact: true }).getAttribute('aria-invalid'), 'true');
    await axe(page, 'companies, terms with a field error');
    await ws.getByLabel('Minimum quantity', { exact: true }).fill('');
    await shot(page, 'company-terms-1280');
    await form.getByRole('button', { name: 'Save terms' }).click();
    await page.getByText('The terms of Contoso Ltd are saved').waitFor();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Terms for Contoso');
    const mapping = (await api('GET', '/company-mappings', { token: s.adminToken })).data.items.find((m) => m.tenant.id === contoso.id);
    const terms = (await api('GET', `/company-mappings/${mapping.id}/terms`, { token: s.adminToken })).data;
    const wsId = await productId(s.adminToken, 'KES-WS');
    const line = terms.products.find((p) => p.product_id === wsId);
    assert.equal(line?.included_quantity, 2, JSON.stringify(terms));
    assert.ok(!line.minimum_quantity, JSON.stringify(terms));
    // Reopened, the form shows what was saved.
    await page.getByRole('button', { name: 'Terms for Contoso' }).click();
    assert.equal(await form.getByRole('group', { name: /^KES-WS/ }).getByLabel('Included quantity', { exact: true }).inputValue(), '2');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
  });
}

/** Reconciliation before the first sync: everything deployed is a difference; the CSV. */
export async function reconciliation(s) {
  const { page } = s;
  await step('Reconciliation: deployed against billed, differences first, filters, the CSV download', async () => {
    await open(page, 'Reconciliation');
    const company = page.getByRole('region', { name: /^Contoso Ltd/ });
    await company.waitFor();
    // Nothing is billed yet: Contoso's devices are a difference, said in money.
    await company.getByText(/^Under-billed: billing the units deployed raises Contoso Ltd's monthly bill by \d+\.\d{2}\./).waitFor();
    const ws = company.getByRole('row', { name: /KES-WS/ });
    assert.match(await ws.innerText(), /differs[\s\S]*6[\s\S]*4\.50/);
    assert.equal(await company.locator('tbody tr').first().getAttribute('class'), 'difference', 'differences first');
    await page.getByLabel('Differences only').check();
    await company.waitFor();
    await page.getByLabel('Company', { exact: true }).selectOption({ label: 'Contoso Ltd' });
    await page.getByText(/: 1 company with a difference\./).waitFor();
    await axe(page, 'reconciliation');
    await shot(page, 'reconciliation-1280');
    // The CSV: fetched with the token, saved from a Blob.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^reconciliation-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = readFileSync(await download.path(), 'utf8');
    const [header, ...rows] = text.trim().split(/\r?\n/);
    assert.equal(header, CSV_HEADER);
    const wsId = await productId(s.adminToken, 'KES-WS');
    assert.ok(rows.some((r) => r.includes(',Contoso Ltd,') && r.includes(`,${wsId},6,`)), `a KES-WS row of Contoso Ltd with 6 deployed: ${text}`);
    await page.getByText(/^reconciliation-.*\.csv is saved: \d+ lines?\./).waitFor();
    console.log(`  reconciliation CSV: ${rows.length} line(s); ${rows.find((r) => r.includes(`,${wsId},`))}`);
    // Back where the Sync step starts from the keyboard.
    await open(page, 'Companies');
  });
}
