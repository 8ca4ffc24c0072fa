use actix_web::{delete, get, post, put, web, HttpResponse};

use crate::runtime::state::AppState;
use crate::services::company_mappings::{self as mappings, CompanyMapping, CompanyMappingInput};
use crate::services::etag::IfMatch;
use crate::web::error::ApiError;
use crate::web::routes::etag::{ok_with_etag, with_etag};
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::ValidJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

/// List company mappings
///
/// The Companies tab: each tenant's ConnectWise company and agreement, ordered by company name,
/// paged. Role: any.
#[utoipa::path(operation_id = "listCompanyMappings", tag = "companies", params(PageQuery),
    responses((status = 200, description = "A page of company mappings", body = Page<CompanyMapping>)))]
#[get("/company-mappings")]
pub async fn list_company_mappings(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<CompanyMapping>>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let rows = mappings::list(&state, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}

/// Map a tenant to a company
///
/// Maps a tenant to a ConnectWise company and the agreement that receives its additions. The
/// agreement must belong to the company and be active in ConnectWise. Role: operator. 409: the
/// tenant or company is mapped already, or ConnectWise is not configured. 422: every invalid field,
/// e.g. an unknown tenant or an agreement of another company. 502 and 504: ConnectWise failed or
/// was too slow.
#[utoipa::path(operation_id = "createCompanyMapping", tag = "companies", request_body = CompanyMappingInput,
    responses(
        (status = 201, description = "Created", body = CompanyMapping,
            headers(("Location" = String, description = "The mapping's URL"), ("ETag" = String, description = "For If-Match"))),
        (status = 409, description = "The tenant or company is mapped already, or ConnectWise is not configured",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "ConnectWise failed", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 504, description = "ConnectWise did not answer in time", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/company-mappings")]
pub async fn create_company_mapping(
    auth: Operator,
    state: web::Data<AppState>,
    body: ValidJson<CompanyMappingInput>,
) -> Result<HttpResponse, ApiError> {
    let saved = mappings::create(&state, auth.actor(), body.0).await?;
    let mut created = HttpResponse::Created();
    created.insert_header(("Location", format!("/api/v1/company-mappings/{}", saved.id)));
    Ok(with_etag(created, &saved))
}

/// Read a company mapping
///
/// One company mapping with its `ETag`. Role: any. 404: no mapping has this id.
#[utoipa::path(operation_id = "getCompanyMapping", tag = "companies", params(("id" = String, Path)),
    responses((status = 200, description = "The mapping", body = CompanyMapping,
        headers(("ETag" = String, description = "For If-Match")))))]
#[get("/company-mappings/{id}")]
pub async fn get_company_mapping(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok_with_etag(
        &mappings::find(&state, id.into_inner()).await?,
    ))
}

/// Replace a company mapping
///
/// Replaces a company mapping, e.g. to move it to another agreement or switch billing off. Role:
/// operator. 404: no mapping has this id. 409: the tenant or company is mapped elsewhere. 412: the
/// mapping changed since it was read (`If-Match`). 422: every invalid field. 502 and 504:
/// ConnectWise failed or was too slow.
#[utoipa::path(operation_id = "putCompanyMapping", tag = "companies", params(("id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    request_body = CompanyMappingInput,
    responses(
        (status = 200, description = "Saved", body = CompanyMapping,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 409, description = "The tenant or company is mapped already, or ConnectWise is not configured",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "ConnectWise failed", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 504, description = "ConnectWise did not answer in time", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/company-mappings/{id}")]
pub async fn put_company_mapping(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<CompanyMappingInput>,
) -> Result<HttpResponse, ApiError> {
    let saved = mappings::replace(&state, auth.actor(), id.into_inner(), if_match, body.0).await?;
    Ok(ok_with_etag(&saved))
}

/// Delete a company mapping
///
/// Deletes the link only: nothing changes in ConnectWise, and the tenant's additions are no longer
/// managed. Role: operator. 404: no mapping has this id. 412: it changed since it was read
/// (`If-Match`).
#[utoipa::path(operation_id = "deleteCompanyMapping", tag = "companies", params(("id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[delete("/company-mappings/{id}")]
pub async fn delete_company_mapping(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    mappings::delete(&state, auth.actor(), id.into_inner(), if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}
