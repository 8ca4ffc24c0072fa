// @ts-check
// Shared pieces: the type-ahead combobox, notices, formatting, the unsaved-changes guard.
import { html, useState, useEffect, useRef } from './vendor/htm-preact.mjs';
import { messageOf } from './api.js';

/** @typedef {import('./vendor/htm-preact.mjs').VNode} VNode */
/** @typedef {{id: number, label: string}} Choice */

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

/**
 * A text box that searches as you type and offers a list of choices (WAI-ARIA combobox with
 * a listbox popup): arrows move, Enter picks, Escape closes, an emptied box clears the choice.
 * `label` is the accessible name; `visibleLabel`, when given, is what sighted users read above
 * the box (otherwise the label is visually hidden).
 * @param {{label: string, visibleLabel?: string, value: number | null, valueLabel: string, search: (text: string) => Promise<Choice[]>, onChange: (choice: Choice | null) => void, disabled?: boolean, placeholder?: string}} props
 */
export function Combobox({ label, visibleLabel, value, valueLabel, search, onChange, disabled = false, placeholder = 'Type to search' }) {
  const id = useId('combo');
  const [text, setText] = useState(valueLabel);
  const [open, setOpen] = useState(false);
  const [choices, setChoices] = useState(/** @type {Choice[]} */ ([]));
  const [active, setActive] = useState(-1);
  const [busy, setBusy] = useState(false);
  const query = useRef(0);
  const timer = useRef(/** @type {number | undefined} */ (undefined));

  useEffect(() => { if (!open) setText(valueLabel); }, [valueLabel, value]);

  /** @param {string} t */
  function lookup(t) {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(async () => {
      const mine = ++query.current;
      setBusy(true);
      try {
        const found = await search(t);
        if (mine !== query.current) return;
        setChoices(found);
        setActive(found.length ? 0 : -1);
        setOpen(true);
      } catch {
        if (mine === query.current) setChoices([]);
      } finally {
        if (mine === query.current) setBusy(false);
      }
    }, 150);
  }

  /** @param {Choice | null} choice */
  function pick(choice) {
    setOpen(false);
    window.clearTimeout(timer.current);
    query.current++;
    setText(choice ? choice.label : '');
    if ((choice ? choice.id : null) !== value) onChange(choice);
  }

  function close() {
    setOpen(false);
    window.clearTimeout(timer.current);
    query.current++;
    if (text.trim() === '') { if (value !== null) onChange(null); } else setText(valueLabel);
  }

  /** @param {KeyboardEvent} e */
  function onKeyDown(e) {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) lookup(text === valueLabel ? '' : text);
      else setActive((a) => Math.min(a + 1, choices.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter') {
      if (open && active >= 0 && choices[active]) { e.preventDefault(); pick(choices[active]); }
      else if (text.trim() === '') { e.preventDefault(); pick(null); }
    } else if (e.key === 'Escape') {
      if (open) { e.preventDefault(); e.stopPropagation(); setOpen(false); setText(valueLabel); }
    }
  }

  const listId = `${id}-list`;
  const activeId = open && active >= 0 ? `${id}-opt-${active}` : undefined;
  return html`<div class="combo">
    ${visibleLabel
      ? html`<label for=${id} class="combo-label"><span class="visually-hidden">${label}</span><span aria-hidden="true">${visibleLabel}</span></label>`
      : html`<label for=${id} class="visually-hidden">${label}</label>`}
    <input id=${id} type="text" role="combobox" autocomplete="off" spellcheck="false"
      aria-autocomplete="list" aria-expanded=${open ? 'true' : 'false'} aria-controls=${listId}
      aria-activedescendant=${activeId} aria-busy=${busy ? 'true' : 'false'}
      placeholder=${placeholder} disabled=${disabled} value=${text}
      onInput=${(/** @type {InputEvent} */ e) => { const t = /** @type {HTMLInputElement} */ (e.currentTarget).value; setText(t); lookup(t); }}
      onKeyDown=${onKeyDown}
      onBlur=${() => window.setTimeout(close, 120)} />
    <ul id=${listId} role="listbox" aria-label=${label} class="combo-list" hidden=${!open}>
      ${open && choices.length === 0 && html`<li class="combo-empty" role="presentation">${busy ? 'Searching…' : 'Nothing found'}</li>`}
      ${choices.map((c, i) => html`<li id=${`${id}-opt-${i}`} role="option" key=${c.id}
          aria-selected=${i === active ? 'true' : 'false'} class=${i === active ? 'active' : ''}
          onMouseDown=${(/** @type {MouseEvent} */ e) => { e.preventDefault(); pick(c); }}>${c.label}</li>`)}
    </ul>
  </div>`;
}

// The unsaved-changes guard: a screen with unsaved edits registers a message; navigation
// elsewhere (or leaving the page) asks first.
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
