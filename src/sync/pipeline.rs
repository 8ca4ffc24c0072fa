//! A run's work as a pipeline of units (`domain::units`): a unit is planned, approved, written
//! and recorded as soon as its tenants' usage is read, while other tenants are still being read
//! from KSC, and several units go at once. Guards and moves are judged per unit, which holds
//! whole tenants, so the result is the plan of the whole run, written in a different order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::Utc;
use futures_util::future::{join_all, try_join};
use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;

use crate::adapters::connectwise::ConnectWiseClient;
use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::readings::ReadingRow;
use crate::adapters::db::{self, tenants::TenantRow, DbPool};
use crate::adapters::kaspersky::KscClient;
use crate::domain::ids::AgreementId;
use crate::domain::outcome::Outcome;
use crate::domain::plan::{self as rules, Approval, CwAddition, PlanAction, RowKey};
use crate::domain::reconciliation;
use crate::domain::report::{Plan, PlanLine, PlanPart};
use crate::domain::units::{self, Unit};
use crate::domain::usage::ApplicationRules;
use crate::runtime::clients::ConnectionError;
use crate::runtime::state::Core;
use crate::sync::apply::{self, Reread, Written};
use crate::sync::collect;
use crate::sync::inputs::{of_tenants, Inputs, Usage};
use crate::sync::lease::Lease;
use crate::sync::plan::{plan_unit, units_at_once};
use crate::sync::record::{Decided, Recorder};
use crate::sync::SyncError;

/// Lines written at once between two lease checks.
const BATCH: usize = 16;

/// What every stage of one run shares: read once when the run starts.
pub struct RunContext {
    pub pool: DbPool,
    pub connectwise: ConnectWiseClient,
    pub lease: Arc<Lease>,
    pub recorder: Recorder,
    pub dry_run: bool,
    pub approval: Option<Approval>,
}

/// A fresh run: collects KSC usage and plans, writes and records each unit as its usage
/// arrives; returns the run's plan as it was before any approval.
pub async fn fresh(state: &Core, ctx: &RunContext) -> Result<Plan, SyncError> {
    let now = Utc::now();
    let inputs = db::run(&ctx.pool, move |conn| Inputs::load(conn, now)).await?;
    let units = inputs.units();
    let collection = Collection::prepare(state, &units).await;
    tracing::info!(
        units = units.len(),
        ksc_tenants = collection.source.as_ref().map_or(0, |s| s.targets.len()),
        "planning and writing each unit as its usage is read"
    );
    let (ready, ready_units) = mpsc::unbounded_channel::<(usize, Usage)>();
    let (inputs, units) = (&inputs, &units);
    let collecting = collection.run(inputs, units, ready);
    let working = async move {
        let mut all = PlanPart::default();
        let mut parts = std::pin::pin!(stream::unfold(ready_units, |mut rx| async move {
            Some((rx.recv().await?, rx))
        })
        .map(|(i, usage)| work_unit(ctx, inputs, &units[i], usage))
        .buffer_unordered(units_at_once(&ctx.connectwise)));
        while let Some(part) = parts.next().await {
            all.extend(part?);
        }
        Ok(all)
    };
    let (usage, mut all) = try_join(collecting, working).await?;
    tracing::info!(lines = all.lines.len(), "every unit planned and written");
    all.unbilled.extend(inputs.unbilled_outside(units, &usage));
    Ok(Plan::assemble(db::new_id(), now, None, all))
}

/// Plans one unit from its usage, approves what the run approves, writes and records it.
async fn work_unit(
    ctx: &RunContext,
    inputs: &Inputs,
    unit: &Unit,
    usage: Usage,
) -> Result<PlanPart, SyncError> {
    let (part, read) = plan_unit(&ctx.connectwise, inputs, unit, &usage, None).await;
    let mut lines = part.lines.clone();
    approve(&mut lines, ctx.approval.as_ref());
    let written = apply_lines(ctx, lines, &BTreeMap::new()).await?;
    if !ctx.dry_run {
        let unreadable = part
            .unreadable_agreements
            .iter()
            .map(|u| u.agreement_id)
            .collect();
        store_reading(ctx, &unit.agreements, &unreadable, read, &written).await?;
    }
    Ok(part)
}

/// Keeps what the unit's agreements bill once its lines are written, for the reconciliation
/// report (an agreement that could not be read keeps its older reading).
async fn store_reading(
    ctx: &RunContext,
    agreements: &BTreeSet<AgreementId>,
    unreadable: &BTreeSet<AgreementId>,
    read: Vec<CwAddition>,
    written: &[Decided],
) -> Result<(), SyncError> {
    let applied = written
        .iter()
        .filter(|(_, w)| w.outcome == Outcome::Applied)
        .map(|(line, w)| (&line.row, w.managed_addition));
    let after = reconciliation::after_run(read, applied);
    let read_at = db::now();
    let rows: Vec<ReadingRow> = agreements
        .iter()
        .filter(|a| !unreadable.contains(a))
        .map(|&agreement| ReadingRow {
            agreement_id: agreement.0,
            additions_json: JsonText(
                after
                    .iter()
                    .filter(|a| a.agreement_id == agreement)
                    .cloned()
                    .collect(),
            ),
            read_at,
        })
        .collect();
    db::run(&ctx.pool, move |conn| {
        Ok::<_, SyncError>(db::readings::put_many(conn, &rows)?)
    })
    .await
}

