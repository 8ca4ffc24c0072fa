// @ts-check
// The web console: log in, then the tabs. Routing is the URL fragment (#/products, …).
import { html, render, useState, useEffect } from './vendor/htm-preact.mjs';
import { currentSession, onSessionChange, login, logout, may, messageOf, sessionEnded } from './api.js';
import { mayLeave, setUnsaved, useId } from './ui.js';
import { ProductsScreen } from './products.js';
import { CompaniesScreen } from './companies.js';
import { SyncScreen } from './sync.js';
import { UnbilledScreen } from './unbilled.js';
import { ConnectionsScreen, UsersScreen } from './admin.js';

/** @typedef {import('./api.js').Role} Role */
/** @type {Array<{path: string, title: string, role: Role, screen: () => import('./ui.js').VNode}>} */
const TABS = [
  { path: 'products', title: 'Products', role: 'viewer', screen: () => html`<${ProductsScreen} />` },
  { path: 'companies', title: 'Companies', role: 'viewer', screen: () => html`<${CompaniesScreen} />` },
  { path: 'sync', title: 'Sync', role: 'viewer', screen: () => html`<${SyncScreen} />` },
  { path: 'unbilled', title: 'Unbilled usage', role: 'viewer', screen: () => html`<${UnbilledScreen} />` },
  { path: 'connections', title: 'Connections', role: 'admin', screen: () => html`<${ConnectionsScreen} />` },
  { path: 'users', title: 'Users and tokens', role: 'admin', screen: () => html`<${UsersScreen} />` },
];

function routeOf() {
  const path = location.hash.replace(/^#\/?/, '');
  return TABS.find((t) => t.path === path && may(t.role)) ?? TABS[0];
}

function Login() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);
  const userId = useId('user');
  const passId = useId('pass');
  /** @param {Event} e */
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  }
  return html`<main class="login" id="main">
    <h1>Kaspersky MSP Bridge</h1>
    <form onSubmit=${submit} class="card" aria-labelledby="login-title">
      <h2 id="login-title">Log in</h2>
      ${error && html`<div class="notice notice-error" role="alert">${error}</div>`}
      ${!error && sessionEnded && html`<div class="notice notice-warn" role="status">Your session ended. Log in again.</div>`}
      <label for=${userId}>User name</label>
      <input id=${userId} name="username" autocomplete="username" required value=${username}
        onInput=${(/** @type {Event} */ e) => setUsername(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <label for=${passId}>Password</label>
      <input id=${passId} name="password" type="password" autocomplete="current-password" required value=${password}
        onInput=${(/** @type {Event} */ e) => setPassword(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>
  </main>`;
}

function Shell() {
  const [route, setRoute] = useState(routeOf());
  useEffect(() => {
    let current = location.hash;
    const onHash = () => {
      if (location.hash === current) return;
      if (!mayLeave()) { history.replaceState(null, '', `${location.pathname}${location.search}${current}`); return; }
      current = location.hash;
      setRoute(routeOf());
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${route.title} – Kaspersky MSP Bridge`;
    const heading = document.querySelector('main h1');
    if (heading instanceof HTMLElement) heading.focus({ preventScroll: true });
  }, [route]);
  const session = currentSession();
  function signOut() {
    if (!mayLeave()) return;
    setUnsaved(null);
    logout();
  }
  return html`<a class="skip" href="#main" onClick=${(/** @type {Event} */ e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">Kaspersky MSP Bridge</span>
      <nav aria-label="Tabs"><ul>
        ${TABS.filter((t) => may(t.role)).map((t) => html`<li key=${t.path}>
          <a href=${`#/${t.path}`} aria-current=${t === route ? 'page' : undefined}>${t.title}</a></li>`)}
      </ul></nav>
      <span class="who">${session?.name} <span class="role">(${session?.role})</span></span>
      <button type="button" class="link" onClick=${signOut}>Log out</button>
    </header>
    <main id="main" tabindex="-1">${route.screen()}</main>`;
}

function App() {
  const [, setTick] = useState(0);
  useEffect(() => onSessionChange(() => setTick((t) => t + 1)), []);
  return currentSession() ? html`<${Shell} />` : html`<${Login} />`;
}

const root = document.getElementById('app');
if (root) { root.textContent = ''; render(html`<${App} />`, root); }
