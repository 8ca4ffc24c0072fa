// @ts-check
// Admin screens: the ConnectWise and KSC connections; users and service tokens.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { call, get, may, ApiError } from './api.js';
import { ErrorNotice, Notice, useId, useLoad, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {{name: string, label: string, type?: 'text' | 'url' | 'number' | 'checkbox' | 'textarea' | 'secret', required?: boolean, hint?: string, setFlag?: string}} Field */

/** @type {Field[]} */
const CONNECTWISE = [
  { name: 'site_url', label: 'Site URL', type: 'url', required: true, hint: 'e.g. https://na.myconnectwise.net' },
  { name: 'codebase', label: 'Codebase', hint: 'empty: discovered through login/companyinfo' },
  { name: 'company_id', label: 'Company id', required: true },
  { name: 'public_key', label: 'Public key', required: true },
  { name: 'private_key', label: 'Private key', type: 'secret', setFlag: 'private_key_set' },
  { name: 'client_id', label: 'clientId', required: true },
  { name: 'api_version', label: 'API version' },
  { name: 'max_concurrency', label: 'Calls in flight', type: 'number' },
  { name: 'request_timeout_seconds', label: 'Call timeout (seconds)', type: 'number' },
  { name: 'ca_certificate_pem', label: 'CA certificate (PEM, optional)', type: 'textarea' },
];
/** @type {Field[]} */
const KASPERSKY = [
  { name: 'server_url', label: 'KSC server URL', type: 'url', required: true, hint: 'e.g. https://ksc.example.com:13299' },
  { name: 'user', label: 'User', required: true },
  { name: 'password', label: 'Password', type: 'secret', setFlag: 'password_set' },
  { name: 'domain', label: 'Domain' },
  { name: 'internal_user', label: 'Internal KSC user', type: 'checkbox' },
  { name: 'max_concurrency', label: 'Virtual servers read at once', type: 'number' },
  { name: 'request_timeout_seconds', label: 'Call timeout (seconds)', type: 'number' },
  { name: 'ca_certificate_pem', label: 'CA certificate (PEM, optional)', type: 'textarea' },
  { name: 'insecure_skip_tls_verify', label: 'Skip TLS verification (lab servers only)', type: 'checkbox' },
];

/** @param {{title: string, path: string, fields: Field[]}} props */
function ConnectionForm({ title, path, fields }) {
  const [values, setValues] = useState(/** @type {Record<string, any>} */ ({}));
  const [etag, setEtag] = useState(/** @type {string | null} */ (null));
  const [clear, setClear] = useState(/** @type {Record<string, boolean>} */ ({}));
  const [stored, setStored] = useState(/** @type {Record<string, any> | null} */ (null));
  const [message, setMessage] = useState(/** @type {{kind: 'ok' | 'error', text: string} | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const id = useId('conn');

  async function load() {
    try {
      const reply = await call('GET', path);
      setStored(reply.data);
      setEtag(reply.etag);
      /** @type {Record<string, any>} */
      const v = {};
      for (const f of fields) v[f.name] = f.type === 'secret' ? '' : reply.data[f.name] ?? (f.type === 'checkbox' ? false : '');
      setValues(v);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 409)) { setStored({}); setEtag(null); setValues({}); }
      else setError(e);
    }
  }
  useEffect(() => { load(); }, []);

  /** @param {Event} e */
  async function save(e) {
    e.preventDefault();
    setError(null); setMessage(null);
    /** @type {Record<string, any>} */
    const body = {};
    for (const f of fields) {
      const v = values[f.name];
      if (f.type === 'secret') { if (clear[f.name]) body[f.name] = null; else if (v) body[f.name] = v; continue; }
      if (f.type === 'checkbox') body[f.name] = Boolean(v);
      else if (f.type === 'number') { if (v !== '' && v !== null && v !== undefined) body[f.name] = Number(v); }
      else body[f.name] = v === '' ? null : v;
      if (f.required && !v) body[f.name] = '';
    }
    try {
      await call('PUT', path, { body, ifMatch: etag });
      setClear({});
      await load();
      setMessage({ kind: 'ok', text: `${title} saved.` });
    } catch (err) { setError(err); }
  }

  async function test() {
    setError(null); setMessage(null);
    try {
      const r = (await call('POST', `${path}/test`)).data;
      setMessage({ kind: 'ok', text: `${title}: connection works${r.api_base ? ` (${r.api_base})` : ''}${r.virtual_servers !== undefined ? `, ${r.virtual_servers} virtual servers` : ''}.` });
    } catch (err) {
      setMessage({ kind: 'error', text: `${title}: ${err instanceof ApiError && err.problem ? `${err.problem.type.split('/').pop()}: ${err.message}` : String(err)}` });
    }
  }

  return html`<form class="card" onSubmit=${save} aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>${title}</h2>
    ${stored && stored.updated_at && html`<p class="sub">Last saved ${when(stored.updated_at)}</p>`}
    ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    <${ErrorNotice} error=${error} />
    ${fields.map((f) => {
      const fid = `${id}-${f.name}`;
      /** @param {Event} e */
      const set = (e) => { const t = /** @type {HTMLInputElement} */ (e.currentTarget); setValues({ ...values, [f.name]: f.type === 'checkbox' ? t.checked : t.value }); };
      if (f.type === 'checkbox') return html`<div class="check" key=${f.name}><input id=${fid} type="checkbox" checked=${Boolean(values[f.name])} onChange=${set} /><label for=${fid}>${f.label}</label></div>`;
      if (f.type === 'textarea') return html`<label for=${fid} key=${`${f.name}-l`}>${f.label}</label><textarea id=${fid} key=${f.name} rows="3" value=${values[f.name] ?? ''} onInput=${set}></textarea>`;
      const isSet = f.setFlag && stored && stored[f.setFlag];
      return html`<label for=${fid} key=${`${f.name}-l`}>${f.label}${f.required ? ' (required)' : ''}</label>
        <input id=${fid} key=${f.name} type=${f.type === 'secret' ? 'password' : f.type === 'number' ? 'number' : 'text'}
          autocomplete=${f.type === 'secret' ? 'new-password' : 'off'} value=${values[f.name] ?? ''} onInput=${set}
          placeholder=${f.type === 'secret' ? (isSet ? 'stored — leave empty to keep it' : 'not set') : f.hint ?? ''} />
        ${f.type === 'secret' && isSet && html`<div class="check"><input id=${`${fid}-clear`} type="checkbox" checked=${Boolean(clear[f.name])}
          onChange=${() => setClear({ ...clear, [f.name]: !clear[f.name] })} /><label for=${`${fid}-clear`}>Clear the stored ${f.label.toLowerCase()}</label></div>`}`;
    })}
    <div class="actions"><button type="submit" class="primary">Save</button><button type="button" onClick=${test}>Test connection</button></div>
  </form>`;
}

