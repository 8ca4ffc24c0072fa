// @ts-check
// The web console: log in, then the screens. Routing is the URL fragment (#/products, …); the
// home screen comes with the page, every other screen is loaded the first time it is opened.
import { html, render, useState, useEffect, useRef } from './vendor/htm-preact.mjs';
import { currentSession, onSessionChange, login, logout, may, messageOf, sessionEnded, sessionExpired } from './api.js';
import { mayLeave, routePath, setUnsaved, useId } from './ui.js';
import { HomeScreen } from './home.js';

/** @typedef {import('./api.js').Role} Role */
/** @typedef {() => Promise<(props: Record<string, never>) => import('./ui.js').VNode>} Loader */
/** @type {Array<{path: string, title: string, role: Role, load: Loader}>} */
const SCREENS = [
  { path: 'home', title: 'Home', role: 'viewer', load: async () => HomeScreen },
  { path: 'products', title: 'Products', role: 'viewer', load: async () => (await import('./products.js')).ProductsScreen },
  { path: 'companies', title: 'Companies', role: 'viewer', load: async () => (await import('./companies.js')).CompaniesScreen },
  { path: 'sync', title: 'Sync', role: 'viewer', load: async () => (await import('./sync.js')).SyncScreen },
  { path: 'unbilled', title: 'Unbilled usage', role: 'viewer', load: async () => (await import('./unbilled.js')).UnbilledScreen },
  { path: 'reconciliation', title: 'Reconciliation', role: 'viewer', load: async () => (await import('./reconciliation.js')).ReconciliationScreen },
  { path: 'notifications', title: 'Notifications', role: 'viewer', load: async () => (await import('./notifications.js')).NotificationsScreen },
  { path: 'settings', title: 'Settings', role: 'viewer', load: async () => (await import('./settings.js')).SettingsScreen },
  { path: 'audit', title: 'Audit trail', role: 'viewer', load: async () => (await import('./audit.js')).AuditScreen },
  { path: 'connections', title: 'Connections', role: 'admin', load: async () => (await import('./admin.js')).ConnectionsScreen },
  { path: 'users', title: 'Users', role: 'admin', load: async () => (await import('./admin.js')).UsersScreen },
];
/** Reached from the user's name in the header, not a tab. */
const ACCOUNT = { path: 'account', title: 'My account', role: /** @type {Role} */ ('viewer'), load: /** @type {Loader} */ (async () => (await import('./account.js')).AccountScreen) };

function routeOf() {
  const path = routePath();
  return [...SCREENS, ACCOUNT].find((t) => t.path === path && may(t.role)) ?? SCREENS[0];
}

/** @param {{onDone?: () => void, ended: string | null}} props */
function LoginForm({ ended }) {
  const session = currentSession();
  const [username, setUsername] = useState(session?.name ?? '');
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
  return html`<form onSubmit=${submit} class="card login-form" aria-labelledby="login-title">
      <h2 id="login-title">Log in</h2>
      ${error && html`<div class="notice notice-error" role="alert">${error}</div>`}
      ${!error && ended && html`<div class="notice notice-warn" role="status">${ended}</div>`}
      <label for=${userId}>User name</label>
      <input id=${userId} name="username" autocomplete="username" required value=${username}
        onInput=${(/** @type {Event} */ e) => setUsername(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <label for=${passId}>Password</label>
      <input id=${passId} name="password" type="password" autocomplete="current-password" required value=${password}
        onInput=${(/** @type {Event} */ e) => setPassword(/** @type {HTMLInputElement} */ (e.currentTarget).value)} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
    </form>`;
}

function Login() {
  return html`<main class="login" id="main">
    <h1>Kaspersky MSP Bridge</h1>
    <${LoginForm} ended=${sessionEnded} />
  </main>`;
}

/**
 * The session ended while the technician worked: log in again over the screen, which stays
 * as it is (a modal dialog; the page behind it is inert).
 */
function SessionDialog() {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const input = dialog?.querySelector('input[type="password"]');
    if (input instanceof HTMLInputElement) input.focus();
  }, []);
  return html`<dialog ref=${ref} class="session-dialog" aria-labelledby="login-title"
    onCancel=${(/** @type {Event} */ e) => e.preventDefault()}>
    <${LoginForm} ended=${sessionEnded} />
    <button type="button" class="link" onClick=${() => { setUnsaved(null); logout(); }}>Log out and discard my changes</button>
  </dialog>`;
}

/** A screen loaded on first use. @param {{route: typeof SCREENS[number]}} props */
function Screen({ route }) {
  const [loaded, setLoaded] = useState(/** @type {{path: string, Component: (props: Record<string, never>) => import('./ui.js').VNode} | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  useEffect(() => {
    let live = true;
    setError(null);
    route.load().then(
      (Component) => { if (live) setLoaded({ path: route.path, Component }); },
      () => { if (live) setError('This screen could not be loaded: the server may have been updated. Reload the page.'); },
    );
    return () => { live = false; };
  }, [route]);
  if (error) return html`<div class="notice notice-error" role="alert">${error}</div>`;
  if (!loaded || loaded.path !== route.path) return html`<p role="status" class="busy">Loading…</p>`;
  const { Component } = loaded;
  return html`<${Component} key=${route.path} />`;
}

function Shell() {
  const [route, setRoute] = useState(routeOf());
  const [, setParams] = useState(location.hash);
  useEffect(() => {
    let current = location.hash;
    const onHash = () => {
      if (location.hash === current) return;
      const samePath = location.hash.split('?')[0] === current.split('?')[0];
      if (!samePath && !mayLeave()) { history.replaceState(null, '', `${location.pathname}${location.search}${current}`); return; }
      current = location.hash;
      setRoute(routeOf());
      setParams(location.hash);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${route.title} – Kaspersky MSP Bridge`;
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
      <nav aria-label="Screens"><ul>
        ${SCREENS.filter((t) => may(t.role)).map((t) => html`<li key=${t.path}>
          <a href=${`#/${t.path}`} aria-current=${t === route ? 'page' : undefined}>${t.title}</a></li>`)}
      </ul></nav>
      <span class="account"><a class="who" href="#/account" aria-current=${route === ACCOUNT ? 'page' : undefined}
        aria-label=${`My account: ${session?.name} (${session?.role})`}>${session?.name} <span class="role">(${session?.role})</span></a>
      <button type="button" class="link" onClick=${signOut}>Log out</button></span>
    </header>
    <main id="main" tabindex="-1"><${Screen} route=${route} /></main>
    ${sessionExpired() && html`<${SessionDialog} />`}`;
}

/** Moves focus to a new screen's heading once it is there, so a screen reader announces it. */
function focusHeading() {
  let last = '';
  const observer = new MutationObserver(() => {
    const heading = document.querySelector('main h1');
    const key = `${location.hash.split('?')[0]}|${heading?.id ?? ''}`;
    if (heading instanceof HTMLElement && key !== last) {
      last = key;
      const target = document.activeElement;
      // Only when nothing in the screen has the focus already (a row to fix takes it).
      if (!target || target === document.body || target.closest('header') || target.id === 'main') heading.focus({ preventScroll: true });
    }
  });
  const root = document.getElementById('app');
  if (root) observer.observe(root, { childList: true, subtree: true });
}

function App() {
  const [, setTick] = useState(0);
  useEffect(() => onSessionChange(() => setTick((t) => t + 1)), []);
  return currentSession() ? html`<${Shell} />` : html`<${Login} />`;
}

const root = document.getElementById('app');
if (root) { root.textContent = ''; render(html`<${App} />`, root); focusHeading(); }
