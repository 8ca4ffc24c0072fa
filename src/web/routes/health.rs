use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::runtime::state::AppState;
use crate::web::error::ApiError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready`, or `degraded` (ready, with `warnings`).
    pub status: String,
    /// What works less well than it should (e.g. log lines being dropped); absent when all is well.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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
        warnings: Vec::new(),
    })
}

/// Readiness
///
/// Answers 200 when the database answers within two seconds, 503 otherwise. While log lines are
/// being dropped (stderr stuck or not writable, e.g. a full disk), it answers 200 with status
/// `degraded` and a warning saying so. No token needed.
#[utoipa::path(operation_id = "readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is unreachable", body = crate::web::error::Problem,
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
            // Serving, but losing log lines: said, not failed (requests must not stop for logs).
            let warnings: Vec<String> = crate::adapters::telemetry::log_trouble()
                .into_iter()
                .collect();
            let status = if warnings.is_empty() {
                "ready"
            } else {
                "degraded"
            };
            return Ok(HttpResponse::Ok().json(Health {
                status: status.into(),
                warnings,
            }));
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
