//! Sync runs: one at a time across every process sharing the database (a lease with a
//! time-to-live, renewed while the run works and checked before each batch of writes), recorded
//! with one change row per plan line.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::{self, audit::Actor, sync::ChangeRow, sync::ManagedRow, DbConnection};
use crate::adapters::metrics;
use crate::domain::plan::{self as rules, Approval, PlanAction, RowKey};
use crate::runtime::clients::ConnectionError;
use crate::runtime::state::AppState;
use crate::sync::apply::{self, Outcome, Written};
use crate::sync::collect;
use crate::sync::plan::{self, NotBilledTenant, Plan, PlanLine, TenantKeys};
use crate::sync::SyncError;

/// A run as stored, with its summary.
pub type Run = db::sync::RunRow<RunSummary>;

/// How long a lease lasts without renewal: a holder that died frees it after this.
pub const LEASE_TTL: Duration = Duration::from_secs(60);
/// Lines written at once between two lease checks.
const BATCH: usize = 16;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Trigger {
        Api => "api",
        /// Started from the web console (an API call that says so).
        Console => "console",
        Schedule => "schedule",
        Cli => "cli",
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RunStatus {
        Running => "running",
        /// Every billed tenant was read and every planned line applied.
        Succeeded => "succeeded",
        /// Everything else applied, but lines wait for approval.
        Held => "held",
        /// A billed tenant was skipped or blocked, or lines were not applied (failed, stale,
        /// conflict, lease lost); `error` says which, the summary names the tenants.
        Partial => "partial",
        /// The run could not work: nothing was written.
        Failed => "failed",
        /// Its process died mid-run.
        Interrupted => "interrupted",
    }
}

/// What a run left undone, for the metrics (dry runs leave nothing undone: they do nothing).
fn record_last_run(summary: &RunSummary) {
    metrics::sync_last_run(metrics::LastRun {
        held_lines: summary.lines_held as u64,
        skipped_tenants: summary.skipped_tenants.len() as u64,
        unattributed_tenants: summary.unattributed_keys.len() as u64,
    });
}

/// Starts the sync metrics from what the database knows: every status and written action at
/// zero, and the last real run's outcome, so a restart does not look like "never synced" to
/// an alert. A stored run this version cannot read is an error (the caller logs it and starts).
pub fn restore_metrics(conn: &mut DbConnection) -> QueryResult<()> {
    let statuses: Vec<&'static str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    let actions: Vec<&'static str> = PlanAction::ALL
        .iter()
        .filter(|a| a.writes_to_connectwise())
        .map(|a| a.as_str())
        .collect();
    metrics::declare_sync_series(&statuses, &actions);
    let succeeded =
        db::sync::latest_real_run::<RunSummary>(conn, &[RunStatus::Succeeded.as_str()])?;
    if let Some(finished_at) = succeeded.and_then(|run| run.finished_at) {
        metrics::sync_succeeded_at(finished_at.and_utc().timestamp().max(0) as u64);
    }
    let worked = [RunStatus::Succeeded, RunStatus::Held, RunStatus::Partial].map(RunStatus::as_str);
    if let Some(run) = db::sync::latest_real_run::<RunSummary>(conn, &worked)? {
        record_last_run(&run.summary_json.into_inner());
    }
    Ok(())
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Apply exactly this stored preview; none = collect, plan afresh and apply.
    pub plan_id: Option<String>,
    /// Held lines let through.
    pub approve: Option<Approval>,
    /// Plan and record, write nothing.
    pub dry_run: bool,
}

/// A billed tenant the run did not bill, and since when runs have not billed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkippedTenant {
    #[serde(flatten)]
    pub tenant: NotBilledTenant,
    /// The start of the first run in the current series of runs that did not bill it.
    pub since: DateTime<Utc>,
}

