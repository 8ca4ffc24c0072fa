// @ts-check
// The Products tab: which ConnectWise product bills each Kaspersky security application.
import { html, useState, useEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, may, messageOf, ApiError } from './api.js';
import { Combobox, Notice, picksSettled, routeParams, setUnsaved, useId } from './ui.js';
import { BillingProfiles } from './billing_profiles.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['MappingGrid']} MappingGrid */
/** @typedef {Schemas['MappingView']} MappingView */
/** @typedef {Schemas['Solution']} Solution */
/** @typedef {{product_id: number | null, workstation_product_id: number | null, server_product_id: number | null, non_windows_product_id: number | null}} Forms */
/** @typedef {{grid: MappingGrid, etag: string | null, billingEtag: string | null}} Loaded */
/** @typedef {'workstation_product_id' | 'server_product_id' | 'non_windows_product_id'} CategoryField */
/** @typedef {{kind: 'ok' | 'error' | 'warn' | 'info', text: string, items?: Array<string | {text: string, row: string}>, saveAnyway?: boolean}} ScreenNotice */

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

/** What an incomplete row still needs. @param {boolean} byCategory @param {MappingView} row */
function needs(byCategory, row) {
  return byCategory && row.licensing_model === 'per_device'
    ? 'needs all three category products while "Bill devices by category" is on'
    : 'needs a product while "Bill devices by category" is off';
}

/**
 * The API's rules for one edited row, checked before anything is sent.
 * @param {Forms} f @param {boolean} byCategory @param {MappingView} row @returns {string | null}
 */
function problemOf(f, byCategory, row) {
  const n = categoryCount(f);
  if (row.licensing_model === 'per_device' && n > 0 && n < 3) return 'choose all three category products, or none (one product may serve several categories)';
  if (statusOf(f, byCategory, row) === 'incomplete') return needs(byCategory, row);
  return null;
}

/**
 * The form a row gets when "Bill devices by category" is switched, where the products are
 * known: a single product serves the three categories; three equal category products become
 * the single product. Null when nothing can be carried over (or nothing needs to be).
 * @param {Forms} f @param {boolean} toCategory @param {MappingView} row @returns {Forms | null}
 */
