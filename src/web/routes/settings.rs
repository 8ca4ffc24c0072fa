//! Server settings resources.

use actix_web::{get, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::routes::extract::{Operator, Viewer};

use crate::adapters::db::billing_settings::BillingSettings;
use crate::runtime::state::AppState;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::settings;
use crate::sync::settings::{Retention, SyncSettings};
use crate::web::error::ApiError;
use crate::web::routes::etag::{ok_with_etag, ok_with_tag};
use crate::web::routes::input::ValidJson;

/// `PUT /api/v1/settings/billing`.
#[derive(Debug, ToSchema)]
pub struct BillingSettingsChange {
    /// Bill per-device applications per device category.
    pub bill_devices_by_category: bool,
    /// Licence tiers bill as applications of their own; left out or null: unchanged. Turning it
    /// on needs every tier in use that folds into a mapped application mapped itself.
    pub bill_licence_tiers: Option<bool>,
}

impl FromJsonBody for BillingSettingsChange {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let bill_devices_by_category = f.required("bill_devices_by_category");
        let bill_licence_tiers = f.optional("bill_licence_tiers");
        Some(BillingSettingsChange {
            bill_devices_by_category: bill_devices_by_category?,
            bill_licence_tiers,
        })
    }
}

/// Read the billing settings
///
/// Whether per-device applications are billed by device category (Windows workstations, Windows
/// servers, other devices) or as one product. Role: any.
#[utoipa::path(operation_id = "getBillingSettings", tag = "settings",
    responses((status = 200, description = "The billing settings", body = BillingSettings,
        headers(("ETag" = String, description = "For `If-Match` on `PUT`")))))]
#[get("/settings/billing")]
pub async fn get_billing_settings(
    _auth: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok_with_etag(&settings::billing(&state).await?))
}

/// Change the billing settings
///
/// Switches category billing on or off, and (on installations upgraded from before licence
/// tiers) lets licence tiers bill on their own. Switching category billing changes which mapping
/// form is in force; the stored mappings of both forms are kept. Turning `bill_licence_tiers` on
/// moves each tier's devices from the application they counted as to the tier's own mapping: the
/// next preview shows it as a move. Role: operator. 412: the settings changed since they were read
/// (`If-Match`). 422: a field is missing or not a boolean, or (turning `bill_licence_tiers` on) a
/// tier that folds into a mapped application is not mapped itself or still shares a name rule
/// with it.
#[utoipa::path(operation_id = "putBillingSettings", tag = "settings",
    params(("If-Match" = Option<String>, Header, description = "The settings' ETag")),
    request_body = BillingSettingsChange,
    responses(
        (status = 200, description = "The billing settings now", body = BillingSettings,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "The settings changed since they were read",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[put("/settings/billing")]
pub async fn put_billing_settings(
    auth: Operator,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<BillingSettingsChange>,
) -> Result<HttpResponse, ApiError> {
    let change = settings::BillingChange {
        bill_devices_by_category: body.0.bill_devices_by_category,
        bill_licence_tiers: body.0.bill_licence_tiers,
    };
    let saved = settings::save_billing(&state, auth.actor(), if_match, change).await?;
    Ok(ok_with_etag(&saved))
}

impl FromJsonBody for Retention {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let runs_days = f.required("runs_days");
        let snapshots_days = f.required("snapshots_days");
        let audit_events_days = f.required("audit_events_days");
        Some(Retention {
            runs_days: runs_days?,
            snapshots_days: snapshots_days?,
            audit_events_days: audit_events_days?,
        })
    }
}

/// `PUT` replaces the whole settings; the rules are checked once every field was read, so
/// one 422 lists every problem.
impl FromJsonBody for SyncSettings {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        // Read-only: a client may send back what it read.
        f.optional::<serde_json::Value>("next_run_at");
        let schedule_enabled = f.required("schedule_enabled");
        let schedule = f.required("schedule");
        let time_zone = f.required("time_zone");
        let effective_date_policy = f.required("effective_date_policy");
        let cancel_date_policy = f.required("cancel_date_policy");
        let max_decrease_percent = f.required("max_decrease_percent");
        // Left out by clients older than the increase guard: the defaults.
        let defaults = SyncSettings::default();
        let max_increase_percent = f
            .absent_or("max_increase_percent")
            .unwrap_or(defaults.max_increase_percent);
        let min_increase_units = f
            .absent_or("min_increase_units")
            .unwrap_or(defaults.min_increase_units);
        let hold_first_billing = f
            .absent_or("hold_first_billing")
            .unwrap_or(defaults.hold_first_billing);
        let held_notice_after_hours = f
            .absent_or("held_notice_after_hours")
            .unwrap_or(defaults.held_notice_after_hours);
        let held_money_notice_threshold = match f.patch("held_money_notice_threshold") {
            Patch::Value(amount) => Some(amount),
            Patch::Null => None,
            Patch::Absent => defaults.held_money_notice_threshold,
        };
        let max_usage_age_hours = f.required("max_usage_age_hours");
        let retention = match f.required::<serde_json::Value>("retention") {
            Some(value) => f.nested("retention", value),
            None => None,
        };
        let settings = SyncSettings {
            schedule_enabled: schedule_enabled?,
            schedule: schedule?,
            time_zone: time_zone?,
            effective_date_policy: effective_date_policy?,
            cancel_date_policy: cancel_date_policy?,
            max_decrease_percent: max_decrease_percent?,
            max_increase_percent,
            min_increase_units,
            hold_first_billing,
            held_notice_after_hours,
            held_money_notice_threshold,
            max_usage_age_hours: max_usage_age_hours?,
            retention: retention?,
        };
        for problem in settings.problems() {
            f.error(&problem.field, problem.message);
        }
        Some(settings)
    }
}

