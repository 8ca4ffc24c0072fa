// @ts-check
// The Sync tab: last outcome, preview (with moves and held lines), approve, run with progress,
// and the run history with every change and every skipped tenant. Products are named by a
// look-up of the ids on screen, never by reading the whole catalog.
import { html, useState, useEffect } from './vendor/htm-preact.mjs';
import { call, get, getAll, may, productsById } from './api.js';
import { ErrorNotice, Money, Notice, TRIGGERS, ago, billEffect, count, href, moneyAbs, moneySign, possessive, readable, useLoad, when } from './ui.js';

/** @typedef {import('./api.js').Schemas} Schemas */
/** @typedef {Schemas['Plan']} Plan */
/** @typedef {Schemas['PlanLine']} PlanLine */
/** @typedef {Schemas['SyncRun']} SyncRun */
/** @typedef {{products: Map<number, Schemas['Product']>, agreements: Map<number, string>, tenants: Map<string, string>, apps: Map<string, Schemas['SecurityApplicationView']>}} Names */

/** Agreement, tenant and application names, to show ids as people know them. @returns {Promise<Names>} */
async function loadNames() {
  const [mappings, tenants, apps] = await Promise.all([
    /** @type {Promise<Schemas['CompanyMapping'][]>} */ (getAll('/company-mappings')),
    /** @type {Promise<Schemas['Tenant'][]>} */ (getAll('/tenants')),
    /** @type {Promise<Schemas['SecurityApplicationView'][]>} */ (get('/security-applications')),
  ]);
  return {
    products: new Map(),
    agreements: new Map(mappings.map((m) => [m.agreement_id, `${m.agreement_name} (${m.cw_company_name})`])),
    tenants: new Map(tenants.map((t) => [t.id, t.name])),
    apps: new Map(apps.map((a) => [a.id, a])),
  };
}

/** @param {Names | undefined} n @param {number} id */
const productName = (n, id) => n?.products.get(id)?.identifier ?? `product ${id}`;
/** @param {Names | undefined} n @param {number} id */
const agreementName = (n, id) => n?.agreements.get(id) ?? `agreement ${id}`;
/** @param {Names | undefined} n @param {string | null | undefined} id */
const tenantName = (n, id) => (id ? n?.tenants.get(id) ?? id : '—');
/** @param {Names | undefined} n @param {string} id */
const appName = (n, id) => n?.apps.get(id)?.name ?? id;
/** Where an application's mapping is fixed. @param {Names | undefined} n @param {string} id */
const appRow = (n, id) => href('products', { row: id, ...(n?.apps.get(id)?.solution === 'business_hub' ? { solution: 'business_hub' } : {}) });

/** @param {Schemas['UnreadableReason']} r */
function reasonText(r) {
  switch (r.kind) {
    case 'error': return `usage unreadable: ${r.message}`;
    case 'login_refused': return 'KSC refused the login';
    case 'virtual_server_disabled': return 'virtual server disabled';
    case 'virtual_server_vanished': return 'virtual server no longer listed';
    case 'push_too_old': return `last push too old (${when(r.pushed_at)})`;
    default: return 'no usage read yet';
  }
}

const HOLD_TEXT = {
  decrease_above_limit: 'decrease above the limit',
  unattributed_keys: 'the tenant reports unknown or ambiguous keys',
  increase_above_limit: "the tenant's units rise above the limit",
  first_billing: "the tenant's first billing",
};

/** @param {{status: SyncRun['status']}} props */
function StatusBadge({ status }) {
  return html`<span class=${`status run-${status}`}>${status}</span>`;
}

/** @param {SyncRun} run */
const triggerOf = (run) => `${TRIGGERS[run.trigger] ?? run.trigger}${run.dry_run ? ', dry run' : ''}`;

/** Application names by id, for reasons worded with ids. @param {Names | undefined} n */
const appNames = (n) => new Map([...(n?.apps ?? new Map())].map(([k, a]) => [k, a.name]));

