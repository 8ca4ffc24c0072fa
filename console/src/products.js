// @ts-check
// The Products tab: which ConnectWise product bills each Kaspersky security application.
import { html, useState, useEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, may, messageOf, ApiError } from './api.js';
import { Combobox, Notice, setUnsaved, useId } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['MappingGrid']} MappingGrid */
/** @typedef {Schemas['MappingView']} MappingView */
/** @typedef {Schemas['Solution']} Solution */
/** @typedef {{product_id: number | null, workstation_product_id: number | null, server_product_id: number | null, non_windows_product_id: number | null}} Forms */
/** @typedef {{grid: MappingGrid, etag: string | null, billingEtag: string | null}} Loaded */
/** @typedef {'workstation_product_id' | 'server_product_id' | 'non_windows_product_id'} CategoryField */

/** @type {Array<{field: CategoryField, label: string}>} */
const CATEGORIES = [
  { field: 'workstation_product_id', label: 'Windows workstations' },
  { field: 'server_product_id', label: 'Windows servers' },
  { field: 'non_windows_product_id', label: 'Non-Windows devices' },
];

const SOLUTIONS = /** @type {const} */ ([
  ['ksc', 'Kaspersky Security Center'],
  ['business_hub', 'Kaspersky Business Hub'],
]);

const UNITS = { per_device: 'per device', per_user: 'per user', per_mailbox: 'per mailbox' };

/** @param {MappingView | Forms} m @returns {Forms} */
function formsOf(m) {
  return {
    product_id: m.product_id ?? null,
    workstation_product_id: m.workstation_product_id ?? null,
    server_product_id: m.server_product_id ?? null,
    non_windows_product_id: m.non_windows_product_id ?? null,
  };
}

/** @param {Forms} a @param {Forms} b */
function sameForms(a, b) {
  return a.product_id === b.product_id && CATEGORIES.every((c) => a[c.field] === b[c.field]);
}

/** @param {Forms} f */
function categoryCount(f) {
  return CATEGORIES.filter((c) => f[c.field] !== null).length;
}

/**
 * The status the server would give: complete, incomplete or unmapped (in the mode in force).
 * @param {Forms} f @param {boolean} byCategory @param {MappingView} row
 */
function statusOf(f, byCategory, row) {
  const any = f.product_id !== null || categoryCount(f) > 0;
  if (!any) return 'unmapped';
  if (byCategory && row.licensing_model === 'per_device') return categoryCount(f) === 3 ? 'complete' : 'incomplete';
  return f.product_id !== null ? 'complete' : 'incomplete';
}

/**
 * The API's rules for one edited row, checked before anything is sent.
 * @param {Forms} f @param {boolean} byCategory @param {MappingView} row @returns {string | null}
 */
function problemOf(f, byCategory, row) {
  const n = categoryCount(f);
  if (row.licensing_model === 'per_device' && n > 0 && n < 3) return 'choose all three category products, or none (one product may serve several categories)';
  if (statusOf(f, byCategory, row) === 'incomplete') {
    return byCategory && row.licensing_model === 'per_device'
      ? 'needs all three category products while "Bill devices by category" is on'
      : 'needs a product while "Bill devices by category" is off';
  }
  return null;
}

/** @param {Solution} solution @returns {Promise<Loaded>} */
async function load(solution) {
  const [grid, billing] = await Promise.all([
    call('GET', '/product-mappings', { query: { solution } }),
    call('GET', '/settings/billing'),
  ]);
  return { grid: grid.data, etag: grid.etag, billingEtag: billing.etag };
}

/** @param {Schemas['Product'] | Schemas['ProductRef']} p */
function productLabel(p) {
  return p.identifier ? `${p.identifier} — ${p.description ?? ''}`.replace(/ — $/, '') : `Product ${p.id} (not in the catalog)`;
}

