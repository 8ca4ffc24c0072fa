// @ts-check
// Unbilled usage: what nothing bills — unmapped applications or tenants, billing off — and the
// licence keys no application recognised, with "teach this key" for admins.
import { html, useState } from './vendor/htm-preact.mjs';
import { call, get, getAll, may } from './api.js';
import { ErrorNotice, Notice, href, routeParams, useId, useLoad } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['UnbilledUsage']} Unbilled */

const REASONS = {
  application_not_mapped: 'application has no product mapping',
  unknown_application: 'unknown application',
  tenant_not_mapped: 'tenant has no company mapping',
  billing_disabled: 'billing is off for the company',
  unknown_key: 'licence key no application recognises',
  ambiguous_key: 'licence key several applications recognise',
  blocked: 'the application\'s product mapping is incomplete: the tenant is blocked (not billed at all)',
  excluded: 'the company\'s terms exclude it from its bill',
};
const CATEGORY = { windows_workstation: 'Windows workstations', windows_server: 'Windows servers', non_windows: 'non-Windows devices' };

async function loadAll() {
  const [rows, tenants, apps] = await Promise.all([
    /** @type {Promise<Unbilled[]>} */ (getAll('/reports/unbilled-usage')),
    /** @type {Promise<Schemas['Tenant'][]>} */ (getAll('/tenants')),
    /** @type {Promise<Schemas['SecurityApplicationView'][]>} */ (get('/security-applications')),
  ]);
  return {
    rows,
    tenants: new Map(tenants.map((t) => [t.id, t.name])),
    all: apps,
    apps: apps.filter((a) => !a.retired && a.solution === 'ksc'),
  };
}

/** @param {{item: Unbilled, apps: Schemas['SecurityApplicationView'][], onTaught: (text: string) => void}} props */
function Teach({ item, apps, onTaught }) {
  const key = /** @type {Schemas['UnattributedKey']} */ (item.key);
  const usableAppId = key.app_id !== '' && key.app_id !== '0';
  const candidates = key.candidates ?? [];
  const [app, setApp] = useState(candidates[0] ?? '');
  const [by, setBy] = useState(/** @type {'product_name' | 'app_id'} */ ('product_name'));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const selectId = useId('teach-app');
  async function teach() {
    if (!app) { setError(new Error('Choose the application this key belongs to.')); return; }
    setError(null);
    try {
      const body = by === 'app_id' ? { app_id: key.app_id } : { product_name: key.product_name };
      await call('POST', `/security-applications/${encodeURIComponent(app)}/match-rules`, { body });
      onTaught(`${apps.find((a) => a.id === app)?.name ?? app} now recognises "${key.product_name}". The key counts from the next collection.`);
    } catch (e) { setError(e); }
  }
  return html`<div class="teach">
    <label for=${selectId}>Teach this key to</label>
    <select id=${selectId} value=${app} onChange=${(/** @type {Event} */ e) => setApp(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
      <option value="">Choose an application</option>
      ${apps.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
    </select>
    ${usableAppId && html`<fieldset class="segmented small"><legend class="visually-hidden">Recognise it by</legend>
      <label><input type="radio" name=${`${selectId}-by`} checked=${by === 'product_name'} onChange=${() => setBy('product_name')} /> product name</label>
      <label><input type="radio" name=${`${selectId}-by`} checked=${by === 'app_id'} onChange=${() => setBy('app_id')} /> app id ${key.app_id}</label>
    </fieldset>`}
    <button type="button" onClick=${teach} aria-label=${`Teach this key (${key.serial})`}>Teach this key</button>
    <${ErrorNotice} error=${error} />
  </div>`;
}

