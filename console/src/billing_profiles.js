// @ts-check
// Billing profiles, on the Products screen: what a line of each ConnectWise product bills —
// billable, no charge or do not bill, its unit price and cost (the catalog's or a fixed amount),
// taxable, and the invoice description. One profile per product (a line on an agreement is one
// product). Operators edit, everyone reads; ETag/If-Match, and a conflict keeps the edits.
// Amounts stay decimal strings: checked for their form here, never computed with.
import { html, useState, useEffect, useLayoutEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, productsById, ApiError } from './api.js';
import { AMOUNT, ErrorNotice, Notice, setUnsaved, useId } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['BillingProfileView']} Profile */
/** @typedef {Schemas['BillCustomer']} BillCustomer */
/** @typedef {{id: number, label: string}} ProductChoice */
/** @typedef {{bill_customer: BillCustomer, priceMode: 'catalog' | 'fixed', price: string, costMode: 'catalog' | 'fixed', cost: string, taxable: 'catalog' | 'yes' | 'no', description: string}} Form */

/** @type {Array<[BillCustomer, string, string]>} */
const BILL = [
  ['Billable', 'Billable', 'the customer pays for it'],
  ['NoCharge', 'No charge', 'on the invoice at zero'],
  ['DoNotBill', 'Do not bill', 'a cost-only line, for margin tracking'],
];
/** @param {BillCustomer} b */
const billLabel = (b) => BILL.find(([v]) => v === b)?.[1] ?? b;
const DESCRIPTION_MAX = 6000;
/** The fields shown with their own error. */
const FIELDS = ['bill_customer', 'unit_price', 'unit_cost', 'taxable', 'invoice_description'];
const PLACEHOLDERS = '{application}, {category}, {company}, {tenant}, {quantity}';

/** @param {Profile | null} p @returns {Form} */
function formOf(p) {
  const fixed = (/** @type {string | undefined} */ v) => (v && v !== 'catalog' ? v : '');
  return {
    bill_customer: p?.bill_customer ?? 'Billable',
    priceMode: p && p.unit_price !== 'catalog' ? 'fixed' : 'catalog',
    price: fixed(p?.unit_price),
    costMode: p && p.unit_cost !== 'catalog' ? 'fixed' : 'catalog',
    cost: fixed(p?.unit_cost),
    taxable: p?.taxable === true ? 'yes' : p?.taxable === false ? 'no' : 'catalog',
    description: p?.invoice_description ?? '',
  };
}

/** The rules checked before anything is sent (the server checks them all again). @param {Form} f */
function problemsOf(f) {
  /** @type {Record<string, string>} */
  const errors = {};
  const amount = 'must be an amount such as 24.50: digits, a dot and at most 4 decimals, not negative';
  if (f.priceMode === 'fixed' && !AMOUNT.test(f.price.trim())) errors.unit_price = amount;
  if (f.costMode === 'fixed' && !AMOUNT.test(f.cost.trim())) errors.unit_cost = amount;
  if (f.description.length > DESCRIPTION_MAX) errors.invoice_description = `must be at most ${DESCRIPTION_MAX} characters (it has ${f.description.length})`;
  return errors;
}

/** @param {Form} f @returns {Schemas['BillingProfileInput']} */
function bodyOf(f) {
  return {
    bill_customer: f.bill_customer,
    unit_price: f.priceMode === 'catalog' ? 'catalog' : f.price.trim(),
    unit_cost: f.costMode === 'catalog' ? 'catalog' : f.cost.trim(),
    taxable: f.taxable === 'catalog' ? null : f.taxable === 'yes',
    invoice_description: f.description.trim() === '' ? null : f.description,
  };
}

/** "catalog (9.00)" or the fixed amount. @param {string | undefined} value @param {string | null | undefined} catalog */
function priceText(value, catalog) {
  return !value || value === 'catalog' ? `catalog${catalog ? ` (${catalog})` : ''}` : value;
}

/** @param {boolean | null | undefined} t @param {boolean | undefined} catalog */
function taxText(t, catalog) {
  if (t === true) return 'yes';
  if (t === false) return 'no';
  return `as the catalog${catalog === undefined ? '' : ` (${catalog ? 'yes' : 'no'})`}`;
}

