// @ts-check
// A company's own terms, opened from its row on the Companies screen: per product a minimum
// quantity, included units (written as lessIncluded) and this customer's price; per application
// (and device category) another product to bill it on, or excluded from the bill. The terms are
// replaced whole (ETag/If-Match; a conflict keeps the edits). Operators edit, everyone reads.
// Quantities are whole units; the price stays a decimal string, checked for its form only.
import { html, useState, useEffect, useLayoutEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, productsById, ApiError } from './api.js';
import { AMOUNT, Combobox, ErrorNotice, Notice, picksSettled, setUnsaved, useId } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['CompanyMapping']} CompanyMapping */
/** @typedef {Schemas['DeviceCategory']} Category */
/** @typedef {{key: string, product_id: number, label: string, minimum: string, included: string, price: string}} ProductRow */
/** @typedef {{key: string, application_id: string, category: Category | '', treatment: 'product' | 'excluded', product: number | null, productLabel: string}} AppRow */
/** @typedef {{products: ProductRow[], apps: AppRow[]}} Form */

/** @type {Array<[Category, string]>} */
const CATEGORIES = [['windows_workstation', 'Windows workstations'], ['windows_server', 'Windows servers'], ['non_windows', 'Non-Windows devices']];

let seq = 0;
const nextKey = () => `t${++seq}`;

/** @param {Schemas['Product'] | Schemas['ProductRef'] | undefined} p @param {number} id */
function productLabel(p, id) {
  return p?.identifier ? `${p.identifier}${p.description ? ` — ${p.description}` : ''}` : `Product ${id}`;
}

/** @param {string} text @returns {Promise<import('./ui.js').Found>} */
async function searchProducts(text) {
  /** @type {Schemas['Page_Product']} */
  const page = await get('/connectwise/products', { search: text.trim(), per_page: 25 });
  return { choices: page.items.map((p) => ({ id: p.id, label: productLabel(p, p.id), match: p.identifier })), total: page.total };
}

/**
 * The form: one row per product the tenant's mappings bill on, then the products the terms
 * name besides; one row per application rule.
 * @param {Schemas['CompanyTerms']} terms @param {Schemas['MappingView'][]} mappings @param {Map<number, Schemas['Product']>} catalog
 * @returns {Form}
 */
function formOf(terms, mappings, catalog) {
  /** @type {Map<number, ProductRow>} */
  const rows = new Map();
  for (const m of mappings) for (const p of m.products) {
    if (!rows.has(p.id)) rows.set(p.id, { key: `p${p.id}`, product_id: p.id, label: productLabel(p, p.id), minimum: '', included: '', price: '' });
  }
  for (const t of terms.products ?? []) {
    const row = rows.get(t.product_id) ?? { key: `p${t.product_id}`, product_id: t.product_id, label: productLabel(catalog.get(t.product_id), t.product_id), minimum: '', included: '', price: '' };
    rows.set(t.product_id, { ...row, minimum: t.minimum_quantity ? String(t.minimum_quantity) : '', included: t.included_quantity ? String(t.included_quantity) : '', price: t.unit_price ?? '' });
  }
  const apps = (terms.applications ?? []).map((a) => /** @type {AppRow} */ ({
    key: nextKey(), application_id: a.application_id, category: a.category ?? '', treatment: a.excluded ? 'excluded' : 'product',
    product: a.product ?? null, productLabel: a.product ? productLabel(catalog.get(a.product), a.product) : '',
  }));
  return { products: [...rows.values()], apps };
}

/**
 * The terms to send, with where each entry came from (for the server's field errors), and the
 * rules broken on screen.
 * @param {Form} f
 */
