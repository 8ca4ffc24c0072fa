use actix_web::{delete, get, post, put, web, HttpResponse};

use crate::runtime::state::AppState;
use crate::services::etag::IfMatch;
use crate::services::notification_channels::{
    self as channels, ChannelTestResult, ChannelUpdate, NotificationChannel,
    NotificationChannelInput,
};
use crate::web::error::ApiError;
use crate::web::routes::etag::{ok_with_etag, with_etag};
use crate::web::routes::extract::Admin;
use crate::web::routes::input::ValidJson;

/// List notification channels
///
/// Where billing notices go: each channel with its kinds and minimum severity (never its
/// secret). A small list, whole, by name. Role: admin.
#[utoipa::path(operation_id = "listNotificationChannels", tag = "notifications",
    responses((status = 200, description = "Every channel", body = Vec<NotificationChannel>)))]
#[get("/notification-channels")]
pub async fn list_notification_channels(
    _auth: Admin,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<NotificationChannel>>, ApiError> {
    Ok(web::Json(channels::list(&state).await?))
}

/// Create a notification channel
///
/// A webhook: notices are POSTed as JSON, signed with HMAC-SHA256 over the raw body under the
/// channel's secret (`X-Bridge-Signature: sha256=<hex>`), with `X-Bridge-Delivery` and
/// `X-Bridge-Timestamp`. The secret is write-only and encrypted at rest. Role: admin. 409: the
/// name is taken. 422: every invalid field.
#[utoipa::path(operation_id = "createNotificationChannel", tag = "notifications",
    request_body = NotificationChannelInput,
    responses(
        (status = 201, description = "Created", body = NotificationChannel,
            headers(("Location" = String, description = "The channel's URL"),
                ("ETag" = String, description = "For If-Match"))),
        (status = 409, description = "A channel has this name", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/notification-channels")]
pub async fn create_notification_channel(
    auth: Admin,
    state: web::Data<AppState>,
    body: ValidJson<ChannelUpdate>,
) -> Result<HttpResponse, ApiError> {
    let saved = channels::save(&state, auth.actor(), None, IfMatch::any(), body.0).await?;
    let mut created = HttpResponse::Created();
    created.insert_header((
        "Location",
        format!("/api/v1/notification-channels/{}", saved.id),
    ));
    Ok(with_etag(created, &saved))
}

/// Read a notification channel
///
/// One channel with its `ETag` (its secret only as `secret_set`). Role: admin. 404: no channel
/// has this id.
#[utoipa::path(operation_id = "getNotificationChannel", tag = "notifications",
    params(("id" = String, Path)),
    responses((status = 200, description = "The channel", body = NotificationChannel,
        headers(("ETag" = String, description = "For If-Match")))))]
#[get("/notification-channels/{id}")]
pub async fn get_notification_channel(
    _auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok_with_etag(&channels::get(&state, id.into_inner()).await?))
}

/// Replace a notification channel
///
/// An omitted `secret` keeps the stored one. Role: admin. 404: no channel has this id. 409: the
/// name is taken. 412: it changed since it was read (`If-Match`). 422: every invalid field.
#[utoipa::path(operation_id = "putNotificationChannel", tag = "notifications",
    params(("id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    request_body = NotificationChannelInput,
    responses(
        (status = 200, description = "Saved", body = NotificationChannel,
            headers(("ETag" = String, description = "The new ETag"))),
        (status = 409, description = "A channel has this name", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/notification-channels/{id}")]
pub async fn put_notification_channel(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<ChannelUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = Some(id.into_inner());
    let saved = channels::save(&state, auth.actor(), id, if_match, body.0).await?;
    Ok(ok_with_etag(&saved))
}

/// Delete a notification channel
///
/// Its queued and logged deliveries go with it. Role: admin. 404: no channel has this id. 412:
/// it changed since it was read (`If-Match`).
#[utoipa::path(operation_id = "deleteNotificationChannel", tag = "notifications",
    params(("id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The ETag last read; 412 if it changed since")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 412, description = "Changed since read (If-Match)", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[delete("/notification-channels/{id}")]
pub async fn delete_notification_channel(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    channels::delete(&state, auth.actor(), id.into_inner(), if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Test a notification channel
///
/// Sends a `test` message now, signed and through the allow-list and retries like a notice,
/// and says whether the receiver took it. Role: admin. 404: no channel has this id. 409: the
/// channel cannot be used (its secret is unreadable).
#[utoipa::path(operation_id = "testNotificationChannel", tag = "notifications",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "What the receiver answered", body = ChannelTestResult),
        (status = 409, description = "The channel cannot be used", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/notification-channels/{id}/test")]
pub async fn test_notification_channel(
    _auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<ChannelTestResult>, ApiError> {
    Ok(web::Json(channels::test(&state, id.into_inner()).await?))
}