function carried(f, toCategory, row) {
  if (row.licensing_model !== 'per_device') return null;
  if (toCategory) {
    if (categoryCount(f) > 0 || f.product_id === null) return null;
    return { ...f, workstation_product_id: f.product_id, server_product_id: f.product_id, non_windows_product_id: f.product_id };
  }
  if (f.product_id !== null || categoryCount(f) !== 3) return null;
  const [a, b, c] = CATEGORIES.map((x) => f[x.field]);
  return a === b && b === c ? { ...f, product_id: a } : null;
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

/** The products the grid's saved mappings bill on, each once. @param {MappingGrid} grid */
function billedProducts(grid) {
  /** @type {Map<number, {id: number, label: string}>} */
  const found = new Map();
  for (const row of grid.mappings) for (const p of row.products) found.set(p.id, { id: p.id, label: productLabel(p) });
  return [...found.values()];
}

/** @param {string} text @returns {Promise<import('./ui.js').Found>} */
async function searchProducts(text) {
  /** @type {Schemas['Page_Product']} */
  const page = await get('/connectwise/products', { search: text.trim(), per_page: 25 });
  return { choices: page.items.map((p) => ({ id: p.id, label: productLabel(p), match: p.identifier })), total: page.total };
}

export function ProductsScreen() {
  const editor = may('operator');
  const params = routeParams();
  const wanted = params.get('row');
  const [solution, setSolution] = useState(/** @type {Solution} */ (params.get('solution') === 'business_hub' ? 'business_hub' : 'ksc'));
  const [loaded, setLoaded] = useState(/** @type {Loaded | null} */ (null));
  const [edits, setEditsState] = useState(/** @type {Record<string, Forms>} */ ({}));
  // The same edits, current at once (a Save right after a pick reads them after the pick).
  const editsRef = useRef(/** @type {Record<string, Forms>} */ ({}));
  /** @param {Record<string, Forms>} next */
  const setEdits = (next) => { editsRef.current = next; setEditsState(next); };
  const [carriedRows, setCarried] = useState(/** @type {Record<string, Forms>} */ ({}));
  const [toggle, setToggle] = useState(/** @type {boolean | null} */ (null));
  const [labels, setLabels] = useState(/** @type {Record<number, string>} */ ({}));
  const [notice, setNotice] = useState(/** @type {ScreenNotice | null} */ (null));
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  const [highlight, setHighlight] = useState(/** @type {string | null} */ (wanted));
  const toggleId = useId('bill-by-category');

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

  useEffect(() => { setLoaded(null); setEdits({}); setCarried({}); setToggle(null); reload(); }, [solution]);

  // A link to a row (#/products?row=kes-windows): show it and put the focus in it.
  useEffect(() => {
    const row = routeParams().get('row');
    if (!row || !loaded) return;
    setHighlight(row);
    goToRow(row);
  }, [loaded !== null, location.hash]);

  /** @param {string} applicationId */
  function goToRow(applicationId) {
    setHighlight(applicationId);
    window.requestAnimationFrame(() => {
      const tr = document.getElementById(`row-${applicationId}`);
      if (!tr) return;
      tr.scrollIntoView({ block: 'center' });
      const target = tr.querySelector('input[role="combobox"]') ?? tr.querySelector('th');
      if (target instanceof HTMLElement) target.focus({ preventScroll: true });
    });
  }

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
    const copy = { ...editsRef.current };
    if (sameForms(next, formsOf(row))) delete copy[row.application_id];
    else copy[row.application_id] = next;
    setEdits(copy);
    if (carriedRows[row.application_id]) { const c = { ...carriedRows }; delete c[row.application_id]; setCarried(c); }
  }

  /**
   * Switches "Bill devices by category" on screen (saved with Save changes), carrying each
   * row's products over to the new form where they are known, and saying which rows still
   * need products.
   * @param {boolean} on
   */
  function switchMode(on) {
    if (!loaded) return;
    const copy = { ...editsRef.current };
    const nextCarried = { ...carriedRows };
    // Carry-overs of the other direction that nobody touched since are undone first.
    for (const [id, forms] of Object.entries(carriedRows)) {
      if (copy[id] && sameForms(copy[id], forms)) delete copy[id];
      delete nextCarried[id];
    }
    /** @type {string[]} */
    const carriedNames = [];
    /** @type {Array<{text: string, row: string}>} */
    const open = [];
    for (const row of loaded.grid.mappings) {
      const f = copy[row.application_id] ?? formsOf(row);
      const next = carried(f, on, row);
      if (next) {
        copy[row.application_id] = next;
        nextCarried[row.application_id] = next;
        carriedNames.push(row.application_name);
      } else if (statusOf(f, on, row) === 'incomplete') {
        open.push({ text: `${row.application_name}: ${needs(on, row)}`, row: row.application_id });
      }
    }
    for (const id of Object.keys(copy)) {
      const row = loaded.grid.mappings.find((m) => m.application_id === id);
      if (row && sameForms(copy[id], formsOf(row))) delete copy[id];
    }
    setEdits(copy);
    setCarried(nextCarried);
    setToggle(on === loaded.grid.bill_devices_by_category ? null : on);
    if (carriedNames.length || open.length) {
      setNotice({
        kind: open.length ? 'warn' : 'info',
        text: `${carriedNames.length ? `Carried over to the ${on ? 'three category products' : 'single product'}: ${carriedNames.join(', ')}. ` : ''}${open.length ? 'These rows still need products before their tenants can be billed:' : 'Check them, then Save changes.'}`,
        items: open,
      });
    } else setNotice(null);
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
    else if (toggle !== null) {
      // Rows the other client saved meanwhile get the same carry-over as the others had.
      const copy = { ...editsRef.current };
      const nextCarried = { ...carriedRows };
      for (const row of latest.grid.mappings) {
        if (copy[row.application_id]) continue;
        const next = carried(formsOf(row), toggle, row);
        if (next) { copy[row.application_id] = next; nextCarried[row.application_id] = next; }
      }
      setEdits(copy);
      setCarried(nextCarried);
    }
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

  /** Rows that would be incomplete after saving: their tenants' billing is blocked. */
  function incompleteAfterSave() {
    if (!loaded) return [];
    return loaded.grid.mappings
      .filter((r) => statusOf(editsRef.current[r.application_id] ?? formsOf(r), byCategory, r) === 'incomplete')
      .map((r) => ({ text: `${r.application_name}: ${needs(byCategory, r)}`, row: r.application_id }));
  }

  /** @param {boolean} [anyway] save although rows stay incomplete */
  async function save(anyway = false) {
    if (!loaded) return;
    setBusy('Saving…');
    await picksSettled();
    const edited = editsRef.current;
    const rows = loaded.grid.mappings;
    const problems = rows.filter((r) => edited[r.application_id])
      .map((r) => { const p = problemOf(edited[r.application_id], byCategory, r); return p && { text: `${r.application_name}: ${p}`, row: r.application_id }; })
      .filter((p) => p !== null);
    if (problems.length) {
      setBusy(null);
      setNotice({ kind: 'error', text: 'Nothing was saved: some rows are not complete.', items: /** @type {Array<{text: string, row: string}>} */ (problems) });
      return;
    }
    const open = incompleteAfterSave();
    if (open.length && !anyway) {
      setBusy(null);
      setNotice({
        kind: 'warn', saveAnyway: true,
        text: `Not saved yet: ${open.length === 1 ? 'this row is' : 'these rows are'} incomplete, so every tenant using ${open.length === 1 ? 'it' : 'them'} would not be billed at all (blocked) until ${open.length === 1 ? 'it is' : 'they are'} completed. Complete ${open.length === 1 ? 'it' : 'them'}, or save anyway.`,
        items: open,
      });
      return;
    }
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
      const body = { rows: Object.entries(edited).map(([application_id, forms]) => ({ application_id, ...forms })) };
      if (body.rows.length) await call('PUT', '/product-mappings', { body, ifMatch: etag });
      setEdits({});
      setCarried({});
      setToggle(null);
      setUnsaved(null);
      remember(await load(solution));
      const what = `${body.rows.length} mapping${body.rows.length === 1 ? '' : 's'}${toggleChanged ? `, Bill devices by category ${toggle ? 'on' : 'off'}` : ''}`;
      if (open.length) {
        setNotice({ kind: 'warn', text: `Saved: ${what} — but ${open.length === 1 ? 'this row is' : 'these rows are'} incomplete: tenants using ${open.length === 1 ? 'it' : 'them'} are not billed until ${open.length === 1 ? 'it is' : 'they are'} completed.`, items: open });
      } else {
        setNotice({ kind: 'ok', text: `Saved: ${what}.` });
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) await conflict().catch((err) => setNotice({ kind: 'error', text: messageOf(err) }));
      else setNotice({ kind: 'error', text: messageOf(e), items: e instanceof ApiError ? e.fieldMessages() : undefined });
    } finally {
      setBusy(null);
    }
  }

  function discard() {
    setEdits({});
    setCarried({});
    setToggle(null);
    setNotice(null);
  }

  /** @param {MappingView} row @param {Forms} f @param {'product_id' | CategoryField} field @param {string} label */
  function picker(row, f, field, label) {
    const value = f[field];
    const text = value === null ? '' : labels[value] ?? `Product ${value}`;
    if (!editor) return html`<span class="product">${field === 'product_id' ? '' : html`<span class="sub">${label}: </span>`}${text || '—'}</span>`;
    return html`<${Combobox} label=${`${row.application_name} – ${label}`} visibleLabel=${field === 'product_id' ? undefined : label}
      value=${value} valueLabel=${text} search=${searchProducts} noun="product"
      onChange=${(/** @type {import('./ui.js').Choice | null} */ c) => {
        if (c) setLabels((old) => ({ ...old, [c.id]: c.label }));
        const current = editsRef.current[row.application_id] ?? formsOf(row);
        edit(row, { ...current, [field]: c ? c.id : null });
      }} />`;
  }

  /** @param {string | {text: string, row: string}} item */
  function noticeItem(item) {
    if (typeof item === 'string') return html`<li>${item}</li>`;
    return html`<li>${item.text} — <a href=${`#/products?row=${encodeURIComponent(item.row)}${solution === 'business_hub' ? '&solution=business_hub' : ''}`}
      onClick=${(/** @type {Event} */ e) => { e.preventDefault(); goToRow(item.row); }}>go to the row</a></li>`;
  }

  return html`<section aria-labelledby="products-title">
    <h1 id="products-title" tabindex="-1">Products</h1>
    <p class="lead">Which ConnectWise product bills each Kaspersky security application.</p>
    <div class="toolbar">
      <fieldset class="segmented">
        <legend>Solution</legend>
        ${SOLUTIONS.map(([value, label]) => html`<label key=${value}>
          <input type="radio" name="solution" value=${value} checked=${solution === value}
            onChange=${() => switchSolution(value)} /> ${label}</label>`)}
      </fieldset>
      ${solution === 'ksc' && loaded && (editor
        ? html`<div class="switch">
            <input id=${toggleId} type="checkbox" role="switch" checked=${byCategory}
              onChange=${(/** @type {Event} */ e) => switchMode(/** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
            <label for=${toggleId}>Bill devices by category</label>
          </div>`
        : html`<p class="switch-readonly">Bill devices by category: <strong>${byCategory ? 'on' : 'off'}</strong></p>`)}
    </div>
    ${solution === 'ksc' && loaded && html`<p class="hint">${byCategory
      ? 'On: per-device applications are billed with three products — Windows workstations, Windows servers and non-Windows devices.'
      : 'Off: each application is billed with one product.'}</p>`}
    ${notice && html`<${Notice} kind=${notice.kind}>${notice.text}
      ${notice.items && notice.items.length > 0 && html`<ul>${notice.items.map(noticeItem)}</ul>`}
      ${notice.saveAnyway && html`<div class="actions"><button type="button" onClick=${() => save(true)}>Save anyway</button></div>`}<//>`}
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
        const classes = [edited ? 'edited' : '', highlight === row.application_id ? 'target' : ''].join(' ').trim();
        return html`<tr key=${row.application_id} id=${`row-${row.application_id}`} class=${classes}>
          <th scope="row" tabindex="-1">${row.application_name}<div class="sub">${row.application_id}</div></th>
          <td>${UNITS[row.licensing_model]}</td>
          <td class="pickers">${cat
            ? html`<div class="three">${CATEGORIES.map((c) => html`<div key=${c.field}>${picker(row, f, c.field, c.label)}</div>`)}</div>`
            : picker(row, f, 'product_id', 'Product')}</td>
          <td><span class=${`status status-${status}`}>${status}</span>${edited && html` <span class="edited-mark">${carriedRows[row.application_id] ? 'carried over' : 'edited'}</span>`}</td>
        </tr>`;
      })}
      </tbody>
    </table></div>`}
    ${editor && html`<div class="actions sticky">
      <button type="button" class="primary" disabled=${!dirty || busy !== null} onClick=${() => save(false)}>Save changes</button>
      <button type="button" disabled=${!dirty || busy !== null} onClick=${discard}>Discard changes</button>
      <button type="button" disabled=${busy !== null} onClick=${refreshCatalog}>Refresh catalog</button>
    </div>`}
    ${loaded && html`<${BillingProfiles} editor=${editor} products=${billedProducts(loaded.grid)} />`}
  </section>`;
}
