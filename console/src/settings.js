// @ts-check
// Settings: the sync settings (schedule, time zone, date policies, guards, notices, retention) and the
// billing setting that is not on the Products screen (licence tiers). Operators change them,
// everyone reads them; ETag/If-Match, and a conflict keeps the edits.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { call, may, messageOf, ApiError } from './api.js';
import { Notice, ago, setUnsaved, useId, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['SyncSettings']} SyncSettings */
/** @typedef {{kind: 'ok' | 'warn' | 'error', text: string, items?: string[]} | null} Message */

/** @typedef {'schedule' | 'time_zone' | 'max_decrease_percent' | 'max_increase_percent' | 'min_increase_units' | 'max_usage_age_hours' | 'held_notice_after_hours' | 'held_money_notice_threshold'} TopField */
/** @typedef {'runs_days' | 'snapshots_days' | 'audit_events_days'} RetentionField */

/** @type {Array<{name: TopField | `retention.${RetentionField}`, label: string, hint: string, type: 'text' | 'number', min?: number, max?: number}>} */
const NUMBERS = [
  { name: 'max_decrease_percent', label: 'Hold decreases above (%)', hint: 'A line lowered by more than this share of its quantity waits for approval; so does every cancel unless it is 100.', type: 'number', min: 0, max: 100 },
  { name: 'max_increase_percent', label: 'Hold a tenant rising above (%)', hint: "A tenant whose total billed units rise by more than this share…", type: 'number', min: 0, max: 10000 },
  { name: 'min_increase_units', label: '…and by at least (units)', hint: '…has its raising lines held, so a tenant going from 2 to 3 devices is not.', type: 'number', min: 0, max: 1000000 },
  { name: 'max_usage_age_hours', label: 'Freeze a tenant whose usage is older than (hours)', hint: 'Its billing stays as it is until fresh usage arrives.', type: 'number', min: 1 },
];
/** When held lines raise a notice (see the Notifications screen). @type {typeof NUMBERS} */
const NOTICES = [
  { name: 'held_notice_after_hours', label: 'Notify of lines held longer than (hours)', hint: 'A held_lines notice once lines have waited this long for approval; 0 = at once.', type: 'number', min: 0, max: 8760 },
  { name: 'held_money_notice_threshold', label: 'Notify at once of held lines moving a company\'s bill by (amount)', hint: 'A held_money notice when held lines would move one company\'s monthly bill by this much or more, either way, e.g. 250.00. Empty: never.', type: 'text' },
];
/** Fields whose empty box means null (no value), not an empty text. */
const NULLABLE = ['held_money_notice_threshold'];
/** @type {Array<{name: RetentionField, label: string}>} */
const RETENTION = [
  { name: 'runs_days', label: 'Sync runs and their changes (days)' },
  { name: 'snapshots_days', label: 'Usage snapshots (days; each tenant\'s newest is always kept)' },
  { name: 'audit_events_days', label: 'Audit events (days)' },
];

/** @returns {string[]} */
function timeZones() {
  try { return Intl.supportedValuesOf('timeZone'); } catch { return ['UTC']; }
}

/** @param {Schemas['SyncSettingsView']} v @returns {SyncSettings} */
function editable(v) {
  const { next_run_at: _next, ...rest } = v;
  return /** @type {SyncSettings} */ (structuredClone(rest));
}

