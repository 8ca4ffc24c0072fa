// @ts-check
// Shared pieces: the type-ahead combobox, notices, formatting, routes, the unsaved-changes guard.
import { html, useState, useEffect, useRef } from './vendor/htm-preact.mjs';
import { messageOf } from './api.js';

/** @typedef {import('./vendor/htm-preact.mjs').VNode} VNode */
/**
 * One option of a combobox. `match` is the text that names it exactly (a product's
 * identifier, a company's name): typing it and pressing Enter or leaving the box picks it.
 * @typedef {{id: number, label: string, match?: string}} Choice
 */
/** @typedef {{choices: Choice[], total: number}} Found */

let uid = 0;
/** A stable id for label/aria references. @param {string} prefix */
export function useId(prefix) {
  const ref = useRef('');
  if (!ref.current) ref.current = `${prefix}-${++uid}`;
  return ref.current;
}

/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** "3 days ago", "in 5 hours": how far a moment is from now. @param {string | null | undefined} iso */
export function ago(iso) {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return '';
  const minutes = Math.round(Math.abs(ms) / 60000);
  const [n, unit] = minutes < 1 ? [0, ''] : minutes < 60 ? [minutes, 'minute'] : minutes < 48 * 60 ? [Math.round(minutes / 60), 'hour'] : [Math.round(minutes / 1440), 'day'];
  if (n === 0) return 'just now';
  const span = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return ms < 0 ? `${span} ago` : `in ${span}`;
}

/** "1 tenant", "3 tenants". @param {number} n @param {string} noun @param {string} [plural] */
export function count(n, noun, plural = `${noun}s`) {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * The applications a "blocked" reason names: the server words it with their ids
 * ("incomplete product mapping for kes-windows, ksws").
 * @param {string | null | undefined} reason @returns {string[]}
 */
export function blockedBy(reason) {
  const m = /incomplete product mapping for ([^;)]+)/.exec(reason ?? '');
  return m ? m[1].split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/**
 * A reason or error as people read it: application ids replaced by their names.
 * @param {string | null | undefined} text @param {Map<string, string> | undefined} names
 */
export function readable(text, names) {
  if (!text) return '';
  return text.replace(/incomplete product mapping for ([^;)]+)/g, (_, list) =>
    `incomplete product mapping for ${String(list).split(',').map((s) => names?.get(s.trim()) ?? s.trim()).join(', ')}`);
}

// --- money ----------------------------------------------------------------------------------
// Amounts are exact decimal strings from the API ("120.00", "-4.5"): shown and compared as
// text, never turned into binary floating-point numbers.

/** An amount as the API writes it (the schema's `Money`). */
export const MONEY = /^-?[0-9]{1,15}(\.[0-9]{1,4})?$/;
/** A price or quantity-free amount a form accepts: not negative, at most 4 decimals. */
export const AMOUNT = /^[0-9]{1,15}(\.[0-9]{1,4})?$/;

/** -1, 0 or 1: the sign of a decimal string. @param {string | null | undefined} amount */
export function moneySign(amount) {
  const a = (amount ?? '').trim();
  if (!/[1-9]/.test(a)) return 0;
  return a.startsWith('-') ? -1 : 1;
}

/** The amount without its sign. @param {string} amount */
export function moneyAbs(amount) {
  return amount.trim().replace(/^[-+]/, '');
}

/** "+12.00", "−12.00" or "0.00": an effect in a table cell. @param {string | null | undefined} amount */
export function signed(amount) {
  if (amount === null || amount === undefined || amount === '') return '—';
  const sign = moneySign(amount);
  return `${sign > 0 ? '+' : sign < 0 ? '−' : ''}${moneyAbs(amount)}`;
}

/**
 * "raises Contoso Ltd's monthly bill by 12.00" / "lowers … by …" / "leaves … as it is" (or, for
 * what a run did, "raised", "lowered", "left").
 * @param {string | null | undefined} amount @param {string} whose e.g. "Contoso Ltd's"
 * @param {{noun?: string, past?: boolean}} [options]
 */
export function billEffect(amount, whose, { noun = 'monthly bill', past = false } = {}) {
  const sign = moneySign(amount);
  if (sign === 0) return `${past ? 'left' : 'leaves'} ${whose} ${noun} as ${noun.endsWith('s') ? 'they were' : 'it was'}`;
  const verb = sign > 0 ? (past ? 'raised' : 'raises') : (past ? 'lowered' : 'lowers');
  return `${verb} ${whose} ${noun} by ${moneyAbs(amount ?? '')}`;
}

