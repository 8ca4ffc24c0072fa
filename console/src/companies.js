// @ts-check
// The Companies tab: Kaspersky tenant ↔ ConnectWise company and agreement, billing on/off,
// and how the tenant's last usage reading went. Built for hundreds of tenants: search and
// filters, the mapping form opens in the tenant's row, billing on/off for many at once.
import { html, useState, useEffect, useLayoutEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, getAll, may, messageOf } from './api.js';
import { TermsForm } from './company_terms.js';
import { Combobox, ErrorNotice, Notice, blockedBy, count, href, picksSettled, readable, routeParams, useId, useLoad, when, setUnsaved } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['Tenant']} Tenant */
/** @typedef {Schemas['CompanyMapping']} CompanyMapping */
/** @typedef {'all' | 'mapped' | 'unmapped' | 'billing_off' | 'not_billed'} Filter */

const FILTERS = /** @type {const} */ ([
  ['all', 'All tenants'],
  ['mapped', 'Mapped'],
  ['unmapped', 'Unmapped'],
  ['billing_off', 'Billing off'],
  ['not_billed', 'Not billed by the last run'],
]);
/** Rows shown at once; "Show more" adds as many. */
const PAGE = 50;

async function loadAll() {
  const [tenants, mappings, snapshots, runs, apps] = await Promise.all([
    /** @type {Promise<Tenant[]>} */ (getAll('/tenants')),
    /** @type {Promise<CompanyMapping[]>} */ (getAll('/company-mappings')),
    /** @type {Promise<Schemas['UsageSnapshotView'][]>} */ (getAll('/usage-snapshots', { latest: true })),
    /** @type {Promise<Schemas['Page_SyncRun']>} */ (get('/sync/runs', { finished: true, per_page: 1 })),
    /** @type {Promise<Schemas['SecurityApplicationView'][]>} */ (get('/security-applications')),
  ]);
  const skipped = runs.items[0]?.summary.skipped_tenants ?? [];
  return {
    tenants,
    mappings: new Map(mappings.map((m) => [m.tenant.id, m])),
    snapshots: new Map(snapshots.map((s) => [s.tenant.id, s])),
    notBilled: new Map(skipped.map((t) => [t.tenant_id, t])),
    apps: new Map(apps.map((a) => [a.id, a])),
  };
}

/** @param {string} text @returns {Promise<import('./ui.js').Found>} */
async function searchCompanies(text) {
  /** @type {Schemas['Page_CompanyView']} */
  const page = await get('/connectwise/companies', { search: text.trim(), per_page: 25 });
  return {
    choices: page.items.map((c) => ({ id: c.id, label: c.name ? `${c.name}${c.identifier ? ` (${c.identifier})` : ''}` : `Company ${c.id}`, match: c.name ?? undefined })),
    total: page.total,
  };
}