/// Counts of a run, by planned action and by outcome, and what it left undone. Fields a stored
/// summary lacks (written by an older version) read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RunSummary {
    pub actions: BTreeMap<String, usize>,
    pub outcomes: BTreeMap<String, usize>,
    /// ConnectWise write calls made.
    pub write_calls: usize,
    /// Tenants with billing enabled whose usage could not be read (frozen).
    pub tenants_skipped: usize,
    /// Tenants with billing enabled held back by an incomplete product mapping.
    pub tenants_blocked: usize,
    /// Lines waiting for approval.
    pub lines_held: usize,
    /// Moves in the plan (usage billed on other lines than before).
    pub moves: usize,
    /// Every skipped or blocked tenant with its reason, by name.
    pub skipped_tenants: Vec<SkippedTenant>,
    /// Tenants whose usage holds licence keys no application counted.
    pub unattributed_keys: Vec<TenantKeys>,
}

impl RunSummary {
    fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.get(outcome.as_str()).copied().unwrap_or(0)
    }

    /// The run's outcome (DOMAIN.md §6 "Run outcome") and, unless it succeeded, why.
    fn status(&self, lease_lost: bool, dry_run: bool) -> (RunStatus, Option<String>) {
        let mut problems = Vec::new();
        if lease_lost {
            problems.push("the run lost its lease and stopped writing".to_string());
        }
        let not_applied = [
            (Outcome::Failed, "failed"),
            (Outcome::Stale, "changed in ConnectWise since the preview"),
            (Outcome::Conflict, "in conflict"),
        ];
        for (outcome, what) in not_applied {
            let n = self.count(outcome);
            if n > 0 {
                problems.push(format!("{n} line(s) {what}"));
            }
        }
        let unwritten = self.count(Outcome::NotApplied);
        if !dry_run && !lease_lost && unwritten > 0 {
            problems.push(format!("{unwritten} line(s) not applied"));
        }
        if !self.skipped_tenants.is_empty() {
            let tenants: Vec<String> = self
                .skipped_tenants
                .iter()
                .map(|s| {
                    let t = &s.tenant;
                    let name = t.tenant_name.as_deref().unwrap_or(&t.tenant_id);
                    format!("{name} ({})", t.reason)
                })
                .collect();
            problems.push(format!("tenants not billed: {}", tenants.join("; ")));
        }
        if !self.unattributed_keys.is_empty() {
            let tenants: Vec<String> = self
                .unattributed_keys
                .iter()
                .map(|t| {
                    let name = t.tenant_name.as_deref().unwrap_or(&t.tenant_id);
                    format!("{name} ({})", t.product_names.join(", "))
                })
                .collect();
            problems.push(format!(
                "usage no security application counts (unknown or ambiguous licence keys): {}",
                tenants.join("; ")
            ));
        }
        if !problems.is_empty() {
            return (RunStatus::Partial, Some(problems.join("; ")));
        }
        if self.lines_held > 0 {
            return (RunStatus::Held, None);
        }
        (RunStatus::Succeeded, None)
    }
}

/// Takes the lease and records a new running run; 409 naming the run that holds it.
pub async fn begin(
    state: &AppState,
    trigger: Trigger,
    request: &RunRequest,
) -> Result<Run, SyncError> {
    let holder = state.instance_id.clone();
    let (plan_id, dry_run) = (request.plan_id.clone(), request.dry_run);
    db::run(&state.pool, move |conn| {
        if let Some(id) = &plan_id {
            if db::sync::find_plan::<Box<serde_json::value::RawValue>>(conn, id)?.is_none() {
                return Err(SyncError::invalid(
                    "plan_id",
                    format!("there is no stored plan {id}"),
                ));
            }
        }
        db::write_transaction(conn, "sync_lease", |conn| {
            let now = db::now();
            let run = db::sync::RunRow {
                id: db::new_id(),
                trigger_kind: trigger.as_str().into(),
                status: RunStatus::Running.as_str().into(),
                plan_id: plan_id.clone(),
                dry_run,
                started_at: now,
                finished_at: None,
                holder: holder.clone(),
                summary_json: JsonText(RunSummary::default()),
                error: None,
            };
            let until = now + LEASE_TTL;
            if !db::sync::try_acquire_lease(conn, &holder, &run.id, now, until)? {
                let lease = db::sync::lease(conn)?;
                return Err(SyncError::Busy(format!(
                    "A sync run is going already (run {}); try again when it has finished.",
                    lease.run_id.unwrap_or_default()
                )));
            }
            // The lease was free or expired: any run still marked running has died.
            for mut dead in db::sync::running::<RunSummary>(conn)? {
                dead.status = RunStatus::Interrupted.as_str().into();
                dead.finished_at = Some(now);
                dead.error = Some("its process stopped before it finished".into());
                db::sync::update_run(conn, &dead)?;
            }
            db::sync::insert_run(conn, &run)?;
            Ok(run)
        })
    })
    .await
}

