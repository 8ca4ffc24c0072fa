//! Kaspersky tenants: KSC virtual servers as last discovered, Business Hub companies as created.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::paging::{page_and_total, TotalRows};
use super::schema::tenants;
use super::DbConnection;
use crate::domain::model::Solution;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct TenantRow {
    pub id: String,
    pub solution: Solution,
    pub name: String,
    pub external_id: String,
    pub ksc_vserver_id: Option<i64>,
    pub enabled: bool,
    pub vanished: bool,
    pub last_seen_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TenantRow>> {
    tenants::table
        .find(id)
        .select(TenantRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_external_id(
    conn: &mut DbConnection,
    solution: Solution,
    external_id: &str,
) -> QueryResult<Option<TenantRow>> {
    tenants::table
        .filter(tenants::solution.eq(solution))
        .filter(tenants::external_id.eq(external_id))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()
}

pub fn of_solution(conn: &mut DbConnection, solution: Solution) -> QueryResult<Vec<TenantRow>> {
    tenants::table
        .filter(tenants::solution.eq(solution))
        .select(TenantRow::as_select())
        .load(conn)
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TenantRow>> {
    tenants::table.select(TenantRow::as_select()).load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &TenantRow) -> QueryResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn update(conn: &mut DbConnection, row: &TenantRow) -> QueryResult<()> {
    diesel::update(tenants::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

/// One page ordered by name, then id; optionally one solution only.
pub fn list(
    conn: &mut DbConnection,
    solution: Option<Solution>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<TenantRow>, i64)> {
    let query = || {
        let mut q = tenants::table.into_boxed();
        if let Some(s) = solution {
            q = q.filter(tenants::solution.eq(s));
        }
        q
    };
    let rows = query()
        .order((tenants::name.asc(), tenants::id.asc()))
        .offset(offset)
        .limit(limit)
        .select((TenantRow::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || query().count().get_result(conn))
}