/** @param {string} text */
async function searchProducts(text) {
  /** @type {Schemas['Page_Product']} */
  const page = await get('/connectwise/products', { search: text.trim(), per_page: 25 });
  return page.items.map((p) => ({ id: p.id, label: productLabel(p) }));
}

export function ProductsScreen() {
  const editor = may('operator');
  const [solution, setSolution] = useState(/** @type {Solution} */ ('ksc'));
  const [loaded, setLoaded] = useState(/** @type {Loaded | null} */ (null));
  const [edits, setEdits] = useState(/** @type {Record<string, Forms>} */ ({}));
  const [toggle, setToggle] = useState(/** @type {boolean | null} */ (null));
  const [labels, setLabels] = useState(/** @type {Record<number, string>} */ ({}));
  const [notice, setNotice] = useState(/** @type {{kind: 'ok' | 'error' | 'warn' | 'info', text: string, items?: string[]} | null} */ (null));
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  const toggleId = useId('bill-by-category');
  const headingRef = useRef(/** @type {HTMLHeadingElement | null} */ (null));

  /** @param {Loaded} l */
  function remember(l) {
    /** @type {Record<number, string>} */
    const known = {};
    for (const row of l.grid.mappings) for (const p of row.products) known[p.id] = productLabel(p);
    setLabels((old) => ({ ...old, ...known }));
    setLoaded(l);
  }

  async function reload() {
    try { remember(await load(solution)); } catch (e) { setNotice({ kind: 'error', text: messageOf(e) }); }
  }

  useEffect(() => { setLoaded(null); setEdits({}); setToggle(null); reload(); }, [solution]);

  const byCategory = toggle ?? loaded?.grid.bill_devices_by_category ?? false;
  const toggleChanged = loaded !== null && toggle !== null && toggle !== loaded.grid.bill_devices_by_category;
  const dirty = toggleChanged || Object.keys(edits).length > 0;
  useEffect(() => {
    setUnsaved(dirty ? 'The Products tab has unsaved changes. Leave without saving them?' : null);
  }, [dirty]);
  useEffect(() => () => setUnsaved(null), []);

  /** @param {MappingView} row @param {Forms} next */
  function edit(row, next) {
    setNotice(null);
    setEdits((old) => {
      const copy = { ...old };
      if (sameForms(next, formsOf(row))) delete copy[row.application_id];
      else copy[row.application_id] = next;
      return copy;
    });
  }

  /** @param {Solution} next */
  function switchSolution(next) {
    if (next === solution) return;
    if (dirty && !window.confirm('The Products tab has unsaved changes. Switch and discard them?')) return;
    setUnsaved(null);
    setNotice(null);
    setSolution(next);
  }

  async function refreshCatalog() {
    setBusy('Refreshing the catalog…');
    try {
      /** @type {Schemas['RefreshResult']} */
      const r = (await call('POST', '/connectwise/products/refresh')).data;
      setNotice({ kind: 'ok', text: `Catalog refreshed: ${r.total} products in ConnectWise (${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.vanished} gone).` });
      // Descriptions may have changed: show the new ones. The grid as loaded (and its ETag)
      // stays, with every edit: a catalog refresh never makes edits stale.
      const l = await load(solution);
      /** @type {Record<number, string>} */
      const known = {};
      for (const row of l.grid.mappings) for (const p of row.products) known[p.id] = productLabel(p);
      setLabels((old) => ({ ...old, ...known }));
    } catch (e) {
      setNotice({ kind: 'error', text: messageOf(e) });
    } finally {
      setBusy(null);
    }
  }

  /** Someone else saved since we loaded: show what they changed, keep every edit. */
  async function conflict() {
    if (!loaded) return;
    const latest = await load(solution);
    const before = new Map(loaded.grid.mappings.map((m) => [m.application_id, formsOf(m)]));
    /** @type {Record<number, string>} */
    const known = { ...labels };
    for (const row of latest.grid.mappings) for (const p of row.products) known[p.id] = productLabel(p);
    const changed = latest.grid.mappings
      .filter((m) => { const b = before.get(m.application_id); return !b || !sameForms(b, formsOf(m)); })
      .map((m) => `${m.application_name}: now ${describe(formsOf(m), latest.grid.bill_devices_by_category, m, known)}`);
    if (latest.grid.bill_devices_by_category !== loaded.grid.bill_devices_by_category) {
      changed.push(`Bill devices by category: now ${latest.grid.bill_devices_by_category ? 'on' : 'off'}`);
    }
    if (changed.length === 0) changed.push('(another solution\'s mappings or the billing settings)');
    remember(latest);
    if (toggle !== null && toggle === latest.grid.bill_devices_by_category) setToggle(null);
    setNotice({
      kind: 'warn',
      text: 'Someone else saved changes since you opened this tab, so nothing of yours was saved. Your edits are still here, on top of their version: check them and click Save changes again, or Discard changes.',
      items: changed,
    });
  }

  /** @param {Forms} f @param {boolean} cat @param {MappingView} row @param {Record<number, string>} known */
  function describe(f, cat, row, known) {
    /** @param {number | null} id */
    const name = (id) => (id === null ? 'none' : (known[id] ?? `product ${id}`).split(' — ')[0]);
    if (cat && row.licensing_model === 'per_device') return CATEGORIES.map((c) => `${c.label} ${name(f[c.field])}`).join(', ');
    return name(f.product_id);
  }

  async function save() {
    if (!loaded) return;
    const rows = loaded.grid.mappings;
    const problems = rows.filter((r) => edits[r.application_id])
      .map((r) => { const p = problemOf(edits[r.application_id], byCategory, r); return p && `${r.application_name}: ${p}`; })
      .filter((p) => p !== null);
    if (problems.length) {
      setNotice({ kind: 'error', text: 'Nothing was saved: some rows are not complete.', items: /** @type {string[]} */ (problems) });
      return;
    }
    setBusy('Saving…');
    setNotice(null);
    try {
      let etag = loaded.etag;
      if (toggleChanged) {
        // The grid's ETag covers the billing settings too: check that nothing changed before
        // switching, then save the rows against the grid as it is after the switch.
        const fresh = await call('GET', '/product-mappings', { query: { solution } });
        if (fresh.etag !== etag) throw new ApiError(412, null);
        await call('PUT', '/settings/billing', { body: { bill_devices_by_category: toggle }, ifMatch: loaded.billingEtag });
        const after = await call('GET', '/product-mappings', { query: { solution } });
        /** @type {MappingGrid} */
        const a = after.data;
        /** @type {MappingGrid} */
        const f = fresh.data;
        const same = a.mappings.length === f.mappings.length && a.mappings.every((m, i) => sameForms(formsOf(m), formsOf(f.mappings[i])));
        if (!same) throw new ApiError(412, null);
        etag = after.etag;
      }
      const body = { rows: Object.entries(edits).map(([application_id, forms]) => ({ application_id, ...forms })) };
      if (body.rows.length) await call('PUT', '/product-mappings', { body, ifMatch: etag });
      setEdits({});
      setToggle(null);
      setUnsaved(null);
      remember(await load(solution));
      setNotice({ kind: 'ok', text: `Saved: ${body.rows.length} mapping${body.rows.length === 1 ? '' : 's'}${toggleChanged ? `, Bill devices by category ${toggle ? 'on' : 'off'}` : ''}.` });
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) await conflict().catch((err) => setNotice({ kind: 'error', text: messageOf(err) }));
      else setNotice({ kind: 'error', text: messageOf(e), items: e instanceof ApiError ? e.fieldMessages() : undefined });
    } finally {
      setBusy(null);
    }
  }

  function discard() {
    setEdits({});
    setToggle(null);
    setNotice(null);
  }

  /** @param {MappingView} row @param {Forms} f @param {'product_id' | CategoryField} field @param {string} label */
  function picker(row, f, field, label) {
    const value = f[field];
    const text = value === null ? '' : labels[value] ?? `Product ${value}`;
    if (!editor) return html`<span class="product">${text || '—'}</span>`;
    return html`<${Combobox} label=${`${row.application_name} – ${label}`} visibleLabel=${field === 'product_id' ? undefined : label}
      value=${value} valueLabel=${text} search=${searchProducts}
      onChange=${(/** @type {import('./ui.js').Choice | null} */ c) => {
        if (c) setLabels((old) => ({ ...old, [c.id]: c.label }));
        edit(row, { ...f, [field]: c ? c.id : null });
      }} />`;
  }

  return html`<section aria-labelledby="products-title">
    <h1 id="products-title" tabindex="-1" ref=${headingRef}>Products</h1>
    <p class="lead">Which ConnectWise product bills each Kaspersky security application.</p>
    <div class="toolbar">
      <fieldset class="segmented">
        <legend>Solution</legend>
        ${SOLUTIONS.map(([value, label]) => html`<label key=${value}>
          <input type="radio" name="solution" value=${value} checked=${solution === value}
            onChange=${() => switchSolution(value)} /> ${label}</label>`)}
      </fieldset>
      ${solution === 'ksc' && (editor
        ? html`<div class="switch">
            <input id=${toggleId} type="checkbox" role="switch" checked=${byCategory}
              onChange=${(/** @type {Event} */ e) => { setNotice(null); setToggle(/** @type {HTMLInputElement} */ (e.currentTarget).checked); }} />
            <label for=${toggleId}>Bill devices by category</label>
          </div>`
        : html`<p class="switch-readonly">Bill devices by category: <strong>${byCategory ? 'on' : 'off'}</strong></p>`)}
    </div>
    ${solution === 'ksc' && html`<p class="hint">${byCategory
      ? 'On: per-device applications are billed with three products — Windows workstations, Windows servers and non-Windows devices.'
      : 'Off: each application is billed with one product.'}</p>`}
    ${notice && html`<${Notice} kind=${notice.kind}>${notice.text}
      ${notice.items && notice.items.length > 0 && html`<ul>${notice.items.map((i) => html`<li>${i}</li>`)}</ul>`}<//>`}
    ${busy && html`<p role="status" class="busy">${busy}</p>`}
    ${!loaded ? html`<p role="status">Loading…</p>` : html`
    <div class="table-wrap"><table class="grid products">
      <caption class="visually-hidden">Security applications and their ConnectWise products</caption>
      <thead><tr><th scope="col">Security application</th><th scope="col">Licensing</th><th scope="col">ConnectWise product</th><th scope="col">Status</th></tr></thead>
      <tbody>
      ${loaded.grid.mappings.map((row) => {
        const f = edits[row.application_id] ?? formsOf(row);
        const cat = byCategory && row.licensing_model === 'per_device';
        const status = statusOf(f, byCategory, row);
        const edited = Boolean(edits[row.application_id]);
        return html`<tr key=${row.application_id} class=${edited ? 'edited' : ''}>
          <th scope="row">${row.application_name}<div class="sub">${row.application_id}</div></th>
          <td>${UNITS[row.licensing_model]}</td>
          <td class="pickers">${cat
            ? html`<div class="three">${CATEGORIES.map((c) => html`<div key=${c.field}>${picker(row, f, c.field, c.label)}</div>`)}</div>`
            : picker(row, f, 'product_id', 'Product')}</td>
          <td><span class=${`status status-${status}`}>${status}</span>${edited && html` <span class="edited-mark">edited</span>`}</td>
        </tr>`;
      })}
      </tbody>
    </table></div>`}
    ${editor && html`<div class="actions sticky">
      <button type="button" class="primary" disabled=${!dirty || busy !== null} onClick=${save}>Save changes</button>
      <button type="button" disabled=${!dirty || busy !== null} onClick=${discard}>Discard changes</button>
      <button type="button" disabled=${busy !== null} onClick=${refreshCatalog}>Refresh catalog</button>
    </div>`}
  </section>`;
}