/// Renews the lease; false when this run lost it (then it must stop writing).
async fn renew(state: &AppState, run_id: &str) -> bool {
    let (holder, run_id) = (state.instance_id.clone(), run_id.to_string());
    db::run(&state.pool, move |conn| {
        Ok::<_, SyncError>(db::sync::renew_lease(
            conn,
            &holder,
            &run_id,
            db::now() + LEASE_TTL,
        )?)
    })
    .await
    .unwrap_or(false)
}

/// Runs a begun run to its end and records the outcome; never fails (failures are recorded).
pub async fn execute(state: Arc<AppState>, run: Run, request: RunRequest) -> Run {
    let heartbeat = {
        let (state, run_id) = (state.clone(), run.id.clone());
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(LEASE_TTL / 4).await;
                if !renew(&state, &run_id).await {
                    break;
                }
            }
        })
    };
    let outcome = work(&state, &run, &request).await;
    heartbeat.abort();
    let mut finished = run.clone();
    finished.finished_at = Some(db::now());
    match outcome {
        Ok((summary, lease_lost)) => {
            let (status, why) = summary.status(lease_lost, request.dry_run);
            finished.status = status.as_str().into();
            finished.error = why;
            if !request.dry_run {
                record_last_run(&summary);
            }
            finished.summary_json = JsonText(summary);
        }
        Err(e) => {
            tracing::error!(run = %run.id, error = %e, "sync run failed");
            finished.status = RunStatus::Failed.as_str().into();
            finished.error = Some(e.detail());
        }
    }
    let status = RunStatus::parse(&finished.status).unwrap_or(RunStatus::Failed);
    metrics::sync_run_finished(status.as_str());
    if status == RunStatus::Succeeded && !request.dry_run {
        metrics::sync_succeeded_at(Utc::now().timestamp().max(0) as u64);
    }
    let (holder, record) = (state.instance_id.clone(), finished.clone());
    // One transaction: whoever sees the run finished can start the next one.
    let saved: Result<(), SyncError> = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, "sync_lease", |conn| {
            db::sync::update_run(conn, &record)?;
            db::sync::release_lease(conn, &holder, &record.id)?;
            Ok(())
        })
    })
    .await;
    if let Err(e) = saved {
        tracing::error!(run = %run.id, error = %e, "could not record the end of a sync run");
    }
    finished
}

/// The plan to apply: the stored preview, or a fresh one (after collecting KSC usage).
async fn plan_for(
    state: &AppState,
    run: &Run,
    request: &RunRequest,
) -> Result<(Plan, bool), SyncError> {
    if let Some(plan_id) = &request.plan_id {
        let id = plan_id.clone();
        let record = db::run(&state.pool, move |conn| {
            db::sync::find_plan::<Plan>(conn, &id)?
                .ok_or_else(|| SyncError::NotFound(format!("There is no stored plan {id}.")))
        })
        .await?;
        return Ok((record.plan_json.into_inner(), true));
    }
    match collect::collect(state, &Actor::system("sync"), None).await {
        Ok(_) => {}
        // Without a KSC connection only pushed usage is billed; KSC tenants stay frozen.
        Err(SyncError::Connection(ConnectionError::NotConfigured(reason))) => {
            tracing::info!(run = %run.id, %reason, "no KSC collection")
        }
        Err(e) => {
            tracing::warn!(run = %run.id, error = %e, "KSC collection failed; its tenants are frozen")
        }
    }
    let (plan, _) = plan::make(state, None).await?;
    store_plan(state, &plan, None).await?;
    Ok((plan, false))
}

