use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::audit::{AuditEventRow, AuditFilter};
use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::utc;
use crate::domain::role::Role;
use crate::runtime::state::AppState;
use crate::services::audit;
use crate::web::error::ApiError;
use crate::web::routes::extract::Viewer;
use crate::web::routes::paging::{Page, PageQuery, Paging};

/// Entity types only admins may read the history of (API.md: users, tokens, connections).
const ADMIN_ONLY_ENTITIES: &[&str] = &[
    "user",
    "service_token",
    "connection",
    "notification_channel",
];

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    /// The user's or service token's id; none for the server itself.
    pub actor_id: Option<String>,
    pub actor_name: String,
    /// e.g. `create`, `update`, `delete`, `revoke`.
    pub action: String,
    /// e.g. `user`, `service_token`.
    pub entity_type: String,
    pub entity_id: String,
    /// The entity before the change (secrets masked).
    pub before: Option<serde_json::Value>,
    /// The entity after the change (secrets masked).
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    /// Where the request came from: the connecting address, or behind a trusted reverse proxy
    /// (`BRIDGE_TRUSTED_PROXIES`) the client it names.
    pub client_address: Option<String>,
}

impl From<AuditEventRow> for AuditEvent {
    fn from(r: AuditEventRow) -> Self {
        AuditEvent {
            id: r.id,
            occurred_at: utc(r.occurred_at),
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            before: r.before_json.map(JsonText::into_inner),
            after: r.after_json.map(JsonText::into_inner),
            request_id: r.request_id,
            client_address: r.client_address,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this kind of entity.
    pub entity_type: Option<String>,
    /// Only events about this entity.
    pub entity_id: Option<String>,
    /// Only events by this actor (id or name).
    pub actor: Option<String>,
    /// Only events at or after this moment (RFC 3339, e.g. `2026-12-01T00:00:00Z`).
    pub since: Option<DateTime<Utc>>,
    /// Only events before this moment (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List audit events
///
/// Who changed which configuration, when, and its value before and after (secrets masked), newest
/// first, paged, filtered by entity, actor and time (`since`, `until`). Events about users, service tokens and connections
/// are shown to admins only. Role: any.
#[utoipa::path(operation_id = "listAuditEvents", tag = "audit", params(AuditQuery, PageQuery),
    responses((status = 200, description = "A page of audit events", body = Page<AuditEvent>)))]
#[get("/audit-events")]
pub async fn list_audit_events(
    auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<AuditEvent>>, ApiError> {
    let query = query.into_inner();
    let paging = Paging::new(page.page, page.per_page)?;
    let filter = AuditFilter {
        entity_type: query.entity_type,
        entity_id: query.entity_id,
        actor: query.actor,
        since: query.since.map(|t| t.naive_utc()),
        until: query.until.map(|t| t.naive_utc()),
        hidden_entity_types: if auth.principal.role == Role::Admin {
            Vec::new()
        } else {
            ADMIN_ONLY_ENTITIES.iter().map(|s| s.to_string()).collect()
        },
    };
    let rows = audit::list(&state, filter, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}
