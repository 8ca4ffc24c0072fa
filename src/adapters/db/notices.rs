//! Stored notices (one open row per cause key) and their deliveries: the queue the delivery
//! task works through, kept as the delivery log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::JsonText;
use super::paging::{page_and_total, TotalRows};
use super::schema::{notice_tickets, notices, notification_deliveries};
use super::DbConnection;
use crate::domain::notices::NoticeDetail;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notices)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct NoticeRow {
    pub id: String,
    pub event_key: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub detail_json: JsonText<NoticeDetail>,
    pub fingerprint: String,
    pub occurrences: i32,
    pub opened_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notification_deliveries)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct DeliveryRow {
    pub id: String,
    pub notice_id: String,
    pub channel_id: String,
    pub action: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

pub fn open(conn: &mut DbConnection) -> QueryResult<Vec<NoticeRow>> {
    notices::table
        .filter(notices::resolved_at.is_null())
        .order(notices::opened_at.asc())
        .select(NoticeRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<NoticeRow>> {
    notices::table
        .find(id)
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &NoticeRow) -> QueryResult<()> {
    diesel::insert_into(notices::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The cause was seen again, looking different: one more occurrence, with what it says now.
pub fn recur(conn: &mut DbConnection, row: &NoticeRow, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(notices::table.find(&row.id))
        .set((
            notices::severity.eq(&row.severity),
            notices::title.eq(&row.title),
            notices::detail_json.eq(&row.detail_json),
            notices::fingerprint.eq(&row.fingerprint),
            notices::occurrences.eq(notices::occurrences + 1),
            notices::last_seen_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn resolve(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(notices::table.find(id))
        .set(notices::resolved_at.eq(Some(at)))
        .execute(conn)
        .map(drop)
}

pub fn acknowledge(
    conn: &mut DbConnection,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(notices::table.find(id))
        .set((
            notices::acknowledged_at.eq(Some(at)),
            notices::acknowledged_by.eq(Some(by)),
        ))
        .execute(conn)
        .map(drop)
}

/// One page, newest first; only open notices if `open_only`.
pub fn list(
    conn: &mut DbConnection,
    open_only: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<NoticeRow>, i64)> {
    let query = || {
        let q = notices::table.into_boxed();
        if open_only {
            q.filter(notices::resolved_at.is_null())
        } else {
            q
        }
    };
    let rows = query()
        .order((notices::opened_at.desc(), notices::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((NoticeRow::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || query().count().get_result(conn))
}

/// Deletes notices resolved before `before` (their deliveries go with them).
pub fn prune_resolved(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(notices::table.filter(notices::resolved_at.lt(before))).execute(conn)
}

/// Open notices per kind (for the metrics).
pub fn open_by_kind(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    notices::table
        .filter(notices::resolved_at.is_null())
        .group_by(notices::kind)
        .select((notices::kind, diesel::dsl::count_star()))
        .load(conn)
}

pub fn insert_delivery(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<()> {
    diesel::insert_into(notification_deliveries::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Pending deliveries due by `now` that no process holds, oldest first.
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    notification_deliveries::table
        .filter(notification_deliveries::status.eq("pending"))
        .filter(notification_deliveries::next_attempt_at.le(now))
        .filter(
            notification_deliveries::claimed_until
                .is_null()
                .or(notification_deliveries::claimed_until.lt(now)),
        )
        .order((
            notification_deliveries::created_at.asc(),
            notification_deliveries::id.asc(),
        ))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)
}

/// Takes a delivery for this process until `until`; false when another process took it first
/// (one conditional update: two processes never both win).
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let taken = diesel::update(
        notification_deliveries::table
            .find(id)
            .filter(notification_deliveries::status.eq("pending"))
            .filter(
                notification_deliveries::claimed_until
                    .is_null()
                    .or(notification_deliveries::claimed_until.lt(now)),
            ),
    )
    .set(notification_deliveries::claimed_until.eq(Some(until)))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Whether an earlier delivery of the same notice to the same channel is still pending: the
/// later one waits, so a channel hears of a notice in order (opened, recurred, resolved).
pub fn waits_for_earlier(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<bool> {
    let earlier: i64 = notification_deliveries::table
        .filter(notification_deliveries::notice_id.eq(&row.notice_id))
        .filter(notification_deliveries::channel_id.eq(&row.channel_id))
        .filter(notification_deliveries::status.eq("pending"))
        .filter(notification_deliveries::created_at.lt(row.created_at))
        .count()
        .get_result(conn)?;
    Ok(earlier > 0)
}

/// Records how a delivery pass ended and releases the claim.
pub fn record_attempts(conn: &mut DbConnection, row: &DeliveryRow) -> QueryResult<()> {
    diesel::update(notification_deliveries::table.find(&row.id))
        .set((
            notification_deliveries::status.eq(&row.status),
            notification_deliveries::attempts.eq(row.attempts),
            notification_deliveries::last_status.eq(&row.last_status),
            notification_deliveries::next_attempt_at.eq(row.next_attempt_at),
            notification_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            notification_deliveries::delivered_at.eq(row.delivered_at),
        ))
        .execute(conn)
        .map(drop)
}

/// The deliveries of these notices, oldest first.
pub fn deliveries_of(
    conn: &mut DbConnection,
    notice_ids: &[String],
) -> QueryResult<Vec<DeliveryRow>> {
    notification_deliveries::table
        .filter(notification_deliveries::notice_id.eq_any(notice_ids))
        .order((
            notification_deliveries::created_at.asc(),
            notification_deliveries::id.asc(),
        ))
        .select(DeliveryRow::as_select())
        .load(conn)
}

pub fn failed_deliveries(conn: &mut DbConnection) -> QueryResult<i64> {
    notification_deliveries::table
        .filter(notification_deliveries::status.eq("failed"))
        .count()
        .get_result(conn)
}

/// The ConnectWise ticket a channel opened for a notice.
pub fn ticket_of(
    conn: &mut DbConnection,
    notice_id: &str,
    channel_id: &str,
) -> QueryResult<Option<i64>> {
    notice_tickets::table
        .find((notice_id, channel_id))
        .select(notice_tickets::ticket_id)
        .first(conn)
        .optional()
}

/// Remembers the ticket a channel opened (or found) for a notice; the first one recorded stays
/// (outside a transaction: a lost race is a unique violation that is ignored).
pub fn record_ticket(
    conn: &mut DbConnection,
    notice_id: &str,
    channel_id: &str,
    ticket_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(notice_tickets::table)
        .values((
            notice_tickets::notice_id.eq(notice_id),
            notice_tickets::channel_id.eq(channel_id),
            notice_tickets::ticket_id.eq(ticket_id),
            notice_tickets::opened_at.eq(at),
        ))
        .execute(conn)
        .map(drop)
        .or_else(|e| {
            if super::is_unique_violation(&e) {
                Ok(())
            } else {
                Err(e)
            }
        })
}