pub async fn store_plan(
    state: &AppState,
    plan: &Plan,
    created_by: Option<String>,
) -> Result<(), SyncError> {
    let record = db::sync::PlanRecord {
        id: plan.id.clone(),
        created_at: plan.created_at.naive_utc(),
        created_by,
        company_mapping_id: plan.company_mapping_id.clone(),
        plan_json: JsonText(plan.clone()),
    };
    db::run(&state.pool, move |conn| {
        Ok(db::sync::insert_plan(conn, &record)?)
    })
    .await
}

/// Plans (or loads the preview), applies the writes in batches, records every line.
/// A move's new lines are written before its old lines, and its old lines only when all of
/// its new lines were: a move is never left half done with the usage unbilled.
async fn work(
    state: &AppState,
    run: &Run,
    request: &RunRequest,
) -> Result<(RunSummary, bool), SyncError> {
    let (mut plan, is_preview) = plan_for(state, run, request).await?;
    if let Some(approval) = &request.approve {
        let approved = approve(&mut plan, approval);
        if approved > 0 {
            tracing::info!(run = %run.id, approved, "held lines approved");
        }
    }
    let client = crate::runtime::clients::shared_connectwise(state).await?;
    let now = Utc::now();
    // A preview applied later is re-checked against ConnectWise as it is now.
    let stale = if is_preview {
        stale_lines(&client, &plan, now).await
    } else {
        BTreeMap::new()
    };
    let mut recorder = Recorder {
        next_seq: 0,
        summary: summary_of(state, run, &plan).await?,
    };
    // Lines are recorded as they are decided, so a run that dies leaves what it did on record.
    let (writes, others): (Vec<PlanLine>, Vec<PlanLine>) = plan
        .lines
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
            _ if request.dry_run => (Outcome::NotApplied, "dry run".into()),
            _ => (Outcome::Applied, line.row.reason.clone()),
        };
        (line, Written::new(outcome, detail))
    });
    recorder.add(state, run, decided.collect()).await?;

    let (old_lines, new_lines): (Vec<PlanLine>, Vec<PlanLine>) = writes
        .into_iter()
        .partition(|l| l.row.move_id.is_some() && l.row.lowers());
    let mut writer = Writer {
        state,
        run,
        client: &client,
        stale: &stale,
        dry_run: request.dry_run,
        lease_lost: false,
    };
    let mut unfinished_moves = BTreeSet::new();
    for batch in new_lines.chunks(BATCH) {
        let results = writer.write(batch).await;
        for (line, written) in &results {
            if written.outcome != Outcome::Applied {
                unfinished_moves.extend(line.row.move_id.clone());
            }
        }
        recorder.add(state, run, results).await?;
    }
    let (waiting, old_lines): (Vec<PlanLine>, Vec<PlanLine>) =
        old_lines.into_iter().partition(|l| {
            !request.dry_run
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
    recorder.add(state, run, waiting.collect()).await?;
    for batch in old_lines.chunks(BATCH) {
        let results = writer.write(batch).await;
        recorder.add(state, run, results).await?;
    }
    Ok((recorder.summary, writer.lease_lost))
}

/// Lets the approved held lines through; a line of a move approves the whole move.
fn approve(plan: &mut Plan, approval: &Approval) -> usize {
    let mut rows: Vec<_> = plan.lines.iter().map(|l| l.row.clone()).collect();
    let approved = rules::approve(&mut rows, approval);
    for (line, row) in plan.lines.iter_mut().zip(rows) {
        line.row = row;
    }
    approved.len()
}

/// The run's summary before any line: what the plan leaves unbilled, with since when.
async fn summary_of(state: &AppState, run: &Run, plan: &Plan) -> Result<RunSummary, SyncError> {
    let run_id = run.id.clone();
    let previous = db::run(&state.pool, move |conn| {
        Ok::<_, SyncError>(db::sync::latest_worked_run::<RunSummary>(conn, &run_id)?)
    })
    .await?;
    let previous: Vec<SkippedTenant> = previous
        .map(|r| r.summary_json.into_inner())
        .map(|s| s.skipped_tenants)
        .unwrap_or_default();
    let started = crate::adapters::db::utc(run.started_at);
    let since = |tenant_id: &str| {
        previous
            .iter()
            .find(|p| p.tenant.tenant_id == tenant_id)
            .map_or(started, |p| p.since)
    };
    let skipped_tenants: Vec<SkippedTenant> = plan
        .not_billed
        .iter()
        .map(|t| SkippedTenant {
            since: since(&t.tenant_id),
            tenant: t.clone(),
        })
        .collect();
    let of_kind = |kind| {
        skipped_tenants
            .iter()
            .filter(|s| s.tenant.kind == kind)
            .count()
    };
    Ok(RunSummary {
        tenants_skipped: of_kind(plan::NotBilledKind::Skipped),
        tenants_blocked: of_kind(plan::NotBilledKind::Blocked),
        lines_held: plan
            .lines
            .iter()
            .filter(|l| l.row.action == PlanAction::Held)
            .count(),
        moves: plan.moves.len(),
        unattributed_keys: plan.unattributed_keys.clone(),
        skipped_tenants,
        ..RunSummary::default()
    })
}

/// For a preview: the write lines whose ConnectWise state changed since, and why. A move is
/// applied whole, so one changed line keeps all of its move back.
async fn stale_lines(
    client: &crate::adapters::connectwise::ConnectWiseClient,
    plan: &Plan,
    now: DateTime<Utc>,
) -> BTreeMap<RowKey, String> {
    let writes: Vec<&PlanLine> = plan
        .lines
        .iter()
        .filter(|l| l.row.action.writes_to_connectwise())
        .collect();
    let agreements = writes.iter().map(|l| l.row.agreement_id).collect();
    let (additions, unreadable) = plan::read_additions(client, &agreements).await;
    let mut stale = BTreeMap::new();
    for line in &writes {
        let reason = if unreadable
            .iter()
            .any(|u| u.agreement_id == line.row.agreement_id)
        {
            Some("its additions could not be re-read".to_string())
        } else {
            apply::stale_reason(&line.row, &additions, now)
        };
        if let Some(reason) = reason {
            stale.insert(line.row.key(), reason);
        }
    }
    let changed_moves: BTreeSet<&String> = writes
        .iter()
        .filter(|l| stale.contains_key(&l.row.key()))
        .filter_map(|l| l.row.move_id.as_ref())
        .collect();
    for line in &writes {
        if line
            .row
            .move_id
            .as_ref()
            .is_some_and(|id| changed_moves.contains(id))
        {
            stale
                .entry(line.row.key())
                .or_insert_with(|| "another line of its move changed since the preview".into());
        }
    }
    stale
}

/// Writes batches of lines while the run holds its lease.
struct Writer<'a> {
    state: &'a AppState,
    run: &'a Run,
    client: &'a crate::adapters::connectwise::ConnectWiseClient,
    stale: &'a BTreeMap<RowKey, String>,
    dry_run: bool,
    lease_lost: bool,
}