/** @param {SyncSettings} a @param {SyncSettings} b */
function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function SyncSettingsForm() {
  const editor = may('operator');
  const [stored, setStored] = useState(/** @type {{view: Schemas['SyncSettingsView'], etag: string | null} | null} */ (null));
  const [form, setForm] = useState(/** @type {SyncSettings | null} */ (null));
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {Message} */ (null));
  const [busy, setBusy] = useState(false);
  const id = useId('sync-settings');

  async function load() {
    const reply = await call('GET', '/settings/sync');
    setStored({ view: reply.data, etag: reply.etag });
    return /** @type {Schemas['SyncSettingsView']} */ (reply.data);
  }
  useEffect(() => { load().then((v) => setForm(editable(v)), (e) => setMessage({ kind: 'error', text: messageOf(e) })); }, []);

  const dirty = stored !== null && form !== null && !same(form, editable(stored.view));
  useEffect(() => { setUnsaved(dirty ? 'The sync settings have unsaved changes. Leave without saving them?' : null); }, [dirty]);
  useEffect(() => () => setUnsaved(null), []);

  /** @param {string} name @param {unknown} value */
  function set(name, value) {
    if (!form) return;
    const next = structuredClone(form);
    if (name.startsWith('retention.')) next.retention = { ...(next.retention ?? { runs_days: 400, snapshots_days: 400, audit_events_days: 730 }), [name.slice(10)]: value };
    else /** @type {Record<string, unknown>} */ (next)[name] = value;
    setForm(next);
    setMessage(null);
  }

  /** @param {string} name */
  function valueOf(name) {
    if (!form) return '';
    if (name.startsWith('retention.')) return /** @type {Record<string, number>} */ (form.retention ?? {})[name.slice(10)] ?? '';
    return /** @type {Record<string, unknown>} */ (form)[name] ?? '';
  }

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    if (!form || !stored) return;
    setBusy(true); setErrors({}); setMessage(null);
    try {
      // An amount is sent as typed (an exact decimal string), without surrounding blanks.
      const body = { ...form, held_money_notice_threshold: form.held_money_notice_threshold?.trim() || null };
      const reply = await call('PUT', '/settings/sync', { body, ifMatch: stored.etag });
      setStored({ view: reply.data, etag: reply.etag });
      setForm(editable(reply.data));
      setUnsaved(null);
      setMessage({ kind: 'ok', text: `Sync settings saved.${reply.data.schedule_enabled && reply.data.next_run_at ? ` Next run ${when(reply.data.next_run_at)} (${ago(reply.data.next_run_at)}).` : ' The schedule is off.'}` });
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        const theirs = await load();
        const changed = Object.keys(theirs).filter((k) => k !== 'next_run_at' && JSON.stringify(/** @type {Record<string, unknown>} */ (theirs)[k]) !== JSON.stringify(/** @type {Record<string, unknown>} */ (stored.view)[k]));
        setMessage({ kind: 'warn', text: 'Someone else saved the sync settings since you opened them, so yours were not saved. Your edits are still here: check them and Save again.', items: changed.map((k) => `${k}: now ${JSON.stringify(/** @type {Record<string, unknown>} */ (theirs)[k])}`) });
      } else if (err instanceof ApiError && err.status === 422) {
        /** @type {Record<string, string>} */
        const byField = {};
        for (const fe of err.problem?.errors ?? []) byField[fe.field] = fe.message;
        setErrors(byField);
        setMessage({ kind: 'error', text: 'Not saved: some fields are not valid.', items: err.fieldMessages() });
      } else setMessage({ kind: 'error', text: messageOf(err) });
    } finally { setBusy(false); }
  }

  /** @param {{name: string, label: string, hint?: string, type: 'text' | 'number', min?: number, max?: number, list?: string}} f */
  function field(f) {
    const fid = `${id}-${f.name.replace('.', '-')}`;
    const error = errors[f.name];
    return html`<div class="field" key=${f.name}>
      <label for=${fid}>${f.label}</label>
      <input id=${fid} type=${f.type} min=${f.min} max=${f.max} list=${f.list} disabled=${!editor} value=${String(valueOf(f.name))}
        inputmode=${NULLABLE.includes(f.name) ? 'decimal' : undefined} placeholder=${NULLABLE.includes(f.name) ? 'e.g. 250.00' : undefined}
        aria-invalid=${error ? 'true' : undefined} aria-describedby=${`${fid}-hint`}
        onInput=${(/** @type {Event} */ e) => { const v = /** @type {HTMLInputElement} */ (e.currentTarget).value; set(f.name, f.type === 'number' && v !== '' ? Number(v) : NULLABLE.includes(f.name) && v.trim() === '' ? null : v); }} />
      <p id=${`${fid}-hint`} class=${error ? 'field-error' : 'sub'}>${error ?? f.hint ?? ''}</p>
    </div>`;
  }

  /** @param {'effective_date_policy' | 'cancel_date_policy'} name @param {string} legend @param {Array<[string, string]>} options */
  function radios(name, legend, options) {
    return html`<fieldset class="segmented" key=${name}><legend>${legend}</legend>
      ${options.map(([value, label]) => html`<label key=${value}><input type="radio" name=${`${id}-${name}`} value=${value} disabled=${!editor}
        checked=${form?.[name] === value} onChange=${() => set(name, value)} /> ${label}</label>`)}
    </fieldset>`;
  }

  if (!form || !stored) return html`<section class="card" aria-labelledby=${`${id}-title`}><h2 id=${`${id}-title`}>Sync</h2>${message ? html`<${Notice} kind=${message.kind}>${message.text}<//>` : html`<p role="status">Loading…</p>`}</section>`;
  return html`<form class="card settings-form" aria-labelledby=${`${id}-title`} onSubmit=${save}>
    <h2 id=${`${id}-title`}>Sync</h2>
    <p class="sub">${stored.view.schedule_enabled && stored.view.next_run_at ? `Next run ${when(stored.view.next_run_at)} (${ago(stored.view.next_run_at)}).` : 'The schedule is off: syncs run only when started.'}</p>
    ${message && html`<${Notice} kind=${message.kind}>${message.text}${message.items && message.items.length > 0 && html`<ul>${message.items.map((i) => html`<li>${i}</li>`)}</ul>`}<//>`}
    <h3>Schedule</h3>
    <div class="check"><input id=${`${id}-enabled`} type="checkbox" role="switch" disabled=${!editor} checked=${form.schedule_enabled}
      onChange=${(/** @type {Event} */ e) => set('schedule_enabled', /** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
      <label for=${`${id}-enabled`}>Run syncs on a schedule</label></div>
    <div class="fields">
      ${field({ name: 'schedule', label: 'Schedule (cron)', hint: 'minute hour day-of-month month day-of-week; 0 2 * * * is every day at 02:00, 30 6 * * MON-FRI weekdays at 06:30', type: 'text' })}
      ${field({ name: 'time_zone', label: 'Time zone', hint: 'The schedule\'s wall clock, e.g. Europe/Berlin (02:00 stays 02:00 across daylight saving)', type: 'text', list: `${id}-zones` })}
    </div>
    <datalist id=${`${id}-zones`}>${timeZones().map((z) => html`<option value=${z}></option>`)}</datalist>
    <h3>Dates written</h3>
    <div class="fields">
      ${radios('effective_date_policy', 'A new addition starts', [['today', 'today'], ['first_of_month', 'on the first of the month']])}
      ${radios('cancel_date_policy', 'An addition whose usage ended is cancelled', [['today', 'today'], ['end_of_month', 'at the end of the month']])}
    </div>
    <h3>Guards</h3>
    <div class="fields">${NUMBERS.map(field)}</div>
    <div class="check"><input id=${`${id}-first`} type="checkbox" disabled=${!editor} checked=${form.hold_first_billing}
      onChange=${(/** @type {Event} */ e) => set('hold_first_billing', /** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
      <label for=${`${id}-first`}>Hold a tenant's very first billing for approval</label></div>
    <h3>Notices</h3>
    <div class="fields">${NOTICES.map(field)}</div>
    <h3>Keep history</h3>
    <div class="fields">${RETENTION.map((r) => field({ name: `retention.${r.name}`, label: r.label, type: 'number', min: 1 }))}</div>
    ${editor && html`<div class="actions">
      <button type="submit" class="primary" disabled=${!dirty || busy}>Save sync settings</button>
      <button type="button" disabled=${!dirty || busy} onClick=${() => { setForm(editable(stored.view)); setErrors({}); setMessage(null); }}>Discard changes</button>
    </div>`}
  </form>`;
}

function BillingSettingsForm() {
  const editor = may('operator');
  const [stored, setStored] = useState(/** @type {{data: Schemas['BillingSettings'], etag: string | null} | null} */ (null));
  const [message, setMessage] = useState(/** @type {Message} */ (null));
  const id = useId('billing-settings');
  async function load() {
    const reply = await call('GET', '/settings/billing');
    setStored({ data: reply.data, etag: reply.etag });
  }
  useEffect(() => { load().catch((e) => setMessage({ kind: 'error', text: messageOf(e) })); }, []);
  /** @param {boolean} on */
  async function setTiers(on) {
    if (!stored) return;
    setMessage(null);
    try {
      const reply = await call('PUT', '/settings/billing', { body: { bill_devices_by_category: stored.data.bill_devices_by_category, bill_licence_tiers: on }, ifMatch: stored.etag });
      setStored({ data: reply.data, etag: reply.etag });
      setMessage({ kind: 'ok', text: on ? 'Licence tiers now bill as applications of their own: the next preview shows the change as a move per tenant.' : 'Licence tiers bill as the application they fold into again.' });
    } catch (err) {
      await load().catch(() => {});
      setMessage({ kind: 'error', text: messageOf(err), items: err instanceof ApiError ? err.fieldMessages() : undefined });
    }
  }
  return html`<section class="card" aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>Billing</h2>
    ${message && html`<${Notice} kind=${message.kind}>${message.text}${message.items && message.items.length > 0 && html`<ul>${message.items.map((i) => html`<li>${i}</li>`)}</ul>`}<//>`}
    ${!stored ? html`<p role="status">Loading…</p>` : html`
      <p>Bill devices by category: <strong>${stored.data.bill_devices_by_category ? 'on' : 'off'}</strong> — switched on the <a href="#/products">Products</a> screen, with the products it needs.</p>
      <div class="check"><input id=${`${id}-tiers`} type="checkbox" role="switch" disabled=${!editor} checked=${stored.data.bill_licence_tiers}
        onChange=${(/** @type {Event} */ e) => setTiers(/** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
        <label for=${`${id}-tiers`}>Bill licence tiers as applications of their own</label></div>
      <p class="sub">Kaspersky Next, Endpoint Security for Business Select and Advanced, Total Security for Business, Hybrid Cloud Security. Off (an installation upgraded from before tiers), a tier's devices bill as the application it folds into; map the tiers in use before switching it on.</p>`}
  </section>`;
}

export function SettingsScreen() {
  return html`<section aria-labelledby="settings-title">
    <h1 id="settings-title" tabindex="-1">Settings</h1>
    <p class="lead">When syncs run, what they write, and what they hold for approval.${may('operator') ? '' : ' You may read them; operators change them.'}</p>
    <${SyncSettingsForm} />
    <${BillingSettingsForm} />
  </section>`;
}
