//! Server settings resources.

use actix_web::{get, put, web, HttpResponse};

use crate::auth::{Operator, Viewer};
use crate::db::{self, audit, billing_settings::BillingSettings};
use crate::error::ApiError;
use crate::products::PRODUCTS_LOCK;
use crate::routes::etag::{etag_of, ok_with_etag, IfMatch};
use crate::routes::input::{FromJsonBody, JsonFields, ValidJson};
use crate::state::AppState;

impl FromJsonBody for BillingSettings {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        Some(BillingSettings {
            bill_devices_by_category: f.required("bill_devices_by_category")?,
        })
    }
}

/// The billing settings.
#[utoipa::path(operation_id = "getBillingSettings", tag = "settings",
    responses((status = 200, description = "The billing settings", body = BillingSettings,
        headers(("ETag" = String, description = "For `If-Match` on `PUT`")))))]
#[get("/settings/billing")]
pub async fn get_billing_settings(
    _auth: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = db::run(&state.pool, |conn| Ok(db::billing_settings::get(conn)?)).await?;
    Ok(ok_with_etag(&settings))
}

/// Change the billing settings. Switching `bill_devices_by_category` changes which mapping
/// form is in force; the stored mappings of both forms are kept.
#[utoipa::path(operation_id = "putBillingSettings", tag = "settings",
    params(("If-Match" = Option<String>, Header, description = "The settings' ETag")),
    request_body = BillingSettings,
    responses(
        (status = 200, description = "The billing settings now", body = BillingSettings,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "The settings changed since they were read",
            body = crate::error::Problem, content_type = "application/problem+json")))]
#[put("/settings/billing")]
pub async fn put_billing_settings(
    auth: Operator,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<BillingSettings>,
) -> Result<HttpResponse, ApiError> {
    let (after, actor) = (body.0, auth.actor());
    let saved = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
            let before = db::billing_settings::get(conn)?;
            if_match.check(&etag_of(&before))?;
            if before != after {
                db::billing_settings::put(conn, &after)?;
                audit::record(
                    conn,
                    &actor,
                    "update",
                    "billing_settings",
                    "billing",
                    Some(serde_json::to_value(&before).expect("settings serialise")),
                    Some(serde_json::to_value(&after).expect("settings serialise")),
                )?;
            }
            Ok::<_, ApiError>(after)
        })
    })
    .await?;
    Ok(ok_with_etag(&saved))
}
