// @ts-check
// The audit trail: who changed which configuration, when, and how (before → after), filtered
// by who, what and when. Accounts, tokens and connections are an admin's to read.
import { html, useState } from './vendor/htm-preact.mjs';
import { get, getAll, may } from './api.js';
import { ErrorNotice, count, useId, useLoad, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['AuditEvent']} AuditEvent */

/** What the console calls each kind of entity; admins also see the first three. */
const ENTITIES = /** @type {const} */ ([
  ['user', 'Users', true],
  ['service_token', 'Service tokens', true],
  ['connection', 'Connections', true],
  ['product_mapping', 'Product mappings', false],
  ['billing_settings', 'Billing settings', false],
  ['security_application', 'Security applications', false],
  ['company_mapping', 'Company mappings', false],
  ['tenant', 'Tenants', false],
  ['sync_settings', 'Sync settings', false],
]);
const PER_PAGE = 25;

/** Names for the ids events carry: tenants, applications, company mappings. */
async function loadNames() {
  const [tenants, apps, mappings] = await Promise.all([
    /** @type {Promise<Schemas['Tenant'][]>} */ (getAll('/tenants')),
    /** @type {Promise<Schemas['SecurityApplicationView'][]>} */ (get('/security-applications')),
    /** @type {Promise<Schemas['CompanyMapping'][]>} */ (getAll('/company-mappings')),
  ]);
  /** @type {Map<string, string>} */
  const names = new Map();
  for (const t of tenants) names.set(t.id, t.name);
  for (const a of apps) names.set(a.id, a.name);
  for (const m of mappings) names.set(m.id, `${m.tenant.name} → ${m.cw_company_name}`);
  return names;
}

/** A value as one short line. @param {unknown} v */
function show(v) {
  if (v === undefined) return '—';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** The fields that changed, old → new. @param {AuditEvent} e @returns {Array<[string, string, string]>} */
function changes(e) {
  const before = e.before && typeof e.before === 'object' ? /** @type {Record<string, unknown>} */ (e.before) : {};
  const after = e.after && typeof e.after === 'object' ? /** @type {Record<string, unknown>} */ (e.after) : {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => [k, e.before == null ? '—' : show(before[k]), e.after == null ? '—' : show(after[k])]);
}

/** The start of a day in local time, as an instant. @param {string} day YYYY-MM-DD @param {number} [plus] days */
function dayStart(day, plus = 0) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d + plus).toISOString();
}

export function AuditScreen() {
  const admin = may('admin');
  const [filters, setFilters] = useState({ actor: '', entity_type: '', entity_id: '', from: '', to: '' });
  const [applied, setApplied] = useState(filters);
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState(/** @type {string | null} */ (null));
  const names = useLoad(loadNames, []);
  const events = useLoad(() => /** @type {Promise<Schemas['Page_AuditEvent']>} */ (get('/audit-events', {
    actor: applied.actor.trim(), entity_type: applied.entity_type, entity_id: applied.entity_id.trim(),
    since: applied.from ? dayStart(applied.from) : undefined, until: applied.to ? dayStart(applied.to, 1) : undefined,
    page, per_page: PER_PAGE,
  })), [applied, page]);
  const id = useId('audit');
  /** @param {keyof typeof filters} name @param {string} value */
  const set = (name, value) => setFilters({ ...filters, [name]: value });
  /** @param {Event} e */
  function apply(e) { e.preventDefault(); setPage(1); setApplied(filters); }
  /** @param {string} entityId */
  const nameOf = (entityId) => names.data?.get(entityId);
  const data = events.data;
  return html`<section aria-labelledby="audit-title">
    <h1 id="audit-title" tabindex="-1">Audit trail</h1>
    <p class="lead">Who changed which configuration, when, and how. ${admin ? '' : 'Accounts, tokens and connections are shown to admins only.'}</p>
    <form class="toolbar filters" onSubmit=${apply} aria-label="Filter the audit trail">
      <div class="field"><label for=${`${id}-who`}>Who</label>
        <input id=${`${id}-who`} value=${filters.actor} placeholder="User or token name" onInput=${(/** @type {Event} */ e) => set('actor', /** @type {HTMLInputElement} */ (e.currentTarget).value)} /></div>
      <div class="field"><label for=${`${id}-what`}>What</label>
        <select id=${`${id}-what`} value=${filters.entity_type} onChange=${(/** @type {Event} */ e) => set('entity_type', /** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
          <option value="">Everything</option>
          ${ENTITIES.filter(([, , adminOnly]) => admin || !adminOnly).map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select></div>
      <div class="field"><label for=${`${id}-from`}>From</label>
        <input id=${`${id}-from`} type="date" value=${filters.from} onInput=${(/** @type {Event} */ e) => set('from', /** @type {HTMLInputElement} */ (e.currentTarget).value)} /></div>
      <div class="field"><label for=${`${id}-to`}>To</label>
        <input id=${`${id}-to`} type="date" value=${filters.to} onInput=${(/** @type {Event} */ e) => set('to', /** @type {HTMLInputElement} */ (e.currentTarget).value)} /></div>
      <div class="field"><label for=${`${id}-entity`}>Entity id (optional)</label>
        <input id=${`${id}-entity`} value=${filters.entity_id} onInput=${(/** @type {Event} */ e) => set('entity_id', /** @type {HTMLInputElement} */ (e.currentTarget).value)} /></div>
      <button type="submit" class="primary">Show</button>
      <button type="button" onClick=${() => { const none = { actor: '', entity_type: '', entity_id: '', from: '', to: '' }; setFilters(none); setApplied(none); setPage(1); }}>Clear</button>
    </form>
    <${ErrorNotice} error=${events.error} />
    ${!data ? html`<p role="status">Loading…</p>` : html`
      <p class="sub" role="status">${count(data.total, 'event')}${data.total > PER_PAGE ? `, ${PER_PAGE} a page` : ''}.</p>
      <div class="table-wrap"><table class="grid stack">
        <caption class="visually-hidden">Audit events, newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Change</th></tr></thead>
        <tbody>${data.items.length === 0 && html`<tr><td colspan="4">No event matches.</td></tr>`}
        ${data.items.map((e) => {
          const fields = changes(e);
          const label = ENTITIES.find(([t]) => t === e.entity_type)?.[1] ?? e.entity_type;
          return html`<tr key=${e.id}>
            <td data-label="When">${when(e.occurred_at)}</td>
            <td data-label="Who">${e.actor_name}${e.client_address && html`<div class="sub">from ${e.client_address}</div>`}</td>
            <td data-label="What">${e.action} · ${label}<div class="sub">${nameOf(e.entity_id) ?? e.entity_id}</div></td>
            <td data-label="Change">${fields.length === 0 ? '—' : html`
              <button type="button" class="link" aria-expanded=${open === e.id ? 'true' : 'false'} onClick=${() => setOpen(open === e.id ? null : e.id)}>${count(fields.length, 'field')}</button>
              ${open === e.id && html`<ul class="diff">${fields.map(([k, b, a]) => html`<li key=${k}><code>${k}</code>: ${b} → ${a}</li>`)}</ul>`}`}</td>
          </tr>`;
        })}</tbody></table></div>
      <div class="pager">
        <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Newer</button>
        <span>Page ${page} of ${Math.max(1, Math.ceil(data.total / PER_PAGE))}</span>
        <button type="button" disabled=${page * PER_PAGE >= data.total} onClick=${() => setPage(page + 1)}>Older</button>
      </div>`}
  </section>`;
}