function bodyOf(f) {
  /** @type {Record<string, string>} */
  const errors = {};
  /** @type {string[]} */
  const products = [];
  /** @type {Schemas['ProductTerms'][]} */
  const productTerms = [];
  const whole = 'must be a whole number of units (0 or more)';
  for (const r of f.products) {
    const [min, inc, price] = [r.minimum.trim(), r.included.trim(), r.price.trim()];
    if (!min && !inc && !price) continue;
    if (min && !/^[0-9]{1,9}$/.test(min)) errors[`${r.key}.minimum_quantity`] = whole;
    if (inc && !/^[0-9]{1,9}$/.test(inc)) errors[`${r.key}.included_quantity`] = whole;
    if (price && !AMOUNT.test(price)) errors[`${r.key}.unit_price`] = 'must be an amount such as 21.00: digits, a dot and at most 4 decimals, not negative';
    /** @type {Schemas['ProductTerms']} */
    const t = { product_id: r.product_id };
    if (min) t.minimum_quantity = Number(min);
    if (inc) t.included_quantity = Number(inc);
    if (price) t.unit_price = price;
    products.push(r.key);
    productTerms.push(t);
  }
  /** @type {string[]} */
  const apps = [];
  /** @type {Schemas['ApplicationTerms'][]} */
  const appTerms = [];
  for (const a of f.apps) {
    if (!a.application_id) { errors[`${a.key}.application_id`] = 'choose an application, or remove the rule'; continue; }
    if (a.treatment === 'product' && a.product === null) errors[`${a.key}.product`] = 'choose the product to bill it on';
    /** @type {Schemas['ApplicationTerms']} */
    const t = { application_id: a.application_id };
    if (a.category) t.category = a.category;
    if (a.treatment === 'excluded') t.excluded = true; else if (a.product !== null) t.product = a.product;
    apps.push(a.key);
    appTerms.push(t);
  }
  return { body: { products: productTerms, applications: appTerms }, keys: { products, applications: apps }, errors };
}

/**
 * @param {{mapping: CompanyMapping, tenant: Schemas['Tenant'], editor: boolean, onDone: (message: string | null) => void}} props
 */