/// A stored preview applied exactly: each unit of its lines re-checked against ConnectWise as
/// it is now, then written; what was re-read, with what was written, is the agreements' new
/// reading.
pub async fn stored(ctx: &RunContext, mut plan: Plan) -> Result<Plan, SyncError> {
    approve(&mut plan.lines, ctx.approval.as_ref());
    // Lines depend on each other only through moves.
    let links = plan
        .lines
        .iter()
        .map(|l| (l.row.move_id.as_deref(), l.row.agreement_id));
    let groups = units::units(links);
    let mut of_agreement: HashMap<AgreementId, usize> = HashMap::new();
    for (i, group) in groups.iter().enumerate() {
        of_agreement.extend(group.agreements.iter().map(|&a| (a, i)));
    }
    let mut lines: Vec<Vec<PlanLine>> = vec![Vec::new(); groups.len()];
    for line in &plan.lines {
        lines[of_agreement[&line.row.agreement_id]].push(line.clone());
    }
    let now = Utc::now();
    let mut applied = stream::iter(lines)
        .map(|lines| async move {
            let (stale, reread) = apply::stale_lines(&ctx.connectwise, &lines, now).await;
            let written = apply_lines(ctx, lines, &stale).await?;
            if !ctx.dry_run && !reread.agreements.is_empty() {
                let Reread {
                    agreements,
                    unreadable,
                    additions,
                } = reread;
                store_reading(ctx, &agreements, &unreadable, additions, &written).await?;
            }
            Ok::<_, SyncError>(())
        })
        .buffer_unordered(units_at_once(&ctx.connectwise));
    while let Some(done) = applied.next().await {
        done?;
    }
    Ok(plan)
}

/// Lets the approved held lines through; a line of a move approves the whole move.
fn approve(lines: &mut [PlanLine], approval: Option<&Approval>) {
    let Some(approval) = approval else { return };
    let mut rows: Vec<_> = lines.iter().map(|l| l.row.clone()).collect();
    let approved = rules::approve(&mut rows, approval);
    for (line, row) in lines.iter_mut().zip(rows) {
        line.row = row;
    }
    if !approved.is_empty() {
        tracing::info!(approved = approved.len(), "held lines approved");
    }
}

/// Applies one unit's lines and records each as it is decided, so a run that dies leaves what
/// it did on record. A move's new lines are written before its old lines, and its old lines
/// only when all of its new lines were: a move is never left half done with the usage unbilled.
async fn apply_lines(
    ctx: &RunContext,
    lines: Vec<PlanLine>,
    stale: &BTreeMap<RowKey, String>,
) -> Result<Vec<Decided>, SyncError> {
    let mut written = Vec::new();
    let (writes, others): (Vec<PlanLine>, Vec<PlanLine>) = lines
        .into_iter()
        .filter(|l| l.row.action != PlanAction::Unchanged)
        .partition(|l| l.row.action.writes_to_connectwise());
    let decided = others.into_iter().map(|line| {
        let (outcome, detail) = match line.row.action {
            PlanAction::Held => (
                Outcome::Held,
                format!("{} — approve it to apply", line.row.reason),
            ),
            PlanAction::Conflict => (Outcome::Conflict, line.row.reason.clone()),
            PlanAction::Skipped => (Outcome::Skipped, line.row.reason.clone()),
            _ if ctx.dry_run => (Outcome::NotApplied, "dry run".into()),
            _ => (Outcome::Applied, line.row.reason.clone()),
        };
        (line, Written::new(outcome, detail))
    });
    ctx.recorder.add(decided.collect()).await?;

    let (old_lines, new_lines): (Vec<PlanLine>, Vec<PlanLine>) = writes
        .into_iter()
        .partition(|l| l.row.move_id.is_some() && l.row.lowers());
    let mut unfinished_moves = BTreeSet::new();
    for batch in new_lines.chunks(BATCH) {
        let results = write(ctx, batch, stale).await;
        for (line, outcome) in &results {
            if outcome.outcome != Outcome::Applied {
                unfinished_moves.extend(line.row.move_id.clone());
            }
        }
        written.extend(results.iter().cloned());
        ctx.recorder.add(results).await?;
    }
    let (waiting, old_lines): (Vec<PlanLine>, Vec<PlanLine>) =
        old_lines.into_iter().partition(|l| {
            !ctx.dry_run
                && l.row
                    .move_id
                    .as_ref()
                    .is_some_and(|id| unfinished_moves.contains(id))
        });
    let waiting = waiting.into_iter().map(|line| {
        let detail = "not applied: a new line of its move was not written, so this line keeps \
                      billing the usage until the next run";
        (line, Written::new(Outcome::NotApplied, detail.into()))
    });
    ctx.recorder.add(waiting.collect()).await?;
    for batch in old_lines.chunks(BATCH) {
        let results = write(ctx, batch, stale).await;
        written.extend(results.iter().cloned());
        ctx.recorder.add(results).await?;
    }
    Ok(written)
}