/** A money cell: the signed amount, green when it raises, red when it lowers. @param {{amount: string | null | undefined}} props */
export function Money({ amount }) {
  const sign = moneySign(amount);
  return html`<span class=${`money${sign > 0 ? ' up' : sign < 0 ? ' down' : ''}`}>${signed(amount)}</span>`;
}

/** A company's name as an owner: "Contoso Ltd's", "Jones'". @param {string} name */
export function possessive(name) {
  return /s$/i.test(name) ? `${name}'` : `${name}'s`;
}

/** How a run's trigger reads. */
export const TRIGGERS = { api: 'API', console: 'console', schedule: 'schedule', cli: 'command line' };

/** @param {{kind?: 'error' | 'ok' | 'info' | 'warn', children?: unknown}} props */
export function Notice({ kind = 'info', children }) {
  const role = kind === 'error' || kind === 'warn' ? 'alert' : 'status';
  return html`<div class=${`notice notice-${kind}`} role=${role}>${children}</div>`;
}

/** @param {{error: unknown}} props */
export function ErrorNotice({ error }) {
  return error ? html`<${Notice} kind="error">${messageOf(error)}<//>` : null;
}

/**
 * Loads data on mount and whenever `deps` change.
 * @template T
 * @param {() => Promise<T>} load
 * @param {readonly unknown[]} deps
 * @returns {{data: T | undefined, error: unknown, loading: boolean, reload: () => void}}
 */
export function useLoad(load, deps) {
  const [state, setState] = useState(/** @type {{data: T | undefined, error: unknown, loading: boolean}} */ ({ data: undefined, error: null, loading: true }));
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (live) setState({ data, error: null, loading: false }); },
      (error) => { if (live) setState((s) => ({ data: s.data, error, loading: false })); },
    );
    return () => { live = false; };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

// --- routes ---------------------------------------------------------------------------------
// The URL fragment is the route: "#/products?row=kes-windows" is the Products screen with the
// row of kes-windows to fix. Links elsewhere in the console name the place to fix this way.

/** The screen's path, e.g. "products". */
export function routePath() {
  return location.hash.replace(/^#\/?/, '').split('?')[0];
}

/** The parameters after "?" in the fragment. */
export function routeParams() {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query);
}

/**
 * A link to a place of the console. @param {string} path @param {Record<string, string>} [params]
 */
