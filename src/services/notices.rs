//! The notices and their delivery log, as the API shows them; acknowledging one (operator).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::notices::{DeliveryRow, NoticeRow};
use crate::adapters::db::{self, audit, audit::Actor, utc};
use crate::domain::notices::{NoticeDetail, NoticeKind, Severity};
use crate::runtime::state::Core;
use crate::services::listing::{PageRequest, Rows};
use crate::services::ServiceError;

#[derive(Debug, Serialize, ToSchema)]
pub struct Notice {
    pub id: String,
    /// The cause: one notice per key while it lasts.
    pub key: String,
    pub kind: NoticeKind,
    pub severity: Severity,
    pub title: String,
    #[serde(flatten)]
    pub detail: NoticeDetail,
    /// How often the cause was seen (1 + recurrences).
    pub occurrences: i32,
    pub opened_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When the cause was gone; none while open.
    pub resolved_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub deliveries: Vec<Delivery>,
}

/// One message about a notice to one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub channel_id: String,
    /// `opened`, `recurred` or `resolved`.
    pub action: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// HTTP attempts so far.
    pub attempts: i32,
    /// `HTTP 200`, or why the last attempt failed.
    pub last_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Only notices whose cause lasts.
    #[default]
    Open,
    /// Open and resolved.
    All,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoticeFilter {
    /// `open` (default) or `all`.
    #[param(inline)]
    pub state: Option<NoticeState>,
}

fn delivery_view(d: DeliveryRow) -> Delivery {
    Delivery {
        id: d.id,
        channel_id: d.channel_id,
        action: d.action,
        status: d.status,
        attempts: d.attempts,
        last_status: d.last_status,
        created_at: utc(d.created_at),
        delivered_at: d.delivered_at.map(utc),
    }
}

fn view(n: NoticeRow, deliveries: &mut Vec<DeliveryRow>) -> Notice {
    let (mine, rest): (Vec<_>, Vec<_>) = deliveries.drain(..).partition(|d| d.notice_id == n.id);
    *deliveries = rest;
    Notice {
        kind: NoticeKind::parse(&n.kind).unwrap_or(NoticeKind::RunOutcome),
        severity: Severity::parse(&n.severity).unwrap_or(Severity::Warning),
        id: n.id,
        key: n.event_key,
        title: n.title,
        detail: n.detail_json.0,
        occurrences: n.occurrences,
        opened_at: utc(n.opened_at),
        last_seen_at: utc(n.last_seen_at),
        resolved_at: n.resolved_at.map(utc),
        acknowledged_at: n.acknowledged_at.map(utc),
        acknowledged_by: n.acknowledged_by,
        deliveries: mine.into_iter().map(delivery_view).collect(),
    }
}

/// One page of notices, newest first, each with its deliveries.
pub async fn list(
    ctx: &Core,
    filter: NoticeState,
    page: PageRequest,
) -> Result<Rows<Notice>, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let open_only = filter == NoticeState::Open;
        let (rows, total) = db::notices::list(conn, open_only, page.offset, page.limit)?;
        let ids: Vec<String> = rows.iter().map(|n| n.id.clone()).collect();
        let mut deliveries = db::notices::deliveries_of(conn, &ids)?;
        let items = rows.into_iter().map(|n| view(n, &mut deliveries)).collect();
        Ok(Rows { rows: items, total })
    })
    .await
}

/// Marks a notice as seen by someone who takes care of it (it stays open until its cause is
/// gone); acknowledging twice keeps the first.
pub async fn acknowledge(ctx: &Core, actor: Actor, id: String) -> Result<Notice, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, "notices", |conn| {
            let missing = || ServiceError::NotFound(format!("There is no notice {id}."));
            let notice = db::notices::find(conn, &id)?.ok_or_else(missing)?;
            if notice.acknowledged_at.is_none() {
                db::notices::acknowledge(conn, &id, &actor.name, db::now())?;
                audit::record(conn, &actor, "acknowledge", "notice", &id, None, None)?;
            }
            let notice = db::notices::find(conn, &id)?.ok_or_else(missing)?;
            let mut deliveries = db::notices::deliveries_of(conn, std::slice::from_ref(&id))?;
            Ok(view(notice, &mut deliveries))
        })
    })
    .await
}
