// @ts-check
// Reconciliation: per company and product line, the units deployed (latest usage) against the
// units ConnectWise bills today, with the unit price, the monthly amounts and the difference;
// differences first. Read from ConnectWise now or from the last run's reading. The CSV is
// fetched with the token (a plain link would not carry it) and saved from a Blob.
// Amounts are the API's decimal strings, shown as they are: nothing is added up here.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { call, get, getAll, productsById } from './api.js';
import { ErrorNotice, Money, Notice, billEffect, count, moneySign, possessive, routeParams, useId, useLoad, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['Reconciliation']} Report */
/** @typedef {Schemas['ReconciledLine']} Line */
/** @typedef {Schemas['ReadingSource']} Source */

const PER_PAGE = 20;
const STATES = {
  reconciled: '',
  usage_not_billed: 'its usage is not billed now (frozen, blocked or billing off): the units deployed are not known',
  additions_unreadable: 'its ConnectWise additions could not be read',
};
const REASONS = {
  application_not_mapped: 'application not mapped',
  unknown_application: 'unknown application',
  tenant_not_mapped: 'tenant not mapped',
  billing_disabled: 'billing off',
  unknown_key: 'unknown licence key',
  ambiguous_key: 'ambiguous licence key',
  blocked: 'incomplete product mapping',
  excluded: "excluded by the company's terms",
};
const CATEGORY = { windows_workstation: 'Windows workstations', windows_server: 'Windows servers', non_windows: 'non-Windows devices' };

/** A line whose billed units or amount differ from what is deployed. @param {Line} l */
function differs(l) {
  return moneySign(l.difference) !== 0 || (l.units_due !== null && l.units_due !== undefined && l.units_due !== l.units_billed);
}

/** "12" or "—". @param {number | null | undefined} n */
const units = (n) => (n === null || n === undefined ? '—' : String(n));

async function loadLookups() {
  const [mappings, tenants, apps] = await Promise.all([
    /** @type {Promise<Schemas['CompanyMapping'][]>} */ (getAll('/company-mappings')),
    /** @type {Promise<Schemas['Tenant'][]>} */ (getAll('/tenants')),
    /** @type {Promise<Schemas['SecurityApplicationView'][]>} */ (get('/security-applications')),
  ]);
  /** @type {Map<number, string>} */
  const companies = new Map();
  for (const m of mappings) companies.set(m.cw_company_id, m.cw_company_name);
  return {
    companies: [...companies].sort((a, b) => a[1].localeCompare(b[1])),
    tenants: new Map(tenants.map((t) => [t.id, t.name])),
    apps: new Map(apps.map((a) => [a.id, a.name])),
  };
}

/**
 * The report of these filters as CSV, every page of it (one header line).
 * @param {Record<string, string | number | boolean | undefined>} query @param {number} total companies
 */
async function csvOf(query, total) {
  const pages = Math.max(1, Math.ceil(total / 500));
  let text = '';
  for (let page = 1; page <= pages; page++) {
    const reply = await call('GET', '/reports/reconciliation', { query: { ...query, page, per_page: 500 }, accept: 'text/csv', raw: true });
    const body = String(reply.data ?? '');
    text += page === 1 ? body : body.slice(body.indexOf('\n') + 1);
  }
  return text;
}

