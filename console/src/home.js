// @ts-check
// Home: what needs attention this morning, each item a link to where it is fixed. The screen is
// a list of cards (CARDS); each card loads what it needs through one shared, memoised loader,
// so a card added later (money) is one more entry.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { get, getAll, may, messageOf } from './api.js';
import { ago, blockedBy, count, href, readable, when, TRIGGERS } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {import('./api.js').Role} Role */
/**
 * One line of a card: what it is, where it is fixed (`href`, with `link` as the link's words),
 * and a detail line (a money effect, a since-when…).
 * @typedef {{text: string, href?: string, link?: string, detail?: string}} Item
 */
/**
 * What a card shows: its state (ok = nothing to do), the number that matters ("0 unmapped" is
 * the goal), a sentence, the items and a link to the whole list.
 * @typedef {{kind: 'ok' | 'warn' | 'error' | 'info', count?: number, headline: string, items?: Item[], more?: {text: string, href: string}}} CardState
 */
/** @typedef {{id: string, title: string, role: Role, load: (data: HomeData) => Promise<CardState>}} Card */

/** The data the cards share, each read once per visit of the screen. */
export class HomeData {
  constructor() {
    /** @type {Map<string, Promise<any>>} */
    this.cache = new Map();
  }

  /** @template T @param {string} key @param {() => Promise<T>} load @returns {Promise<T>} */
  once(key, load) {
    let p = this.cache.get(key);
    if (!p) { p = load(); this.cache.set(key, p); }
    return p;
  }

  /** The newest run, finished or not. @returns {Promise<Schemas['SyncRun'] | undefined>} */
  newestRun() { return this.once('newest-run', async () => (await get('/sync/runs', { per_page: 1 })).items[0]); }
  /** The last finished run (one request more only while a run is going). @returns {Promise<Schemas['SyncRun'] | undefined>} */
  lastRun() {
    return this.once('last-run', async () => {
      const newest = await this.newestRun();
      if (!newest || newest.status !== 'running') return newest;
      return (await get('/sync/runs', { finished: true, per_page: 1 })).items[0];
    });
  }
  /** @returns {Promise<Schemas['SyncSettingsView']>} */
  syncSettings() { return this.once('sync-settings', () => get('/settings/sync')); }
  /** @returns {Promise<Schemas['UnbilledUsage'][]>} */
  unbilled() { return this.once('unbilled', () => getAll('/reports/unbilled-usage')); }
  /** @returns {Promise<Schemas['Tenant'][]>} */
  tenants() { return this.once('tenants', () => getAll('/tenants')); }
  /** @returns {Promise<Map<string, string>>} */
  async tenantNames() { return new Map((await this.tenants()).map((t) => [t.id, t.name])); }
  /** Both solutions' mapping grids. @returns {Promise<Schemas['MappingView'][]>} */
  mappings() {
    return this.once('mappings', async () => {
      const [ksc, hub] = await Promise.all([get('/product-mappings', { solution: 'ksc' }), get('/product-mappings', { solution: 'business_hub' })]);
      return [...ksc.mappings, ...hub.mappings];
    });
  }
  /** Application names by id (every application of both solutions). @returns {Promise<Map<string, Schemas['MappingView']>>} */
  async applications() { return new Map((await this.mappings()).map((m) => [m.application_id, m])); }
  /** @returns {Promise<Map<string, string>>} */
  async applicationNames() { return new Map((await this.mappings()).map((m) => [m.application_id, m.application_name])); }
  /** @returns {Promise<Schemas['UsageSnapshotView'][]>} */
  snapshots() { return this.once('snapshots', () => getAll('/usage-snapshots', { latest: true })); }
}

/** The products row of an application: where its mapping is fixed. @param {Schemas['MappingView'] | undefined} app @param {string} id */
export function productRow(app, id) {
  return href('products', { row: id, ...(app?.solution === 'business_hub' ? { solution: 'business_hub' } : {}) });
}

/** The applications whose incomplete mapping blocks a tenant (from the unbilled-usage report). @param {Schemas['UnbilledUsage'][]} unbilled @param {string} tenantId */
function blockingApps(unbilled, tenantId) {
  return [...new Set(unbilled.filter((u) => u.reason === 'blocked' && u.tenant_id === tenantId && u.application_id).map((u) => /** @type {string} */ (u.application_id)))];
}

/** How many open notices the card lists (the count badge says how many there are). */
const NOTICES_SHOWN = 5;

