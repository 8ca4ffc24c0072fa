use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::paging::{page_and_total, TotalRows};
use super::schema::service_tokens;
use super::DbConnection;
use crate::domain::role::Role;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ServiceTokenRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &ServiceTokenRow) -> QueryResult<()> {
    diesel::insert_into(service_tokens::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ServiceTokenRow>> {
    service_tokens::table
        .find(id)
        .select(ServiceTokenRow::as_select())
        .first(conn)
        .optional()
}

/// One page, newest first (ids are time-ordered UUIDv7s, a tie-breaker for equal times).
pub fn list(
    conn: &mut DbConnection,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ServiceTokenRow>, i64)> {
    let rows = service_tokens::table
        .order((service_tokens::created_at.desc(), service_tokens::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((ServiceTokenRow::as_select(), TotalRows))
        .load(conn)?;
    let (rows, total) = page_and_total(rows, offset, || {
        service_tokens::table.count().get_result(conn)
    })?;
    Ok((rows, total))
}

pub fn revoke(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(service_tokens::table.find(id))
        .set(service_tokens::revoked_at.eq(Some(at)))
        .execute(conn)
        .map(drop)
}
