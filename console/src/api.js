// @ts-check
// The console's only way to the server: the public API under /api/v1, as documented in
// openapi/openapi.json. The token lives in memory and in sessionStorage, never in a URL.
//
// A session that ends while the technician works (the token expired, "log out everywhere"
// elsewhere, a password change) does not throw their work away: the request that was refused
// waits while the console asks to log in again over the screen, then goes out again with the
// new token. Every screen keeps its state meanwhile.

/** @typedef {import('./api-types').components['schemas']} Schemas */
/** @typedef {Schemas['Role']} Role */
/** @typedef {Schemas['Problem']} Problem */

const SESSION_KEY = 'kaspersky-msp-bridge.session';

/** @typedef {{token: string, role: Role, name: string}} Session */

/** @type {Session | null} */
let session = null;
try {
  const stored = sessionStorage.getItem(SESSION_KEY);
  if (stored) session = /** @type {Session} */ (JSON.parse(stored));
} catch {
  session = null;
}

/** Why the log-in screen is shown, when it is not the first visit. */
export let sessionEnded = /** @type {string | null} */ (null);

/**
 * Set while the server refuses the token and requests wait for a new log-in.
 * @type {{promise: Promise<void>, resolve: () => void, reject: (e: Error) => void} | null}
 */
let expired = null;

/** @type {Array<() => void>} */
const listeners = [];

/** @returns {Session | null} */
export function currentSession() {
  return session;
}

/** True while requests wait for the user to log in again. */
export function sessionExpired() {
  return expired !== null;
}

/** @param {() => void} listener @returns {() => void} */
export function onSessionChange(listener) {
  listeners.push(listener);
  return () => { const i = listeners.indexOf(listener); if (i >= 0) listeners.splice(i, 1); };
}

function notify() {
  for (const listener of [...listeners]) listener();
}

/** @param {Session | null} next */
function setSession(next) {
  session = next;
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(SESSION_KEY);
  notify();
}

/** The role order of the API: a higher role may do everything a lower one may. */
const RANK = { viewer: 0, operator: 1, admin: 2 };

/** @param {Role} role */
export function may(role) {
  return session !== null && RANK[session.role] >= RANK[role];
}

