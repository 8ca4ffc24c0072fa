use actix_web::{get, post, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::runtime::state::AppState;
use crate::services::connections::connectwise::{self as cw, ConnectWise};
use crate::services::connections::kaspersky::{self as ksc, Kaspersky};
use crate::services::connections::{self, Connection};
use crate::services::etag::IfMatch;
use crate::web::error::ApiError;
use crate::web::routes::etag::ok_with_etag;
use crate::web::routes::extract::Admin;
use crate::web::routes::input::ValidJson;

async fn read<C: Connection>(state: &AppState) -> Result<HttpResponse, ApiError> {
    Ok(ok_with_etag(&connections::view::<C>(state).await?))
}

async fn replace<C: Connection>(
    state: &AppState,
    auth: Admin,
    if_match: IfMatch,
    update: C::Update,
) -> Result<HttpResponse, ApiError> {
    let saved = connections::replace::<C>(state, auth.actor(), if_match, update).await?;
    Ok(ok_with_etag(&saved))
}

/// Read the ConnectWise connection
///
/// The ConnectWise Manage connection: site, company, public key, client id and limits; the private
/// key is never shown, only whether one is stored. Role: admin. 404: not configured yet.
#[utoipa::path(operation_id = "getConnectWiseConnection", tag = "connections",
    responses(
        (status = 200, description = "The connection", body = cw::ConnectWiseConnection,
            headers(("ETag" = String, description = "For If-Match on PUT"))),
        (status = 404, description = "Not configured yet", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[get("/connections/connectwise")]
pub async fn get_connectwise_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    read::<ConnectWise>(&state).await
}

/// Save the ConnectWise connection
///
/// Creates or replaces the ConnectWise connection. An omitted `private_key` keeps the stored one;
/// `null` clears it. The secret is encrypted at rest and masked in the audit trail. Role: admin.
/// 412: the connection changed since it was read (`If-Match`). 422: every invalid field, e.g. a
/// site URL that is not https.
#[utoipa::path(operation_id = "putConnectWiseConnection", tag = "connections",
    request_body = cw::PutConnectWiseConnection,
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    responses(
        (status = 200, description = "Saved", body = cw::ConnectWiseConnection,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/connections/connectwise")]
pub async fn put_connectwise_connection(
    auth: Admin,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<cw::ConnectWiseUpdate>,
) -> Result<HttpResponse, ApiError> {
    replace::<ConnectWise>(&state, auth, if_match, body.0).await
}

#[derive(Serialize, ToSchema)]
pub struct ConnectWiseTestResult {
    /// Always true: failures are problem responses.
    pub ok: bool,
    /// The ConnectWise server version, e.g. `v2025.1.10431`.
    pub version: Option<String>,
    /// The API base in use (codebase configured or discovered).
    pub api_base: String,
}

/// Test the ConnectWise connection
///
/// Calls ConnectWise with the stored connection and reports what works, or exactly what fails:
/// wrong keys, missing permissions, unreachable host, TLS, timeout. Nothing is written. Role:
/// admin. 409: not configured yet. 502 and 504: ConnectWise failed or was too slow; `type` and
/// `detail` say how.
#[utoipa::path(operation_id = "testConnectWiseConnection", tag = "connections",
    responses(
        (status = 200, description = "ConnectWise answered", body = ConnectWiseTestResult),
        (status = 409, description = "Not configured yet", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "ConnectWise failed; `type` and `detail` say how",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 504, description = "ConnectWise did not answer in time", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/connections/connectwise/test")]
pub async fn test_connectwise_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (api_base, version) = connections::test_connectwise(&state).await?;
    Ok(HttpResponse::Ok().json(ConnectWiseTestResult {
        ok: true,
        version,
        api_base,
    }))
}

/// Read the Kaspersky connection
///
/// The Kaspersky Security Center connection: server, user, TLS and limits; the password is never
/// shown, only whether one is stored. Role: admin. 404: not configured yet.
#[utoipa::path(operation_id = "getKasperskyConnection", tag = "connections",
    responses(
        (status = 200, description = "The connection", body = ksc::KasperskyConnection,
            headers(("ETag" = String, description = "For If-Match on PUT"))),
        (status = 404, description = "Not configured yet", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[get("/connections/kaspersky")]
pub async fn get_kaspersky_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    read::<Kaspersky>(&state).await
}

/// Save the Kaspersky connection
///
/// Creates or replaces the KSC connection. An omitted `password` keeps the stored one; `null`
/// clears it. The secret is encrypted at rest and masked in the audit trail. Role: admin. 412: the
/// connection changed since it was read (`If-Match`). 422: every invalid field.
#[utoipa::path(operation_id = "putKasperskyConnection", tag = "connections",
    request_body = ksc::PutKasperskyConnection,
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    responses(
        (status = 200, description = "Saved", body = ksc::KasperskyConnection,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/connections/kaspersky")]
pub async fn put_kaspersky_connection(
    auth: Admin,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<ksc::KasperskyUpdate>,
) -> Result<HttpResponse, ApiError> {
    replace::<Kaspersky>(&state, auth, if_match, body.0).await
}

#[derive(Serialize, ToSchema)]
pub struct KasperskyTestResult {
    /// Always true: failures are problem responses.
    pub ok: bool,
    /// Virtual servers (tenants) the account sees.
    pub virtual_servers: usize,
}

/// Test the Kaspersky connection
///
/// Logs in to KSC with the stored connection and lists its virtual servers, or reports exactly what
/// failed: credentials, unreachable host, TLS, timeout. Nothing is stored. Role: admin. 409: not
/// configured yet. 502 and 504: KSC failed or was too slow; `type` and `detail` say how.
#[utoipa::path(operation_id = "testKasperskyConnection", tag = "connections",
    responses(
        (status = 200, description = "KSC answered", body = KasperskyTestResult),
        (status = 409, description = "Not configured yet", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "KSC failed; `type` and `detail` say how",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 504, description = "KSC did not answer in time", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/connections/kaspersky/test")]
pub async fn test_kaspersky_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let virtual_servers = connections::test_kaspersky(&state).await?;
    Ok(HttpResponse::Ok().json(KasperskyTestResult {
        ok: true,
        virtual_servers,
    }))
}
