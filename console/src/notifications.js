// @ts-check
// Notifications: the delivery log of the billing notices (everyone reads it, operators
// acknowledge) and the channels they go to (admins: webhooks and ConnectWise tickets, each with
// its event kinds and minimum severity; ETag/If-Match, a test message on demand).
// Amounts (money at stake) stay the exact decimal strings the API sends: shown, never computed.
import { html, useState, useEffect, useLayoutEffect, useRef } from './vendor/htm-preact.mjs';
import { call, get, may, ApiError } from './api.js';
import { ErrorNotice, Notice, ago, count, setUnsaved, useId, useLoad, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['NotificationChannel']} Channel */
/** @typedef {Schemas['NoticeKind']} NoticeKind */
/** @typedef {Schemas['Severity']} Severity */
/** @typedef {Schemas['RecordRef']} RecordRef */
/** @typedef {'board' | 'status' | 'closed_status' | 'priority' | 'type' | 'company'} RefField */
/**
 * The form as typed: every ConnectWise record a text (a name, a company identifier, or an id
 * when all digits).
 * @typedef {{name: string, kind: Schemas['ChannelKind'], enabled: boolean, url: string, secret: string,
 *   board: string, status: string, closed_status: string, priority: string, type: string, company: string,
 *   on_affected_company: boolean, event_kinds: NoticeKind[], min_severity: Severity}} Form
 */

/** @type {Array<[NoticeKind, string]>} */
export const KINDS = [
  ['run_outcome', 'Sync run outcome'],
  ['held_lines', 'Lines held too long'],
  ['held_money', 'Held lines moving a bill'],
  ['unattributed_keys', 'Licence keys not counted'],
  ['unmapped_tenant', 'Unmapped tenant'],
  ['inactive_product', 'Inactive product billed'],
  ['connection_test', 'Failed connection test'],
];
/** @param {string} k */
const kindLabel = (k) => KINDS.find(([v]) => v === k)?.[1] ?? k;
/** @type {Array<[Severity, string]>} */
const SEVERITIES = [['info', 'Info and worse (everything)'], ['warning', 'Warning and critical'], ['critical', 'Critical only']];
const CHANNEL_KINDS = { webhook: 'Webhook', connectwise_ticket: 'ConnectWise ticket' };
/** @type {Array<[RefField, string, string, boolean]>} the ticket's records: field, label, hint, required */
const REFS = [
  ['board', 'Service board', 'Its name as ConnectWise has it (e.g. Help Desk), or its id.', true],
  ['status', 'Status of a new ticket', "Empty: the board's default.", false],
  ['closed_status', 'Status when resolved', 'e.g. Closed.', true],
  ['priority', 'Priority', "Empty: the board's default.", false],
  ['type', 'Type', 'A type of that board, e.g. Billing; empty: none.', false],
  ['company', 'Company', "Your own company's identifier (e.g. MyMSP), or its id.", true],
];
/** The fields that show their own error; any other goes in the form's notice. */
const FIELDS = ['name', 'url', 'secret', 'event_kinds', 'min_severity', 'ticket', ...REFS.map(([f]) => `ticket.${f}`), 'ticket.on_affected_company'];

/** @param {RecordRef | null | undefined} r */
function refText(r) {
  if (!r) return '';
  return r.name ?? r.identifier ?? (r.id !== null && r.id !== undefined ? String(r.id) : '');
}

/** A typed record: `{"id": n}` when all digits, else by name (a company: its identifier). @param {string} text @param {'name' | 'identifier'} by @returns {RecordRef | null} */
function refOf(text, by) {
  const t = text.trim();
  if (t === '') return null;
  return /^[0-9]{1,15}$/.test(t) ? { id: Number(t) } : { [by]: t };
}

/** @param {Channel | null} c @returns {Form} */
function formOf(c) {
  const t = c?.ticket;
  return {
    name: c?.name ?? '', kind: c?.kind ?? 'connectwise_ticket', enabled: c?.enabled ?? true, url: c?.url ?? '', secret: '',
    board: refText(t?.board), status: refText(t?.status), closed_status: refText(t?.closed_status),
    priority: refText(t?.priority), type: refText(t?.type), company: refText(t?.company),
    on_affected_company: t?.on_affected_company ?? false,
    event_kinds: [...(c?.event_kinds ?? [])], min_severity: c?.min_severity ?? 'warning',
  };
}