/// The sync settings with when the scheduler fires next.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncSettingsView {
    #[serde(flatten)]
    pub settings: SyncSettings,
    /// Read-only: the next scheduled run; null when the schedule is off. Ignored on `PUT`.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The ETag is the stored settings' (not the view's), so it does not change as time passes.
fn sync_settings_response(settings: SyncSettings) -> HttpResponse {
    let etag = etag_of(&settings);
    let view = SyncSettingsView {
        next_run_at: settings.next_run_at(Utc::now()),
        settings,
    };
    ok_with_tag(etag, &view)
}

/// Read the sync settings
///
/// The schedule (cron and time zone), the date policies, the safety limits and the retention of old
/// records, with the next scheduled run. Role: any.
#[utoipa::path(operation_id = "getSyncSettings", tag = "settings",
    responses((status = 200, description = "The sync settings", body = SyncSettingsView,
        headers(("ETag" = String, description = "For `If-Match` on `PUT`")))))]
#[get("/settings/sync")]
pub async fn get_sync_settings(
    _auth: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(sync_settings_response(settings::sync(&state).await?))
}

/// Replace the sync settings
///
/// Replaces every sync setting. A schedule or time zone change applies at the next scheduler check,
/// within a minute, without a restart. Role: operator. 412: the settings changed since they were
/// read (`If-Match`). 422: every invalid field (cron expression, time zone, ranges).
#[utoipa::path(operation_id = "putSyncSettings", tag = "settings",
    params(("If-Match" = Option<String>, Header, description = "The settings' ETag")),
    request_body = SyncSettings,
    responses(
        (status = 200, description = "The sync settings now", body = SyncSettingsView,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 412, description = "The settings changed since they were read",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field (cron expression, time zone, ranges)",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[put("/settings/sync")]
pub async fn put_sync_settings(
    auth: Operator,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<SyncSettings>,
) -> Result<HttpResponse, ApiError> {
    let saved = settings::save_sync(&state, auth.actor(), if_match, body.0).await?;
    Ok(sync_settings_response(saved))
}
