//! The reconciliation report: billed against deployed, in JSON or as a CSV for a spreadsheet.

use std::fmt::Write;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::runtime::state::AppState;
use crate::services::reconciliation::{self, Filter, ReadingSource, Reconciliation};
use crate::web::error::ApiError;
use crate::web::routes::extract::Viewer;
use crate::web::routes::paging::{PageQuery, Paging};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    /// Only this ConnectWise company.
    #[param(minimum = 1)]
    pub company: Option<i64>,
    /// Only companies with a line whose billed units or amount differ from what is deployed.
    pub differences_only: Option<bool>,
    /// `live` (the default): read ConnectWise now; `last_run`: what the last run read, after
    /// its own writes.
    pub source: Option<ReadingSource>,
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().starts_with("text/csv"))
}

/// A field of a CSV row, quoted when it must be (RFC 4180), and never read as a formula by a
/// spreadsheet.
fn cell(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@') if text.parse::<f64>().is_err() => format!("'{text}"),
        _ => text.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv(report: &Reconciliation) -> String {
    let mut out = String::from(
        "company_id,company,agreement_id,state,product_id,units_deployed,units_due,units_billed,\
         unit_price,amount_billed,amount_deployed,difference\r\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for c in &report.companies {
        let state = serde_json::to_value(c.state).unwrap_or_default();
        for l in &c.lines {
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
                c.cw_company_id,
                cell(&c.cw_company_name),
                c.agreement_id,
                state.as_str().unwrap_or_default(),
                l.product_id,
                opt(l.units_deployed.map(|u| u.to_string())),
                opt(l.units_due.map(|u| u.to_string())),
                l.units_billed,
                opt(l.unit_price.map(|p| p.to_string())),
                l.amount_billed,
                opt(l.amount_deployed.map(|a| a.to_string())),
                opt(l.difference.map(|a| a.to_string())),
            );
        }
    }
    out
}

/// Reconcile billed against deployed
///
/// Per company (paged, by name) and product line: the units deployed (latest usage), the units
/// the company's terms bill for them, the units billed by the ConnectWise additions in force
/// today (managed or hand-made), the unit price, the monthly amount billed and the amount at
/// deployed units, and the difference (positive: under-billed); totals per company and overall;
/// usage nothing bills with its amount at catalog price. The billed side is read from
/// ConnectWise live (`source`, `read_at`). With `Accept: text/csv`, the lines of the page as a
/// spreadsheet. Amounts are decimal strings. Role: any. 409: ConnectWise is not configured.
/// 502 and 504: ConnectWise failed or was too slow.
#[utoipa::path(operation_id = "getReconciliation", tag = "billing",
    params(ReconciliationQuery, PageQuery),
    responses(
        (status = 200, description = "The report", content(
            (Reconciliation = "application/json"),
            (String = "text/csv"))),
        crate::web::error::ConnectWiseFailures))]
#[get("/reports/reconciliation")]
pub async fn get_reconciliation(
    _auth: Viewer,
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ReconciliationQuery>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::new(page.page, page.per_page)?;
    if query.company.is_some_and(|id| id < 1) {
        return Err(ApiError::validation(
            "company",
            "must be a ConnectWise id (a whole number of at least 1)",
        ));
    }
    let filter = Filter {
        cw_company_id: query.company,
        differences_only: query.differences_only.unwrap_or(false),
        source: query.source.unwrap_or_default(),
    };
    let report = reconciliation::report(&state, filter, paging.request()).await?;
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reconciliation.csv\"",
            ))
            .body(csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}