/** @param {Form} f @returns {Schemas['NotificationChannelInput']} */
function bodyOf(f) {
  /** @type {Schemas['NotificationChannelInput']} */
  const body = { name: f.name.trim(), kind: f.kind, enabled: f.enabled, event_kinds: f.event_kinds, min_severity: f.min_severity };
  if (f.kind === 'webhook') {
    body.url = f.url.trim();
    if (f.secret !== '') body.secret = f.secret;
  } else {
    body.ticket = {
      board: refOf(f.board, 'name') ?? {}, status: refOf(f.status, 'name'), closed_status: refOf(f.closed_status, 'name') ?? {},
      priority: refOf(f.priority, 'name'), type: refOf(f.type, 'name'), company: refOf(f.company, 'identifier') ?? {},
      on_affected_company: f.on_affected_company,
    };
  }
  return body;
}

/** The errors of a 422 by the field they belong to (`ticket.board.name` counts for `ticket.board`). @param {ApiError} err */
function fieldErrors(err) {
  /** @type {Record<string, string>} */
  const byField = {};
  /** @type {string[]} */
  const elsewhere = [];
  for (const fe of err.problem?.errors ?? []) {
    const field = FIELDS.filter((f) => fe.field === f || fe.field.startsWith(`${f}.`) || fe.field.startsWith(`${f}[`)).sort((a, b) => b.length - a.length)[0];
    if (field) byField[field] = byField[field] ? `${byField[field]}; ${fe.message}` : fe.message;
    else elsewhere.push(`${fe.field}: ${fe.message}`);
  }
  return { byField, elsewhere };
}

