//! Sync runs: one at a time across every process sharing the database (a lease with a
//! time-to-live, renewed while the run works and checked before each batch of writes), recorded
//! with one change row per plan line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{self, audit::Actor, sync::ChangeRow, sync::ManagedRow, sync::RunRow};
use crate::domain::plan::{self as rules, Approval, PlanAction, RowKey};
use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;
use crate::sync::apply::{self, Outcome, Written};
use crate::sync::plan::{self, Plan, PlanLine};

/// How long a lease lasts without renewal: a holder that died frees it after this.
pub const LEASE_TTL: Duration = Duration::from_secs(60);
/// Lines written at once between two lease checks.
const BATCH: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Api,
    Schedule,
    Cli,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    /// Some changes failed (or the run lost its lease); the next run completes them.
    Partial,
    Failed,
    /// Its process died mid-run.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "partial" => RunStatus::Partial,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        }
    }
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

/// Counts of a run, by planned action and by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    pub actions: BTreeMap<String, usize>,
    pub outcomes: BTreeMap<String, usize>,
    /// ConnectWise write calls made.
    pub write_calls: usize,
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Api => "api",
        Trigger::Schedule => "schedule",
        Trigger::Cli => "cli",
    }
}

/// Takes the lease and records a new running run; 409 naming the run that holds it.
pub async fn begin(
    state: &AppState,
    trigger: Trigger,
    request: &RunRequest,
) -> Result<RunRow, ApiError> {
    let holder = state.instance_id.clone();
    let (plan_id, dry_run) = (request.plan_id.clone(), request.dry_run);
    db::run(&state.pool, move |conn| {
        if let Some(id) = &plan_id {
            if db::sync::find_plan(conn, id)?.is_none() {
                return Err(ApiError::validation(
                    "plan_id",
                    format!("there is no stored plan {id}"),
                ));
            }
        }
        db::write_transaction(conn, "sync_lease", |conn| {
            let now = db::now();
            let run = RunRow {
                id: db::new_id(),
                trigger_kind: trigger_name(trigger).into(),
                status: RunStatus::Running.as_str().into(),
                plan_id: plan_id.clone(),
                dry_run,
                started_at: now,
                finished_at: None,
                holder: holder.clone(),
                summary_json: serde_json::to_string(&RunSummary::default()).expect("serialises"),
                error: None,
            };
            let until = now + LEASE_TTL;
            if !db::sync::try_acquire_lease(conn, &holder, &run.id, now, until)? {
                let lease = db::sync::lease(conn)?;
                return Err(ApiError::Conflict(format!(
                    "A sync run is going already (run {}); try again when it has finished.",
                    lease.run_id.unwrap_or_default()
                )));
            }
            // The lease was free or expired: any run still marked running has died.
            for mut dead in db::sync::running(conn)? {
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
        Ok(db::sync::renew_lease(
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
pub async fn execute(state: Arc<AppState>, run: RunRow, request: RunRequest) -> RunRow {
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
            let failed = summary
                .outcomes
                .get(Outcome::Failed.as_str())
                .copied()
                .unwrap_or(0);
            finished.status = if failed > 0 || lease_lost {
                RunStatus::Partial
            } else {
                RunStatus::Succeeded
            }
            .as_str()
            .into();
            if lease_lost {
                finished.error = Some("the run lost its lease and stopped writing".into());
            }
            let held = summary.outcomes.get(Outcome::Held.as_str()).copied();
            metrics::sync_held_changes(held.unwrap_or(0) as u64);
            finished.summary_json = serde_json::to_string(&summary).expect("serialises");
        }
        Err(e) => {
            tracing::error!(run = %run.id, error = %e, "sync run failed");
            finished.status = RunStatus::Failed.as_str().into();
            finished.error = Some(e.to_problem().detail);
        }
    }
    let status = RunStatus::parse(&finished.status);
    metrics::sync_run_finished(status.as_str());
    if status == RunStatus::Succeeded {
        metrics::sync_succeeded_at(Utc::now().timestamp().max(0) as u64);
    }
    let (holder, record) = (state.instance_id.clone(), finished.clone());
    // One transaction: whoever sees the run finished can start the next one.
    let saved = db::run(&state.pool, move |conn| {
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
    run: &RunRow,
    request: &RunRequest,
) -> Result<(Plan, bool), ApiError> {
    if let Some(plan_id) = &request.plan_id {
        let id = plan_id.clone();
        let record = db::run(&state.pool, move |conn| {
            db::sync::find_plan(conn, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("There is no stored plan {id}.")))
        })
        .await?;
        let plan: Plan = serde_json::from_str(&record.plan_json).map_err(ApiError::internal)?;
        return Ok((plan, true));
    }
    match crate::usage_snapshots::collect(state, &Actor::system("sync"), None).await {
        Ok(_) => {}
        // Without a KSC connection only pushed usage is billed; KSC tenants stay frozen.
        Err(ApiError::Conflict(reason)) => {
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
) -> Result<(), ApiError> {
    let record = db::sync::PlanRecord {
        id: plan.id.clone(),
        created_at: plan.created_at.naive_utc(),
        created_by,
        company_mapping_id: plan.company_mapping_id.clone(),
        plan_json: serde_json::to_string(plan).map_err(ApiError::internal)?,
    };
    db::run(&state.pool, move |conn| {
        Ok(db::sync::insert_plan(conn, &record)?)
    })
    .await
}

/// Plans (or loads the preview), applies the writes in batches, records every line.
async fn work(
    state: &AppState,
    run: &RunRow,
    request: &RunRequest,
) -> Result<(RunSummary, bool), ApiError> {
    let (mut plan, is_preview) = plan_for(state, run, request).await?;
    let approved: Vec<RowKey> = match &request.approve {
        Some(approval) => {
            let mut rows: Vec<_> = plan.lines.iter().map(|l| l.row.clone()).collect();
            let keys = rules::approve(&mut rows, approval);
            for (line, row) in plan.lines.iter_mut().zip(rows) {
                line.row = row;
            }
            keys
        }
        None => Vec::new(),
    };
    let client = state.connectwise.get(state).await?;
    // A preview applied later is re-checked against ConnectWise as it is now.
    let current = if is_preview {
        let agreements = plan
            .lines
            .iter()
            .filter(|l| l.row.action.writes_to_connectwise())
            .map(|l| l.row.agreement_id)
            .collect();
        Some(plan::read_additions(&client, &agreements).await)
    } else {
        None
    };
    let now = Utc::now();
    // Lines are recorded as they are decided, so a run that dies leaves what it did on record.
    let mut recorder = Recorder::default();
    let mut lease_lost = false;
    let (writes, others): (Vec<PlanLine>, Vec<PlanLine>) = plan
        .lines
        .into_iter()
        .filter(|l| l.row.action != PlanAction::Unchanged)
        .partition(|l| l.row.action.writes_to_connectwise());
    let mut decided = Vec::new();
    for line in others {
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
        decided.push((
            line,
            Written {
                outcome,
                detail,
                managed_addition: None,
            },
        ));
    }
    recorder.add(state, run, decided).await?;
    for batch in writes.chunks(BATCH) {
        if request.dry_run || lease_lost || !renew(state, &run.id).await {
            lease_lost |= !request.dry_run;
            let detail = if request.dry_run {
                "dry run"
            } else {
                "not applied: the run lost its lease"
            };
            let skipped = batch.iter().map(|l| {
                (
                    l.clone(),
                    Written {
                        outcome: Outcome::NotApplied,
                        detail: detail.into(),
                        managed_addition: None,
                    },
                )
            });
            recorder.add(state, run, skipped.collect()).await?;
            continue;
        }
        let results = futures_util::future::join_all(batch.iter().map(|line| {
            let client = &client;
            let current = &current;
            async move {
                if let Some((additions, unreadable)) = current {
                    if unreadable
                        .iter()
                        .any(|u| u.agreement_id == line.row.agreement_id)
                    {
                        return Written {
                            outcome: Outcome::Stale,
                            detail: "its additions could not be re-read".into(),
                            managed_addition: None,
                        };
                    }
                    if let Some(reason) = apply::stale_reason(&line.row, additions, now) {
                        return Written {
                            outcome: Outcome::Stale,
                            detail: reason,
                            managed_addition: None,
                        };
                    }
                }
                apply::write(client, line).await
            }
        }))
        .await;
        recorder.summary.write_calls += results
            .iter()
            .filter(|w| w.outcome == Outcome::Applied || w.outcome == Outcome::Failed)
            .count();
        recorder
            .add(state, run, batch.iter().cloned().zip(results).collect())
            .await?;
    }
    if !approved.is_empty() {
        tracing::info!(run = %run.id, approved = approved.len(), "held lines approved");
    }
    Ok((recorder.summary, lease_lost))
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
        run: &RunRow,
        records: Vec<(PlanLine, Written)>,
    ) -> Result<(), ApiError> {
        for (line, written) in &records {
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
    run: &RunRow,
    first_seq: usize,
    records: Vec<(PlanLine, Written)>,
) -> Result<(), ApiError> {
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
                if written.outcome == Outcome::Applied {
                    if let Some(addition_id) = written.managed_addition {
                        db::sync::put_managed(
                            conn,
                            &ManagedRow {
                                agreement_id: row.agreement_id,
                                product_id: row.product_id,
                                addition_id,
                                tenant_id: line.tenant_id.clone(),
                                created_at: now,
                                updated_at: now,
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
                        contributions_json: serde_json::to_string(&row.contributions)
                            .map_err(ApiError::internal)?,
                        action: row.action.as_str().into(),
                        old_quantity: row.current_quantity,
                        new_quantity: row.desired_quantity.map(|q| q as i64),
                        addition_id: written.managed_addition.or(row.addition_id),
                        result: written.outcome.as_str().into(),
                        detail: written.detail.clone(),
                        created_at: now,
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
) -> Result<RunRow, ApiError> {
    let run = begin(&state, trigger, &request).await?;
    let started = run.clone();
    actix_web::rt::spawn(execute(state, run, request));
    Ok(started)
}
