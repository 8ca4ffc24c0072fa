//! A company mapping's own terms (DOMAIN.md §7).

use actix_web::{get, put, web, HttpResponse};

use crate::domain::terms::{ApplicationTerms, CompanyTerms, ProductTerms};
use crate::runtime::state::AppState;
use crate::services::company_terms::{self as terms, Terms};
use crate::services::etag::IfMatch;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::web::error::ApiError;
use crate::web::routes::etag::ok_with_tag;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::ValidJson;

impl FromJsonBody for ProductTerms {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let product_id = f.required_id("product_id");
        let minimum_quantity = f.absent_or::<u32>("minimum_quantity").unwrap_or(0);
        let included_quantity = f.absent_or::<u32>("included_quantity").unwrap_or(0);
        let unit_price = f.optional("unit_price");
        Some(ProductTerms {
            product_id: product_id?,
            minimum_quantity: minimum_quantity.into(),
            included_quantity: included_quantity.into(),
            unit_price,
        })
    }
}

impl FromJsonBody for ApplicationTerms {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let application_id = f.required::<String>("application_id");
        let category = f.optional("category");
        let product = f.optional_id("product");
        let excluded = f.absent_or::<bool>("excluded").unwrap_or(false);
        Some(ApplicationTerms {
            application_id: application_id?,
            category,
            product,
            excluded,
        })
    }
}

impl FromJsonBody for CompanyTerms {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let products = f.optional_list("products");
        let applications = f.optional_list("applications");
        Some(CompanyTerms {
            products: products?,
            applications: applications?,
        })
    }
}

fn respond(t: Terms) -> HttpResponse {
    ok_with_tag(t.etag, &t.terms)
}

/// Read a company's terms
///
/// A company mapping's own terms: per product a minimum, included units and a customer price;
/// per application (and category) another product or an exclusion. Empty when none are set.
/// Role: any. 404: no mapping has this id.
#[utoipa::path(operation_id = "getCompanyTerms", tag = "companies",
    params(("id" = String, Path, description = "The company mapping id")),
    responses((status = 200, description = "The terms", body = CompanyTerms,
        headers(("ETag" = String, description = "For If-Match")))))]
#[get("/company-mappings/{id}/terms")]
pub async fn get_company_terms(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(respond(terms::get(&state, id.into_inner()).await?))
}

/// Replace a company's terms
///
/// Replaces a company mapping's terms whole. The next sync applies them: a minimum lifts a line
/// with usage to at least that many units (no usage still cancels), included units are written
/// as `lessIncluded`, the customer price beats the billing profile's, an application billed on
/// another product is a move, and an excluded one is reported as unbilled (`excluded`) and its
/// line cancelled, guarded like clearing a mapping. Role: operator. 404: no mapping has this id.
/// 412: the terms changed since they were read (`If-Match`). 422: every invalid field (a
/// negative price, a minimum below the included units, an unknown or inactive product, an
/// unknown application).
#[utoipa::path(operation_id = "putCompanyTerms", tag = "companies",
    params(("id" = String, Path, description = "The company mapping id"),
        ("If-Match" = Option<String>, Header, description = "The terms' ETag")),
    request_body = CompanyTerms,
    responses(
        (status = 200, description = "The terms now", body = CompanyTerms,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/company-mappings/{id}/terms")]
pub async fn put_company_terms(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<CompanyTerms>,
) -> Result<HttpResponse, ApiError> {
    let saved = terms::put(&state, auth.actor(), id.into_inner(), if_match, body.0).await?;
    Ok(respond(saved))
}
