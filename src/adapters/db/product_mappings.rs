//! Stored product mappings, one row per application holding both forms (single and by
//! category). An application without a row is unmapped.

use diesel::prelude::*;

use super::billing_settings::BillingSettings;
use super::cw_products::CwProductRow;
use super::json_text::JsonText;
use super::schema::{app_state, cw_products, product_mappings, security_applications};
use super::security_applications::{ApplicationSummary, ApplicationSummaryRow};
use super::{billing_settings, now, DbConnection};
use crate::domain::product_mapping::{CategoryProducts, ProductMapping};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = product_mappings)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
struct ProductMappingRow {
    application_id: String,
    product_id: Option<i64>,
    workstation_product_id: Option<i64>,
    server_product_id: Option<i64>,
    non_windows_product_id: Option<i64>,
    updated_at: chrono::NaiveDateTime,
}

impl From<ProductMappingRow> for ProductMapping {
    fn from(row: ProductMappingRow) -> Self {
        ProductMapping {
            application_id: row.application_id,
            product_id: row.product_id,
            category_products: CategoryProducts {
                windows_workstation: row.workstation_product_id,
                windows_server: row.server_product_id,
                non_windows: row.non_windows_product_id,
            },
        }
    }
}

impl From<&ProductMapping> for ProductMappingRow {
    fn from(m: &ProductMapping) -> Self {
        ProductMappingRow {
            application_id: m.application_id.clone(),
            product_id: m.product_id,
            workstation_product_id: m.category_products.windows_workstation,
            server_product_id: m.category_products.windows_server,
            non_windows_product_id: m.category_products.non_windows,
            updated_at: now(),
        }
    }
}

/// Every stored mapping, ordered by application id.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ProductMapping>> {
    let rows = product_mappings::table
        .order(product_mappings::application_id.asc())
        .select(ProductMappingRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(ProductMapping::from).collect())
}

/// One row of [`grid_rows`].
pub struct GridRow {
    pub application: ApplicationSummary,
    pub mapping: Option<ProductMapping>,
    /// One cached catalog product the mapping names; an application naming several comes
    /// once per product.
    pub product: Option<CwProductRow>,
    /// The stored billing settings (the same on every row; `None` until first saved).
    pub billing_settings: Option<BillingSettings>,
}

/// Everything the mapping grid shows, in one query (one round trip, the grid being the
/// Products tab's most frequent read): every application with its stored mapping, the cached
/// products it names, and the billing settings. Ordered like the application list.
pub fn grid_rows(conn: &mut DbConnection) -> QueryResult<Vec<GridRow>> {
    let named = cw_products::id.nullable();
    type Row = (
        ApplicationSummaryRow,
        Option<ProductMappingRow>,
        Option<CwProductRow>,
        Option<JsonText<BillingSettings>>,
    );
    let rows: Vec<Row> = security_applications::table
        .left_join(product_mappings::table)
        .left_join(
            cw_products::table.on(named
                .eq(product_mappings::product_id)
                .or(named.eq(product_mappings::workstation_product_id))
                .or(named.eq(product_mappings::server_product_id))
                .or(named.eq(product_mappings::non_windows_product_id))),
        )
        .left_join(app_state::table.on(app_state::key.eq(billing_settings::KEY)))
        .order((
            security_applications::solution.asc(),
            security_applications::name.asc(),
            security_applications::id.asc(),
            cw_products::id.asc(),
        ))
        .select((
            ApplicationSummaryRow::as_select(),
            Option::<ProductMappingRow>::as_select(),
            Option::<CwProductRow>::as_select(),
            app_state::value.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(application, mapping, product, billing_settings)| GridRow {
                application: application.into(),
                mapping: mapping.map(ProductMapping::from),
                product,
                billing_settings: billing_settings.map(JsonText::into_inner),
            },
        )
        .collect())
}

pub fn exists(conn: &mut DbConnection, application_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        product_mappings::table.find(application_id),
    ))
    .get_result(conn)
}

/// Stores the mapping, replacing both forms (portable upsert: update, else insert; callers
/// hold the products write lock).
pub fn replace(conn: &mut DbConnection, mapping: &ProductMapping) -> QueryResult<()> {
    let row = ProductMappingRow::from(mapping);
    let updated = diesel::update(product_mappings::table.find(&row.application_id))
        .set(&row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(product_mappings::table)
            .values(&row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConnection, application_id: &str) -> QueryResult<bool> {
    diesel::delete(product_mappings::table.find(application_id))
        .execute(conn)
        .map(|n| n > 0)
}