/**
 * @param {{product: ProductChoice, catalog: Schemas['Product'] | undefined, onDone: (message: string | null) => void}} props
 */
function ProfileForm({ product, catalog, onDone }) {
  const [loaded, setLoaded] = useState(/** @type {{profile: Profile | null, etag: string | null} | null} */ (null));
  const [form, setForm] = useState(/** @type {Form} */ (formOf(null)));
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [warn, setWarn] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const id = useId('profile');
  const first = useRef(/** @type {HTMLSelectElement | null} */ (null));
  const name = product.label.split(' — ')[0];

  /** @returns {Promise<{profile: Profile | null, etag: string | null}>} */
  async function fetchProfile() {
    try {
      const reply = await call('GET', `/billing-profiles/${product.id}`);
      return { profile: reply.data, etag: reply.etag };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { profile: null, etag: null };
      throw e;
    }
  }
  useEffect(() => {
    fetchProfile().then((l) => { setLoaded(l); setForm(formOf(l.profile)); }, setError);
  }, []);
  useLayoutEffect(() => { if (loaded) first.current?.focus(); }, [loaded !== null]);
  const dirty = loaded !== null && JSON.stringify(form) !== JSON.stringify(formOf(loaded.profile));
  useEffect(() => { setUnsaved(dirty ? `The billing profile of ${name} is not saved. Leave without saving it?` : null); }, [dirty]);
  useEffect(() => () => setUnsaved(null), []);

  /** @template {keyof Form} K @param {K} key @param {Form[K]} value */
  function set(key, value) {
    setForm((f) => ({ ...f, [key]: value }));
    setWarn(null);
  }

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    if (!loaded) return;
    const local = problemsOf(form);
    setErrors(local);
    setError(Object.keys(local).length ? new Error('Not saved: some fields are not valid (see below).') : null);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await call('PUT', `/billing-profiles/${product.id}`, { body: bodyOf(form), ifMatch: loaded.etag });
      setUnsaved(null);
      onDone(`The billing profile of ${name} is saved: the next sync writes its lines with it.`);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 412) {
        const theirs = await fetchProfile().catch(() => null);
        if (theirs) setLoaded(theirs);
        setWarn('Someone else changed this profile since you opened it, so yours was not saved. Your edits are still here: check them and Save again.');
      } else if (err instanceof ApiError && err.status === 422) {
        /** @type {Record<string, string>} */
        const byField = {};
        for (const fe of err.problem?.errors ?? []) byField[fe.field] = fe.message;
        setErrors(byField);
        const elsewhere = (err.problem?.errors ?? []).filter((fe) => !FIELDS.includes(fe.field)).map((fe) => `${fe.field}: ${fe.message}`);
        setError(new Error(`Not saved: ${elsewhere.length ? elsewhere.join('; ') : 'some fields are not valid (see below).'}`));
      } else setError(err);
    }
  }

  async function remove() {
    if (!loaded?.profile) return;
    if (!window.confirm(`Remove the billing profile of ${name}? New lines are written with the catalog's terms again; lines already written keep theirs.`)) return;
    setBusy(true);
    try {
      await call('DELETE', `/billing-profiles/${product.id}`, { ifMatch: loaded.etag });
      setUnsaved(null);
      onDone(`The billing profile of ${name} is removed: its lines bill with the catalog's terms.`);
    } catch (err) { setBusy(false); setError(err); }
  }

  /** @param {string} field */
  const errorOf = (field) => errors[field];
  /** @param {string} field @param {string} hint */
  const note = (field, hint) => html`<p id=${`${id}-${field}-note`} class=${errorOf(field) ? 'field-error' : 'sub'}>${errorOf(field) ?? hint}</p>`;

  /** @param {'priceMode' | 'costMode'} mode @param {'price' | 'cost'} key @param {'unit_price' | 'unit_cost'} field @param {string} legend @param {string | null | undefined} catalogAmount */
  function amount(mode, key, field, legend, catalogAmount) {
    const boxId = `${id}-${key}`;
    return html`<fieldset class="money-choice">
      <legend>${legend}</legend>
      <label><input type="radio" name=${`${id}-${mode}`} checked=${form[mode] === 'catalog'} onChange=${() => set(mode, 'catalog')} />
        Catalog ${key} ${catalogAmount ? `(${catalogAmount})` : '(as ConnectWise has it)'}</label>
      <label><input type="radio" name=${`${id}-${mode}`} checked=${form[mode] === 'fixed'}
        onChange=${() => { set(mode, 'fixed'); window.requestAnimationFrame(() => document.getElementById(boxId)?.focus()); }} /> Fixed amount</label>
      <label for=${boxId} class="visually-hidden">Fixed unit ${key}</label>
      <input id=${boxId} type="text" inputmode="decimal" autocomplete="off" placeholder="e.g. 24.50" disabled=${form[mode] !== 'fixed'}
        value=${form[key]} aria-invalid=${errorOf(field) ? 'true' : undefined} aria-describedby=${`${id}-${field}-note`}
        onInput=${(/** @type {Event} */ e) => set(key, /** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      ${note(field, `In the ConnectWise site's currency, e.g. 24.50.`)}
    </fieldset>`;
  }

  if (!loaded) return html`<div class="inline-form row-form"><${ErrorNotice} error=${error} />${!error && html`<p role="status">Loading…</p>`}</div>`;
  return html`<form class="inline-form row-form profile-form" onSubmit=${save} aria-label=${`Billing profile of ${name}`}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => { if (e.key === 'Escape' && !e.defaultPrevented) { setUnsaved(null); onDone(null); } }}>
    <h3>Billing profile of ${name}${loaded.profile ? '' : html` <span class="sub">(none yet: the catalog's terms)</span>`}</h3>
    ${warn && html`<${Notice} kind="warn">${warn}<//>`}
    <${ErrorNotice} error=${error} />
    <label for=${`${id}-bill`}>Bill the customer</label>
    <select id=${`${id}-bill`} ref=${first} value=${form.bill_customer} aria-describedby=${`${id}-bill_customer-note`}
      aria-invalid=${errorOf('bill_customer') ? 'true' : undefined}
      onChange=${(/** @type {Event} */ e) => set('bill_customer', /** @type {BillCustomer} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value))}>
      ${BILL.map(([v, label, hint]) => html`<option value=${v}>${label} — ${hint}</option>`)}
    </select>
    ${note('bill_customer', '')}
    <div class="fields">
      ${amount('priceMode', 'price', 'unit_price', 'Unit price (what the customer pays)', catalog?.price)}
      ${amount('costMode', 'cost', 'unit_cost', 'Unit cost (what it costs you)', catalog?.cost)}
    </div>
    <label for=${`${id}-tax`}>Taxable</label>
    <select id=${`${id}-tax`} value=${form.taxable} aria-describedby=${`${id}-taxable-note`} aria-invalid=${errorOf('taxable') ? 'true' : undefined}
      onChange=${(/** @type {Event} */ e) => set('taxable', /** @type {Form['taxable']} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value))}>
      <option value="catalog">As the catalog item${catalog ? ` (${catalog.taxable ? 'taxable' : 'not taxable'})` : ''}</option>
      <option value="yes">Taxable</option>
      <option value="no">Not taxable</option>
    </select>
    ${note('taxable', '')}
    <label for=${`${id}-desc`}>Invoice description</label>
    <textarea id=${`${id}-desc`} rows="3" value=${form.description} aria-describedby=${`${id}-invoice_description-note`}
      aria-invalid=${errorOf('invoice_description') ? 'true' : undefined} placeholder="Empty: the applications and category the line bills"
      onInput=${(/** @type {Event} */ e) => set('description', /** @type {HTMLTextAreaElement} */ (e.currentTarget).value)}></textarea>
    ${note('invoice_description', `Filled in per line: ${PLACEHOLDERS}. At most ${DESCRIPTION_MAX} characters (${form.description.length} now).`)}
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>Save profile</button>
      ${loaded.profile && html`<button type="button" disabled=${busy} onClick=${remove}>Remove profile</button>`}
      <button type="button" onClick=${() => { setUnsaved(null); onDone(null); }}>Cancel</button>
    </div>
  </form>`;
}

/**
 * The billing profile of every product the mappings bill on (and every product with one).
 * @param {{products: ProductChoice[], editor: boolean}} props
 */
export function BillingProfiles({ products, editor }) {
  const [profiles, setProfiles] = useState(/** @type {Map<number, Profile> | null} */ (null));
  const [catalog, setCatalog] = useState(/** @type {Map<number, Schemas['Product']>} */ (new Map()));
  const [editing, setEditing] = useState(/** @type {number | null} */ (null));
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    /** @type {Promise<Profile[]>} */ (get('/billing-profiles')).then(
      (list) => { if (live) setProfiles(new Map(list.map((p) => [p.product_id, p]))); },
      (e) => { if (live) setError(e); },
    );
    return () => { live = false; };
  }, [tick]);
  const key = products.map((p) => p.id).join(',');
  useEffect(() => {
    productsById(products.map((p) => p.id)).then((all) => setCatalog(new Map(all)), () => {});
  }, [key]);

  /** @type {ProductChoice[]} */
  const rows = [...products];
  for (const p of profiles?.values() ?? []) {
    if (!rows.some((r) => r.id === p.product_id)) rows.push({ id: p.product_id, label: p.identifier ? `${p.identifier}${p.description ? ` — ${p.description}` : ''}` : `Product ${p.product_id}` });
  }
  const columns = editor ? 7 : 6;

  /** @param {number} productId */
  const focusEdit = (productId) => window.requestAnimationFrame(() => document.getElementById(`profile-edit-${productId}`)?.focus());

  return html`<section class="profiles" aria-labelledby="profiles-title">
    <h2 id="profiles-title">Billing profiles</h2>
    <p class="sub">What a line of each product bills on an agreement: the same for every company, unless a company's terms give it its own price.${editor ? '' : ' Operators change them.'}</p>
    ${message && html`<${Notice} kind="ok">${message}<//>`}
    <${ErrorNotice} error=${error} />
    ${!profiles ? !error && html`<p role="status">Loading…</p>` : rows.length === 0 ? html`<p>No product is mapped yet.</p>` : html`<div class="table-wrap"><table class="grid stack profiles-table">
      <caption class="visually-hidden">Billing profiles of the products the mappings bill on</caption>
      <thead><tr><th scope="col">Product</th><th scope="col">Bills as</th><th scope="col">Unit price</th><th scope="col">Unit cost</th>
        <th scope="col">Taxable</th><th scope="col">Invoice description</th>${editor && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}</tr></thead>
      <tbody>${rows.map((r) => {
        const p = profiles.get(r.id);
        const c = catalog.get(r.id);
        const name = r.label.split(' — ')[0];
        return [html`<tr key=${r.id} id=${`profile-${r.id}`}>
          <th scope="row">${name}<div class="sub">${p ? 'own profile' : "catalog's terms"}</div></th>
          <td data-label="Bills as">${billLabel(p?.bill_customer ?? 'Billable')}</td>
          <td data-label="Unit price">${priceText(p?.unit_price, p?.catalog_price ?? c?.price)}</td>
          <td data-label="Unit cost">${priceText(p?.unit_cost, p?.catalog_cost ?? c?.cost)}</td>
          <td data-label="Taxable">${taxText(p?.taxable, c?.taxable)}</td>
          <td data-label="Invoice description" class="template">${p?.invoice_description ?? html`<span class="sub">the applications and category billed</span>`}</td>
          ${editor && html`<td class="row-actions"><button type="button" id=${`profile-edit-${r.id}`} aria-expanded=${editing === r.id ? 'true' : 'false'}
            aria-label=${`Edit the billing profile of ${name}`} onClick=${() => { setMessage(null); setEditing(editing === r.id ? null : r.id); }}>Edit</button></td>`}
        </tr>`,
        editing === r.id && html`<tr key=${`${r.id}-form`} class="form-row"><td colspan=${columns}>
          <${ProfileForm} key=${r.id} product=${r} catalog=${c}
            onDone=${(/** @type {string | null} */ msg) => { setEditing(null); focusEdit(r.id); if (msg) { setMessage(msg); setTick((t) => t + 1); } }} />
        </td></tr>`];
      })}</tbody></table></div>`}
  </section>`;
}