export class ApiError extends Error {
  /** @param {number} status @param {Problem | null} problem */
  constructor(status, problem) {
    super(problem ? problem.detail || problem.title : `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  /** Every invalid field of a 422, as "field: message". */
  fieldMessages() {
    return (this.problem?.errors ?? []).map((e) => `${e.field}: ${e.message}`);
  }
}

/**
 * @typedef {object} Reply
 * @property {number} status
 * @property {any} data
 * @property {string | null} etag
 * @property {string | null} location
 */

/** @typedef {Record<string, string | number | boolean | undefined | null>} Query */

/**
 * One API call. Throws ApiError for every non-2xx answer. A 401 on a logged-in session waits
 * for the user to log in again (see above) and then sends the request once more.
 * @param {string} method
 * @param {string} path under /api/v1, e.g. "/product-mappings"
 * @param {{body?: unknown, ifMatch?: string | null, query?: Query, accept?: string, raw?: boolean}} [options]
 *   `raw`: the body of a 2xx answer as text (a CSV), not parsed
 * @returns {Promise<Reply>}
 */
export async function call(method, path, options = {}) {
  for (let attempt = 0; ; attempt++) {
    if (expired && path !== '/auth/login') await expired.promise;
    const sentWith = session?.token;
    const response = await send(method, path, options);
    if (response.status === 401 && sentWith && path !== '/auth/login' && attempt < 3) {
      // Only the first refusal of this token asks; later ones wait for the same log-in.
      if (session?.token === sentWith) endSession('Your session ended. Log in again to carry on: your unsaved changes are kept.');
      continue;
    }
    return read(response, options.raw ?? false);
  }
}

/** @param {string} method @param {string} path @param {{body?: unknown, ifMatch?: string | null, query?: Query, accept?: string}} options */
async function send(method, path, options) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: options.accept ?? 'application/json' };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.ifMatch) headers['If-Match'] = options.ifMatch;
  try {
    return await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, {
      type: 'about:blank', title: 'The server cannot be reached', status: 0,
      detail: 'The server cannot be reached. Check that it is running, then try again.',
    });
  }
}

/** @param {Response} response @param {boolean} raw @returns {Promise<Reply>} */
async function read(response, raw) {
  const text = await response.text();
  /** @type {any} */
  let data = null;
  if (raw && response.ok) data = text;
  else if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? /** @type {Problem} */ (data) : null;
    throw new ApiError(response.status, problem);
  }
  return {
    status: response.status,
    data,
    etag: response.headers.get('ETag'),
    location: response.headers.get('Location'),
  };
}

/**
 * The server refused the token: requests wait until the user logs in again (`login`) or gives
 * up (`logout`). The screens stay as they are.
 * @param {string} why
 */
function endSession(why) {
  if (expired) return;
  sessionEnded = why;
  /** @type {() => void} */
  let resolve = () => {};
  /** @type {(e: Error) => void} */
  let reject = () => {};
  const promise = new Promise((res, rej) => { resolve = () => res(undefined); reject = rej; });
  promise.catch(() => {});
  expired = { promise: /** @type {Promise<void>} */ (promise), resolve, reject };
  notify();
}

/** @param {string} path @param {Query} [query] */
export async function get(path, query) {
  return (await call('GET', path, { query })).data;
}

/**
 * Every item of a paged list (at most `limit` items).
 * @param {string} path @param {Query} [query]
 * @returns {Promise<any[]>}
 */
export async function getAll(path, query = {}, limit = 5000) {
  /** @type {any[]} */
  const items = [];
  for (let page = 1; items.length < limit; page++) {
    const data = await get(path, { ...query, page, per_page: 500 });
    items.push(...data.items);
    if (items.length >= data.total || data.items.length === 0) break;
  }
  return items;
}

/**
 * Logs in. While a session had ended, the same user carries on where they were (waiting
 * requests go out again); another user starts afresh.
 * @param {string} username @param {string} password
 */
export async function login(username, password) {
  const previous = session;
  const reply = await call('POST', '/auth/login', { body: { username, password } });
  /** @type {Schemas['LoginResponse']} */
  const data = reply.data;
  const token = data.access_token;
  // User names are kept lower-case (the server's rule): no /auth/me round trip before the screen.
  const next = { token, role: data.role, name: username.trim().toLowerCase() };
  if (expired && previous && previous.name.toLowerCase() !== username.toLowerCase()) {
    // Another user: nothing of the previous one's screen may be sent in their name.
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    location.hash = '#/';
    location.reload();
    return;
  }
  sessionEnded = null;
  const waiting = expired;
  expired = null;
  setSession(next);
  waiting?.resolve();
}

/**
 * Ends the session here: the log-in screen, and requests that waited for a new log-in fail.
 * @param {string | null} [why] what the log-in screen says
 */
export function logout(why = null) {
  const waiting = expired;
  expired = null;
  sessionEnded = why;
  setSession(null);
  waiting?.reject(new ApiError(401, { type: 'about:blank', title: 'Logged out', status: 401, detail: 'You logged out.' }));
}

/** @param {unknown} e */
export function messageOf(e) {
  if (e instanceof ApiError) {
    const fields = e.fieldMessages();
    return fields.length ? `${e.message} ${fields.join('; ')}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Catalog products already looked up, by id (identifier and description). */
const productCache = new Map(/** @type {Array<[number, Schemas['Product']]>} */ ([]));

/**
 * The catalog products with these ids — only those, never the whole catalog (a catalog may
 * hold thousands): `GET /connectwise/products?ids=…`, 100 ids a request, each id once a visit.
 * @param {Iterable<number>} ids
 * @returns {Promise<Map<number, Schemas['Product']>>}
 */
export async function productsById(ids) {
  const wanted = [...new Set(ids)].filter((id) => !productCache.has(id));
  for (let i = 0; i < wanted.length; i += 100) {
    const chunk = wanted.slice(i, i + 100);
    /** @type {Schemas['Page_Product']} */
    const page = await get('/connectwise/products', { ids: chunk.join(','), per_page: 100 });
    for (const p of page.items) productCache.set(p.id, p);
  }
  return productCache;
}