/** @param {{tenant: Tenant, mapping: CompanyMapping | undefined, onDone: (message: string | null) => void}} props */
function MappingForm({ tenant, mapping, onDone }) {
  const [company, setCompanyState] = useState(mapping ? { id: mapping.cw_company_id, label: mapping.cw_company_name } : null);
  const companyRef = useRef(company);
  /** @param {{id: number, label: string} | null} c */
  const setCompany = (c) => { companyRef.current = c; setCompanyState(c); };
  const [agreements, setAgreements] = useState(/** @type {Schemas['AgreementView'][] | null} */ (null));
  const [agreementId, setAgreementId] = useState(mapping ? String(mapping.agreement_id) : '');
  const [billing, setBilling] = useState(mapping ? mapping.billing_enabled : true);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);
  const agreementFieldId = useId('agreement');
  const billingFieldId = useId('billing');
  const first = useRef(/** @type {HTMLInputElement | null} */ (null));

  // Before the browser paints, so a key typed right after the click lands in the box.
  useLayoutEffect(() => { first.current?.focus(); }, []);

  useEffect(() => {
    setAgreements(null);
    if (!company) return;
    getAll(`/connectwise/companies/${company.id}/agreements`).then(
      (list) => {
        setAgreements(list);
        const usable = list.filter((a) => a.accepts_additions);
        if (!list.some((a) => String(a.id) === agreementId && a.accepts_additions)) setAgreementId(usable.length === 1 ? String(usable[0].id) : '');
      },
      setError,
    );
  }, [company?.id]);

  useEffect(() => { setUnsaved('The company mapping you are editing is not saved. Leave without saving it?'); return () => setUnsaved(null); }, []);

  /** @param {Event} e */
  async function submit(e) {
    e.preventDefault();
    await picksSettled();
    const chosen = companyRef.current;
    if (!chosen || !agreementId) { setError(new Error('Choose a ConnectWise company and one of its agreements.')); return; }
    setBusy(true);
    setError(null);
    const body = { tenant_id: tenant.id, cw_company_id: chosen.id, agreement_id: Number(agreementId), billing_enabled: billing };
    try {
      if (mapping) {
        const current = await call('GET', `/company-mappings/${mapping.id}`);
        await call('PUT', `/company-mappings/${mapping.id}`, { body, ifMatch: current.etag });
      } else {
        await call('POST', '/company-mappings', { body });
      }
      setUnsaved(null);
      onDone(`${tenant.name} is mapped to ${chosen.label}.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<form class="inline-form row-form" onSubmit=${submit} aria-label=${`${mapping ? 'Edit' : 'Map'} ${tenant.name}`}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => { if (e.key === 'Escape' && !e.defaultPrevented) { setUnsaved(null); onDone(null); } }}>
    <h2>${mapping ? 'Edit' : 'Map'} ${tenant.name}</h2>
    <${ErrorNotice} error=${error} />
    <${Combobox} label="ConnectWise company" visibleLabel="ConnectWise company" value=${company ? company.id : null} noun="company"
      valueLabel=${company ? company.label : ''} search=${searchCompanies} onChange=${setCompany} inputRef=${first} />
    <label for=${agreementFieldId}>Agreement</label>
    <select id=${agreementFieldId} value=${agreementId} disabled=${!agreements}
      onChange=${(/** @type {Event} */ e) => setAgreementId(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
      <option value="">${company ? (agreements ? 'Choose an agreement' : 'Loading agreements…') : 'Choose a company first'}</option>
      ${(agreements ?? []).map((a) => html`<option value=${String(a.id)} disabled=${!a.accepts_additions}>
        ${a.name ?? `Agreement ${a.id}`}${a.accepts_additions ? '' : ` (${a.status ?? 'cannot take additions'})`}</option>`)}
    </select>
    <div class="check"><input id=${billingFieldId} type="checkbox" checked=${billing}
      onChange=${(/** @type {Event} */ e) => setBilling(/** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
      <label for=${billingFieldId}>Billing enabled</label></div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>Save mapping</button>
      <button type="button" onClick=${() => { setUnsaved(null); onDone(null); }}>Cancel</button>
    </div>
  </form>`;
}

/** @param {Schemas['UsageSnapshotView'] | undefined} s */
function usageOf(s) {
  if (!s) return html`<span class="status status-unmapped">no reading yet</span>`;
  if (s.status === 'ok') return html`<span class="status status-complete">ok</span> <span class="sub">${when(s.taken_at)}</span>`;
  return html`<span class="status status-incomplete">${s.status}</span> <span class="sub">${s.error ?? ''} ${when(s.taken_at)}</span>`;
}

export function CompaniesScreen() {
  const editor = may('operator');
  const { data, error, reload } = useLoad(loadAll, []);
  const params = routeParams();
  const [query, setQuery] = useState('');
  const [filter, setFilter] = useState(/** @type {Filter} */ (FILTERS.some(([f]) => f === params.get('filter')) ? /** @type {Filter} */ (params.get('filter')) : 'all'));
  const [shown, setShown] = useState(PAGE);
  const [editing, setEditing] = useState(/** @type {string | null} */ (null));
  const [terms, setTerms] = useState(/** @type {string | null} */ (null));
  const [target, setTarget] = useState(/** @type {string | null} */ (params.get('tenant')));
  const [selected, setSelected] = useState(/** @type {Set<string>} */ (new Set()));
  const [message, setMessage] = useState(/** @type {{kind: 'ok' | 'warn', text: string, items?: string[]} | null} */ (null));
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));
  const searchId = useId('tenant-search');
  const filterId = useId('tenant-filter');

  // A link to a tenant (#/companies?tenant=…) or a filter: show it and put the focus there.
  useEffect(() => {
    const p = routeParams();
    const f = p.get('filter');
    if (f && FILTERS.some(([x]) => x === f)) setFilter(/** @type {Filter} */ (f));
    const t = p.get('tenant');
    if (!t || !data) return;
    setTarget(t);
    setQuery('');
    setFilter('all');
    const index = data.tenants.findIndex((x) => x.id === t);
    if (index >= shown) setShown(index + 1);
    window.requestAnimationFrame(() => {
      const row = document.getElementById(`tenant-${t}`);
      row?.scrollIntoView({ block: 'center' });
      const th = row?.querySelector('th');
      if (th instanceof HTMLElement) th.focus({ preventScroll: true });
    });
  }, [data !== undefined, location.hash]);

  /** @param {string} tenantId @param {string} [button] */
  function focusRowButton(tenantId, button = 'edit') {
    window.requestAnimationFrame(() => document.getElementById(`${button}-${tenantId}`)?.focus());
  }

  async function refreshTenants() {
    setActionError(null);
    try {
      await call('POST', '/tenants/refresh');
      setMessage({ kind: 'ok', text: 'Tenants re-discovered in Kaspersky Security Center.' });
      reload();
    } catch (e) { setActionError(e); }
  }

  /** @param {Tenant} t @param {CompanyMapping} m */
  async function unmap(t, m) {
    if (!window.confirm(`Unmap ${t.name} from ${m.cw_company_name}? Nothing changes in ConnectWise; the additions are no longer managed.`)) return;
    setActionError(null);
    try {
      const current = await call('GET', `/company-mappings/${m.id}`);
      await call('DELETE', `/company-mappings/${m.id}`, { ifMatch: current.etag });
      setMessage({ kind: 'ok', text: `${t.name} is no longer mapped.` });
      focusRowButton(t.id);
      reload();
    } catch (e) { setActionError(e); }
  }

  /** @param {Tenant} t @param {CompanyMapping} m @param {boolean} on */
  async function setBilling(t, m, on) {
    const current = await call('GET', `/company-mappings/${m.id}`);
    await call('PUT', `/company-mappings/${m.id}`, { ifMatch: current.etag, body: { tenant_id: t.id, cw_company_id: m.cw_company_id, agreement_id: m.agreement_id, billing_enabled: on } });
  }

  /** @param {Tenant} t @param {CompanyMapping} m */
  async function toggleBilling(t, m) {
    setActionError(null);
    try {
      await setBilling(t, m, !m.billing_enabled);
      setMessage({ kind: 'ok', text: `Billing ${m.billing_enabled ? 'disabled' : 'enabled'} for ${t.name}.` });
      reload();
    } catch (e) { setActionError(e); }
  }

  /** Billing on or off for every selected tenant, one after the other. @param {boolean} on */
  async function bulkBilling(on) {
    if (!data) return;
    const targets = data.tenants.filter((t) => selected.has(t.id) && data.mappings.get(t.id) && data.mappings.get(t.id)?.billing_enabled !== on);
    setActionError(null);
    /** @type {string[]} */
    const failed = [];
    let done = 0;
    for (const t of targets) {
      setBusy(`Billing ${on ? 'on' : 'off'}: ${done} of ${targets.length}…`);
      try { await setBilling(t, /** @type {CompanyMapping} */ (data.mappings.get(t.id)), on); done++; } catch (e) { failed.push(`${t.name}: ${messageOf(e)}`); }
    }
    setBusy(null);
    setSelected(new Set());
    setMessage(failed.length
      ? { kind: 'warn', text: `Billing ${on ? 'on' : 'off'} for ${count(done, 'tenant')}; ${failed.length} failed:`, items: failed }
      : { kind: 'ok', text: `Billing ${on ? 'on' : 'off'} for ${count(done, 'tenant')}${targets.length === 0 ? ' (it already was)' : ''}.` });
    reload();
  }

  const [bh, setBh] = useState({ name: '', external_id: '' });
  /** @param {Event} e */
  async function addBusinessHubTenant(e) {
    e.preventDefault();
    setActionError(null);
    try {
      await call('POST', '/tenants', { body: bh });
      setMessage({ kind: 'ok', text: `Business Hub tenant ${bh.name} added: its usage is pushed to /api/v1/usage-snapshots.` });
      setBh({ name: '', external_id: '' });
      reload();
    } catch (err) { setActionError(err); }
  }

  const needle = query.trim().toLowerCase();
  const rows = (data?.tenants ?? []).filter((t) => {
    const m = data?.mappings.get(t.id);
    if (filter === 'mapped' && !m) return false;
    if (filter === 'unmapped' && m) return false;
    if (filter === 'billing_off' && !(m && !m.billing_enabled)) return false;
    if (filter === 'not_billed' && !data?.notBilled.has(t.id)) return false;
    if (!needle) return true;
    return [t.name, t.external_id, m?.cw_company_name, m?.agreement_name].some((x) => x && x.toLowerCase().includes(needle));
  });
  const visible = rows.slice(0, shown);
  const selectable = visible.filter((t) => data?.mappings.get(t.id));
  const allSelected = selectable.length > 0 && selectable.every((t) => selected.has(t.id));
  const columns = editor ? 7 : 6;

  /** @param {string} id */
  function flip(id) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id); else next.add(id);
    setSelected(next);
  }

  return html`<section aria-labelledby="companies-title">
    <h1 id="companies-title" tabindex="-1">Companies</h1>
    <p class="lead">Each Kaspersky tenant bills one ConnectWise company, on one of its agreements.</p>
    <div class="toolbar filters">
      <div class="field"><label for=${searchId}>Search tenants</label>
        <input id=${searchId} type="search" value=${query} placeholder="Tenant, company or agreement"
          onInput=${(/** @type {Event} */ e) => { setQuery(/** @type {HTMLInputElement} */ (e.currentTarget).value); setShown(PAGE); }} /></div>
      <div class="field"><label for=${filterId}>Show</label>
        <select id=${filterId} value=${filter} onChange=${(/** @type {Event} */ e) => { setFilter(/** @type {Filter} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value)); setShown(PAGE); }}>
          ${FILTERS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select></div>
      ${editor && html`<button type="button" onClick=${refreshTenants}>Refresh tenants</button>`}
    </div>
    ${data && html`<p class="sub" role="status">${rows.length === data.tenants.length ? count(rows.length, 'tenant') : `${rows.length} of ${count(data.tenants.length, 'tenant')}`}</p>`}
    ${editor && selected.size > 0 && html`<div class="toolbar bulk" role="group" aria-label="Selected tenants">
      <span>${count(selected.size, 'tenant')} selected</span>
      <button type="button" disabled=${busy !== null} onClick=${() => bulkBilling(true)}>Billing on</button>
      <button type="button" disabled=${busy !== null} onClick=${() => bulkBilling(false)}>Billing off</button>
      <button type="button" class="link" onClick=${() => setSelected(new Set())}>Clear the selection</button>
    </div>`}
    ${busy && html`<p role="status" class="busy">${busy}</p>`}
    ${message && html`<${Notice} kind=${message.kind}>${message.text}${message.items && html`<ul>${message.items.map((i) => html`<li>${i}</li>`)}</ul>`}<//>`}
    <${ErrorNotice} error=${error || actionError} />
    ${!data ? html`<p role="status">Loading…</p>` : html`<div class="table-wrap"><table class="grid stack companies">
      <caption class="visually-hidden">Tenants and their ConnectWise companies</caption>
      <thead><tr>${editor && html`<th scope="col"><input type="checkbox" aria-label="Select every mapped tenant shown" checked=${allSelected}
          onChange=${() => setSelected(allSelected ? new Set() : new Set(selectable.map((t) => t.id)))} /></th>`}
        <th scope="col">Tenant</th><th scope="col">ConnectWise company</th><th scope="col">Agreement</th>
        <th scope="col">Billing</th><th scope="col">Last usage</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${visible.length === 0 && html`<tr><td colspan=${columns}>No tenant matches.</td></tr>`}
      ${visible.map((t) => {
        const m = data.mappings.get(t.id);
        const nb = data.notBilled.get(t.id);
        return [html`<tr key=${t.id} id=${`tenant-${t.id}`} class=${target === t.id ? 'target' : ''}>
          ${editor && html`<td class="select">${m && html`<input type="checkbox" aria-label=${`Select ${t.name}`} checked=${selected.has(t.id)} onChange=${() => flip(t.id)} />`}</td>`}
          <th scope="row" tabindex="-1">${t.name}<div class="sub">${t.solution === 'ksc' ? 'KSC' : 'Business Hub'}${t.enabled ? '' : ' · disabled'}${t.vanished ? ' · vanished' : ''}</div>
            ${nb && html`<div class="sub warn-text">Not billed since ${when(nb.since)}: ${readable(nb.reason, new Map([...data.apps].map(([k, a]) => [k, a.name])))}${blockedBy(nb.reason).map((a) => html` — <a href=${href('products', { row: a, ...(data.apps.get(a)?.solution === 'business_hub' ? { solution: 'business_hub' } : {}) })}>complete ${data.apps.get(a)?.name ?? a}</a>`)}</div>`}</th>
          <td data-label="Company">${m ? m.cw_company_name : html`<span class="status status-unmapped">unmapped</span>`}</td>
          <td data-label="Agreement">${m ? m.agreement_name : '—'}</td>
          <td data-label="Billing">${m ? (m.billing_enabled ? 'on' : 'off') : '—'}</td>
          <td data-label="Last usage">${usageOf(data.snapshots.get(t.id))}</td>
          <td class="row-actions">
            ${editor && html`<button type="button" id=${`edit-${t.id}`} aria-expanded=${editing === t.id ? 'true' : 'false'}
              onClick=${() => { setMessage(null); setTerms(null); setEditing(editing === t.id ? null : t.id); }} aria-label=${`${m ? 'Edit' : 'Map'} ${t.name}`}>${m ? 'Edit' : 'Map'}</button>`}
            ${m && html`<button type="button" id=${`terms-${t.id}`} aria-expanded=${terms === t.id ? 'true' : 'false'}
              onClick=${() => { setMessage(null); setEditing(null); setTerms(terms === t.id ? null : t.id); }} aria-label=${`Terms for ${t.name}`}>Terms</button>`}
            ${editor && m && html`<button type="button" onClick=${() => toggleBilling(t, m)} aria-label=${`${m.billing_enabled ? 'Disable' : 'Enable'} billing for ${t.name}`}>${m.billing_enabled ? 'Disable billing' : 'Enable billing'}</button>
              <button type="button" onClick=${() => unmap(t, m)} aria-label=${`Unmap ${t.name}`}>Unmap</button>`}
          </td>
        </tr>`,
        terms === t.id && m && html`<tr key=${`${t.id}-terms`} class="form-row"><td colspan=${columns}>
          <${TermsForm} key=${t.id} tenant=${t} mapping=${m} editor=${editor}
            onDone=${(/** @type {string | null} */ msg) => { setTerms(null); focusRowButton(t.id, 'terms'); if (msg) setMessage({ kind: 'ok', text: msg }); }} />
        </td></tr>`,
        editing === t.id && html`<tr key=${`${t.id}-form`} class="form-row"><td colspan=${columns}>
          <${MappingForm} key=${t.id} tenant=${t} mapping=${m}
            onDone=${(/** @type {string | null} */ msg) => { setEditing(null); focusRowButton(t.id); if (msg) { setMessage({ kind: 'ok', text: msg }); reload(); } }} />
        </td></tr>`];
      })}</tbody></table></div>
      ${rows.length > shown && html`<div class="actions"><button type="button" onClick=${() => setShown(shown + PAGE)}>Show ${Math.min(PAGE, rows.length - shown)} more (${rows.length - shown} not shown)</button></div>`}`}
    ${editor && html`<details class="card">
      <summary>Add a Kaspersky Business Hub tenant</summary>
      <form class="inline-form" onSubmit=${addBusinessHubTenant} aria-label="New Business Hub tenant">
        <p class="sub">Business Hub has no public API: its tenants are added here and their usage is pushed by a script.</p>
        <label for="bh-name">Name</label>
        <input id="bh-name" required value=${bh.name} onInput=${(/** @type {Event} */ e) => setBh({ ...bh, name: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
        <label for="bh-external">External id (the Business Hub company id)</label>
        <input id="bh-external" required value=${bh.external_id} onInput=${(/** @type {Event} */ e) => setBh({ ...bh, external_id: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
        <div class="actions"><button type="submit">Add tenant</button></div>
      </form>
    </details>`}
  </section>`;
}
