// @ts-check
// The console's only way to the server: the public API under /api/v1, as documented in
// openapi/openapi.json. The token lives in memory and in sessionStorage, never in a URL.

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

/** Set when the server refused the token (expired, revoked, user disabled). */
export let sessionEnded = false;

/** @type {Array<() => void>} */
const listeners = [];

/** @returns {Session | null} */
export function currentSession() {
  return session;
}

/** @param {() => void} listener */
export function onSessionChange(listener) {
  listeners.push(listener);
}

/** @param {Session | null} next */
function setSession(next) {
  session = next;
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(SESSION_KEY);
  for (const listener of listeners) listener();
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

/**
 * One API call. Throws ApiError for every non-2xx answer; a 401 also ends the session.
 * @param {string} method
 * @param {string} path under /api/v1, e.g. "/product-mappings"
 * @param {{body?: unknown, ifMatch?: string | null, query?: Record<string, string | number | boolean | undefined>}} [options]
 * @returns {Promise<Reply>}
 */
export async function call(method, path, options = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(options.query ?? {})) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.ifMatch) headers['If-Match'] = options.ifMatch;
  let response;
  try {
    response = await fetch(url, {
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
  const text = await response.text();
  /** @type {any} */
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    if (response.status === 401 && session && path !== '/auth/login') {
      sessionEnded = true;
      setSession(null);
    }
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

/** @param {string} path @param {Record<string, string | number | boolean | undefined>} [query] */
export async function get(path, query) {
  return (await call('GET', path, { query })).data;
}

/**
 * Every item of a paged list (at most `limit` items).
 * @param {string} path @param {Record<string, string | number | boolean | undefined>} [query]
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

/** @param {string} username @param {string} password */
export async function login(username, password) {
  sessionEnded = false;
  const reply = await call('POST', '/auth/login', { body: { username, password } });
  /** @type {Schemas['LoginResponse']} */
  const data = reply.data;
  session = { token: data.access_token, role: data.role, name: username };
  /** @type {Schemas['Me']} */
  const me = await get('/auth/me');
  setSession({ token: data.access_token, role: me.role, name: me.name });
}

export function logout() {
  setSession(null);
}

/** @param {unknown} e */
export function messageOf(e) {
  if (e instanceof ApiError) {
    const fields = e.fieldMessages();
    return fields.length ? `${e.message} ${fields.join('; ')}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
