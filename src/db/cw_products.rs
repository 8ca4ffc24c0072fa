//! The local cache of the ConnectWise product catalog (for drop-downs and mapping checks).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::cw_products;
use super::DbConnection;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cw_products)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CwProductRow {
    pub id: i64,
    pub identifier: String,
    pub description: String,
    pub price: Option<f64>,
    pub cost: Option<f64>,
    pub inactive: bool,
    pub product_class: Option<String>,
    pub vanished: bool,
    pub refreshed_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<CwProductRow>> {
    cw_products::table
        .find(id)
        .select(CwProductRow::as_select())
        .first(conn)
        .optional()
}

/// The cached products with these ids (unknown ids are simply absent).
pub fn find_many(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<CwProductRow>> {
    cw_products::table
        .filter(cw_products::id.eq_any(ids))
        .select(CwProductRow::as_select())
        .load(conn)
}

/// Whether a product may be chosen for a mapping: in the catalog and active.
pub fn is_selectable(p: &CwProductRow) -> bool {
    !p.inactive && !p.vanished
}
