// @ts-check
// My account: change my password (the console logs in again with the new one, since a
// password change ends every session of the user) and log out everywhere.
import { html, useState } from './vendor/htm-preact.mjs';
import { call, currentSession, login, logout, messageOf, ApiError } from './api.js';
import { Notice, setUnsaved, useId } from './ui.js';

function ChangePassword() {
  const [form, setForm] = useState({ current: '', next: '', again: '' });
  const [message, setMessage] = useState(/** @type {{kind: 'ok' | 'error', text: string} | null} */ (null));
  const [busy, setBusy] = useState(false);
  const id = useId('password');
  /** @param {keyof typeof form} name */
  const input = (name) => (/** @type {Event} */ e) => setForm({ ...form, [name]: /** @type {HTMLInputElement} */ (e.currentTarget).value });
  /** @param {Event} e */
  async function submit(e) {
    e.preventDefault();
    setMessage(null);
    if (form.next !== form.again) { setMessage({ kind: 'error', text: 'The new password and its repetition differ.' }); return; }
    const name = currentSession()?.name ?? '';
    setBusy(true);
    try {
      await call('PUT', '/auth/me/password', { body: { current_password: form.current, new_password: form.next } });
      // Every session of the user ended, this one too: carry on with the new password.
      await login(name, form.next);
      setForm({ current: '', next: '', again: '' });
      setMessage({ kind: 'ok', text: 'Password changed. Every other session of yours has ended; this one carries on.' });
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof ApiError && err.status === 422 ? `Not changed: ${messageOf(err)}` : messageOf(err) });
    } finally { setBusy(false); }
  }
  return html`<form class="card inline-form" onSubmit=${submit} aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>Change my password</h2>
    ${message && html`<${Notice} kind=${message.kind}>${message.text}<//>`}
    <label for=${`${id}-current`}>Current password</label>
    <input id=${`${id}-current`} type="password" autocomplete="current-password" required value=${form.current} onInput=${input('current')} />
    <label for=${`${id}-next`}>New password (at least 10 characters)</label>
    <input id=${`${id}-next`} type="password" autocomplete="new-password" required minlength="10" value=${form.next} onInput=${input('next')} />
    <label for=${`${id}-again`}>New password again</label>
    <input id=${`${id}-again`} type="password" autocomplete="new-password" required minlength="10" value=${form.again} onInput=${input('again')} />
    <div class="actions"><button type="submit" class="primary" disabled=${busy}>Change password</button></div>
  </form>`;
}

function Sessions() {
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const id = useId('sessions');
  async function everywhere() {
    if (!window.confirm('Log out everywhere? Every session of yours ends, on every device, this one too.')) return;
    setError(null);
    try {
      await call('POST', '/auth/me/sessions/revoke');
      setUnsaved(null);
      logout('You logged out everywhere: every session of yours has ended.');
    } catch (err) { setError(messageOf(err)); }
  }
  return html`<section class="card" aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>Sessions</h2>
    <p>A browser left logged in elsewhere, a token copied by mistake: end every session of yours at once. Service tokens are not affected.</p>
    ${error && html`<${Notice} kind="error">${error}<//>`}
    <div class="actions"><button type="button" onClick=${everywhere}>Log out everywhere</button></div>
  </section>`;
}

export function AccountScreen() {
  const session = currentSession();
  return html`<section aria-labelledby="account-title">
    <h1 id="account-title" tabindex="-1">My account</h1>
    <p class="lead">Logged in as <strong>${session?.name}</strong> (${session?.role}).</p>
    <div class="two-columns"><${ChangePassword} /><${Sessions} /></div>
  </section>`;
}