export function TermsForm({ mapping, tenant, editor, onDone }) {
  const [loaded, setLoaded] = useState(/** @type {{etag: string | null, form: Form, apps: Schemas['MappingView'][]} | null} */ (null));
  const [form, setFormState] = useState(/** @type {Form} */ ({ products: [], apps: [] }));
  const formRef = useRef(form);
  /** @param {(f: Form) => Form} change */
  const setForm = (change) => { formRef.current = change(formRef.current); setFormState(formRef.current); setWarn(null); };
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [warn, setWarn] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const [adder, setAdder] = useState(0);
  const id = useId('terms');
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  const company = mapping.cw_company_name;

  async function fetchTerms() {
    const [reply, grid] = await Promise.all([
      call('GET', `/company-mappings/${mapping.id}/terms`),
      /** @type {Promise<Schemas['MappingGrid']>} */ (get('/product-mappings', { solution: tenant.solution })),
    ]);
    /** @type {Schemas['CompanyTerms']} */
    const terms = reply.data;
    const ids = [...(terms.products ?? []).map((p) => p.product_id), ...(terms.applications ?? []).map((a) => a.product ?? 0).filter((x) => x > 0)];
    const catalog = ids.length ? await productsById(ids) : new Map();
    return { etag: reply.etag, form: formOf(terms, grid.mappings, catalog), apps: grid.mappings.filter((m) => !m.retired) };
  }

  useEffect(() => {
    fetchTerms().then((l) => { setLoaded(l); formRef.current = l.form; setFormState(l.form); }, setError);
  }, []);
  useLayoutEffect(() => {
    if (!loaded) return;
    const box = heading.current?.closest('form')?.querySelector('input:not([disabled]), select:not([disabled])');
    if (editor && box instanceof HTMLElement) box.focus(); else heading.current?.focus();
  }, [loaded !== null]);
  const dirty = loaded !== null && JSON.stringify(bodyOf(form).body) !== JSON.stringify(bodyOf(loaded.form).body);
  useEffect(() => { setUnsaved(dirty ? `The terms of ${company} are not saved. Leave without saving them?` : null); }, [dirty]);
  useEffect(() => () => setUnsaved(null), []);

  /** @param {string} key @param {Partial<ProductRow>} change */
  const setProduct = (key, change) => setForm((f) => ({ ...f, products: f.products.map((r) => (r.key === key ? { ...r, ...change } : r)) }));
  /** @param {string} key @param {Partial<AppRow>} change */
  const setApp = (key, change) => setForm((f) => ({ ...f, apps: f.apps.map((r) => (r.key === key ? { ...r, ...change } : r)) }));

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    if (!loaded) return;
    await picksSettled();
    const { body, keys, errors: local } = bodyOf(formRef.current);
    setErrors(local);
    setError(null);
    if (Object.keys(local).length) { setError(new Error('Not saved: some fields are not valid (see below).')); return; }
    setBusy(true);
    try {
      await call('PUT', `/company-mappings/${mapping.id}/terms`, { body, ifMatch: loaded.etag });
      setUnsaved(null);
      onDone(`The terms of ${company} are saved: the next sync applies them.`);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 412) {
        const theirs = await fetchTerms().catch(() => null);
        if (theirs) setLoaded({ ...theirs, form: loaded.form });
        setWarn('Someone else changed these terms since you opened them, so yours were not saved. Your edits are still here: check them and Save again.');
      } else if (err instanceof ApiError && err.status === 422) {
        /** @type {Record<string, string>} */
        const byField = {};
        /** @type {string[]} */
        const elsewhere = [];
        for (const fe of err.problem?.errors ?? []) {
          const m = /^(products|applications)\[(\d+)\]\.(\w+)$/.exec(fe.field);
          const key = m ? keys[/** @type {'products' | 'applications'} */ (m[1])][Number(m[2])] : undefined;
          if (key && m) byField[`${key}.${m[3]}`] = fe.message; else elsewhere.push(`${fe.field}: ${fe.message}`);
        }
        setErrors(byField);
        setError(new Error(`Not saved: ${elsewhere.length ? elsewhere.join('; ') : 'some fields are not valid (see below).'}`));
      } else setError(err);
    }
  }

  /** A field's error or hint under it. @param {string} key @param {string} [hint] */
  function note(key, hint = '') {
    const message = errors[key];
    return html`<p id=${`${id}-${key}`} class=${message ? 'field-error' : 'sub'}>${message ?? hint}</p>`;
  }
  /** @param {ProductRow} r @param {'minimum' | 'included' | 'price'} name @param {string} field @param {string} label @param {string} hint */
  function productField(r, name, field, label, hint) {
    const fid = `${id}-${r.key}-${name}`;
    const key = `${r.key}.${field}`;
    return html`<div class="field">
      <label for=${fid}>${label}</label>
      <input id=${fid} type="text" inputmode=${name === 'price' ? 'decimal' : 'numeric'} autocomplete="off" disabled=${!editor} value=${r[name]}
        aria-invalid=${errors[key] ? 'true' : undefined} aria-describedby=${`${id}-${key}`}
        onInput=${(/** @type {Event} */ e) => setProduct(r.key, { [name]: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
      ${note(key, hint)}
    </div>`;
  }

  /** @param {AppRow} a @param {number} i */
  function appRule(a, i) {
    const app = loaded?.apps.find((m) => m.application_id === a.application_id);
    const perDevice = app?.licensing_model === 'per_device';
    return html`<fieldset class="card term-rule" key=${a.key}>
      <legend>Rule ${i + 1}${app ? `: ${app.application_name}` : ''}</legend>
      <div class="fields">
        <div class="field"><label for=${`${id}-${a.key}-app`}>Application</label>
          <select id=${`${id}-${a.key}-app`} disabled=${!editor} value=${a.application_id} aria-invalid=${errors[`${a.key}.application_id`] ? 'true' : undefined}
            aria-describedby=${`${id}-${a.key}.application_id`}
            onChange=${(/** @type {Event} */ e) => setApp(a.key, { application_id: /** @type {HTMLSelectElement} */ (e.currentTarget).value, category: '' })}>
            <option value="">Choose an application</option>
            ${(loaded?.apps ?? []).map((m) => html`<option value=${m.application_id}>${m.application_name}</option>`)}
          </select>${note(`${a.key}.application_id`)}</div>
        ${perDevice && html`<div class="field"><label for=${`${id}-${a.key}-cat`}>Devices</label>
          <select id=${`${id}-${a.key}-cat`} disabled=${!editor} value=${a.category} aria-describedby=${`${id}-${a.key}.category`}
            onChange=${(/** @type {Event} */ e) => setApp(a.key, { category: /** @type {Category | ''} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value) })}>
            <option value="">Every device category</option>
            ${CATEGORIES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
          </select>${note(`${a.key}.category`)}</div>`}
        <div class="field"><label for=${`${id}-${a.key}-how`}>For this company</label>
          <select id=${`${id}-${a.key}-how`} disabled=${!editor} value=${a.treatment}
            onChange=${(/** @type {Event} */ e) => setApp(a.key, { treatment: /** @type {AppRow['treatment']} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value) })}>
            <option value="product">Bill it on another product</option>
            <option value="excluded">Exclude it from the bill</option>
          </select></div>
        ${a.treatment === 'product' && html`<div class="field">${editor
          ? html`<${Combobox} label=${`Rule ${i + 1}: product to bill it on`} visibleLabel="Product to bill it on" value=${a.product} valueLabel=${a.productLabel}
              search=${searchProducts} noun="product" onChange=${(/** @type {import('./ui.js').Choice | null} */ c) => setApp(a.key, { product: c ? c.id : null, productLabel: c ? c.label : '' })} />`
          : html`<span>Product: ${a.productLabel || '—'}</span>`}${note(`${a.key}.product`)}</div>`}
      </div>
      ${editor && html`<button type="button" onClick=${() => setForm((f) => ({ ...f, apps: f.apps.filter((x) => x.key !== a.key) }))}
        aria-label=${`Remove rule ${i + 1}`}>Remove this rule</button>`}
    </fieldset>`;
  }

  const title = `Terms of ${company}`;
  if (!loaded) return html`<div class="inline-form"><${ErrorNotice} error=${error} />${!error && html`<p role="status">Loading the terms…</p>`}</div>`;
  return html`<form class="inline-form terms-form" onSubmit=${save} aria-label=${title}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => { if (e.key === 'Escape' && !e.defaultPrevented) { setUnsaved(null); onDone(null); } }}>
    <h2 ref=${heading} tabindex="-1">${title} <span class="sub">(${tenant.name}, ${mapping.agreement_name})</span></h2>
    <p class="sub">Empty fields keep the usual rules: the units counted, the billing profile's price.${editor ? '' : ' Operators change them.'}</p>
    ${warn && html`<${Notice} kind="warn">${warn}<//>`}
    <${ErrorNotice} error=${error} />
    <h3>Per product</h3>
    ${form.products.length === 0 && html`<p>No product is mapped for this tenant's applications yet.</p>`}
    ${form.products.map((r) => html`<fieldset class="card term-product" key=${r.key}>
      <legend>${r.label}</legend>
      <div class="fields">
        ${productField(r, 'minimum', 'minimum_quantity', 'Minimum quantity', 'A line with usage bills at least this many.')}
        ${productField(r, 'included', 'included_quantity', 'Included quantity', 'Units the agreement includes (lessIncluded).')}
        ${productField(r, 'price', 'unit_price', 'Customer price', "This customer's unit price; empty: the profile's.")}
      </div>
      ${note(`${r.key}.product_id`)}
    </fieldset>`)}
    ${editor && html`<div class="add-product"><${Combobox} key=${adder} label="Add terms for another product" visibleLabel="Add terms for another product" value=${null} valueLabel=""
      search=${searchProducts} noun="product"
      onChange=${(/** @type {import('./ui.js').Choice | null} */ c) => {
        if (c && !formRef.current.products.some((r) => r.product_id === c.id)) setForm((f) => ({ ...f, products: [...f.products, { key: `p${c.id}`, product_id: c.id, label: c.label, minimum: '', included: '', price: '' }] }));
        setAdder((n) => n + 1);
      }} /></div>`}
    <h3>Per application</h3>
    ${form.apps.length === 0 && html`<p>No rule: every application bills on its mapped product.</p>`}
    ${form.apps.map(appRule)}
    ${editor && html`<div class="actions"><button type="button"
      onClick=${() => setForm((f) => ({ ...f, apps: [...f.apps, { key: nextKey(), application_id: '', category: '', treatment: 'product', product: null, productLabel: '' }] }))}>Add an application rule</button></div>`}
    <div class="actions">
      ${editor && html`<button type="submit" class="primary" disabled=${busy}>Save terms</button>`}
      <button type="button" onClick=${() => { setUnsaved(null); onDone(null); }}>${editor ? 'Cancel' : 'Close'}</button>
    </div>
  </form>`;
}