export function ConnectionsScreen() {
  if (!may('admin')) return html`<p>Connections are for admins.</p>`;
  return html`<section aria-labelledby="connections-title">
    <h1 id="connections-title" tabindex="-1">Connections</h1>
    <p class="lead">How the server reaches ConnectWise Manage and Kaspersky Security Center. Secrets are write-only.</p>
    <div class="two-columns">
      <${ConnectionForm} title="ConnectWise Manage" path="/connections/connectwise" fields=${CONNECTWISE} />
      <${ConnectionForm} title="Kaspersky Security Center" path="/connections/kaspersky" fields=${KASPERSKY} />
    </div>
  </section>`;
}

const ROLES = /** @type {const} */ (['viewer', 'operator', 'admin']);

function Users() {
  const { data, error, reload } = useLoad(() => /** @type {Promise<Schemas['Page_UserView']>} */ (get('/users', { per_page: 500 })), []);
  const [form, setForm] = useState({ username: '', password: '', role: /** @type {Schemas['Role']} */ ('viewer') });
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const id = useId('user');
  /** @param {() => Promise<unknown>} action @param {string} done */
  async function act(action, done) {
    setActionError(null); setMessage(null);
    try { await action(); setMessage(done); reload(); } catch (e) { setActionError(e); }
  }
  /** @param {Event} e */
  function create(e) {
    e.preventDefault();
    act(async () => { await call('POST', '/users', { body: form }); setForm({ username: '', password: '', role: 'viewer' }); }, `User ${form.username} created.`);
  }
  return html`<section class="card" aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>Users</h2>
    ${message && html`<${Notice} kind="ok">${message}<//>`}
    <${ErrorNotice} error=${error || actionError} />
    ${data && html`<div class="table-wrap"><table class="grid stack"><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${data.items.map((u) => html`<tr key=${u.id}><th scope="row">${u.username}</th>
        <td data-label="Role"><label class="visually-hidden" for=${`${id}-role-${u.id}`}>Role of ${u.username}</label>
          <select id=${`${id}-role-${u.id}`} value=${u.role} onChange=${(/** @type {Event} */ e) => { const role = /** @type {HTMLSelectElement} */ (e.currentTarget).value; act(() => call('PATCH', `/users/${u.id}`, { body: { role } }), `${u.username} is now ${role}.`); }}>
            ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select></td>
        <td data-label="State">${u.disabled ? 'disabled' : 'active'}</td>
        <td class="row-actions"><button type="button" onClick=${() => act(() => call('PATCH', `/users/${u.id}`, { body: { disabled: !u.disabled } }), `${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`)}>${u.disabled ? 'Enable' : 'Disable'}</button>
          <button type="button" aria-label=${`Delete ${u.username}`} onClick=${() => { if (window.confirm(`Delete the user ${u.username}?`)) act(() => call('DELETE', `/users/${u.id}`), `${u.username} deleted.`); }}>Delete</button></td></tr>`)}
      </tbody></table></div>`}
    <form onSubmit=${create} class="inline-form" aria-label="New user">
      <h3>New user</h3>
      <label for=${`${id}-name`}>User name</label><input id=${`${id}-name`} required autocomplete="off" value=${form.username} onInput=${(/** @type {Event} */ e) => setForm({ ...form, username: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
      <label for=${`${id}-pass`}>Password (at least 10 characters)</label><input id=${`${id}-pass`} type="password" required autocomplete="new-password" value=${form.password} onInput=${(/** @type {Event} */ e) => setForm({ ...form, password: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
      <label for=${`${id}-newrole`}>Role</label><select id=${`${id}-newrole`} value=${form.role} onChange=${(/** @type {Event} */ e) => setForm({ ...form, role: /** @type {Schemas['Role']} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value) })}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>
      <div class="actions"><button type="submit" class="primary">Create user</button></div>
    </form>
  </section>`;
}

function Tokens() {
  const { data, error, reload } = useLoad(() => /** @type {Promise<Schemas['Page_ServiceTokenView']>} */ (get('/service-tokens', { per_page: 500 })), []);
  const [form, setForm] = useState({ name: '', role: /** @type {Schemas['Role']} */ ('operator'), expires: '' });
  const [created, setCreated] = useState(/** @type {Schemas['CreatedServiceToken'] | null} */ (null));
  const [actionError, setActionError] = useState(/** @type {unknown} */ (null));
  const id = useId('token');
  /** @param {Event} e */
  async function create(e) {
    e.preventDefault();
    setActionError(null);
    try {
      const body = { name: form.name, role: form.role, expires_at: form.expires ? new Date(form.expires).toISOString() : null };
      setCreated((await call('POST', '/service-tokens', { body })).data);
      setForm({ name: '', role: 'operator', expires: '' });
      reload();
    } catch (err) { setActionError(err); }
  }
  /** @param {Schemas['ServiceTokenView']} t */
  async function revoke(t) {
    if (!window.confirm(`Revoke the service token ${t.name}? Automation using it stops at once.`)) return;
    setActionError(null);
    try { await call('DELETE', `/service-tokens/${t.id}`); reload(); } catch (err) { setActionError(err); }
  }
  return html`<section class="card" aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>Service tokens</h2>
    <${ErrorNotice} error=${error || actionError} />
    ${created && html`<${Notice} kind="ok">Token ${created.name} created. Copy it now: it is shown only once.
      <label for=${`${id}-value`} class="visually-hidden">The new token</label><textarea id=${`${id}-value`} readonly rows="3">${created.token}</textarea><//>`}
    ${data && html`<div class="table-wrap"><table class="grid stack"><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${data.items.length === 0 && html`<tr><td colspan="6">No service token.</td></tr>`}
      ${data.items.map((t) => html`<tr key=${t.id}><th scope="row">${t.name}</th><td data-label="Role">${t.role}</td><td data-label="Created">${when(t.created_at)}</td><td data-label="Expires">${when(t.expires_at)}</td>
        <td data-label="State">${t.revoked_at ? `revoked ${when(t.revoked_at)}` : t.active ? 'active' : 'expired'}</td>
        <td>${!t.revoked_at && html`<button type="button" aria-label=${`Revoke ${t.name}`} onClick=${() => revoke(t)}>Revoke</button>`}</td></tr>`)}
      </tbody></table></div>`}
    <form onSubmit=${create} class="inline-form" aria-label="New service token">
      <h3>New service token</h3>
      <label for=${`${id}-name`}>Name</label><input id=${`${id}-name`} required autocomplete="off" value=${form.name} onInput=${(/** @type {Event} */ e) => setForm({ ...form, name: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
      <label for=${`${id}-role`}>Role</label><select id=${`${id}-role`} value=${form.role} onChange=${(/** @type {Event} */ e) => setForm({ ...form, role: /** @type {Schemas['Role']} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value) })}>
        ${ROLES.map((r) => html`<option value=${r}>${r}</option>`)}</select>
      <label for=${`${id}-exp`}>Expires (optional)</label><input id=${`${id}-exp`} type="datetime-local" value=${form.expires} onInput=${(/** @type {Event} */ e) => setForm({ ...form, expires: /** @type {HTMLInputElement} */ (e.currentTarget).value })} />
      <div class="actions"><button type="submit" class="primary">Create token</button></div>
    </form>
  </section>`;
}

export function UsersScreen() {
  if (!may('admin')) return html`<p>Users and tokens are for admins.</p>`;
  return html`<section aria-labelledby="users-title">
    <h1 id="users-title" tabindex="-1">Users and service tokens</h1>
    <div class="two-columns"><${Users} /><${Tokens} /></div>
  </section>`;
}
