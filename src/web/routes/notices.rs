use actix_web::{get, post, web};

use crate::runtime::state::AppState;
use crate::services::notices::{self, Notice, NoticeFilter};
use crate::web::error::ApiError;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::paging::{Page, PageQuery, Paging};

/// List notices
///
/// Billing notices (a run that did not succeed, lines held too long, unknown licence keys, an
/// unmapped tenant, an inactive mapped product, a failing connection test), newest first, each
/// with its deliveries to the channels (attempts, last status): open ones by default,
/// `state=all` for past ones too. Role: any.
#[utoipa::path(operation_id = "listNotifications", tag = "notifications",
    params(NoticeFilter, PageQuery),
    responses((status = 200, description = "A page of notices", body = Page<Notice>)))]
#[get("/notifications")]
pub async fn list_notifications(
    _auth: Viewer,
    state: web::Data<AppState>,
    filter: web::Query<NoticeFilter>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Notice>>, ApiError> {
    let paging = Paging::new(page.page, page.per_page)?;
    let state_filter = filter.state.unwrap_or_default();
    let rows = notices::list(&state, state_filter, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}

/// Acknowledge a notice
///
/// Says someone takes care of it; it stays open until its cause is gone. Acknowledging twice
/// keeps the first. Role: operator. 404: no notice has this id.
#[utoipa::path(operation_id = "acknowledgeNotification", tag = "notifications",
    params(("id" = String, Path)),
    responses((status = 200, description = "The notice, acknowledged", body = Notice)))]
#[post("/notifications/{id}/acknowledge")]
pub async fn acknowledge_notification(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Notice>, ApiError> {
    let notice = notices::acknowledge(&state, auth.actor(), id.into_inner()).await?;
    Ok(web::Json(notice))
}