/** @param {{id: string | null, onDone: (message: string | null) => void}} props */
function ChannelForm({ id: channelId, onDone }) {
  const [loaded, setLoaded] = useState(/** @type {{channel: Channel | null, etag: string | null} | null} */ (channelId ? null : { channel: null, etag: null }));
  const [form, setForm] = useState(/** @type {Form} */ (formOf(null)));
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [warn, setWarn] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const id = useId('channel');
  const first = useRef(/** @type {HTMLInputElement | null} */ (null));

  /** @param {string} cid */
  async function fetchChannel(cid) {
    const reply = await call('GET', `/notification-channels/${cid}`);
    return { channel: /** @type {Channel} */ (reply.data), etag: reply.etag };
  }
  useEffect(() => {
    if (channelId) fetchChannel(channelId).then((l) => { setLoaded(l); setForm(formOf(l.channel)); }, setError);
  }, []);
  useLayoutEffect(() => { if (loaded) first.current?.focus(); }, [loaded !== null]);
  const dirty = loaded !== null && JSON.stringify(form) !== JSON.stringify(formOf(loaded.channel));
  useEffect(() => { setUnsaved(dirty ? 'The notification channel is not saved. Leave without saving it?' : null); }, [dirty]);
  useEffect(() => () => setUnsaved(null), []);

  /** @template {keyof Form} K @param {K} key @param {Form[K]} value */
  function set(key, value) { setForm((f) => ({ ...f, [key]: value })); setWarn(null); }
  const close = () => { setUnsaved(null); onDone(null); };

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    if (!loaded) return;
    setBusy(true); setErrors({}); setError(null);
    const name = form.name.trim();
    try {
      if (loaded.channel) await call('PUT', `/notification-channels/${loaded.channel.id}`, { body: bodyOf(form), ifMatch: loaded.etag });
      else await call('POST', '/notification-channels', { body: bodyOf(form) });
      setUnsaved(null);
      onDone(`The channel ${name} is saved.`);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 412 && loaded.channel) {
        const theirs = await fetchChannel(loaded.channel.id).catch(() => null);
        if (theirs) setLoaded(theirs);
        setWarn('Someone else changed this channel since you opened it, so yours was not saved. Your edits are still here: check them and Save again.');
      } else if (err instanceof ApiError && err.status === 422) {
        const { byField, elsewhere } = fieldErrors(err);
        setErrors(byField);
        setError(new Error(`Not saved: ${elsewhere.length ? elsewhere.join('; ') : 'some fields are not valid (see below).'}`));
      } else setError(err);
    }
  }

  /** @param {string} field @param {string} hint */
  const note = (field, hint) => html`<p id=${`${id}-${field}-note`} class=${errors[field] ? 'field-error' : 'sub'}>${errors[field] ?? hint}</p>`;
  /** @param {string} field */
  const invalid = (field) => (errors[field] ? 'true' : undefined);

  /** @param {[RefField, string, string, boolean]} ref */
  function refField([field, label, hint, required]) {
    const key = `ticket.${field}`;
    return html`<div class="field" key=${field}>
      <label for=${`${id}-${field}`}>${label}${required ? ' (required)' : ''}</label>
      <input id=${`${id}-${field}`} type="text" autocomplete="off" value=${form[field]} aria-invalid=${invalid(key)} aria-describedby=${`${id}-${key}-note`}
        onInput=${(/** @type {Event} */ e) => set(field, /** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      ${note(key, hint)}
    </div>`;
  }

  if (!loaded) return html`<div class="inline-form"><${ErrorNotice} error=${error} />${!error && html`<p role="status">Loading…</p>`}</div>`;
  const title = loaded.channel ? `Channel ${loaded.channel.name}` : 'New channel';
  return html`<form class="inline-form channel-form" novalidate onSubmit=${save} aria-label=${title}
    onKeyDown=${(/** @type {KeyboardEvent} */ e) => { if (e.key === 'Escape' && !e.defaultPrevented) close(); }}>
    <h3>${title}</h3>
    ${warn && html`<${Notice} kind="warn">${warn}<//>`}
    <${ErrorNotice} error=${error} />
    <div class="fields">
      <div class="field">
        <label for=${`${id}-name`}>Name (required)</label>
        <input id=${`${id}-name`} ref=${first} type="text" autocomplete="off" value=${form.name} aria-invalid=${invalid('name')} aria-describedby=${`${id}-name-note`}
          onInput=${(/** @type {Event} */ e) => set('name', /** @type {HTMLInputElement} */ (e.currentTarget).value)} />
        ${note('name', 'e.g. Service desk, Billing team.')}
      </div>
      <fieldset class="segmented">
        <legend>Delivers as</legend>
        ${Object.entries(CHANNEL_KINDS).map(([k, label]) => html`<label key=${k}><input type="radio" name=${`${id}-kind`} value=${k} checked=${form.kind === k}
          onChange=${() => { set('kind', /** @type {Form['kind']} */ (k)); setErrors({}); }} /> ${label}</label>`)}
      </fieldset>
    </div>
    ${form.kind === 'webhook' ? html`<div class="fields">
      <div class="field">
        <label for=${`${id}-url`}>URL (required)</label>
        <input id=${`${id}-url`} type="url" inputmode="url" autocomplete="off" placeholder="https://hooks.example.com/bridge" value=${form.url}
          aria-invalid=${invalid('url')} aria-describedby=${`${id}-url-note`}
          onInput=${(/** @type {Event} */ e) => set('url', /** @type {HTMLInputElement} */ (e.currentTarget).value)} />
        ${note('url', 'The receiver; each notice is POSTed to it as JSON, signed.')}
      </div>
      <div class="field">
        <label for=${`${id}-secret`}>Signing secret${loaded.channel?.secret_set ? '' : ' (required)'}</label>
        <input id=${`${id}-secret`} type="password" autocomplete="new-password" value=${form.secret}
          placeholder=${loaded.channel?.secret_set ? 'stored — leave empty to keep it' : '16 to 200 characters'}
          aria-invalid=${invalid('secret')} aria-describedby=${`${id}-secret-note`}
          onInput=${(/** @type {Event} */ e) => set('secret', /** @type {HTMLInputElement} */ (e.currentTarget).value)} />
        ${note('secret', loaded.channel?.secret_set ? 'A secret is stored — leave empty to keep it.' : 'X-Bridge-Signature is its HMAC-SHA256 of the body; 16 to 200 characters, never shown again.')}
      </div>
    </div>` : html`<p class="sub">Opens a ticket per notice through the ConnectWise connection; a recurrence adds a note, the resolution closes it.
      Each record is typed as ConnectWise names it, or as its id (all digits).</p>
      <div class="fields">${REFS.map(refField)}</div>
      <div class="check"><input id=${`${id}-affected`} type="checkbox" checked=${form.on_affected_company}
        onChange=${(/** @type {Event} */ e) => set('on_affected_company', /** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
        <label for=${`${id}-affected`}>Open a notice about one company on that company</label></div>
      ${note('ticket.on_affected_company', 'Otherwise every ticket is opened on the company above.')}
      ${errors.ticket && note('ticket', '')}`}
    <fieldset class="segmented kinds" aria-describedby=${`${id}-event_kinds-note`}>
      <legend>Event kinds</legend>
      ${KINDS.map(([k, label]) => html`<label key=${k}><input type="checkbox" checked=${form.event_kinds.includes(k)}
        onChange=${(/** @type {Event} */ e) => set('event_kinds', /** @type {HTMLInputElement} */ (e.currentTarget).checked ? [...form.event_kinds, k] : form.event_kinds.filter((x) => x !== k))} /> ${label}</label>`)}
    </fieldset>
    ${note('event_kinds', 'None ticked: every kind.')}
    <div class="fields">
      <div class="field">
        <label for=${`${id}-severity`}>Minimum severity</label>
        <select id=${`${id}-severity`} value=${form.min_severity} aria-invalid=${invalid('min_severity')} aria-describedby=${`${id}-min_severity-note`}
          onChange=${(/** @type {Event} */ e) => set('min_severity', /** @type {Severity} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value))}>
          ${SEVERITIES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>
        ${note('min_severity', '')}
      </div>
    </div>
    <div class="check"><input id=${`${id}-enabled`} type="checkbox" role="switch" checked=${form.enabled}
      onChange=${(/** @type {Event} */ e) => set('enabled', /** @type {HTMLInputElement} */ (e.currentTarget).checked)} />
      <label for=${`${id}-enabled`}>Enabled</label></div>
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>Save channel</button>
      <button type="button" onClick=${close}>Cancel</button>
    </div>
  </form>`;
}

/** The channels (admins). @param {{onChannels: (list: Channel[]) => void}} props */
function Channels({ onChannels }) {
  const { data, error, reload } = useLoad(() => /** @type {Promise<Channel[]>} */ (get('/notification-channels')), []);
  const [editing, setEditing] = useState(/** @type {string | null} */ (null));
  const [message, setMessage] = useState(/** @type {{kind: 'ok' | 'error', text: string} | null} */ (null));
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));
  const [testing, setTesting] = useState(/** @type {string | null} */ (null));
  useEffect(() => { if (data) onChannels(data); }, [data]);

  /** @param {Channel} c */
  async function test(c) {
    setMessage(null); setActionError(null); setTesting(c.id);
    try {
      /** @type {Schemas['ChannelTestResult']} */
      const r = (await call('POST', `/notification-channels/${c.id}/test`)).data;
      setMessage(r.delivered
        ? { kind: 'ok', text: `Test of ${c.name}: delivered (${r.last_status}${r.attempts > 1 ? `, ${r.attempts} attempts` : ''}).` }
        : { kind: 'error', text: `Test of ${c.name}: not delivered after ${count(r.attempts, 'attempt')}: ${r.last_status}` });
    } catch (err) { setActionError(err); } finally { setTesting(null); }
  }
  /** @param {Channel} c */
  async function remove(c) {
    if (!window.confirm(`Delete the channel ${c.name}? Notices are no longer sent to it.`)) return;
    setMessage(null); setActionError(null);
    try {
      const reply = await call('GET', `/notification-channels/${c.id}`);
      await call('DELETE', `/notification-channels/${c.id}`, { ifMatch: reply.etag });
      setMessage({ kind: 'ok', text: `The channel ${c.name} is deleted.` });
      reload();
    } catch (err) { setActionError(err); }
  }
  /** @param {string | null} msg */
  function done(msg) {
    const was = editing;
    setEditing(null);
    if (msg) { setMessage({ kind: 'ok', text: msg }); reload(); }
    window.requestAnimationFrame(() => document.getElementById(was && was !== 'new' ? `channel-edit-${was}` : 'channel-add')?.focus());
  }

  return html`<section class="card" aria-labelledby="channels-title">
    <h2 id="channels-title">Channels</h2>
    <p class="sub">Where notices go: a webhook or a ConnectWise service ticket. A channel takes the event kinds it lists from its minimum severity up.</p>
    ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    <${ErrorNotice} error=${error || actionError} />
    ${!data ? !error && html`<p role="status">Loading…</p>` : data.length === 0 ? html`<p>No channel yet: notices are only listed below and on /metrics.</p>` : html`<div class="table-wrap"><table class="grid stack channels">
      <caption class="visually-hidden">Notification channels</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Enabled</th><th scope="col">Event kinds</th><th scope="col">Minimum severity</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${data.map((c) => [html`<tr key=${c.id}>
        <th scope="row">${c.name}</th>
        <td data-label="Kind">${CHANNEL_KINDS[c.kind] ?? c.kind}${c.kind === 'webhook' ? html`<div class="sub url">${c.url}</div>` : c.ticket && html`<div class="sub">${refText(c.ticket.board)}, on ${c.ticket.on_affected_company ? 'the company concerned, else ' : ''}${refText(c.ticket.company)}</div>`}</td>
        <td data-label="Enabled">${c.enabled ? 'yes' : 'no'}</td>
        <td data-label="Event kinds">${c.event_kinds.length === 0 ? 'every kind' : c.event_kinds.map(kindLabel).join(', ')}</td>
        <td data-label="Minimum severity">${c.min_severity}</td>
        <td class="row-actions">
          <button type="button" id=${`channel-edit-${c.id}`} aria-expanded=${editing === c.id ? 'true' : 'false'} aria-label=${`Edit ${c.name}`}
            onClick=${() => { setMessage(null); setEditing(editing === c.id ? null : c.id); }}>Edit</button>
          <button type="button" aria-label=${`Send test to ${c.name}`} disabled=${testing !== null} onClick=${() => test(c)}>${testing === c.id ? 'Sending…' : 'Send test'}</button>
          <button type="button" aria-label=${`Delete ${c.name}`} onClick=${() => remove(c)}>Delete</button>
        </td></tr>`,
      editing === c.id && html`<tr key=${`${c.id}-form`} class="form-row"><td colspan="6"><${ChannelForm} key=${c.id} id=${c.id} onDone=${done} /></td></tr>`])}
      </tbody></table></div>`}
    ${editing === 'new' ? html`<${ChannelForm} id=${null} onDone=${done} />`
      : html`<div class="actions"><button type="button" id="channel-add" onClick=${() => { setMessage(null); setEditing('new'); }}>Add a channel</button></div>`}
  </section>`;
}

const PER_PAGE = 20;

/** @param {{status: string}} props */
function Status({ status }) {
  const kind = status === 'delivered' ? 'ok' : status === 'failed' ? 'error' : 'warn';
  return html`<span class=${`badge kind-${kind}`}>${status}</span>`;
}

/** One notice with its deliveries. @param {{notice: Schemas['Notice'], channels: Map<string, string>, onAcknowledged: () => void}} props */
function NoticeItem({ notice: n, channels, onAcknowledged }) {
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [busy, setBusy] = useState(false);
  const id = `notice-${n.id}`;
  async function acknowledge() {
    setBusy(true); setError(null);
    try { await call('POST', `/notifications/${n.id}/acknowledge`); onAcknowledged(); } catch (e) { setError(e); setBusy(false); }
  }
  const link = n.link ? n.link.replace(/^\//, '') : '';
  return html`<li class=${`notice-item card kind-${n.severity === 'critical' ? 'error' : n.severity === 'warning' ? 'warn' : 'info'}`}>
    <h3 id=${id}>${n.title}</h3>
    <p class="sub"><span class=${`badge kind-${n.severity === 'critical' ? 'error' : n.severity === 'warning' ? 'warn' : 'info'}`}>${n.severity}</span> ${`${kindLabel(n.kind)} · `}${n.resolved_at ? `resolved ${when(n.resolved_at)}` : 'open'}</p>
    ${n.summary && html`<p>${n.summary}</p>`}
    <dl class="facts">
      ${n.tenants && n.tenants.length > 0 && html`<div><dt>Tenants</dt><dd>${n.tenants.join(', ')}</dd></div>`}
      ${n.companies && n.companies.length > 0 && html`<div><dt>Companies</dt><dd>${n.companies.join(', ')}</dd></div>`}
      ${n.money_at_stake && html`<div><dt>Money at stake (monthly)</dt><dd class="money">${n.money_at_stake}</dd></div>`}
      <div><dt>Seen</dt><dd>${count(n.occurrences, 'time')}, last ${when(n.last_seen_at)} (${ago(n.last_seen_at)})</dd></div>
      <div><dt>Opened</dt><dd>${when(n.opened_at)}</dd></div>
      ${n.resolved_at && html`<div><dt>Resolved</dt><dd>${when(n.resolved_at)}</dd></div>`}
      ${n.acknowledged_at && html`<div><dt>Acknowledged</dt><dd>by ${n.acknowledged_by ?? 'someone'}, ${when(n.acknowledged_at)}</dd></div>`}
    </dl>
    <${ErrorNotice} error=${error} />
    <div class="actions">
      ${link && html`<a href=${link}>Resolve it<span class="visually-hidden">: ${n.title}</span></a>`}
      ${may('operator') && !n.acknowledged_at && !n.resolved_at && html`<button type="button" disabled=${busy} aria-label=${`Acknowledge: ${n.title}`} onClick=${acknowledge}>Acknowledge</button>`}
    </div>
    ${n.deliveries.length === 0 ? html`<p class="sub">Not sent to any channel.</p>` : html`<div class="table-wrap"><table class="grid stack deliveries">
      <caption class="visually-hidden">Deliveries of ${n.title}</caption>
      <thead><tr><th scope="col">Channel</th><th scope="col">Message</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th></tr></thead>
      <tbody>${n.deliveries.map((d) => html`<tr key=${d.id}>
        <th scope="row">${channels.get(d.channel_id) ?? `channel ${d.channel_id.slice(0, 8)}`}</th>
        <td data-label="Message">${d.action}</td>
        <td data-label="Status"><${Status} status=${d.status} />${d.delivered_at ? html` <span class="sub">${when(d.delivered_at)}</span>` : ''}</td>
        <td data-label="Attempts">${d.attempts}</td>
        <td data-label="Last answer">${d.last_status ?? '—'}</td></tr>`)}</tbody></table></div>`}
  </li>`;
}

/** The delivery log: the notices, newest first. @param {{channels: Map<string, string>}} props */
function Log({ channels }) {
  const [state, setState] = useState(/** @type {'open' | 'all'} */ ('open'));
  const [page, setPage] = useState(1);
  const { data, error, loading, reload } = useLoad(
    () => /** @type {Promise<Schemas['Page_Notice']>} */ (get('/notifications', { state, page, per_page: PER_PAGE })), [state, page]);
  const pages = data ? Math.max(1, Math.ceil(data.total / PER_PAGE)) : 1;
  const id = useId('log');
  return html`<section class="notices-log" aria-labelledby="log-title" aria-busy=${loading ? 'true' : 'false'}>
    <h2 id="log-title">Notices and deliveries</h2>
    <div class="toolbar">
      <label for=${`${id}-state`}>Show</label>
      <select id=${`${id}-state`} value=${state} onChange=${(/** @type {Event} */ e) => { setPage(1); setState(/** @type {'open' | 'all'} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value)); }}>
        <option value="open">Open notices</option>
        <option value="all">All notices, resolved too</option>
      </select>
      <button type="button" onClick=${reload}>Check again</button>
    </div>
    <${ErrorNotice} error=${error} />
    ${!data ? !error && html`<p role="status">Loading…</p>` : html`
      <p role="status">${data.total === 0 ? (state === 'open' ? 'No open notice: nothing needs attention.' : 'No notice yet.') : `${count(data.total, state === 'open' ? 'open notice' : 'notice')}.`}</p>
      <ul class="notice-list">${data.items.map((n) => html`<${NoticeItem} key=${n.id} notice=${n} channels=${channels} onAcknowledged=${reload} />`)}</ul>
      ${pages > 1 && html`<nav class="toolbar" aria-label="Pages of notices">
        <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Previous</button>
        <span>Page ${page} of ${pages}</span>
        <button type="button" disabled=${page >= pages} onClick=${() => setPage(page + 1)}>Next</button></nav>`}`}
  </section>`;
}

export function NotificationsScreen() {
  const [channels, setChannels] = useState(/** @type {Map<string, string>} */ (new Map()));
  return html`<section aria-labelledby="notifications-title">
    <h1 id="notifications-title" tabindex="-1">Notifications</h1>
    <p class="lead">Billing notices — a failed run, held lines, an unmapped tenant… — open until their cause is gone, and where they were sent.${may('operator') ? ' Acknowledge one to say someone takes care of it.' : ''}</p>
    ${may('admin') && html`<${Channels} onChannels=${(/** @type {Channel[]} */ list) => setChannels(new Map(list.map((c) => [c.id, c.name])))} />`}
    <${Log} channels=${channels} />
  </section>`;
}
