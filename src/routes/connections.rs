use actix_web::{get, post, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Admin;
use crate::connections::{self, connectwise as cw};
use crate::db::{self, audit};
use crate::error::ApiError;
use crate::routes::etag::{etag_of, ok_with_etag, IfMatch};
use crate::routes::input::ValidJson;
use crate::routes::views::utc;
use crate::state::AppState;

/// The ConnectWise connection (the private key is never shown).
#[utoipa::path(operation_id = "getConnectWiseConnection", tag = "connections",
    responses(
        (status = 200, description = "The connection", body = cw::ConnectWiseConnection,
            headers(("ETag" = String, description = "For If-Match on PUT"))),
        (status = 404, description = "Not configured yet", body = crate::error::Problem,
            content_type = "application/problem+json")))]
#[get("/connections/connectwise")]
pub async fn get_connectwise_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let secrets = state.secrets.clone();
    let stored = db::run(&state.pool, move |conn| {
        connections::load::<cw::ConnectWiseSettings, cw::ConnectWiseSecrets>(
            conn,
            &secrets,
            cw::KIND,
        )
    })
    .await?
    .ok_or_else(|| {
        ApiError::NotFound("The ConnectWise connection is not configured yet.".into())
    })?;
    Ok(ok_with_etag(&cw::ConnectWiseConnection::new(
        &stored.settings,
        &stored.secrets,
        utc(stored.updated_at),
    )))
}

/// Create or replace the ConnectWise connection. Audited with secrets masked.
#[utoipa::path(operation_id = "putConnectWiseConnection", tag = "connections",
    request_body = cw::PutConnectWiseConnection,
    params(("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    responses(
        (status = 200, description = "Saved", body = cw::ConnectWiseConnection,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "Changed since read (If-Match)", body = crate::error::Problem,
            content_type = "application/problem+json")))]
#[put("/connections/connectwise")]
pub async fn put_connectwise_connection(
    auth: Admin,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<cw::ConnectWiseUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (update, actor, secrets) = (body.0, auth.actor(), state.secrets.clone());
    let saved = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, "connection:connectwise", |conn| {
            let stored = connections::load::<cw::ConnectWiseSettings, cw::ConnectWiseSecrets>(
                conn,
                &secrets,
                cw::KIND,
            )?;
            let before = stored.as_ref().map(|s| {
                cw::ConnectWiseConnection::new(&s.settings, &s.secrets, utc(s.updated_at))
            });
            if_match.check_current(before.as_ref().map(etag_of).as_deref())?;
            let (settings, new_secrets) = update.apply(stored.as_ref().map(|s| &s.secrets));
            let updated_at = connections::save(conn, &secrets, cw::KIND, &settings, &new_secrets)?;
            let after = cw::ConnectWiseConnection::new(&settings, &new_secrets, utc(updated_at));
            // The view holds no secret, only whether one is set.
            let audited = |v: &cw::ConnectWiseConnection| serde_json::to_value(v).ok();
            audit::record(
                conn,
                &actor,
                if before.is_some() { "update" } else { "create" },
                "connection",
                cw::KIND,
                before.as_ref().and_then(audited),
                audited(&after),
            )?;
            Ok::<_, ApiError>(after)
        })
    })
    .await?;
    Ok(ok_with_etag(&saved))
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionTestResult {
    /// Always true: failures are problem responses.
    pub ok: bool,
    /// The ConnectWise server version, e.g. `v2025.1.10431`.
    pub version: Option<String>,
    /// The codebase in use (configured or discovered).
    pub api_base: String,
}

/// Call ConnectWise with the stored connection and report what works or exactly what fails
/// (wrong keys, missing permissions, unreachable host, TLS, timeout).
#[utoipa::path(operation_id = "testConnectWiseConnection", tag = "connections",
    responses(
        (status = 200, description = "ConnectWise answered", body = ConnectionTestResult),
        (status = 409, description = "Not configured yet", body = crate::error::Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "ConnectWise failed; `type` and `detail` say how",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 504, description = "ConnectWise did not answer in time", body = crate::error::Problem,
            content_type = "application/problem+json")))]
#[post("/connections/connectwise/test")]
pub async fn test_connectwise_connection(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let client = cw::one_shot_client(&state).await?;
    let api_base = client.api_base().await.map_err(cw::upstream_error)?;
    let info = client.system_info().await.map_err(cw::upstream_error)?;
    Ok(HttpResponse::Ok().json(ConnectionTestResult {
        ok: true,
        version: info.version,
        api_base: api_base.to_string(),
    }))
}
