//! Usage snapshots: one tenant's usage at one moment, pulled from KSC or pushed. The usage is
//! stored as JSON text; [`UsageSnapshot`] is the typed form the rest of the server uses.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use serde::Serialize;
use utoipa::ToSchema;

use super::json_text::JsonText;
use super::paging::{page_and_total, TotalRows};
use super::schema::{tenants, usage_snapshots};
use super::tenants::TenantRow;
use super::DbConnection;
use crate::domain::model::TenantUsage;

crate::text_enum! {
    /// Where a snapshot's usage came from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum SnapshotSource {
        /// Read from KSC by `POST /api/v1/usage-snapshots/collect`.
        KscPull => "ksc_pull",
        /// Sent by automation with `POST /api/v1/usage-snapshots`.
        Push => "push",
    }
}

crate::text_enum! {
    /// Whether the usage could be read.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum SnapshotStatus {
        Ok => "ok",
        /// The usage could not be read; `error` says why.
        Failed => "failed",
    }
}

/// A snapshot's usage, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(TenantUsage),
    Failed(String),
}

impl Outcome {
    pub fn status(&self) -> SnapshotStatus {
        match self {
            Outcome::Ok(_) => SnapshotStatus::Ok,
            Outcome::Failed(_) => SnapshotStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = usage_snapshots)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct UsageSnapshotRow {
    id: String,
    tenant_id: String,
    taken_at: NaiveDateTime,
    source: SnapshotSource,
    status: SnapshotStatus,
    error: Option<String>,
    usage_json: Option<JsonText<TenantUsage>>,
    created_by: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsageSnapshot {
    pub id: String,
    pub tenant_id: String,
    pub taken_at: NaiveDateTime,
    pub source: SnapshotSource,
    pub outcome: Outcome,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

fn corrupt(what: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(what.into())
}

impl TryFrom<UsageSnapshotRow> for UsageSnapshot {
    type Error = diesel::result::Error;

    fn try_from(row: UsageSnapshotRow) -> QueryResult<Self> {
        let outcome = match (row.status, row.usage_json) {
            (SnapshotStatus::Ok, Some(usage)) => Outcome::Ok(usage.into_inner()),
            (SnapshotStatus::Failed, _) => Outcome::Failed(row.error.unwrap_or_default()),
            (SnapshotStatus::Ok, None) => {
                return Err(corrupt(format!(
                    "snapshot status {} without usage",
                    row.status
                )))
            }
        };
        Ok(UsageSnapshot {
            id: row.id,
            tenant_id: row.tenant_id,
            taken_at: row.taken_at,
            source: row.source,
            outcome,
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

impl From<&UsageSnapshot> for UsageSnapshotRow {
    fn from(s: &UsageSnapshot) -> Self {
        let (status, error, usage_json) = match &s.outcome {
            Outcome::Ok(usage) => (SnapshotStatus::Ok, None, Some(JsonText(usage.clone()))),
            Outcome::Failed(reason) => (SnapshotStatus::Failed, Some(reason.clone()), None),
        };
        UsageSnapshotRow {
            id: s.id.clone(),
            tenant_id: s.tenant_id.clone(),
            taken_at: s.taken_at,
            source: s.source,
            status,
            error,
            usage_json,
            created_by: s.created_by.clone(),
            created_at: s.created_at,
        }
    }
}

pub fn insert(conn: &mut DbConnection, snapshot: &UsageSnapshot) -> QueryResult<()> {
    diesel::insert_into(usage_snapshots::table)
        .values(UsageSnapshotRow::from(snapshot))
        .execute(conn)
        .map(drop)
}

/// One snapshot with its tenant.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<(UsageSnapshot, TenantRow)>> {
    usage_snapshots::table
        .inner_join(tenants::table)
        .filter(usage_snapshots::id.eq(id))
        .select((UsageSnapshotRow::as_select(), TenantRow::as_select()))
        .first(conn)
        .optional()?
        .map(|(s, t)| Ok((UsageSnapshot::try_from(s)?, t)))
        .transpose()
}

/// "No snapshot of the same tenant is newer" (ties on `taken_at` broken by the time-ordered id);
/// with `ok_only`, failed snapshots are left out on both sides. Plain SQL both backends share:
/// diesel cannot type-check a correlated subquery on the same table.
fn newest_of_its_tenant(ok_only: bool) -> String {
    let ok = |table: &str| {
        if ok_only {
            format!(" AND {table}.status = '{}'", SnapshotStatus::Ok)
        } else {
            String::new()
        }
    };
    format!(
        "NOT EXISTS (SELECT 1 FROM usage_snapshots newer \
         WHERE newer.tenant_id = usage_snapshots.tenant_id{} \
         AND (newer.taken_at > usage_snapshots.taken_at OR \
         (newer.taken_at = usage_snapshots.taken_at AND newer.id > usage_snapshots.id))){}",
        ok("newer"),
        ok("usage_snapshots"),
    )
}

/// Deletes snapshots taken before `before`, keeping each tenant's newest snapshot and its
/// newest readable one (billing counts the latter while the newest is a failure).
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    let kept = format!(
        "NOT ({}) AND NOT ({})",
        newest_of_its_tenant(false),
        newest_of_its_tenant(true)
    );
    diesel::delete(
        usage_snapshots::table
            .filter(usage_snapshots::taken_at.lt(before))
            .filter(sql::<Bool>(&kept)),
    )
    .execute(conn)
}

/// Which snapshots a list shows.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    pub tenant_id: Option<String>,
    /// Only the newest snapshot of each tenant.
    pub latest: bool,
}

/// One page with their tenants, newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &SnapshotFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<(UsageSnapshot, TenantRow)>, i64)> {
    let query = || {
        let mut q = usage_snapshots::table
            .inner_join(tenants::table)
            .into_boxed();
        if let Some(id) = &filter.tenant_id {
            q = q.filter(usage_snapshots::tenant_id.eq(id.clone()));
        }
        if filter.latest {
            q = q.filter(sql::<Bool>(&newest_of_its_tenant(false)));
        }
        q
    };
    let rows = query()
        .order((usage_snapshots::taken_at.desc(), usage_snapshots::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((
            UsageSnapshotRow::as_select(),
            TenantRow::as_select(),
            TotalRows,
        ))
        .load::<(UsageSnapshotRow, TenantRow, i64)>(conn)?
        .into_iter()
        .map(|(s, t, total)| ((s, t), total))
        .collect();
    let (rows, total) = page_and_total(rows, offset, || query().count().get_result(conn))?;
    let typed = rows
        .into_iter()
        .map(|(s, t)| Ok((UsageSnapshot::try_from(s)?, t)))
        .collect::<QueryResult<_>>()?;
    Ok((typed, total))
}

/// Each tenant's newest snapshot, failed ones included (a failed newest snapshot freezes billing).
pub fn latest_per_tenant(conn: &mut DbConnection) -> QueryResult<Vec<UsageSnapshot>> {
    usage_snapshots::table
        .filter(sql::<Bool>(&newest_of_its_tenant(false)))
        .select(UsageSnapshotRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UsageSnapshot::try_from)
        .collect()
}

/// The usage of each tenant's newest `ok` snapshot: what billing would count now (a failed
/// collection does not erase the usage read before it).
pub fn latest_ok_usage(conn: &mut DbConnection) -> QueryResult<Vec<TenantUsage>> {
    let rows = usage_snapshots::table
        .filter(sql::<Bool>(&newest_of_its_tenant(true)))
        .select(UsageSnapshotRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| match UsageSnapshot::try_from(row)?.outcome {
            Outcome::Ok(usage) => Ok(usage),
            Outcome::Failed(_) => Err(corrupt("a failed snapshot among ok ones".into())),
        })
        .collect()
}
