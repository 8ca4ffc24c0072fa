//! The local cache of the ConnectWise product catalog (for drop-downs and mapping checks).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::money_text::MoneyText;
use super::paging::{page_and_total, TotalRows};
use super::schema::cw_products;
use super::DbConnection;
use crate::domain::terms::CatalogTerms;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cw_products)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CwProductRow {
    pub id: i64,
    pub identifier: String,
    pub description: String,
    pub inactive: bool,
    pub product_class: Option<String>,
    pub vanished: bool,
    pub refreshed_at: NaiveDateTime,
    pub unit_price: Option<MoneyText>,
    pub unit_cost: Option<MoneyText>,
    pub taxable: bool,
}

impl CwProductRow {
    /// What the catalog says of the product's money.
    pub fn terms(&self) -> CatalogTerms {
        CatalogTerms {
            price: self.unit_price.map(|m| m.0),
            cost: self.unit_cost.map(|m| m.0),
            taxable: self.taxable,
        }
    }
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

/// What the catalog cache knows of every product's money, by product id.
pub fn all_terms(conn: &mut DbConnection) -> QueryResult<Vec<(i64, CatalogTerms)>> {
    Ok(cw_products::table
        .select(CwProductRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|p| (p.id, p.terms()))
        .collect())
}

/// Whether a product may be chosen for a mapping: in the catalog and active.
pub fn is_selectable(p: &CwProductRow) -> bool {
    !p.inactive && !p.vanished
}

/// Replaces the cache with a fresh read of the whole catalog: new items are added, changed
/// ones updated, and cached ones missing from the catalog marked vanished (mappings may still
/// point at them). Returns (added, updated, unchanged, vanished).
pub fn replace_catalog(
    conn: &mut DbConnection,
    fresh: &[CwProductRow],
) -> QueryResult<(usize, usize, usize, usize)> {
    use std::collections::{HashMap, HashSet};
    let cached: HashMap<i64, CwProductRow> = cw_products::table
        .select(CwProductRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    for row in fresh {
        match cached.get(&row.id) {
            None => {
                diesel::insert_into(cw_products::table)
                    .values(row)
                    .execute(conn)?;
                added += 1;
            }
            Some(old) if same_content(old, row) => unchanged += 1,
            Some(_) => {
                diesel::update(cw_products::table.find(row.id))
                    .set(row)
                    .execute(conn)?;
                updated += 1;
            }
        }
    }
    let present: HashSet<i64> = fresh.iter().map(|p| p.id).collect();
    let gone: Vec<i64> = cached
        .values()
        .filter(|p| !p.vanished && !present.contains(&p.id))
        .map(|p| p.id)
        .collect();
    for chunk in gone.chunks(500) {
        diesel::update(cw_products::table.filter(cw_products::id.eq_any(chunk)))
            .set(cw_products::vanished.eq(true))
            .execute(conn)?;
    }
    Ok((added, updated, unchanged, gone.len()))
}

fn same_content(a: &CwProductRow, b: &CwProductRow) -> bool {
    (
        &a.identifier,
        &a.description,
        a.terms(),
        a.inactive,
        &a.product_class,
        a.vanished,
    ) == (
        &b.identifier,
        &b.description,
        b.terms(),
        b.inactive,
        &b.product_class,
        b.vanished,
    )
}

#[derive(Debug, Default, Clone)]
pub struct ProductFilter {
    /// Case-insensitive substring of the identifier or description.
    pub search: Option<String>,
    /// Also inactive and vanished products.
    pub include_inactive: bool,
    /// Only these products (whatever their state).
    pub ids: Option<Vec<i64>>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// One page ordered by identifier, then id; with a search, the product whose identifier is the
/// search text comes first.
pub fn list(
    conn: &mut DbConnection,
    filter: &ProductFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<CwProductRow>, i64)> {
    let query = || {
        let mut q = cw_products::table.into_boxed();
        if let Some(ids) = &filter.ids {
            q = q.filter(cw_products::id.eq_any(ids.clone()));
        } else if !filter.include_inactive {
            q = q
                .filter(cw_products::inactive.eq(false))
                .filter(cw_products::vanished.eq(false));
        }
        if let Some(search) = &filter.search {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            q = q.filter(
                lower(cw_products::identifier)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(cw_products::description).like(pattern).escape('\\')),
            );
        }
        q
    };
    let ordered = match &filter.search {
        Some(search) => query().order((
            lower(cw_products::identifier)
                .eq(search.to_lowercase())
                .desc(),
            cw_products::identifier.asc(),
            cw_products::id.asc(),
        )),
        None => query().order((cw_products::identifier.asc(), cw_products::id.asc())),
    };
    let rows = ordered
        .offset(offset)
        .limit(limit)
        .select((CwProductRow::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || query().count().get_result(conn))
}

/// Escapes LIKE wildcards so a search for `100%` means the text `100%`.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