impl Writer<'_> {
    async fn write(&mut self, batch: &[PlanLine]) -> Vec<(PlanLine, Written)> {
        if self.dry_run || self.lease_lost || !renew(self.state, &self.run.id).await {
            self.lease_lost |= !self.dry_run;
            let detail = if self.dry_run {
                "dry run"
            } else {
                "not applied: the run lost its lease"
            };
            return batch
                .iter()
                .map(|l| (l.clone(), Written::new(Outcome::NotApplied, detail.into())))
                .collect();
        }
        let (client, stale) = (self.client, self.stale);
        let results = futures_util::future::join_all(batch.iter().map(|line| async move {
            match stale.get(&line.row.key()) {
                Some(reason) => Written::new(Outcome::Stale, reason.clone()),
                None => apply::write(client, line).await,
            }
        }))
        .await;
        batch.iter().cloned().zip(results).collect()
    }
}

/// Records a run's lines in order and counts them.
#[derive(Default)]
struct Recorder {
    next_seq: usize,
    summary: RunSummary,
}

impl Recorder {
    async fn add(
        &mut self,
        state: &AppState,
        run: &Run,
        records: Vec<(PlanLine, Written)>,
    ) -> Result<(), SyncError> {
        for (line, written) in &records {
            if matches!(written.outcome, Outcome::Applied | Outcome::Failed)
                && line.row.action.writes_to_connectwise()
            {
                self.summary.write_calls += 1;
            }
            if written.outcome == Outcome::Applied && line.row.action.writes_to_connectwise() {
                metrics::sync_additions_written(line.row.action.as_str(), 1);
            }
            *self
                .summary
                .actions
                .entry(line.row.action.as_str().to_string())
                .or_insert(0) += 1;
            *self
                .summary
                .outcomes
                .entry(written.outcome.as_str().into())
                .or_insert(0) += 1;
        }
        let first_seq = self.next_seq;
        self.next_seq += records.len();
        record(state, run, first_seq, records).await
    }
}

