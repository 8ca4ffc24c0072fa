//! Sync runs: started by the API, the scheduler or the command line, one at a time across
//! every process sharing the database (`lease`), worked through the `pipeline`, recorded with
//! one change row per plan line, and ended with the outcome rule of `domain::outcome`.

use std::sync::Arc;

use chrono::Utc;
use diesel::QueryResult;
use tracing::Instrument;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::{self, DbConnection};
use crate::adapters::metrics;
use crate::domain::outcome::{Outcome, RunStatus, RunSummary, Trigger};
use crate::domain::plan::{Approval, PlanAction};
use crate::domain::report::Plan;
use crate::runtime::state::Core;
use crate::sync::lease::{self, Lease};
use crate::sync::pipeline::{self, RunContext};
use crate::sync::record::Recorder;
use crate::sync::SyncError;

/// A run as stored, with its summary.
pub type Run = db::sync::RunRow<RunSummary>;

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
    let succeeded = db::sync::latest_real_run::<RunSummary>(conn, &[RunStatus::Succeeded])?;
    if let Some(finished_at) = succeeded.and_then(|run| run.finished_at) {
        metrics::sync_succeeded_at(finished_at.and_utc().timestamp().max(0) as u64);
    }
    let worked = [RunStatus::Succeeded, RunStatus::Held, RunStatus::Partial];
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

/// Takes the lease and records a new running run; 409 naming the run that holds it.
pub async fn begin(state: &Core, trigger: Trigger, request: &RunRequest) -> Result<Run, SyncError> {
    let run = db::sync::RunRow {
        id: db::new_id(),
        trigger_kind: trigger,
        status: RunStatus::Running,
        plan_id: request.plan_id.clone(),
        dry_run: request.dry_run,
        started_at: db::now(),
        finished_at: None,
        holder: state.instance_id.clone(),
        summary_json: JsonText(RunSummary::default()),
        error: None,
    };
    db::run(&state.pool, move |conn| {
        if let Some(id) = &run.plan_id {
            if db::sync::find_plan::<Box<serde_json::value::RawValue>>(conn, id)?.is_none() {
                return Err(SyncError::invalid(
                    "plan_id",
                    format!("there is no stored plan {id}"),
                ));
            }
        }
        lease::take(conn, &run)?;
        Ok(run)
    })
    .await
}

/// Runs a begun run to its end and records the outcome; never fails (failures are recorded).
/// Every log line of the run, in spawned and blocking tasks too, carries its id.
pub async fn execute(state: Arc<Core>, run: Run, request: RunRequest) -> Run {
    let span = tracing::info_span!("sync_run", run = %run.id);
    finish(
        &state,
        run.clone(),
        &request,
        work(&state, &run, &request).instrument(span.clone()).await,
    )
    .instrument(span)
    .await
}

/// Works a run: opens its context once (the ConnectWise client, the lease, the recorder), then
/// applies the stored preview or plans afresh; the summary and whether the lease was lost.
async fn work(
    state: &Core,
    run: &Run,
    request: &RunRequest,
) -> Result<(RunSummary, bool), SyncError> {
    let stored = match &request.plan_id {
        Some(id) => Some(load_plan(state, id.clone()).await?),
        None => None,
    };
    let (lease, _heartbeat) = Lease::hold(state.pool.clone(), run);
    let ctx = RunContext {
        pool: state.pool.clone(),
        connectwise: crate::runtime::clients::shared_connectwise(state).await?,
        lease,
        recorder: Recorder::new(state.pool.clone(), run.id.clone()),
        dry_run: request.dry_run,
        approval: request.approve.clone(),
    };
    let plan = match stored {
        Some(plan) => pipeline::stored(&ctx, plan).await?,
        None => {
            let plan = pipeline::fresh(state, &ctx).await?;
            store_plan(state, &plan, None).await?;
            plan
        }
    };
    let lease_lost = ctx.lease.lost();
    let mut summary = ctx.recorder.into_summary();
    let run_id = run.id.clone();
    let previous = db::run(&state.pool, move |conn| {
        Ok::<_, SyncError>(db::sync::latest_worked_run::<RunSummary>(conn, &run_id)?)
    })
    .await?
    .map(|r| r.summary_json.into_inner().skipped_tenants)
    .unwrap_or_default();
    summary.set_not_billed(&plan.not_billed, &previous, db::utc(run.started_at));
    summary.lines_held = summary
        .outcomes
        .get(Outcome::Held.as_str())
        .copied()
        .unwrap_or(0);
    summary.moves = plan.moves.len();
    summary.unattributed_keys = plan.unattributed_keys;
    Ok((summary, lease_lost))
}

async fn load_plan(state: &Core, id: String) -> Result<Plan, SyncError> {
    let record = db::run(&state.pool, move |conn| {
        db::sync::find_plan::<Plan>(conn, &id)?
            .ok_or_else(|| SyncError::NotFound(format!("There is no stored plan {id}.")))
    })
    .await?;
    Ok(record.plan_json.into_inner())
}

/// Records how the run ended, frees the lease and updates the metrics.
async fn finish(
    state: &Core,
    run: Run,
    request: &RunRequest,
    outcome: Result<(RunSummary, bool), SyncError>,
) -> Run {
    let mut finished = run;
    finished.finished_at = Some(db::now());
    match outcome {
        Ok((summary, lease_lost)) => {
            let (status, why) = summary.status(lease_lost, request.dry_run);
            finished.status = status;
            finished.error = why;
            if !request.dry_run {
                record_last_run(&summary);
            }
            finished.summary_json = JsonText(summary);
        }
        Err(e) => {
            tracing::error!(error = %e, "sync run failed");
            finished.status = RunStatus::Failed;
            finished.error = Some(e.detail());
        }
    }
    let status = finished.status;
    metrics::sync_run_finished(status.as_str());
    if status == RunStatus::Succeeded && !request.dry_run {
        metrics::sync_succeeded_at(Utc::now().timestamp().max(0) as u64);
    }
    if let Err(e) = lease::finish(&state.pool, finished.clone()).await {
        tracing::error!(error = %e, "could not record the end of a sync run");
    }
    crate::sync::notices::wake(state);
    finished
}

pub async fn store_plan(
    state: &Core,
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

/// Starts a run in the background; returns it as recorded at its start.
pub async fn start(
    state: Arc<Core>,
    trigger: Trigger,
    request: RunRequest,
) -> Result<Run, SyncError> {
    let run = begin(&state, trigger, &request).await?;
    let started = run.clone();
    actix_web::rt::spawn(execute(state, run, request));
    Ok(started)
}
