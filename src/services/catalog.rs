//! The cache of the ConnectWise product catalog that the Products tab picks from.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::connectwise::{Agreement, Company, Conditions};
use crate::adapters::db::cw_products::{CwProductRow, ProductFilter};
use crate::adapters::db::money_text::MoneyText;
use crate::adapters::db::{self, utc};
use crate::domain::ids::CompanyId;
use crate::runtime::state::Core;
use crate::services::connections::connectwise::{shared_client, upstream_error};
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::ServiceError;

#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshResult {
    /// Items in the ConnectWise catalog now.
    pub total: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Cached products no longer in the catalog (kept, marked `vanished`).
    pub vanished: usize,
    pub refreshed_at: DateTime<Utc>,
}

/// Reads the whole ConnectWise catalog into the cache.
pub async fn refresh(state: &Core) -> Result<RefreshResult, ServiceError> {
    let client = crate::runtime::clients::shared_connectwise(state).await?;
    let items = client
        .list_catalog_items(None)
        .await
        .map_err(upstream_error)?;
    let refreshed_at = db::now();
    let fresh: Vec<CwProductRow> = items
        .into_iter()
        .filter_map(|item| {
            Some(CwProductRow {
                id: item.id?,
                identifier: item.identifier.unwrap_or_default(),
                description: item.description.unwrap_or_default(),
                unit_price: item.price.map(MoneyText),
                unit_cost: item.cost.map(MoneyText),
                taxable: item.taxable_flag.unwrap_or(false),
                inactive: item.inactive_flag.unwrap_or(false),
                product_class: item.product_class,
                vanished: false,
                refreshed_at,
            })
        })
        .collect();
    let total = fresh.len();
    let (added, updated, unchanged, vanished) = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, "cw_products", |conn| {
            Ok::<_, ServiceError>(db::cw_products::replace_catalog(conn, &fresh)?)
        })
    })
    .await?;
    crate::sync::notices::wake(state);
    Ok(RefreshResult {
        total,
        added,
        updated,
        unchanged,
        vanished,
        refreshed_at: utc(refreshed_at),
    })
}

/// A page of the cached catalog.
pub async fn list(
    ctx: &Core,
    filter: ProductFilter,
    page: PageRequest,
) -> Result<Rows<CwProductRow>, ServiceError> {
    listing::page(ctx, page, move |conn, offset, limit| {
        db::cw_products::list(conn, &filter, offset, limit)
    })
    .await
}

/// ConnectWise companies whose name or identifier contains `search` (all without it), live,
/// deleted ones left out, by name.
pub async fn companies(ctx: &Core, search: Option<String>) -> Result<Vec<Company>, ServiceError> {
    let conditions = search
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| Conditions::contains("name", &s).or(Conditions::contains("identifier", &s)));
    let client = shared_client(ctx).await?;
    let mut companies = client
        .list_companies(conditions.as_ref())
        .await
        .map_err(upstream_error)?;
    companies.retain(|c| c.id.is_some() && c.deleted_flag != Some(true));
    companies.sort_by(|a, b| (a.name.as_deref(), a.id).cmp(&(b.name.as_deref(), b.id)));
    Ok(companies)
}

/// A ConnectWise company's agreements, live, by id.
pub async fn agreements(ctx: &Core, company: CompanyId) -> Result<Vec<Agreement>, ServiceError> {
    let client = shared_client(ctx).await?;
    let mut agreements = client
        .list_agreements(company)
        .await
        .map_err(upstream_error)?;
    agreements.retain(|a| a.id.is_some());
    agreements.sort_by_key(|a| a.id);
    Ok(agreements)
}