/// Stores the change rows and the managed additions the writes created, adopted or released.
async fn record(
    state: &AppState,
    run: &Run,
    first_seq: usize,
    records: Vec<(PlanLine, Written)>,
) -> Result<(), SyncError> {
    if records.is_empty() {
        return Ok(());
    }
    let run_id = run.id.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, "managed_additions", |conn| {
            let now = db::now();
            for (offset, (line, written)) in records.iter().enumerate() {
                let seq = first_seq + offset;
                let row = &line.row;
                if written.outcome == Outcome::Applied && row.action.writes_to_connectwise() {
                    // The usage it bills now is recorded, to recognise it when it moves.
                    if let Some(addition_id) = written.managed_addition.or(row.addition_id) {
                        db::sync::put_managed(
                            conn,
                            &ManagedRow {
                                agreement_id: row.agreement_id,
                                product_id: row.product_id,
                                addition_id,
                                tenant_id: row
                                    .contributions
                                    .first()
                                    .map(|c| c.tenant_id.clone())
                                    .or_else(|| line.tenant_id.clone()),
                                created_at: now,
                                updated_at: now,
                                billed_json: Some(JsonText(row.contributions.clone())),
                            },
                        )?;
                    }
                    if row.action == PlanAction::Release {
                        db::sync::forget_managed(conn, row.agreement_id, row.product_id)?;
                    }
                }
                db::sync::insert_change(
                    conn,
                    &ChangeRow {
                        id: db::new_id(),
                        run_id: run_id.clone(),
                        seq: seq as i32,
                        tenant_id: line.tenant_id.clone(),
                        tenant_name: line.tenant_name.clone(),
                        cw_company_id: line.cw_company_id,
                        agreement_id: row.agreement_id,
                        product_id: row.product_id,
                        contributions_json: JsonText(row.contributions.clone()),
                        action: row.action.as_str().into(),
                        old_quantity: row.current_quantity,
                        new_quantity: row.desired_quantity.map(|q| q as i64),
                        addition_id: written.managed_addition.or(row.addition_id),
                        result: written.outcome.as_str().into(),
                        detail: written.detail.clone(),
                        created_at: now,
                        move_id: row.move_id.clone(),
                    },
                )?;
            }
            Ok(())
        })
    })
    .await
}

