//! Billing profiles, one per ConnectWise product (DOMAIN.md §7), stored as JSON documents.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::JsonText;
use super::schema::billing_profiles;
use super::DbConnection;
use crate::domain::terms::BillingProfile;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = billing_profiles)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct BillingProfileRow {
    pub product_id: i64,
    pub profile_json: JsonText<BillingProfile>,
    pub updated_at: NaiveDateTime,
}

/// Every profile, by product id.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<BillingProfileRow>> {
    billing_profiles::table
        .order(billing_profiles::product_id.asc())
        .select(BillingProfileRow::as_select())
        .load(conn)
}

/// Every profile as a map by product id.
pub fn by_product(
    conn: &mut DbConnection,
) -> QueryResult<std::collections::HashMap<i64, BillingProfile>> {
    Ok(list(conn)?
        .into_iter()
        .map(|r| (r.product_id, r.profile_json.0))
        .collect())
}

pub fn find(conn: &mut DbConnection, product_id: i64) -> QueryResult<Option<BillingProfileRow>> {
    billing_profiles::table
        .find(product_id)
        .select(BillingProfileRow::as_select())
        .first(conn)
        .optional()
}

pub fn put(conn: &mut DbConnection, row: &BillingProfileRow) -> QueryResult<()> {
    diesel::delete(billing_profiles::table.find(row.product_id)).execute(conn)?;
    diesel::insert_into(billing_profiles::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, product_id: i64) -> QueryResult<usize> {
    diesel::delete(billing_profiles::table.find(product_id)).execute(conn)
}
