use actix_web::{get, web, HttpResponse};

use crate::adapters::metrics::{render, PoolState};
use crate::runtime::state::AppState;

/// Prometheus' text exposition format.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus metrics
///
/// HTTP requests by route, database pool, ConnectWise and KSC calls, sync runs and open notices, in the
/// Prometheus text format. No token: scrapers rarely carry one, and nothing here names a customer.
#[utoipa::path(operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain; version=0.0.4")))]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    let mut text = render(&PoolState {
        max_size: state.pool.max_size(),
        connections: pool.connections,
        idle: pool.idle_connections,
    });
    text.push_str(&state.notice_gauges.lock().expect("gauges lock").render());
    HttpResponse::Ok().content_type(EXPOSITION).body(text)
}