export function href(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${path}${query ? `?${query}` : ''}`;
}

// --- the combobox ---------------------------------------------------------------------------

/** Pickers whose text waits for its search before it is committed (Enter or leaving the box). */
let unsettled = 0;
/** @type {Array<() => void>} */
let settledWaiters = [];
function settleOne() {
  unsettled = Math.max(0, unsettled - 1);
  if (unsettled === 0) { const w = settledWaiters; settledWaiters = []; for (const f of w) f(); }
}

/**
 * Resolves when no picker has a choice still on its way (saving awaits it, so a Save clicked
 * right after typing saves what was typed, never the choice before).
 * @returns {Promise<void>}
 */
export function picksSettled() {
  return unsettled === 0 ? Promise.resolve() : new Promise((resolve) => { settledWaiters.push(resolve); });
}

/** @param {string} text */
const norm = (text) => text.trim().toLowerCase();

/**
 * A text box that searches as you type and offers a list of choices (WAI-ARIA combobox with
 * a listbox popup). The options shown always belong to the text in the box: while a search for
 * newer text is on its way the list says "Searching…", so Enter, ↓ or a click can never take an
 * option of an older search. ↓ moves to the first option, then on; Enter picks the option moved
 * to, else the one the text names exactly (or the only one); leaving the box with the exact
 * name of an option picks it, and any other text is put back, saying so. More results than
 * shown: "N more — keep typing". Escape closes; an emptied box clears the choice.
 * `label` is the accessible name; `visibleLabel`, when given, is what sighted users read above
 * the box (otherwise the label is visually hidden).
 * @param {{label: string, visibleLabel?: string, value: number | null, valueLabel: string, search: (text: string) => Promise<Found>, onChange: (choice: Choice | null) => void, disabled?: boolean, placeholder?: string, noun?: string, inputRef?: {current: HTMLInputElement | null}}} props
 */
export function Combobox({ label, visibleLabel, value, valueLabel, search, onChange, disabled = false, placeholder = 'Type to search', noun = 'result', inputRef }) {
  const id = useId('combo');
  const [text, setText] = useState(valueLabel);
  const [open, setOpen] = useState(false);
  const [results, setResults] = useState(/** @type {(Found & {query: string}) | null} */ (null));
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState('');
  // The same as refs, for the callbacks of searches that arrive later.
  const live = useRef({ text: valueLabel, valueLabel, value, results: /** @type {(Found & {query: string}) | null} */ (null), active: -1, onChange });
  live.current.valueLabel = valueLabel;
  live.current.value = value;
  live.current.onChange = onChange;
  const seq = useRef(0);
  const timer = useRef(/** @type {number | undefined} */ (undefined));
  /** What to do once the results for the text are in: commit (Enter, leaving) or move to the first option (↓). */
  const intent = useRef(/** @type {'enter' | 'leave' | null} */ (null));
  const wantFirst = useRef(false);
  const focused = useRef(false);

  useEffect(() => {
    if (!focused.current && !intent.current) { setText(valueLabel); live.current.text = valueLabel; }
  }, [valueLabel, value]);
  useEffect(() => () => { window.clearTimeout(timer.current); if (intent.current) settleOne(); }, []);

  /** The query a text searches for: browsing (all) while it shows the current choice. @param {string} t */
  const queryOf = (t) => (t === live.current.valueLabel ? '' : norm(t));
  /** The results, if they belong to the text on screen. */
  function current() {
    const r = live.current.results;
    return r && r.query === queryOf(live.current.text) ? r : null;
  }
  /** @param {number} i */
  function moveTo(i) { live.current.active = i; setActive(i); }
  /** @param {'enter' | 'leave' | null} next */
  function setIntent(next) {
    if (!intent.current && next) unsettled++;
    if (intent.current && !next) settleOne();
    intent.current = next;
  }

  /** @param {string} t @param {number} delay */
  function lookup(t, delay) {
    window.clearTimeout(timer.current);
    const query = queryOf(t);
    if (live.current.results?.query === query) { settle(); return; }
    const mine = ++seq.current;
    setBusy(true);
    timer.current = window.setTimeout(async () => {
      try {
        const found = await search(query === '' ? '' : t.trim());
        if (mine !== seq.current) return;
        const r = { ...found, query };
        live.current.results = r;
        setResults(r);
        moveTo(-1);
        setBusy(false);
        settle();
      } catch (e) {
        if (mine !== seq.current) return;
        setBusy(false);
        setNote(`The search failed: ${messageOf(e)}`);
        setIntent(null);
      }
    }, delay);
  }

  /** The results for the text are in: do what the user asked for meanwhile. */
  function settle() {
    const r = current();
    if (!r) return;
    if (wantFirst.current) { wantFirst.current = false; if (r.choices.length) { moveTo(0); setOpen(true); } }
    const why = intent.current;
    if (!why) return;
    setIntent(null);
    const typed = live.current.text;
    if (why === 'enter' && live.current.active >= 0 && r.choices[live.current.active]) { pick(r.choices[live.current.active]); return; }
    const exact = r.choices.filter((c) => norm(c.match ?? c.label) === norm(typed) || norm(c.label) === norm(typed));
    if (exact.length === 1) { pick(exact[0]); return; }
    if (why === 'enter' && r.total === 1 && r.choices.length === 1) { pick(r.choices[0]); return; }
    if (why === 'leave') {
      const kept = live.current.valueLabel;
      setText(kept);
      live.current.text = kept;
      setOpen(false);
      setNote(`“${typed.trim()}” is not ${r.total === 0 ? `a ${noun}` : `one ${noun}`}: ${kept ? `${kept.split(' — ')[0]} is kept` : 'nothing is chosen'}. Type it again and pick one from the list.`);
      return;
    }
    setOpen(true);
    setNote(r.total === 0 ? `No ${noun} matches “${typed.trim()}”.` : `${count(r.total, `${noun} matches`, `${noun}s match`)}: press ↓ to choose one, or keep typing.`);
  }

  /** @param {Choice | null} choice */
  function pick(choice) {
    window.clearTimeout(timer.current);
    seq.current++;
    setBusy(false);
    setIntent(null);
    wantFirst.current = false;
    setOpen(false);
    moveTo(-1);
    setNote('');
    const shown = choice ? choice.label : '';
    setText(shown);
    live.current.text = shown;
    if ((choice ? choice.id : null) !== live.current.value) live.current.onChange(choice);
  }

  /** @param {KeyboardEvent} e */
  function onKeyDown(e) {
    const r = current();
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      if (r) { if (r.choices.length) moveTo(Math.min(live.current.active + 1, r.choices.length - 1)); }
      else { wantFirst.current = true; lookup(text, 0); }
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (r && r.choices.length) moveTo(Math.max(live.current.active - 1, 0));
    } else if (e.key === 'Enter') {
      if (open && r && live.current.active >= 0 && r.choices[live.current.active]) { e.preventDefault(); pick(r.choices[live.current.active]); return; }
      if (text.trim() === '') { e.preventDefault(); pick(null); return; }
      if (text === valueLabel && !open) return;
      e.preventDefault();
      setIntent('enter');
      if (r) settle(); else lookup(text, 0);
    } else if (e.key === 'Escape') {
      if (open || text !== valueLabel) {
        e.preventDefault(); e.stopPropagation();
        window.clearTimeout(timer.current); seq.current++; setBusy(false); setIntent(null);
        setOpen(false); setText(valueLabel); live.current.text = valueLabel; setNote('');
      }
    }
  }

  function onBlur() {
    focused.current = false;
    setOpen(false);
    const t = live.current.text;
    if (t.trim() === '') { if (live.current.value !== null) pick(null); else setNote(''); return; }
    if (t === live.current.valueLabel) return;
    setIntent('leave');
    if (current()) settle(); else lookup(t, 0);
  }

  /** @param {InputEvent} e */
  function onInput(e) {
    const t = /** @type {HTMLInputElement} */ (e.currentTarget).value;
    setText(t);
    live.current.text = t;
    moveTo(-1);
    setIntent(null);
    wantFirst.current = false;
    setNote('');
    setOpen(true);
    lookup(t, 150);
  }

  const shown = results && results.query === queryOf(text) ? results : null;
  const listId = `${id}-list`;
  const noteId = `${id}-note`;
  const activeId = open && shown && active >= 0 ? `${id}-opt-${active}` : undefined;
  const more = shown ? shown.total - shown.choices.length : 0;
  return html`<div class="combo">
    ${visibleLabel
      ? html`<label for=${id} class="combo-label"><span class="visually-hidden">${label}</span><span aria-hidden="true">${visibleLabel}</span></label>`
      : html`<label for=${id} class="visually-hidden">${label}</label>`}
    <input id=${id} type="text" role="combobox" autocomplete="off" spellcheck="false" ref=${inputRef}
      aria-autocomplete="list" aria-expanded=${open ? 'true' : 'false'} aria-controls=${listId}
      aria-activedescendant=${activeId} aria-busy=${busy ? 'true' : 'false'} aria-describedby=${note ? noteId : undefined}
      placeholder=${placeholder} disabled=${disabled} value=${text}
      onInput=${onInput} onKeyDown=${onKeyDown}
      onFocus=${() => { focused.current = true; }}
      onBlur=${onBlur} />
    <div class="combo-popup" hidden=${!open}>
      <ul id=${listId} role="listbox" aria-label=${label} class="combo-list">
        ${(shown?.choices ?? []).map((c, i) => html`<li id=${`${id}-opt-${i}`} role="option" key=${c.id}
          aria-selected=${i === active ? 'true' : 'false'} class=${i === active ? 'active' : ''}
          onMouseDown=${(/** @type {MouseEvent} */ e) => { e.preventDefault(); pick(c); }}>${c.label}</li>`)}
      </ul>
      ${!shown && html`<p class="combo-empty">Searching…</p>`}
      ${shown && shown.choices.length === 0 && html`<p class="combo-empty">Nothing found</p>`}
      ${more > 0 && html`<p class="combo-more">${more} more — keep typing to narrow the list</p>`}
    </div>
    <p id=${noteId} class=${note ? 'combo-note' : 'combo-note empty'} aria-live="polite">${note}</p>
  </div>`;
}

// --- the unsaved-changes guard --------------------------------------------------------------
// A screen with unsaved edits registers a message; navigation elsewhere (or leaving the page)
// asks first.
/** @type {string | null} */
let unsaved = null;

/** @param {string | null} message */
export function setUnsaved(message) {
  unsaved = message;
}

/** True when it is fine to leave the current screen. */
export function mayLeave() {
  if (unsaved === null) return true;
  if (window.confirm(unsaved)) { unsaved = null; return true; }
  return false;
}

window.addEventListener('beforeunload', (e) => {
  if (unsaved !== null) { e.preventDefault(); e.returnValue = ''; }
});