/// Writes a batch of lines while the run holds its lease.
async fn write(
    ctx: &RunContext,
    batch: &[PlanLine],
    stale: &BTreeMap<RowKey, String>,
) -> Vec<Decided> {
    if ctx.dry_run || !ctx.lease.may_write().await {
        let detail = if ctx.dry_run {
            "dry run"
        } else {
            "not applied: the run lost its lease"
        };
        return batch
            .iter()
            .map(|l| (l.clone(), Written::new(Outcome::NotApplied, detail.into())))
            .collect();
    }
    let client = &ctx.connectwise;
    let results = join_all(batch.iter().map(|line| async move {
        match stale.get(&line.row.key()) {
            Some(reason) => Written::new(Outcome::Stale, reason.clone()),
            None => apply::write(client, line).await,
        }
    }))
    .await;
    batch.iter().cloned().zip(results).collect()
}

/// The KSC side of a fresh run: which tenants to read, with the rules to read them by, and a
/// client; nothing to read without a KSC connection (KSC tenants then bill their stored usage
/// while it is fresh enough, and are frozen after).
struct Collection {
    source: Option<Source>,
    pool: DbPool,
}

struct Source {
    client: KscClient,
    targets: Vec<TenantRow>,
    rules: Vec<ApplicationRules>,
}

impl Collection {
    async fn prepare(state: &Core, units: &[Unit]) -> Collection {
        let pool = state.pool.clone();
        let client = match crate::runtime::clients::shared_ksc(state).await {
            Ok(client) => client,
            Err(ConnectionError::NotConfigured(reason)) => {
                tracing::info!(%reason, "no KSC collection");
                return Collection { source: None, pool };
            }
            Err(e) => {
                tracing::warn!(error = %e, "KSC collection failed; its tenants are frozen");
                return Collection { source: None, pool };
            }
        };
        let (mut targets, rules) = match collect::targets(&state.pool, None).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "KSC collection failed; its tenants are frozen");
                return Collection { source: None, pool };
            }
        };
        // Unit by unit, so the first units are ready to bill while the rest are read.
        let unit_of: HashMap<&str, usize> = units
            .iter()
            .enumerate()
            .flat_map(|(i, u)| u.tenants.iter().map(move |t| (t.as_str(), i)))
            .collect();
        targets.sort_by_key(|t| unit_of.get(t.id.as_str()).copied().unwrap_or(usize::MAX));
        let source = Source {
            client,
            targets,
            rules,
        };
        Collection {
            source: Some(source),
            pool,
        }
    }

    /// Reads and stores every target, and hands each unit on (with its tenants' usage) as soon
    /// as all of its KSC tenants are stored; returns every tenant's usage in the end.
    async fn run(
        self,
        inputs: &Inputs,
        units: &[Unit],
        ready: mpsc::UnboundedSender<(usize, Usage)>,
    ) -> Result<Usage, SyncError> {
        let mut usage = inputs.usage.clone();
        let mut waiting_for: Vec<usize> = vec![0; units.len()];
        let mut unit_of: HashMap<String, usize> = HashMap::new();
        if let Some(source) = &self.source {
            for (i, unit) in units.iter().enumerate() {
                for tenant in &unit.tenants {
                    unit_of.insert(tenant.clone(), i);
                }
            }
            for t in &source.targets {
                if let Some(&i) = unit_of.get(&t.id) {
                    waiting_for[i] += 1;
                }
            }
        }
        let hand_on = |i: usize, usage: &Usage| {
            // A closed channel means the run stopped working: nothing is waiting any more.
            let _ = ready.send((i, of_tenants(usage, &units[i].tenants)));
        };
        for (i, n) in waiting_for.iter().enumerate() {
            if *n == 0 {
                hand_on(i, &usage);
            }
        }
        if let Some(source) = self.source {
            let (sink, reads) = mpsc::unbounded_channel();
            let reading = async {
                let Source {
                    client,
                    targets,
                    rules,
                } = source;
                collect::read_all(&client, targets, &rules, sink).await;
                Ok(())
            };
            let storing = collect::store_all(&self.pool, None, reads, |batch| {
                for collected in batch {
                    let id = &collected.tenant.id;
                    match inputs.state_of(id, Some(&collected.snapshot)) {
                        Some(state) => usage.insert(id.clone(), state),
                        None => usage.remove(id),
                    };
                    if let Some(&i) = unit_of.get(id) {
                        waiting_for[i] -= 1;
                        if waiting_for[i] == 0 {
                            hand_on(i, &usage);
                        }
                    }
                }
            });
            try_join(reading, storing).await?;
            tracing::info!("KSC usage collected");
        }
        Ok(usage)
    }
}
