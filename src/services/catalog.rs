//! The cache of the ConnectWise product catalog that the Products tab picks from.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::db::{self, cw_products::CwProductRow, utc};
use crate::runtime::state::AppState;
use crate::services::connections::connectwise::upstream_error;
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
pub async fn refresh(state: &AppState) -> Result<RefreshResult, ServiceError> {
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
                price: item.price,
                cost: item.cost,
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
