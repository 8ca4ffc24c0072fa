use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: String,
}

/// Liveness
///
/// Answers 200 while the process runs; it does not touch the database. No token needed. `HEAD`
/// works too.
#[utoipa::path(operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness
///
/// Answers 200 when the database answers within two seconds, 503 otherwise. No token needed.
#[utoipa::path(operation_id = "readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is unreachable", body = crate::error::Problem,
            content_type = "application/problem+json")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = state.pool.clone();
    let ping = web::block(move || -> Result<(), String> {
        use diesel::connection::SimpleConnection;
        let mut conn = pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        conn.batch_execute("SELECT 1").map_err(|e| e.to_string())
    });
    let why = match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(Ok(()))) => {
            return Ok(HttpResponse::Ok().json(Health {
                status: "ready".into(),
            }))
        }
        Ok(Ok(Err(database))) => database,
        Ok(Err(blocking)) => blocking.to_string(),
        Err(_) => "no answer within 3 s".into(),
    };
    tracing::warn!(error = %why, "readiness check failed");
    Err(ApiError::ServiceUnavailable(
        "The database is not reachable.".into(),
    ))
}