/// Starts a run in the background; returns it as recorded at its start.
pub async fn start(
    state: Arc<AppState>,
    trigger: Trigger,
    request: RunRequest,
) -> Result<Run, SyncError> {
    let run = begin(&state, trigger, &request).await?;
    let started = run.clone();
    actix_web::rt::spawn(execute(state, run, request));
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan::NotBilledKind;

    fn summary(outcomes: &[(Outcome, usize)], held: usize, skipped: &[&str]) -> RunSummary {
        RunSummary {
            outcomes: outcomes
                .iter()
                .map(|(o, n)| (o.as_str().to_string(), *n))
                .collect(),
            lines_held: held,
            skipped_tenants: skipped
                .iter()
                .map(|name| SkippedTenant {
                    tenant: NotBilledTenant {
                        tenant_id: format!("id-{name}"),
                        tenant_name: Some(name.to_string()),
                        agreement_id: 1,
                        kind: NotBilledKind::Skipped,
                        reason: "login refused".into(),
                    },
                    since: Utc::now(),
                })
                .collect(),
            ..RunSummary::default()
        }
    }

    #[test]
    fn run_outcomes() {
        use Outcome::*;
        /// (case, summary, lease lost, dry run, status, error)
        type Case<'a> = (&'a str, RunSummary, bool, bool, RunStatus, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "all applied",
                summary(&[(Applied, 3)], 0, &[]),
                false,
                false,
                RunStatus::Succeeded,
                None,
            ),
            (
                "nothing to do",
                summary(&[], 0, &[]),
                false,
                false,
                RunStatus::Succeeded,
                None,
            ),
            (
                "held lines",
                summary(&[(Applied, 2), (Held, 1)], 1, &[]),
                false,
                false,
                RunStatus::Held,
                None,
            ),
            (
                "a skipped tenant outweighs held lines",
                summary(&[(Held, 1)], 1, &["Contoso"]),
                false,
                false,
                RunStatus::Partial,
                Some("tenants not billed: Contoso (login refused)"),
            ),
            (
                "a failed write",
                summary(&[(Applied, 1), (Failed, 1)], 0, &[]),
                false,
                false,
                RunStatus::Partial,
                Some("1 line(s) failed"),
            ),
            (
                "a stale line",
                summary(&[(Stale, 2)], 0, &[]),
                false,
                false,
                RunStatus::Partial,
                Some("2 line(s) changed in ConnectWise since the preview"),
            ),
            (
                "a conflict",
                summary(&[(Conflict, 1)], 0, &[]),
                false,
                false,
                RunStatus::Partial,
                Some("1 line(s) in conflict"),
            ),
            (
                "a move left for later",
                summary(&[(NotApplied, 1)], 0, &[]),
                false,
                false,
                RunStatus::Partial,
                Some("1 line(s) not applied"),
            ),
            (
                "a dry run writes nothing, and that is fine",
                summary(&[(NotApplied, 4)], 0, &[]),
                false,
                true,
                RunStatus::Succeeded,
                None,
            ),
            (
                "lease lost",
                summary(&[(NotApplied, 4)], 0, &[]),
                true,
                false,
                RunStatus::Partial,
                Some("the run lost its lease and stopped writing"),
            ),
            (
                "usage left unattributed on a billed tenant outweighs a clean write",
                RunSummary {
                    unattributed_keys: vec![TenantKeys {
                        tenant_id: "id-Contoso".into(),
                        tenant_name: Some("Contoso".into()),
                        unknown_keys: 2,
                        ambiguous_keys: 0,
                        product_names: vec![
                            "Kaspersky Next EDR Optimum".into(),
                            "Kaspersky Next XDR Expert".into(),
                        ],
                    }],
                    ..summary(&[(Applied, 1), (Held, 1)], 1, &[])
                },
                false,
                false,
                RunStatus::Partial,
                Some(
                    "usage no security application counts (unknown or ambiguous licence keys): \
                     Contoso (Kaspersky Next EDR Optimum, Kaspersky Next XDR Expert)",
                ),
            ),
        ];
        for (name, summary, lease_lost, dry_run, status, error) in cases {
            let (actual, why) = summary.status(*lease_lost, *dry_run);
            assert_eq!(actual, *status, "{name}");
            assert_eq!(why.as_deref(), *error, "{name}");
        }
    }

    #[test]
    fn text_names_are_the_serde_names() {
        use crate::domain::plan::PlanAction;
        use crate::runtime::auth::Role;
        fn check<T: serde::Serialize + Copy>(all: &[T], name: fn(T) -> &'static str) {
            for &value in all {
                assert_eq!(serde_json::to_value(value).unwrap(), name(value));
            }
        }
        check(Trigger::ALL, Trigger::as_str);
        check(RunStatus::ALL, RunStatus::as_str);
        check(Outcome::ALL, Outcome::as_str);
        check(PlanAction::ALL, PlanAction::as_str);
        check(Role::ALL, Role::as_str);
        assert_eq!(RunStatus::parse("exploded"), None, "unknown is not failed");
    }

    #[test]
    fn statuses_read_back() {
        for status in [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Held,
            RunStatus::Partial,
            RunStatus::Failed,
            RunStatus::Interrupted,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}
