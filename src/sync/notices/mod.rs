//! Billing notices (issue 25): causes are evaluated from the stored state and reconciled with
//! the open notices (one per cause key), and each change is queued in the database as one
//! delivery per matching channel; `deliver` works that queue in the background. Nothing here
//! can fail or delay a run: the hooks only wake the background task.

mod causes;
pub mod deliver;
mod outcome;
mod tickets;

use diesel::QueryResult;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::notices::{DeliveryRow, NoticeRow};
use crate::adapters::db::notification_channels::ChannelRow;
use crate::adapters::db::{self, DbConnection};
use crate::domain::notices::{
    reconcile, Cause, Change, NoticeDetail, NoticeKind, OpenNotice, Severity,
};
use crate::runtime::state::Core;
use crate::sync::SyncError;

/// The lock two processes evaluating at once take in turn.
const LOCK: &str = "notices";

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeliveryAction {
        Opened => "opened",
        Recurred => "recurred",
        Resolved => "resolved",
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

/// Something notices derive from changed (a run ended, tenants or the catalog were read): the
/// background task evaluates now rather than at its next round.
pub fn wake(state: &Core) {
    state.notices_due.notify_one();
}

/// [`wake`] after a change that may raise or resolve a notice (a tenant added, a mapping
/// saved), once it is stored; the result passes through.
pub fn wake_after<T, E>(state: &Core, result: Result<T, E>) -> Result<T, E> {
    if result.is_ok() {
        wake(state);
    }
    result
}

/// Re-derives every cause and brings the open notices in line; the number of changes.
pub fn evaluate(conn: &mut DbConnection) -> Result<usize, SyncError> {
    db::write_transaction(conn, LOCK, |conn| {
        let now = db::now();
        let seen = causes::derived(conn, now)?;
        let open = open_notices(conn)?;
        let changes = reconcile(&open, seen, |n| n.kind != NoticeKind::ConnectionTest);
        apply(conn, changes, now)
    })
}

/// A connection test's outcome: a failure opens (or recurs) the connection's notice, a success
/// resolves it. Never fails the test: a problem is logged.
pub async fn connection_tested(
    state: &Core,
    connection: &str,
    name: &str,
    failure: Option<String>,
) {
    let key = format!("connection_test:{connection}");
    let cause = failure.map(|why| Cause {
        key: key.clone(),
        kind: NoticeKind::ConnectionTest,
        severity: Severity::Critical,
        title: format!("The {name} connection test failed"),
        detail: NoticeDetail {
            summary: why,
            link: "/#/connections".into(),
            ..NoticeDetail::default()
        },
        fingerprint: db::new_id(),
    });
    let recorded = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let open = open_notices(conn)?;
            let changes = reconcile(&open, cause.into_iter().collect(), |n| n.key == key);
            apply(conn, changes, db::now())
        })
    })
    .await;
    match recorded {
        Ok(_) => wake(state),
        Err(e) => tracing::warn!(error = %e, "could not record a connection test's notice"),
    }
}

fn open_notices(conn: &mut DbConnection) -> QueryResult<Vec<OpenNotice>> {
    Ok(db::notices::open(conn)?
        .into_iter()
        .filter_map(|n| {
            Some(OpenNotice {
                kind: NoticeKind::parse(&n.kind)?,
                id: n.id,
                key: n.event_key,
                fingerprint: n.fingerprint,
            })
        })
        .collect())
}

/// The notice a channel test sends: not stored, marked as a test.
pub fn test_notice() -> NoticeRow {
    let cause = Cause {
        key: "test".into(),
        kind: NoticeKind::ConnectionTest,
        severity: Severity::Info,
        title: "A test message from kaspersky-msp-bridge".into(),
        detail: NoticeDetail {
            summary: "The channel works: signature, allow-list and receiver.".into(),
            ..NoticeDetail::default()
        },
        fingerprint: String::new(),
    };
    row_of(db::new_id(), cause, db::now())
}

fn row_of(id: String, cause: Cause, now: chrono::NaiveDateTime) -> NoticeRow {
    NoticeRow {
        id,
        event_key: cause.key,
        kind: cause.kind.as_str().into(),
        severity: cause.severity.as_str().into(),
        title: cause.title,
        detail_json: JsonText(cause.detail),
        fingerprint: cause.fingerprint,
        occurrences: 1,
        opened_at: now,
        last_seen_at: now,
        resolved_at: None,
        acknowledged_at: None,
        acknowledged_by: None,
    }
}

fn apply(
    conn: &mut DbConnection,
    changes: Vec<Change>,
    now: chrono::NaiveDateTime,
) -> Result<usize, SyncError> {
    let count = changes.len();
    if count == 0 {
        return Ok(0);
    }
    let channels = db::notification_channels::all(conn)?;
    for change in changes {
        let (id, action) = match change {
            Change::Open(cause) => {
                let row = row_of(db::new_id(), cause, now);
                db::notices::insert(conn, &row)?;
                (row.id, DeliveryAction::Opened)
            }
            Change::Recur { id, cause } => {
                db::notices::recur(conn, &row_of(id.clone(), cause, now), now)?;
                (id, DeliveryAction::Recurred)
            }
            Change::Resolve { id } => {
                db::notices::resolve(conn, &id, now)?;
                (id, DeliveryAction::Resolved)
            }
        };
        let Some(notice) = db::notices::find(conn, &id)? else {
            continue;
        };
        // A recurrence or resolution goes only where the notice was opened: a channel added
        // since never hears of a notice it was not told about.
        let told: Vec<String> = match action {
            DeliveryAction::Opened => Vec::new(),
            _ => db::notices::deliveries_of(conn, std::slice::from_ref(&id))?
                .into_iter()
                .map(|d| d.channel_id)
                .collect(),
        };
        let receives = |c: &&ChannelRow| {
            wants(c, &notice) && (action == DeliveryAction::Opened || told.contains(&c.id))
        };
        for channel in channels.iter().filter(receives) {
            db::notices::insert_delivery(
                conn,
                &DeliveryRow {
                    id: db::new_id(),
                    notice_id: id.clone(),
                    channel_id: channel.id.clone(),
                    action: action.as_str().into(),
                    status: DeliveryStatus::Pending.as_str().into(),
                    attempts: 0,
                    last_status: None,
                    next_attempt_at: now,
                    claimed_until: None,
                    created_at: now,
                    delivered_at: None,
                },
            )?;
        }
    }
    Ok(count)
}

/// Whether a channel takes this notice: enabled, the kind chosen (none chosen = all), and at
/// least its minimum severity.
fn wants(channel: &ChannelRow, notice: &NoticeRow) -> bool {
    let kinds = &channel.event_kinds_json.0;
    let severe_enough = match (
        Severity::parse(&notice.severity),
        Severity::parse(&channel.min_severity),
    ) {
        (Some(severity), Some(min)) => severity >= min,
        _ => true,
    };
    channel.enabled && (kinds.is_empty() || kinds.contains(&notice.kind)) && severe_enough
}
