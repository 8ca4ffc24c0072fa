//! ConnectWise look-ups for frontends' drop-downs: the cached product catalog (and its
//! refresh), and live companies and agreements.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::cw_products::{CwProductRow, ProductFilter};
use crate::adapters::db::utc;
use crate::domain::money::Money;
use crate::runtime::state::AppState;
use crate::services::catalog::{self, RefreshResult};
use crate::web::error::ApiError;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::paging::{Page, PageQuery, Paging};

#[derive(Debug, Serialize, ToSchema)]
pub struct Product {
    /// The ConnectWise catalog item id.
    pub id: i64,
    pub identifier: String,
    pub description: String,
    /// The catalog price (the default unit price of its additions).
    pub price: Option<Money>,
    /// The catalog cost.
    pub cost: Option<Money>,
    /// The catalog's taxable flag.
    pub taxable: bool,
    pub inactive: bool,
    pub product_class: Option<String>,
    /// No longer in the ConnectWise catalog at the last refresh.
    pub vanished: bool,
    pub refreshed_at: DateTime<Utc>,
}

impl From<CwProductRow> for Product {
    fn from(p: CwProductRow) -> Self {
        Product {
            id: p.id,
            identifier: p.identifier,
            description: p.description,
            price: p.unit_price.map(|m| m.0),
            cost: p.unit_cost.map(|m| m.0),
            taxable: p.taxable,
            inactive: p.inactive,
            product_class: p.product_class,
            vanished: p.vanished,
            refreshed_at: utc(p.refreshed_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Case-insensitive text in the identifier or description.
    pub search: Option<String>,
    /// Also inactive products and products gone from the catalog (default false).
    pub include_inactive: Option<bool>,
    /// Only these products, by id, comma-separated (at most 500, e.g. `12,15`), whatever their
    /// state: names for ids a screen already holds, without reading the whole catalog.
    #[param(pattern = "^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,499}$")]
    pub ids: Option<String>,
}

/// The most ids one look-up may name.
const MAX_IDS: usize = 500;

/// `ids` as numbers; a 422 names the parameter when one is not a product id.
fn parse_ids(ids: &str) -> Result<Vec<i64>, ApiError> {
    let wrong = || {
        ApiError::validation(
            "ids",
            format!("must be at most {MAX_IDS} product ids separated by commas, e.g. 12,15"),
        )
    };
    let ids = ids
        .split(',')
        .map(|id| id.trim().parse::<i64>().ok().filter(|&id| id >= 1))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(wrong)?;
    if ids.len() > MAX_IDS {
        return Err(wrong());
    }
    Ok(ids)
}

/// List cached ConnectWise products
///
/// The local copy of the ConnectWise product catalog for the mapping drop-downs, ordered by
/// identifier, paged; `search` matches identifier and description (a product whose identifier is
/// the search text comes first), inactive products only with `include_inactive`; `ids` reads the
/// products named. Refresh it with `POST /api/v1/connectwise/products/refresh`. Role: any. 422: an
/// `ids` value that is not a list of product ids.
#[utoipa::path(operation_id = "listConnectWiseProducts", tag = "connectwise", params(ProductQuery, PageQuery),
    responses((status = 200, description = "A page of cached products", body = Page<Product>)))]
#[get("/connectwise/products")]
pub async fn list_products(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<ProductQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Product>>, ApiError> {
    let query = query.into_inner();
    let paging = Paging::new(page.page, page.per_page)?;
    let filter = ProductFilter {
        search: query
            .search
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        include_inactive: query.include_inactive.unwrap_or(false),
        ids: query.ids.as_deref().map(parse_ids).transpose()?,
    };
    let rows = catalog::list(&state, filter, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}

/// Refresh the product cache
///
/// Reads the whole ConnectWise catalog and updates the local copy; products gone from ConnectWise
/// are marked vanished, never deleted, so mappings keep their names. Role: operator. 409:
/// ConnectWise is not configured. 502 and 504: ConnectWise failed or was too slow.
#[utoipa::path(operation_id = "refreshConnectWiseProducts", tag = "connectwise",
    responses(
        (status = 200, description = "The cache now matches the catalog", body = RefreshResult),
        crate::web::error::ConnectWiseFailures))]
#[post("/connectwise/products/refresh")]
pub async fn refresh_products(
    _auth: Operator,
    state: web::Data<AppState>,
) -> Result<web::Json<RefreshResult>, ApiError> {
    Ok(web::Json(catalog::refresh(&state).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    pub id: i64,
    pub identifier: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyQuery {
    /// Text in the company's name or identifier.
    pub search: Option<String>,
}

/// List ConnectWise companies
///
/// ConnectWise companies, read live, ordered by name, paged; `search` matches the name. For the
/// company drop-down of a company mapping. Role: any. 409: ConnectWise is not configured. 502 and
/// 504: ConnectWise failed or was too slow.
#[utoipa::path(operation_id = "listConnectWiseCompanies", tag = "connectwise", params(CompanyQuery, PageQuery),
    responses(
        (status = 200, description = "A page of companies", body = Page<CompanyView>),
        crate::web::error::ConnectWiseFailures))]
#[get("/connectwise/companies")]
pub async fn list_companies(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<CompanyQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<CompanyView>>, ApiError> {
    let query = query.into_inner();
    let paging = Paging::new(page.page, page.per_page)?;
    let companies = catalog::companies(&state, query.search).await?;
    Ok(web::Json(paging.slice(companies.into_iter().map(|c| {
        CompanyView {
            id: c.id.unwrap_or_default(),
            identifier: c.identifier,
            name: c.name,
        }
    }))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    pub id: i64,
    pub name: Option<String>,
    /// `Active`, `Cancelled`, `Expired` or `Inactive`.
    pub status: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
    /// Whether billing can be added to it now (active, not cancelled, not ended).
    pub accepts_additions: bool,
}

/// List a company's agreements
///
/// A ConnectWise company's agreements, read live, paged, with whether each can take additions
/// (active, not cancelled). Role: any. 409: ConnectWise is not configured. 502 and 504: ConnectWise
/// failed or was too slow.
#[utoipa::path(operation_id = "listConnectWiseCompanyAgreements", tag = "connectwise",
    params(("id" = i64, Path, description = "The ConnectWise company id"), PageQuery),
    responses(
        (status = 200, description = "A page of agreements", body = Page<AgreementView>),
        crate::web::error::ConnectWiseFailures))]
#[get("/connectwise/companies/{id}/agreements")]
pub async fn list_company_agreements(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<AgreementView>>, ApiError> {
    let paging = Paging::new(page.page, page.per_page)?;
    let agreements = catalog::agreements(&state, id.into_inner()).await?;
    let now = Utc::now();
    Ok(web::Json(paging.slice(agreements.into_iter().map(|a| {
        AgreementView {
            id: a.id.unwrap_or_default(),
            accepts_additions: a.accepts_additions(now),
            name: a.name,
            status: a.agreement_status,
            start_date: a.start_date,
            end_date: a.end_date,
        }
    }))))
}
