//! Billing profiles: how every addition of one ConnectWise product is written (DOMAIN.md §7).

use actix_web::{delete, get, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::db::utc;
use crate::domain::money::Money;
use crate::domain::terms::{BillCustomer, BillingProfile, Price};
use crate::runtime::state::AppState;
use crate::services::billing_profiles::{self as profiles, StoredProfile};
use crate::services::etag::IfMatch;
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::web::error::ApiError;
use crate::web::routes::etag::ok_with_tag;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::ValidJson;

/// A product's billing profile with the catalog product it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingProfileView {
    pub product_id: i64,
    /// Absent when the product left the catalog cache.
    pub identifier: Option<String>,
    pub description: Option<String>,
    /// The catalog's price and cost now (what `catalog` stands for).
    pub catalog_price: Option<Money>,
    pub catalog_cost: Option<Money>,
    #[serde(flatten)]
    pub profile: BillingProfile,
    pub updated_at: DateTime<Utc>,
}

impl From<StoredProfile> for BillingProfileView {
    fn from(s: StoredProfile) -> Self {
        let product = s.product.as_ref();
        BillingProfileView {
            product_id: s.row.product_id,
            identifier: product.map(|p| p.identifier.clone()),
            description: product.map(|p| p.description.clone()),
            catalog_price: product.and_then(|p| p.terms().price),
            catalog_cost: product.and_then(|p| p.terms().cost),
            profile: s.row.profile_json.0,
            updated_at: utc(s.row.updated_at),
        }
    }
}

fn respond(stored: StoredProfile) -> HttpResponse {
    let etag = stored.etag();
    ok_with_tag(etag, &BillingProfileView::from(stored))
}

/// `PUT /api/v1/billing-profiles/{product_id}`: every field may be left out for its default.
#[derive(Debug, ToSchema)]
pub struct BillingProfileInput {
    /// Default `Billable`.
    pub bill_customer: Option<BillCustomer>,
    /// Default `catalog`.
    pub unit_price: Option<Price>,
    /// Default `catalog`.
    pub unit_cost: Option<Price>,
    /// Absent or null: the catalog item's flag.
    pub taxable: Option<bool>,
    /// At most 6000 characters; `{application}`, `{category}`, `{company}`, `{tenant}` and
    /// `{quantity}` are filled per line. Absent or null: the application names and categories
    /// the line bills.
    #[schema(max_length = 6000)]
    pub invoice_description: Option<String>,
}

impl FromJsonBody for BillingProfile {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let text = match f.patch::<String>("invoice_description") {
            Patch::Value(text) => Some(text),
            _ => None,
        };
        Some(BillingProfile {
            bill_customer: f.optional("bill_customer").unwrap_or_default(),
            unit_price: f.optional("unit_price").unwrap_or_default(),
            unit_cost: f.optional("unit_cost").unwrap_or_default(),
            taxable: f.optional("taxable"),
            invoice_description: text,
        })
    }
}

/// List billing profiles
///
/// Every product's billing profile, by product id. A product without one has its additions
/// written with the catalog's terms. Role: any.
#[utoipa::path(operation_id = "listBillingProfiles", tag = "billing",
    responses((status = 200, description = "Every profile", body = Vec<BillingProfileView>)))]
#[get("/billing-profiles")]
pub async fn list_billing_profiles(
    _auth: Viewer,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<BillingProfileView>>, ApiError> {
    let all = profiles::list(&state).await?;
    Ok(web::Json(
        all.into_iter().map(BillingProfileView::from).collect(),
    ))
}

/// Read a billing profile
///
/// One product's billing profile with its `ETag`. Role: any. 404: the product has none.
#[utoipa::path(operation_id = "getBillingProfile", tag = "billing",
    params(("product_id" = i64, Path, description = "The ConnectWise product id")),
    responses((status = 200, description = "The profile", body = BillingProfileView,
        headers(("ETag" = String, description = "For If-Match")))))]
#[get("/billing-profiles/{product_id}")]
pub async fn get_billing_profile(
    _auth: Viewer,
    state: web::Data<AppState>,
    product_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond(
        profiles::find(&state, product_id.into_inner()).await?,
    ))
}

/// Set a billing profile
///
/// Creates or replaces a product's billing profile: billable, no-charge or do-not-bill, unit
/// price and cost (`catalog` or an amount), taxable, and the invoice description template. The
/// next sync writes new additions with it and corrects managed additions whose terms differ
/// (an `update` with reason "terms", never held). Role: operator. 404: the product is not in the
/// catalog cache. 412: the profile changed since it was read (`If-Match`; a new profile matches
/// no tag). 422: every invalid field (a negative amount, a description over 6000 characters).
#[utoipa::path(operation_id = "putBillingProfile", tag = "billing",
    params(("product_id" = i64, Path, description = "The ConnectWise product id"),
        ("If-Match" = Option<String>, Header, description = "The profile's ETag")),
    request_body = BillingProfileInput,
    responses(
        (status = 200, description = "The profile now", body = BillingProfileView,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/billing-profiles/{product_id}")]
pub async fn put_billing_profile(
    auth: Operator,
    state: web::Data<AppState>,
    product_id: web::Path<i64>,
    if_match: IfMatch,
    body: ValidJson<BillingProfile>,
) -> Result<HttpResponse, ApiError> {
    let saved = profiles::put(
        &state,
        auth.actor(),
        product_id.into_inner(),
        if_match,
        body.0,
    )
    .await?;
    Ok(respond(saved))
}

/// Delete a billing profile
///
/// Removes a product's profile: new additions are written with the catalog's terms again;
/// additions already written keep theirs. Role: operator. 404: the product has none. 412: it
/// changed since it was read (`If-Match`).
#[utoipa::path(operation_id = "deleteBillingProfile", tag = "billing",
    params(("product_id" = i64, Path, description = "The ConnectWise product id"),
        ("If-Match" = Option<String>, Header, description = "The profile's ETag")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[delete("/billing-profiles/{product_id}")]
pub async fn delete_billing_profile(
    auth: Operator,
    state: web::Data<AppState>,
    product_id: web::Path<i64>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    profiles::delete(&state, auth.actor(), product_id.into_inner(), if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}
