//! Tenant ↔ ConnectWise company and agreement.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::paging::{page_and_total, TotalRows};
use super::schema::company_mappings;
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = company_mappings)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CompanyMappingRow {
    pub id: String,
    pub tenant_id: String,
    pub cw_company_id: i64,
    pub cw_company_name: String,
    pub agreement_id: i64,
    pub agreement_name: String,
    pub billing_enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CompanyMappingRow>> {
    company_mappings::table
        .find(id)
        .select(CompanyMappingRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_tenant(
    conn: &mut DbConnection,
    tenant_id: &str,
) -> QueryResult<Option<CompanyMappingRow>> {
    company_mappings::table
        .filter(company_mappings::tenant_id.eq(tenant_id))
        .select(CompanyMappingRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_company(
    conn: &mut DbConnection,
    cw_company_id: i64,
) -> QueryResult<Option<CompanyMappingRow>> {
    company_mappings::table
        .filter(company_mappings::cw_company_id.eq(cw_company_id))
        .select(CompanyMappingRow::as_select())
        .first(conn)
        .optional()
}

/// The mappings of these tenants.
pub fn of_tenants(
    conn: &mut DbConnection,
    tenant_ids: &[String],
) -> QueryResult<Vec<CompanyMappingRow>> {
    company_mappings::table
        .filter(company_mappings::tenant_id.eq_any(tenant_ids))
        .select(CompanyMappingRow::as_select())
        .load(conn)
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<CompanyMappingRow>> {
    company_mappings::table
        .order(company_mappings::id.asc())
        .select(CompanyMappingRow::as_select())
        .load(conn)
}

/// One page ordered by company name, then id.
pub fn list(
    conn: &mut DbConnection,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<CompanyMappingRow>, i64)> {
    let rows = company_mappings::table
        .order((
            company_mappings::cw_company_name.asc(),
            company_mappings::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((CompanyMappingRow::as_select(), TotalRows))
        .load(conn)?;
    let (rows, total) = page_and_total(rows, offset, || {
        company_mappings::table.count().get_result(conn)
    })?;
    Ok((rows, total))
}

pub fn insert(conn: &mut DbConnection, row: &CompanyMappingRow) -> QueryResult<()> {
    diesel::insert_into(company_mappings::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn update(conn: &mut DbConnection, row: &CompanyMappingRow) -> QueryResult<()> {
    diesel::update(company_mappings::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(company_mappings::table.find(id))
        .execute(conn)
        .map(drop)
}
