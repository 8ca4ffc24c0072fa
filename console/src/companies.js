// @ts-check
// The Companies tab: Kaspersky tenant ↔ ConnectWise company and agreement, billing on/off,
// and how the tenant's last usage reading went.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { call, get, getAll, may } from './api.js';
import { Combobox, ErrorNotice, Notice, useId, useLoad, when, setUnsaved } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['Tenant']} Tenant */
/** @typedef {Schemas['CompanyMapping']} CompanyMapping */

async function loadAll() {
  const [tenants, mappings, snapshots] = await Promise.all([
    /** @type {Promise<Tenant[]>} */ (getAll('/tenants')),
    /** @type {Promise<CompanyMapping[]>} */ (getAll('/company-mappings')),
    /** @type {Promise<Schemas['UsageSnapshotView'][]>} */ (getAll('/usage-snapshots', { latest: true })),
  ]);
  return {
    tenants,
    mappings: new Map(mappings.map((m) => [m.tenant.id, m])),
    snapshots: new Map(snapshots.map((s) => [s.tenant.id, s])),
  };
}

/** @param {string} text */
async function searchCompanies(text) {
  /** @type {Schemas['Page_CompanyView']} */
  const page = await get('/connectwise/companies', { search: text.trim(), per_page: 25 });
  return page.items.map((c) => ({ id: c.id, label: c.name ? `${c.name}${c.identifier ? ` (${c.identifier})` : ''}` : `Company ${c.id}` }));
}

/** @param {{tenant: Tenant, mapping: CompanyMapping | undefined, onDone: (message: string | null) => void}} props */
function MappingForm({ tenant, mapping, onDone }) {
  const [company, setCompany] = useState(mapping ? { id: mapping.cw_company_id, label: mapping.cw_company_name } : null);
  const [agreements, setAgreements] = useState(/** @type {Schemas['AgreementView'][] | null} */ (null));
  const [agreementId, setAgreementId] = useState(mapping ? String(mapping.agreement_id) : '');
  const [billing, setBilling] = useState(mapping ? mapping.billing_enabled : true);
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);
  const agreementFieldId = useId('agreement');
  const billingFieldId = useId('billing');

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
    if (!company || !agreementId) { setError(new Error('Choose a ConnectWise company and one of its agreements.')); return; }
    setBusy(true);
    setError(null);
    const body = { tenant_id: tenant.id, cw_company_id: company.id, agreement_id: Number(agreementId), billing_enabled: billing };
    try {
      if (mapping) {
        const current = await call('GET', `/company-mappings/${mapping.id}`);
        await call('PUT', `/company-mappings/${mapping.id}`, { body, ifMatch: current.etag });
      } else {
        await call('POST', '/company-mappings', { body });
      }
      setUnsaved(null);
      onDone(`${tenant.name} is mapped to ${company.label}.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return html`<form class="card inline-form" onSubmit=${submit} aria-label=${`Map ${tenant.name}`}>
    <h2>${mapping ? 'Edit' : 'Map'} ${tenant.name}</h2>
    <${ErrorNotice} error=${error} />
    <${Combobox} label="ConnectWise company" visibleLabel="ConnectWise company" value=${company ? company.id : null}
      valueLabel=${company ? company.label : ''} search=${searchCompanies} onChange=${setCompany} />
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
  const [editing, setEditing] = useState(/** @type {string | null} */ (null));
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));

  async function refreshTenants() {
    setActionError(null);
    try {
      await call('POST', '/tenants/refresh');
      setMessage('Tenants re-discovered in Kaspersky Security Center.');
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
      setMessage(`${t.name} is no longer mapped.`);
      reload();
    } catch (e) { setActionError(e); }
  }

  /** @param {Tenant} t @param {CompanyMapping} m */
  async function toggleBilling(t, m) {
    setActionError(null);
    try {
      const current = await call('GET', `/company-mappings/${m.id}`);
      await call('PUT', `/company-mappings/${m.id}`, { ifMatch: current.etag, body: { tenant_id: t.id, cw_company_id: m.cw_company_id, agreement_id: m.agreement_id, billing_enabled: !m.billing_enabled } });
      setMessage(`Billing ${m.billing_enabled ? 'disabled' : 'enabled'} for ${t.name}.`);
      reload();
    } catch (e) { setActionError(e); }
  }

  const [bh, setBh] = useState({ name: '', external_id: '' });
  /** @param {Event} e */
  async function addBusinessHubTenant(e) {
    e.preventDefault();
    setActionError(null);
    try {
      await call('POST', '/tenants', { body: bh });
      setMessage(`Business Hub tenant ${bh.name} added: its usage is pushed to /api/v1/usage-snapshots.`);
      setBh({ name: '', external_id: '' });
      reload();
    } catch (err) { setActionError(err); }
  }

  return html`<section aria-labelledby="companies-title">
    <h1 id="companies-title" tabindex="-1">Companies</h1>
    <p class="lead">Each Kaspersky tenant bills one ConnectWise company, on one of its agreements.</p>
    ${editor && html`<div class="toolbar"><button type="button" onClick=${refreshTenants}>Refresh tenants</button></div>`}
    ${message && html`<${Notice} kind="ok">${message}<//>`}
    <${ErrorNotice} error=${error || actionError} />
    ${!data ? html`<p role="status">Loading…</p>` : html`<div class="table-wrap"><table class="grid">
      <thead><tr><th scope="col">Tenant</th><th scope="col">ConnectWise company</th><th scope="col">Agreement</th>
        <th scope="col">Billing</th><th scope="col">Last usage</th>${editor && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}</tr></thead>
      <tbody>${data.tenants.map((t) => {
        const m = data.mappings.get(t.id);
        return html`<tr key=${t.id}>
          <th scope="row">${t.name}<div class="sub">${t.solution === 'ksc' ? 'KSC' : 'Business Hub'}${t.enabled ? '' : ' · disabled'}${t.vanished ? ' · vanished' : ''}</div></th>
          <td>${m ? m.cw_company_name : html`<span class="status status-unmapped">unmapped</span>`}</td>
          <td>${m ? m.agreement_name : '—'}</td>
          <td>${m ? (m.billing_enabled ? 'on' : 'off') : '—'}</td>
          <td>${usageOf(data.snapshots.get(t.id))}</td>
          ${editor && html`<td class="row-actions">
            <button type="button" onClick=${() => { setMessage(null); setEditing(t.id); }} aria-label=${`${m ? 'Edit' : 'Map'} ${t.name}`}>${m ? 'Edit' : 'Map'}</button>
            ${m && html`<button type="button" onClick=${() => toggleBilling(t, m)} aria-label=${`${m.billing_enabled ? 'Disable' : 'Enable'} billing for ${t.name}`}>${m.billing_enabled ? 'Disable billing' : 'Enable billing'}</button>
              <button type="button" onClick=${() => unmap(t, m)} aria-label=${`Unmap ${t.name}`}>Unmap</button>`}
          </td>`}
        </tr>`;
      })}</tbody></table></div>`}
    ${editing && data && html`<${MappingForm} key=${editing}
      tenant=${/** @type {Tenant} */ (data.tenants.find((t) => t.id === editing))}
      mapping=${data.mappings.get(editing)}
      onDone=${(/** @type {string | null} */ msg) => { setEditing(null); if (msg) { setMessage(msg); reload(); } }} />`}
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