/** @type {Card[]} */
export const CARDS = [
  {
    // The same notices the notification channels receive: open until their cause is gone.
    id: 'notices', title: 'Notices', role: 'viewer',
    async load() {
      /** @type {Schemas['Page_Notice']} */
      const page = await get('/notifications', { state: 'open', per_page: NOTICES_SHOWN });
      const n = page.total;
      const more = { text: 'All notices, their deliveries and channels', href: '#/notifications' };
      if (n === 0) return { kind: 'ok', count: 0, headline: 'No open notice.', more };
      const critical = page.items.some((x) => x.severity === 'critical');
      /** @type {Item[]} */
      const items = page.items.map((x) => ({
        text: x.title,
        detail: [x.summary, x.acknowledged_by && `acknowledged by ${x.acknowledged_by}`].filter(Boolean).join(' · ') || undefined,
        href: x.link.replace(/^\//, '') || undefined, link: 'Resolve',
      }));
      return { kind: critical ? 'error' : 'warn', count: n, headline: `${count(n, 'open notice')}.`, items, more };
    },
  },
  {
    id: 'runs', title: 'Sync', role: 'viewer',
    async load(data) {
      const [last, newest, settings, appNames] = await Promise.all([data.lastRun(), data.newestRun(), data.syncSettings(), data.applicationNames()]);
      /** @type {Item[]} */
      const items = [];
      if (newest && newest.status === 'running') items.push({ text: `A run is going (started ${ago(newest.started_at)}).`, href: '#/sync', link: 'Watch it' });
      const next = settings.schedule_enabled && settings.next_run_at
        ? `Next run ${when(settings.next_run_at)} (${ago(settings.next_run_at)}), schedule ${settings.schedule} ${settings.time_zone}.`
        : 'The schedule is off: nothing runs by itself.';
      items.push({ text: next, href: '#/settings', link: 'Schedule' });
      if (!last) return { kind: 'warn', headline: 'No sync has run yet.', items: [{ text: 'Preview what a sync would write, then apply it.', href: '#/sync', link: 'Go to Sync' }, ...items] };
      const s = last.summary;
      const changed = Object.entries(s.outcomes).filter(([, n]) => n > 0).map(([a, n]) => `${n} ${a}`).join(', ') || 'no change';
      items.unshift({
        text: `Last run ${when(last.finished_at)} (${ago(last.finished_at)}), trigger: ${TRIGGERS[last.trigger] ?? last.trigger}${last.dry_run ? ', dry run' : ''}: ${changed}.`,
        detail: readable(last.error, appNames) || undefined, href: '#/sync', link: 'History',
      });
      const kind = last.status === 'succeeded' ? 'ok' : last.status === 'failed' || last.status === 'interrupted' ? 'error' : 'warn';
      return { kind, headline: `Last run ${last.status}.`, items };
    },
  },
  {
    id: 'not-billed', title: 'Tenants not billed', role: 'viewer',
    async load(data) {
      const [last, unbilled, apps, names] = await Promise.all([data.lastRun(), data.unbilled(), data.applications(), data.tenantNames()]);
      /** @type {Item[]} */
      const items = [];
      const listed = new Set();
      /** @param {string} tenantId */
      const fixBlocked = (tenantId, reason = '') => {
        const ids = [...new Set([...blockingApps(unbilled, tenantId), ...blockedBy(reason)])];
        return ids.map((id) => ({ href: productRow(apps.get(id), id), link: `Complete ${apps.get(id)?.application_name ?? id}` }));
      };
      for (const t of last?.summary.skipped_tenants ?? []) {
        listed.add(t.tenant_id);
        const name = t.tenant_name ?? names.get(t.tenant_id) ?? t.tenant_id;
        const since = `not billed since ${when(t.since)} (${ago(t.since)})`;
        if (t.kind === 'blocked') {
          const fixes = fixBlocked(t.tenant_id, t.reason);
          if (fixes.length === 0) items.push({ text: `${name}: ${t.reason}`, detail: since, href: href('products'), link: 'Products' });
          for (const f of fixes) items.push({ text: `${name}: blocked by an incomplete product mapping`, detail: since, ...f });
        } else {
          items.push({ text: `${name}: ${t.reason}`, detail: since, href: href('companies', { tenant: t.tenant_id }), link: 'See the tenant' });
        }
      }
      // Blocked now (a setting changed since the last run): the next run will not bill them.
      for (const tenantId of new Set(unbilled.filter((u) => u.reason === 'blocked').map((u) => u.tenant_id))) {
        if (listed.has(tenantId)) continue;
        for (const f of fixBlocked(tenantId)) items.push({ text: `${names.get(tenantId) ?? tenantId}: blocked by an incomplete product mapping`, detail: 'the next run will not bill it', ...f });
        listed.add(tenantId);
      }
      const n = listed.size;
      return n === 0
        ? { kind: 'ok', count: 0, headline: 'Every tenant with billing on was billed.' }
        : { kind: 'error', count: n, headline: `${count(n, 'tenant')} not billed.`, items };
    },
  },
  {
    id: 'held', title: 'Held lines', role: 'viewer',
    async load(data) {
      const last = await data.lastRun();
      const held = last?.summary.lines_held ?? 0;
      // The money effect of each held line joins here once the money API exists (issue 24, point 4).
      return held === 0
        ? { kind: 'ok', count: 0, headline: 'Nothing waits for approval.' }
        : { kind: 'warn', count: held, headline: `${count(held, 'line')} of the last run wait${held === 1 ? 's' : ''} for approval.`, items: [{ text: 'Preview to see each held line and move, tick what to approve, apply.', href: '#/sync', link: 'Review and approve' }] };
    },
  },
  {
    id: 'keys', title: 'Unknown licence keys', role: 'viewer',
    async load(data) {
      const [unbilled, names] = await Promise.all([data.unbilled(), data.tenantNames()]);
      const keys = unbilled.filter((u) => u.key);
      const items = keys.slice(0, 5).map((u) => ({
        text: `${names.get(u.tenant_id) ?? u.tenant_id}: “${u.key?.product_name}” on ${count(u.quantity, 'host')} (${u.reason === 'ambiguous_key' ? 'several applications recognise it' : 'no application recognises it'})`,
        href: href('unbilled', { tenant: u.tenant_id }), link: 'Teach it',
      }));
      return keys.length === 0
        ? { kind: 'ok', count: 0, headline: 'Every licence key is recognised.' }
        : { kind: 'warn', count: keys.length, headline: `${count(keys.length, 'key')} not counted: their hosts are billed nowhere.`, items, more: keys.length > 5 ? { text: `All ${keys.length}`, href: '#/unbilled' } : undefined };
    },
  },
  {
    id: 'tenants', title: 'Unmapped tenants', role: 'viewer',
    async load(data) {
      const tenants = (await data.tenants()).filter((t) => !t.vanished);
      const unmapped = tenants.filter((t) => t.mapping_status === 'unmapped' && t.enabled);
      const off = tenants.filter((t) => t.mapping_status === 'billing_disabled');
      const items = unmapped.slice(0, 5).map((t) => ({ text: `${t.name} (${t.solution === 'ksc' ? 'KSC' : 'Business Hub'})`, href: href('companies', { tenant: t.id }), link: 'Map it' }));
      if (off.length) items.push({ text: `${count(off.length, 'tenant')} with billing off`, href: href('companies', { filter: 'billing_off' }), link: 'See them' });
      return unmapped.length === 0
        ? { kind: 'ok', count: 0, headline: 'Every tenant is mapped to a ConnectWise company.', items }
        : { kind: 'warn', count: unmapped.length, headline: `${count(unmapped.length, 'tenant')} without a ConnectWise company.`, items, more: { text: 'All unmapped tenants', href: href('companies', { filter: 'unmapped' }) } };
    },
  },
  {
    id: 'applications', title: 'Unmapped applications', role: 'viewer',
    async load(data) {
      const [unbilled, apps] = await Promise.all([data.unbilled(), data.applications()]);
      // In use anywhere (also by tenants not mapped yet) and mapped nowhere.
      /** @type {Map<string, number>} */
      const used = new Map();
      for (const u of unbilled) {
        if (u.application_id && apps.get(u.application_id)?.status === 'unmapped') used.set(u.application_id, (used.get(u.application_id) ?? 0) + u.quantity);
      }
      const incomplete = [...apps.values()].filter((a) => a.status === 'incomplete');
      /** @type {Item[]} */
      const items = [...used].map(([id, n]) => ({ text: `${apps.get(id)?.application_name ?? id}: ${n} in use, billed nowhere`, href: productRow(apps.get(id), id), link: 'Map it' }));
      for (const a of incomplete) items.push({ text: `${a.application_name}: mapping incomplete`, href: productRow(a, a.application_id), link: 'Complete it' });
      const n = used.size + incomplete.length;
      return n === 0
        ? { kind: 'ok', count: 0, headline: 'Every application in use has its products.' }
        : { kind: 'warn', count: n, headline: `${count(n, 'application')} in use without a complete product mapping.`, items };
    },
  },
  {
    id: 'connections', title: 'Connections', role: 'viewer',
    async load(data) {
      const fix = may('admin') ? { href: '#/connections', link: 'Check the connection' } : {};
      /** @type {[Schemas['UsageSnapshotView'][], Map<string, string>, Schemas['Page_Product']]} */
      const [snapshots, names, catalog] = await Promise.all([data.snapshots(), data.tenantNames(), get('/connectwise/products', { per_page: 1 })]);
      const failed = snapshots.filter((s) => s.status !== 'ok');
      const newest = snapshots.map((s) => s.taken_at).sort().pop();
      /** @type {Item[]} */
      const items = failed.slice(0, 5).map((s) => ({ text: `${names.get(s.tenant.id) ?? s.tenant.name}: usage not read — ${s.error ?? s.status}`, detail: when(s.taken_at), href: href('companies', { tenant: s.tenant.id }), link: 'See the tenant' }));
      items.push(newest
        ? { text: `Usage last read ${when(newest)} (${ago(newest)}) for ${count(snapshots.length - failed.length, 'tenant')}.` }
        : { text: 'No usage read yet from Kaspersky Security Center.', ...fix });
      items.push(catalog.total
        ? { text: `ConnectWise catalog: ${catalog.total} products, refreshed ${ago(catalog.items[0]?.refreshed_at)}.`, href: '#/products', link: 'Refresh it' }
        : { text: 'The ConnectWise catalog is empty: is ConnectWise connected? Then refresh the catalog on the Products screen.', ...fix });
      const bad = failed.length + (newest ? 0 : 1) + (catalog.total ? 0 : 1);
      return bad === 0
        ? { kind: 'ok', count: 0, headline: 'Every reading worked.', items }
        : { kind: 'error', count: bad, headline: `${count(bad, 'problem')} reaching ConnectWise or KSC.`, items };
    },
  },
];

/** @param {{card: Card, data: HomeData, onLoaded: () => void}} props */
function HomeCard({ card, data, onLoaded }) {
  const [state, setState] = useState(/** @type {CardState | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  useEffect(() => {
    let live = true;
    card.load(data).then(
      (s) => { if (live) { setState(s); onLoaded(); } },
      (e) => { if (live) { setError(messageOf(e)); onLoaded(); } },
    );
    return () => { live = false; };
  }, [data]);
  const id = `card-${card.id}`;
  const kind = error ? 'error' : state?.kind ?? 'info';
  return html`<section class=${`home-card card kind-${kind}`} aria-labelledby=${id} aria-busy=${state || error ? 'false' : 'true'} data-card=${card.id}>
    <h2 id=${id}>${card.title}${state?.count !== undefined && html` <span class=${`count kind-${kind}`}>${state.count}</span>`}</h2>
    ${!state && !error && html`<p class="busy">Loading…</p>`}
    ${error && html`<p class="notice notice-error">${error}</p>`}
    ${state && html`<p class="headline">${state.kind === 'ok' ? '✓ ' : ''}${state.headline}</p>
      ${(state.items ?? []).length > 0 && html`<ul class="items">${(state.items ?? []).map((item, i) => html`<li key=${i}>
        <span>${item.text}</span>${item.detail && html`<div class="sub">${item.detail}</div>`}
        ${item.href && html` <a href=${item.href}>${item.link ?? 'Open'}</a>`}</li>`)}</ul>`}
      ${state.more && html`<p><a href=${state.more.href}>${state.more.text}</a></p>`}`}
  </section>`;
}

export function HomeScreen() {
  const [data, setData] = useState(() => new HomeData());
  const cards = CARDS.filter((c) => may(c.role));
  const [loaded, setLoaded] = useState(0);
  return html`<section aria-labelledby="home-title" data-ready=${loaded >= cards.length ? 'true' : 'false'}>
    <h1 id="home-title" tabindex="-1">Home</h1>
    <p class="lead">What needs attention, each with a link to where it is fixed.</p>
    <div class="toolbar"><button type="button" onClick=${() => { setLoaded(0); setData(new HomeData()); }}>Check again</button></div>
    <div class="home-cards">
      ${cards.map((c) => html`<${HomeCard} key=${c.id} card=${c} data=${data} onLoaded=${() => setLoaded((n) => n + 1)} />`)}
    </div>
  </section>`;
}