export function UnbilledScreen() {
  const admin = may('admin');
  const { data, error, reload } = useLoad(loadAll, []);
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));
  async function collect() {
    setActionError(null);
    try {
      /** @type {Schemas['Collection']} */
      const c = (await call('POST', '/usage-snapshots/collect')).data;
      setMessage(`Usage read again: ${c.collected} collected, ${c.failed} failed.`);
      reload();
    } catch (e) { setActionError(e); }
  }
  const onlyTenant = routeParams().get('tenant');
  const rows = (data?.rows ?? []).filter((r) => !onlyTenant || r.tenant_id === onlyTenant);
  const keys = rows.filter((r) => r.key);
  // Blocked usage first: it stops a whole tenant's billing.
  const usage = rows.filter((r) => !r.key).sort((a, b) => Number(b.reason === 'blocked') - Number(a.reason === 'blocked'));
  const app = (/** @type {string | null | undefined} */ id) => (id ? data?.all.find((a) => a.id === id) : undefined);
  const appName = (/** @type {string | null | undefined} */ id) => (id ? app(id)?.name ?? id : '—');
  /** Where an application's mapping is fixed. @param {string | null | undefined} id */
  const appRow = (id) => href('products', { row: id ?? '', ...(app(id)?.solution === 'business_hub' ? { solution: 'business_hub' } : {}) });
  /** @param {Unbilled} r */
  const fix = (r) => {
    if (r.reason === 'blocked') return html` — <a href=${appRow(r.application_id)}>complete its mapping</a>`;
    if (r.reason === 'application_not_mapped') return html` — <a href=${appRow(r.application_id)}>map it</a>`;
    if (r.reason === 'tenant_not_mapped' || r.reason === 'billing_disabled') return html` — <a href=${href('companies', { tenant: r.tenant_id })}>${r.reason === 'billing_disabled' ? 'see the tenant' : 'map it'}</a>`;
    return '';
  };
  return html`<section aria-labelledby="unbilled-title">
    <h1 id="unbilled-title" tabindex="-1">Unbilled usage</h1>
    <p class="lead">Usage nothing bills yet, and licence keys the server cannot attribute.</p>
    ${may('operator') && html`<div class="toolbar"><button type="button" onClick=${collect}>Collect usage now</button></div>`}
    ${message && html`<${Notice} kind="ok">${message}<//>`}
    <${ErrorNotice} error=${error || actionError} />
    ${onlyTenant && data && html`<p>Only ${data.tenants.get(onlyTenant) ?? onlyTenant}. <a href="#/unbilled">Show every tenant</a></p>`}
    ${!data ? html`<p role="status">Loading…</p>` : html`
      <h2>Unknown and ambiguous keys</h2>
      ${keys.length === 0 ? html`<p>Every licence key is recognised.</p>` : html`<div class="table-wrap"><table class="grid stack">
        <thead><tr><th scope="col">Tenant</th><th scope="col">Key</th><th scope="col">Hosts</th><th scope="col">Why</th>${admin && html`<th scope="col">Teach</th>`}</tr></thead>
        <tbody>${keys.map((r) => { const k = /** @type {Schemas['UnattributedKey']} */ (r.key); return html`<tr key=${k.serial + r.tenant_id}>
          <td data-label="Tenant">${data.tenants.get(r.tenant_id) ?? r.tenant_id}</td>
          <td data-label="Key">${k.product_name}<div class="sub">serial ${k.serial}, app id ${k.app_id || '—'}${(k.candidates ?? []).length ? `, candidates ${(k.candidates ?? []).map((c) => appName(c)).join(', ')}` : ''}</div></td>
          <td data-label="Hosts">${k.hosts}</td><td data-label="Why">${REASONS[r.reason]}</td>
          ${admin && html`<td><${Teach} item=${r} apps=${data.apps} onTaught=${(/** @type {string} */ t) => { setMessage(t); reload(); }} /></td>`}
        </tr>`; })}</tbody></table></div>`}
      <h2>Usage not billed</h2>
      ${usage.length === 0 ? html`<p>All usage is billed.</p>` : html`<div class="table-wrap"><table class="grid stack">
        <thead><tr><th scope="col">Tenant</th><th scope="col">Application</th><th scope="col">Quantity</th><th scope="col">Why</th></tr></thead>
        <tbody>${usage.map((r, i) => html`<tr key=${i} class=${r.reason === 'blocked' ? 'blocked' : ''}><td data-label="Tenant">${data.tenants.get(r.tenant_id) ?? r.tenant_id}</td>
          <td data-label="Application">${appName(r.application_id)}${r.category && html`<div class="sub">${CATEGORY[r.category]}</div>`}</td>
          <td data-label="Quantity">${r.quantity}</td><td data-label="Why">${REASONS[r.reason]}${fix(r)}</td></tr>`)}
        </tbody></table></div>`}`}
  </section>`;
}
