//! Retention: what the server forgets, and when (`retention` in the sync settings).

use chrono::{DateTime, Days, NaiveDateTime, Utc};
use serde::Serialize;

use crate::adapters::db::{self, DbConnection};
use crate::runtime::state::Core;
use crate::sync::settings::{self, Retention};
use crate::sync::SyncError;

/// Rows deleted by one pruning.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    pub runs: usize,
    pub changes: usize,
    pub plans: usize,
    pub snapshots: usize,
    pub audit_events: usize,
    /// Resolved notices (with their deliveries).
    pub notices: usize,
}

/// Prunes by the stored settings.
pub async fn prune(state: &Core, now: DateTime<Utc>) -> Result<Pruned, SyncError> {
    db::run(&state.pool, move |conn| {
        let retention = settings::get(conn)?.retention;
        Ok(prune_with(conn, &retention, now)?)
    })
    .await
}

/// Deletes finished runs (with their changes), stored plans and notices resolved longer ago
/// than `runs_days` (the runs they were about are gone by then), usage
/// snapshots older than `snapshots_days` except each tenant's newest (and newest readable) one —
/// billing and reports still read those — and audit events older than `audit_events_days`.
pub fn prune_with(
    conn: &mut DbConnection,
    retention: &Retention,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Pruned> {
    let mut pruned = Pruned::default();
    if let Some(before) = days_before(now, retention.runs_days) {
        (pruned.runs, pruned.changes) = db::sync::prune_runs(conn, before)?;
        pruned.plans = db::sync::prune_plans(conn, before)?;
        pruned.notices = db::notices::prune_resolved(conn, before)?;
    }
    if let Some(before) = days_before(now, retention.snapshots_days) {
        pruned.snapshots = db::usage_snapshots::prune(conn, before)?;
    }
    if let Some(before) = days_before(now, retention.audit_events_days) {
        pruned.audit_events = db::audit::prune(conn, before)?;
    }
    Ok(pruned)
}

/// `days` before `now` as stored; none when that is before any representable time.
fn days_before(now: DateTime<Utc>, days: u32) -> Option<NaiveDateTime> {
    now.checked_sub_days(Days::new(days.into()))
        .map(db::stored_time)
}