/** @param {{run: SyncRun, settings: Schemas['SyncSettingsView'] | undefined, names: Names | undefined}} props */
function Outcome({ run, settings, names }) {
  const s = run.summary;
  const skipped = s.skipped_tenants ?? [];
  return html`<div class="outcome">
    <p>Last finished run: <${StatusBadge} status=${run.status} /> ${when(run.finished_at)} (${ago(run.finished_at)}). Trigger: ${triggerOf(run)}.${' '}${Object.entries(s.actions).filter(([, n]) => n > 0).map(([a, n]) => `${n} ${a}`).join(', ') || 'No change.'}</p>
    ${run.error && html`<p class="sub">${readable(run.error, appNames(names))}</p>`}
    <${MoneySummary} money=${s.money} past=${true} />
    ${skipped.length > 0 && html`<p><strong>${count(skipped.length, 'tenant')} not billed</strong>:
      ${skipped.map((t) => `${t.tenant_name ?? t.tenant_id} (${readable(t.reason, appNames(names))}, since ${when(t.since)})`).join('; ')}</p>`}
    ${settings && html`<p class="sub">${settings.schedule_enabled && settings.next_run_at ? `Next run ${when(settings.next_run_at)} (${ago(settings.next_run_at)}).` : 'The schedule is off.'} <a href="#/settings">Sync settings</a></p>`}
  </div>`;
}

/** A blocked tenant: which mappings to complete, each a link to its row. @param {{names: Names | undefined, tenantId: string, applications: string[]}} props */
function BlockedItem({ names, tenantId, applications }) {
  return html`<li><strong>${tenantName(names, tenantId)}</strong> is not billed at all until these mappings are complete:
    ${applications.map((a, i) => html`${i > 0 ? ', ' : ' '}<a href=${appRow(names, a)}>${appName(names, a)}</a>`)}</li>`;
}

/**
 * What a plan or a run does to the monthly bills: per company, then overall; what waits for
 * approval said apart, so an approver sees it before approving.
 * @param {{money: Schemas['MoneySummary'] | undefined, past?: boolean}} props
 */
function MoneySummary({ money, past = false }) {
  if (!money) return null;
  const opts = { past };
  /** @type {string[]} */
  const items = [];
  for (const c of money.companies) {
    const whose = possessive(c.cw_company_name ?? `company ${c.cw_company_id ?? '?'}`);
    if (moneySign(c.monthly_effect) !== 0) items.push(`${past ? 'This run' : 'Applying it'} ${billEffect(c.monthly_effect, whose, opts)}.`);
    if (moneySign(c.held_effect) !== 0) items.push(`Held for approval: ${billEffect(c.held_effect, whose)} once approved.`);
  }
  const held = moneySign(money.held_effect) !== 0;
  return html`<div class="money-summary">
    <p>Monthly bills: ${past ? 'this run' : 'applying this preview'} ${billEffect(money.monthly_effect, 'the companies\'', { noun: 'monthly bills', past })}${held ? `; the lines held for approval would ${moneySign(money.held_effect) > 0 ? 'raise' : 'lower'} them by ${moneyAbs(money.held_effect)} once approved` : ''}.</p>
    ${items.length > 0 && html`<ul class="money-companies">${items.map((t) => html`<li>${t}</li>`)}</ul>`}
  </div>`;
}

/**
 * @param {{plan: Plan, names: Names | undefined, onApply: (approve: Schemas['ApproveHeld'] | null) => void, busy: boolean, editor: boolean}} props
 */
