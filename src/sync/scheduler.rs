//! The scheduler inside the server: scheduled syncs and daily retention pruning, stopped with
//! the server. The settings are re-read at every check (at least once a minute), so a changed
//! schedule applies without a restart. Every server sharing a database may run it: the sync
//! lease lets one of them run a slot and the others skip it.

use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::{self, task::JoinHandle, time::sleep};
use chrono::{DateTime, Utc};

use crate::adapters::db;
use crate::domain::outcome::Trigger;
use crate::runtime::state::Core;
use crate::sync::runs::{self, Run, RunRequest};
use crate::sync::settings::{self, SyncSettings};
use crate::sync::{retention, schedule};

/// The longest the scheduler sleeps before re-reading the settings.
const RECHECK: Duration = Duration::from_secs(60);
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);

pub fn spawn(state: Arc<Core>) -> Vec<JoinHandle<()>> {
    vec![
        rt::spawn(schedule_loop(state.clone())),
        rt::spawn(retention_loop(state)),
    ]
}

/// What one check did.
#[derive(Debug)]
pub enum Tick {
    /// No slot fell in the window (or the schedule is off).
    NotDue,
    /// The slot's run, finished.
    Ran(Box<Run>),
    /// The slot was skipped: another run holds the lease (or the run could not start).
    Skipped(String),
}

/// Fires the slot falling in (`since`, `now`], if any: a run with `Trigger::Schedule`, awaited,
/// so one server never overlaps its own scheduled runs.
pub async fn tick(
    state: &Arc<Core>,
    settings: &SyncSettings,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Tick {
    if !settings.schedule_enabled {
        return Tick::NotDue;
    }
    let Some(slot) = schedule::due(&settings.schedule, &settings.time_zone, since, now) else {
        return Tick::NotDue;
    };
    let request = RunRequest::default();
    match runs::begin(state, Trigger::Schedule, &request).await {
        Ok(run) => {
            tracing::info!(%slot, run = %run.id, "scheduled sync started");
            Tick::Ran(Box::new(runs::execute(state.clone(), run, request).await))
        }
        Err(e) => {
            let reason = e.detail();
            tracing::warn!(%slot, %reason, "scheduled sync skipped");
            Tick::Skipped(reason)
        }
    }
}

async fn schedule_loop(state: Arc<Core>) {
    let mut since = Utc::now();
    loop {
        let now = Utc::now();
        let next = match db::run(&state.pool, |conn| {
            Ok::<_, crate::sync::SyncError>(settings::get(conn)?)
        })
        .await
        {
            Ok(settings) => {
                let fired = !matches!(tick(&state, &settings, since, now).await, Tick::NotDue);
                // Slots that passed during a long run are not made up for.
                since = if fired { Utc::now() } else { now };
                settings.next_run_at(since)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the sync settings; scheduler waits");
                since = now;
                None
            }
        };
        let wait = match next {
            Some(t) => (t - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(RECHECK),
            None => RECHECK,
        };
        sleep(wait).await;
    }
}

async fn retention_loop(state: Arc<Core>) {
    loop {
        match retention::prune(&state, Utc::now()).await {
            Ok(pruned) => tracing::info!(
                runs = pruned.runs,
                changes = pruned.changes,
                plans = pruned.plans,
                snapshots = pruned.snapshots,
                audit_events = pruned.audit_events,
                notices = pruned.notices,
                "retention pruning done"
            ),
            Err(e) => tracing::warn!(error = %e, "retention pruning failed"),
        }
        sleep(PRUNE_EVERY).await;
    }
}