/** Hands a text to the browser as a file to save. @param {string} text @param {string} name */
function save(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** @param {{totals: Schemas['Totals']}} props */
function Totals({ totals }) {
  return html`<dl class="totals">
    <div><dt>Billed a month</dt><dd class="money">${totals.amount_billed}</dd></div>
    <div><dt>At the units deployed</dt><dd class="money">${totals.amount_deployed}</dd></div>
    <div><dt>Difference</dt><dd><${Money} amount=${totals.difference} /></dd></div>
  </dl>`;
}

/** @param {{c: Schemas['CompanyReconciliation'], product: (id: number) => string}} props */
function CompanyCard({ c, product }) {
  const id = useId('recon');
  const lines = [...c.lines].sort((a, b) => Number(differs(b)) - Number(differs(a)));
  const diff = moneySign(c.totals.difference);
  return html`<section class="card recon-company" aria-labelledby=${id}>
    <h2 id=${id}>${c.cw_company_name} <span class="sub">${c.tenant_name ? `${c.tenant_name}, ` : ''}agreement ${c.agreement_id}</span></h2>
    ${c.state !== 'reconciled' && html`<p class="warn-text">${STATES[c.state]}.</p>`}
    <p class=${diff === 0 ? '' : 'money-summary'}>${diff === 0 ? 'Billed as deployed.'
      : `${diff > 0 ? 'Under-billed' : 'Over-billed'}: billing the units deployed ${billEffect(c.totals.difference, possessive(c.cw_company_name))}.`}
      ${c.read_at && html` <span class="sub">Additions read ${when(c.read_at)}.</span>`}</p>
    <${Totals} totals=${c.totals} />
    <div class="table-wrap"><table class="grid stack">
      <caption class="visually-hidden">Product lines of ${c.cw_company_name}, differences first</caption>
      <thead><tr><th scope="col">Product</th><th scope="col">Deployed</th><th scope="col">Due</th><th scope="col">Billed</th>
        <th scope="col">Unit price</th><th scope="col">Billed a month</th><th scope="col">At deployed units</th><th scope="col">Difference</th></tr></thead>
      <tbody>${lines.length === 0 && html`<tr><td colspan="8">No line.</td></tr>`}
      ${lines.map((l) => html`<tr key=${l.product_id} class=${differs(l) ? 'difference' : ''}>
        <th scope="row">${product(l.product_id)}${differs(l) && html`<div class="sub">differs</div>`}</th>
        <td data-label="Deployed">${units(l.units_deployed)}</td><td data-label="Due">${units(l.units_due)}</td>
        <td data-label="Billed">${l.units_billed}</td><td data-label="Unit price" class="money">${l.unit_price ?? '—'}</td>
        <td data-label="Billed a month" class="money">${l.amount_billed}</td><td data-label="At deployed units" class="money">${l.amount_deployed ?? '—'}</td>
        <td data-label="Difference"><${Money} amount=${l.difference} /></td>
      </tr>`)}</tbody></table></div>
  </section>`;
}

export function ReconciliationScreen() {
  const params = routeParams();
  const [source, setSource] = useState(/** @type {Source} */ (params.get('source') === 'last_run' ? 'last_run' : 'live'));
  const [company, setCompany] = useState(params.get('company') ?? '');
  const [differencesOnly, setDifferencesOnly] = useState(params.get('differences_only') === 'true');
  const [page, setPage] = useState(1);
  const [products, setProducts] = useState(/** @type {Map<number, Schemas['Product']>} */ (new Map()));
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState(/** @type {unknown} */ (null));
  const [downloaded, setDownloaded] = useState(/** @type {string | null} */ (null));
  const lookups = useLoad(loadLookups, []);
  const query = { source, company: company || undefined, differences_only: differencesOnly || undefined };
  const report = useLoad(() => /** @type {Promise<Report>} */ (get('/reports/reconciliation', { ...query, page, per_page: PER_PAGE })), [source, company, differencesOnly, page]);
  const companyId = useId('recon-company');
  const diffId = useId('recon-diff');

  useEffect(() => {
    const ids = (report.data?.companies ?? []).flatMap((c) => c.lines.map((l) => l.product_id));
    if (ids.length) productsById(ids).then((all) => setProducts(new Map(all)), () => {});
  }, [report.data]);

  /** @param {number} id */
  const product = (id) => products.get(id)?.identifier ?? `product ${id}`;

  async function download() {
    if (!report.data) return;
    setDownloading(true); setDownloadError(null); setDownloaded(null);
    try {
      const text = await csvOf(query, report.data.total);
      const name = `reconciliation-${new Date().toISOString().slice(0, 10)}.csv`;
      save(text, name);
      setDownloaded(`${name} is saved: ${count(Math.max(0, text.split('\n').filter((l) => l.trim()).length - 1), 'line')}.`);
    } catch (e) { setDownloadError(e); } finally { setDownloading(false); }
  }

  const data = report.data;
  // Companies with a difference first (within the page); the server orders them by name.
  const companies = [...(data?.companies ?? [])].sort((a, b) => Number(b.lines.some(differs)) - Number(a.lines.some(differs)));
  const pages = data ? Math.max(1, Math.ceil(data.total / PER_PAGE)) : 1;
  return html`<section aria-labelledby="recon-title">
    <h1 id="recon-title" tabindex="-1">Reconciliation</h1>
    <p class="lead">What ConnectWise bills each company today against what is deployed.</p>
    <div class="toolbar filters">
      <fieldset class="segmented">
        <legend>Billed side</legend>
        <label><input type="radio" name="recon-source" checked=${source === 'live'} onChange=${() => { setSource('live'); setPage(1); }} /> ConnectWise now</label>
        <label><input type="radio" name="recon-source" checked=${source === 'last_run'} onChange=${() => { setSource('last_run'); setPage(1); }} /> The last run's reading</label>
      </fieldset>
      <div class="field"><label for=${companyId}>Company</label>
        <select id=${companyId} value=${company} onChange=${(/** @type {Event} */ e) => { setCompany(/** @type {HTMLSelectElement} */ (e.currentTarget).value); setPage(1); }}>
          <option value="">Every company</option>
          ${(lookups.data?.companies ?? []).map(([cid, name]) => html`<option value=${String(cid)}>${name}</option>`)}
        </select></div>
      <div class="check"><input id=${diffId} type="checkbox" checked=${differencesOnly}
        onChange=${(/** @type {Event} */ e) => { setDifferencesOnly(/** @type {HTMLInputElement} */ (e.currentTarget).checked); setPage(1); }} />
        <label for=${diffId}>Differences only</label></div>
      <button type="button" disabled=${!data || downloading} onClick=${download}>${downloading ? 'Downloading…' : 'Download CSV'}</button>
    </div>
    ${downloaded && html`<${Notice} kind="ok">${downloaded}<//>`}
    <${ErrorNotice} error=${report.error || lookups.error || downloadError} />
    ${report.loading && html`<p role="status" class="busy">${source === 'live' ? 'Reading ConnectWise…' : 'Loading…'}</p>`}
    ${data && html`<div class="outcome">
      <p>${data.source === 'live' ? 'Read from ConnectWise now' : "From the last run's reading"}${data.read_at ? ` (${when(data.read_at)})` : ''}: ${count(data.total, 'company', 'companies')}${differencesOnly ? ' with a difference' : ''}.
        ${moneySign(data.totals.difference) === 0 ? ' Everything is billed as deployed.' : html` <strong>Billing the units deployed ${billEffect(data.totals.difference, "the companies'", { noun: 'monthly bills' })}.</strong>`}</p>
      <${Totals} totals=${data.totals} />
    </div>
    ${companies.length === 0 && html`<p>${differencesOnly ? 'No company has a difference.' : 'No company is mapped yet.'}</p>`}
    ${companies.map((c) => html`<${CompanyCard} key=${c.company_mapping_id} c=${c} product=${product} />`)}
    ${pages > 1 && html`<div class="pager">
      <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Previous</button>
      <span>Page ${page} of ${pages}</span>
      <button type="button" disabled=${page >= pages} onClick=${() => setPage(page + 1)}>Next</button>
    </div>`}
    <h2>Usage nothing bills</h2>
    ${data.unbilled.length === 0 ? html`<p>All usage is billed.</p>` : html`<div class="table-wrap"><table class="grid stack">
      <caption class="visually-hidden">Usage nothing bills, with its amount at catalog price</caption>
      <thead><tr><th scope="col">Tenant</th><th scope="col">Application</th><th scope="col">Quantity</th><th scope="col">At catalog price</th><th scope="col">Why</th></tr></thead>
      <tbody>${data.unbilled.map((u, i) => html`<tr key=${i}>
        <td data-label="Tenant">${lookups.data?.tenants.get(u.tenant_id) ?? u.tenant_id}</td>
        <td data-label="Application">${u.key ? u.key.product_name : (u.application_id ? lookups.data?.apps.get(u.application_id) ?? u.application_id : '—')}${u.category && html`<div class="sub">${CATEGORY[u.category]}</div>`}</td>
        <td data-label="Quantity">${u.quantity}</td><td data-label="At catalog price" class="money">${u.amount_at_catalog ?? '—'}</td>
        <td data-label="Why">${REASONS[u.reason] ?? u.reason} — <a href="#/unbilled">Unbilled usage</a></td></tr>`)}
      </tbody></table></div>`}`}
  </section>`;
}