function PlanView({ plan, names, onApply, busy, editor }) {
  const [approved, setApproved] = useState(/** @type {Set<string>} */ (new Set()));
  const [showAll, setShowAll] = useState(false);
  const moves = plan.moves ?? [];
  const heldMoves = moves.filter((m) => m.hold_reasons.length > 0);
  const heldLines = plan.lines.filter((l) => l.action === 'held' && !l.move_id);
  const lines = showAll ? plan.lines : plan.lines.filter((l) => l.action !== 'unchanged');
  const notBilled = plan.not_billed ?? [];
  /** @param {string} key */
  function flip(key) {
    setApproved((old) => { const s = new Set(old); if (s.has(key)) s.delete(key); else s.add(key); return s; });
  }
  /** @returns {Schemas['HeldItem'][]} */
  function approvals() {
    return [...approved].map((k) => {
      if (k.startsWith('move:')) return { move_id: k.slice(5) };
      const [agreement_id, product_id] = k.split(':').slice(1).map(Number);
      return { agreement_id, product_id };
    });
  }
  const held = heldMoves.length + heldLines.length;
  /** The company a move bills: its lines name it. @param {Schemas['Move']} m */
  const moveCompany = (m) => plan.lines.find((l) => l.move_id === m.id && l.cw_company_name)?.cw_company_name ?? tenantName(names, m.tenant_id);
  const writes = Object.entries(plan.counts).filter(([a, n]) => n > 0 && a !== 'unchanged').map(([a, n]) => `${n} ${a}`).join(', ');
  return html`<section class="card" aria-labelledby="plan-title">
    <h2 id="plan-title">Preview <span class="sub">${when(plan.created_at)}</span></h2>
    <p>${writes ? `${writes}.` : 'No line to write.'} Nothing has been written to ConnectWise yet.</p>
    <${MoneySummary} money=${plan.money} />
    ${notBilled.length > 0 && html`<${Notice} kind="warn">${count(notBilled.length, 'tenant')} with billing on ${notBilled.length === 1 ? 'is' : 'are'} not billed by this plan — fix ${notBilled.length === 1 ? 'it' : 'them'} first:
      <ul>${plan.blocked.map((b) => html`<${BlockedItem} key=${b.tenant_id} names=${names} tenantId=${b.tenant_id} applications=${b.applications} />`)}
      ${notBilled.filter((t) => t.kind !== 'blocked').map((t) => html`<li key=${t.tenant_id}><strong>${t.tenant_name ?? tenantName(names, t.tenant_id)}</strong>: ${t.reason} — <a href=${href('companies', { tenant: t.tenant_id })}>see the tenant</a></li>`)}</ul><//>`}
    ${moves.length > 0 && html`<h3>Moves</h3><ul class="moves">${moves.map((m) => html`<li key=${m.id}>
      ${m.hold_reasons.length > 0 && editor
        ? html`<label><input type="checkbox" checked=${approved.has(`move:${m.id}`)} onChange=${() => flip(`move:${m.id}`)} />
            Approve the move of ${tenantName(names, m.tenant_id)}</label>`
        : html`<strong>Move of ${tenantName(names, m.tenant_id)}</strong>`}
${`: ${m.applications.map((a) => appName(names, a)).join(', ')}, tenant total ${m.units_before} → ${m.units_after} units from ${m.date}, ${m.lines.length} lines; it ${billEffect(m.monthly_effect, possessive(moveCompany(m)))}`}${m.hold_reasons.length ? html` — <span class="status status-incomplete">held</span>: ${m.hold_reasons.map((r) => HOLD_TEXT[r]).join(', ')}` : ' — applied at once'}
    </li>`)}</ul>`}
    <div class="table-wrap"><table class="grid stack">
      <caption>Lines${showAll ? '' : ' (unchanged ones hidden)'}</caption>
      <thead><tr><th scope="col">Tenant</th><th scope="col">Agreement</th><th scope="col">Product</th><th scope="col">Action</th>
        <th scope="col">Quantity</th><th scope="col">Monthly effect</th><th scope="col">Why</th>${editor && held > 0 && html`<th scope="col">Approve</th>`}</tr></thead>
      <tbody>${lines.length === 0 && html`<tr><td colspan="8">No line to write.</td></tr>`}
      ${lines.map((l, i) => {
        const key = `line:${l.agreement_id}:${l.product_id}`;
        return html`<tr key=${i}>
          <td data-label="Tenant">${l.tenant_name ?? tenantName(names, l.tenant_id)}</td><td data-label="Agreement">${agreementName(names, l.agreement_id)}</td>
          <td data-label="Product">${productName(names, l.product_id)}</td>
          <td data-label="Action"><span class=${`status action-${l.action}`}>${l.action}</span>${l.hold && html` <span class="sub">(${l.hold.action})</span>`}</td>
          <td data-label="Quantity">${l.current_quantity} → ${l.desired_quantity ?? l.current_quantity}</td>
          <td data-label="Monthly effect"><${Money} amount=${l.monthly_effect} />${l.action === 'held' && moneySign(l.monthly_effect) !== 0 && html`<div class="sub">once approved: ${billEffect(l.monthly_effect, possessive(l.cw_company_name ?? tenantName(names, l.tenant_id)))}</div>`}${l.unit_price && html`<div class="sub">at ${l.unit_price} a unit</div>`}</td>
          <td data-label="Why">${l.reason}${l.move_id && html`<div class="sub">part of the move of ${tenantName(names, l.tenant_id)}</div>`}</td>
          ${editor && held > 0 && html`<td data-label="Approve">${l.action === 'held' && !l.move_id
            ? html`<input type="checkbox" aria-label=${`Approve ${productName(names, l.product_id)} on ${agreementName(names, l.agreement_id)}: ${billEffect(l.monthly_effect, possessive(l.cw_company_name ?? tenantName(names, l.tenant_id)))}`}
                checked=${approved.has(key)} onChange=${() => flip(key)} />`
            : l.action === 'held' ? html`<span class="sub">with its move</span>` : ''}</td>`}
        </tr>`;
      })}</tbody></table></div>
    <div class="check"><input id="show-unchanged" type="checkbox" checked=${showAll} onChange=${() => setShowAll(!showAll)} /><label for="show-unchanged">Show unchanged lines</label></div>
    ${plan.frozen.length > 0 && html`<h3>Frozen (no change at all)</h3><ul>${plan.frozen.map((f) => html`<li>${tenantName(names, f.tenant_id)}: ${reasonText(f.reason)} — <a href=${href('companies', { tenant: f.tenant_id })}>see the tenant</a></li>`)}</ul>`}
    ${plan.blocked.length > 0 && html`<h3>Blocked (incomplete product mapping)</h3><ul>${plan.blocked.map((b) => html`<${BlockedItem} key=${b.tenant_id} names=${names} tenantId=${b.tenant_id} applications=${b.applications} />`)}</ul>`}
    ${(plan.unattributed_keys ?? []).length > 0 && html`<h3>Unknown or ambiguous keys</h3><ul>${(plan.unattributed_keys ?? []).map((k) => html`<li>${k.tenant_name ?? tenantName(names, k.tenant_id)}: ${k.unknown_keys} unknown, ${k.ambiguous_keys} ambiguous — see <a href="#/unbilled">Unbilled usage</a></li>`)}</ul>`}
    ${editor && html`<div class="actions">
      <button type="button" class="primary" disabled=${busy} onClick=${() => onApply(approved.size ? approvals() : null)}>
        ${approved.size ? `Apply this preview with ${approved.size} approval${approved.size === 1 ? '' : 's'}` : 'Apply this preview'}</button>
      ${held > 0 && html`<button type="button" disabled=${busy} onClick=${() => onApply('all')}>Apply and approve everything held</button>`}
    </div>`}
  </section>`;
}

/** @param {{run: SyncRun, names: Names | undefined, onProducts: (ids: number[]) => void}} props */
function RunDetails({ run, names, onProducts }) {
  const { data: changes, error } = useLoad(
    () => /** @type {Promise<Schemas['SyncChange'][]>} */ (getAll(`/sync/runs/${run.id}/changes`)),
    [run.id, run.status],
  );
  useEffect(() => { if (changes) onProducts(changes.map((c) => c.product_id)); }, [changes]);
  const skipped = run.summary.skipped_tenants ?? [];
  return html`<section class="card" aria-labelledby=${`run-${run.id}`}>
    <h3 id=${`run-${run.id}`}>Run of ${when(run.started_at)} <${StatusBadge} status=${run.status} /></h3>
    <p class="sub">Trigger: ${triggerOf(run)}.</p>
    ${run.error && html`<p>${readable(run.error, appNames(names))}</p>`}
    <p>${`${Object.entries(run.summary.outcomes).filter(([, n]) => n > 0).map(([a, n]) => `${n} ${a}`).join(', ') || 'No change recorded'}; ${run.summary.write_calls} ConnectWise writes.`}</p>
    <${MoneySummary} money=${run.summary.money} past=${true} />
    ${skipped.length > 0 && html`<h4>Tenants not billed</h4><ul>${skipped.map((t) => html`<li>${t.tenant_name ?? t.tenant_id}: ${t.kind}, ${readable(t.reason, appNames(names))} (since ${when(t.since)}) —
      ${t.kind === 'blocked' ? html`<a href="#/unbilled">what it leaves unbilled</a>` : html`<a href=${href('companies', { tenant: t.tenant_id })}>see the tenant</a>`}</li>`)}</ul>`}
    <${ErrorNotice} error=${error} />
    ${changes && html`<div class="table-wrap"><table class="grid stack">
      <caption>Changes</caption>
      <thead><tr><th scope="col">Tenant</th><th scope="col">Agreement</th><th scope="col">Product</th><th scope="col">Action</th><th scope="col">Quantity</th><th scope="col">Result</th></tr></thead>
      <tbody>${changes.length === 0 && html`<tr><td colspan="6">No change.</td></tr>`}
      ${changes.map((c) => html`<tr key=${c.seq}><td data-label="Tenant">${c.tenant_name ?? '—'}</td><td data-label="Agreement">${agreementName(names, c.agreement_id)}</td>
        <td data-label="Product">${productName(names, c.product_id)}</td><td data-label="Action">${c.action}</td><td data-label="Quantity">${c.old_quantity} → ${c.new_quantity ?? c.old_quantity}</td>
        <td data-label="Result"><span class=${`status result-${c.result}`}>${c.result}</span>${c.detail && html`<div class="sub">${c.detail}</div>`}</td></tr>`)}
      </tbody></table></div>`}
  </section>`;
}

export function SyncScreen() {
  const editor = may('operator');
  const { data: loadedNames, reload: reloadNames } = useLoad(loadNames, []);
  const [products, setProducts] = useState(/** @type {Map<number, Schemas['Product']>} */ (new Map()));
  const names = loadedNames && { ...loadedNames, products };
  const [tick, setTick] = useState(0);
  const last = useLoad(async () => /** @type {SyncRun | undefined} */ ((await get('/sync/runs', { finished: true, per_page: 1 })).items[0]), [tick]);
  const settings = useLoad(() => /** @type {Promise<Schemas['SyncSettingsView']>} */ (get('/settings/sync')), [tick]);
  const [page, setPage] = useState(1);
  const history = useLoad(() => /** @type {Promise<Schemas['Page_SyncRun']>} */ (get('/sync/runs', { page, per_page: 10 })), [page, tick]);
  const [plan, setPlan] = useState(/** @type {Plan | null} */ (null));
  const [running, setRunning] = useState(/** @type {{run: SyncRun, seconds: number, changes: number} | null} */ (null));
  const [selected, setSelected] = useState(/** @type {SyncRun | null} */ (null));
  const [busy, setBusy] = useState(/** @type {string | null} */ (null));
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));

  /** Names the products of these ids (a look-up of only them). @param {number[]} ids */
  function nameProducts(ids) {
    productsById(ids).then((all) => setProducts(new Map(all)), () => {});
  }

  async function collect() {
    setBusy('Reading usage from KSC…'); setError(null); setMessage(null);
    try {
      /** @type {Schemas['Collection']} */
      const c = (await call('POST', '/usage-snapshots/collect')).data;
      setMessage(`Usage read: ${c.collected} tenant${c.collected === 1 ? '' : 's'} collected, ${c.failed} failed.`);
    } catch (e) { setError(e); } finally { setBusy(null); }
  }

  async function preview() {
    setBusy('Planning…'); setError(null); setMessage(null);
    try {
      reloadNames();
      /** @type {Plan} */
      const next = (await call('POST', '/sync/preview', { body: {} })).data;
      await productsById(next.lines.map((l) => l.product_id)).then((all) => setProducts(new Map(all)), () => {});
      setPlan(next);
    } catch (e) { setError(e); } finally { setBusy(null); }
  }

  /** @param {Record<string, unknown>} body */
  async function start(body) {
    setError(null); setMessage(null);
    try {
      const reply = await call('POST', '/sync/runs', { body: { ...body, trigger: 'console' } });
      /** @type {SyncRun} */
      let run = reply.data;
      const began = Date.now();
      setPlan(null);
      setRunning({ run, seconds: 0, changes: 0 });
      while (run.status === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        run = await get(`/sync/runs/${run.id}`);
        const changes = (await get(`/sync/runs/${run.id}/changes`, { per_page: 1 })).total;
        setRunning({ run, seconds: Math.round((Date.now() - began) / 1000), changes });
      }
      setRunning(null);
      setSelected(run);
      setMessage(`The run finished: ${run.status}.`);
      setTick((t) => t + 1);
    } catch (e) {
      setRunning(null);
      setError(e);
    }
  }

  useEffect(() => { if (selected && history.data) { const s = history.data.items.find((r) => r.id === selected.id); if (s) setSelected(s); } }, [history.data]);

  return html`<section aria-labelledby="sync-title">
    <h1 id="sync-title" tabindex="-1">Sync</h1>
    <p class="lead">Turns each tenant's latest usage into ConnectWise agreement additions.</p>
    ${last.data ? html`<${Outcome} run=${last.data} settings=${settings.data} names=${names} />` : !last.loading && html`<p>No run has finished yet.</p>`}
    ${editor && html`<div class="toolbar">
      <button type="button" class="primary" disabled=${busy !== null || running !== null} onClick=${preview}>Preview</button>
      <button type="button" disabled=${busy !== null || running !== null} onClick=${() => start({})}>Run sync now</button>
      <button type="button" disabled=${busy !== null || running !== null} onClick=${collect}>Collect usage now</button>
    </div>`}
    ${busy && html`<p role="status" class="busy">${busy}</p>`}
    ${running && html`<div role="status" class="progress">
      <label for="run-progress">Sync running: ${running.seconds} s, ${running.changes} change${running.changes === 1 ? '' : 's'} recorded</label>
      <progress id="run-progress"></progress></div>`}
    ${message && html`<${Notice} kind="ok">${message}<//>`}
    <${ErrorNotice} error=${error || last.error} />
    ${plan && html`<${PlanView} plan=${plan} names=${names} editor=${editor} busy=${running !== null}
      onApply=${(/** @type {Schemas['ApproveHeld'] | null} */ approve) => start(approve ? { plan_id: plan.id, approve } : { plan_id: plan.id })} />`}
    <h2>History</h2>
    <${ErrorNotice} error=${history.error} />
    ${history.data && html`<div class="table-wrap"><table class="grid stack">
      <caption class="visually-hidden">Sync runs, newest first</caption>
      <thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Changes</th><th scope="col">Monthly effect</th><th scope="col">Not billed</th><th scope="col"><span class="visually-hidden">Details</span></th></tr></thead>
      <tbody>${history.data.items.length === 0 && html`<tr><td colspan="7">No run yet.</td></tr>`}
      ${history.data.items.map((r) => html`<tr key=${r.id} class=${selected?.id === r.id ? 'selected' : ''}>
        <td data-label="Started">${when(r.started_at)}</td><td data-label="Trigger">${triggerOf(r)}</td><td data-label="Status"><${StatusBadge} status=${r.status} /></td>
        <td data-label="Changes">${Object.entries(r.summary.actions).filter(([, n]) => n > 0).map(([a, n]) => `${n} ${a}`).join(', ') || '—'}</td>
        <td data-label="Monthly effect"><${Money} amount=${r.summary.money?.monthly_effect} />${moneySign(r.summary.money?.held_effect) !== 0 && html`<div class="sub">held: ${r.summary.money?.held_effect}</div>`}</td>
        <td data-label="Not billed">${(r.summary.skipped_tenants ?? []).length || '—'}</td>
        <td><button type="button" aria-expanded=${selected?.id === r.id ? 'true' : 'false'} onClick=${() => setSelected(selected?.id === r.id ? null : r)}
          aria-label=${`Details of the run of ${when(r.started_at)}`}>Details</button></td></tr>`)}
      </tbody></table></div>
      <div class="pager">
        <button type="button" disabled=${page <= 1} onClick=${() => setPage(page - 1)}>Newer</button>
        <span>Page ${page} of ${Math.max(1, Math.ceil(history.data.total / 10))}</span>
        <button type="button" disabled=${page * 10 >= history.data.total} onClick=${() => setPage(page + 1)}>Older</button>
      </div>`}
    ${selected && html`<${RunDetails} key=${selected.id} run=${selected} names=${names} onProducts=${nameProducts} />`}
  </section>`;
}
