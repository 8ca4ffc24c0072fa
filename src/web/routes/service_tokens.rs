use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::utc;
use crate::adapters::db::{self, service_tokens::ServiceTokenRow};
use crate::domain::role::Role;
use crate::domain::validation::trim_blank;
use crate::runtime::auth::jwt::Subject;
use crate::runtime::auth::PrincipalKind;
use crate::runtime::state::AppState;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::service_tokens;
use crate::web::error::ApiError;
use crate::web::routes::extract::Admin;
use crate::web::routes::input::ValidJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

/// Service tokens without an expiry still carry one in the JWT (which requires `exp`): far
/// enough away to never matter, while revocation stays the way to end them.
const NO_EXPIRY_YEARS: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceTokenView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Neither revoked nor expired.
    pub active: bool,
}

impl From<ServiceTokenRow> for ServiceTokenView {
    fn from(t: ServiceTokenRow) -> Self {
        let now = db::now();
        ServiceTokenView {
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role,
            created_by: t.created_by.clone(),
            created_at: utc(t.created_at),
            expires_at: t.expires_at.map(utc),
            revoked_at: t.revoked_at.map(utc),
            active: t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now),
        }
    }
}

/// A new service token: the only time its JWT is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedServiceToken {
    #[serde(flatten)]
    pub service_token: ServiceTokenView,
    /// The bearer token. Store it now: it cannot be shown again.
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceToken {
    /// What the token is for, e.g. `rmm-nightly-push`.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    pub role: Role,
    /// When the token stops working, in the future; none = until revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

impl FromJsonBody for CreateServiceToken {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let name = f
            .required::<String>("name")
            .map(|n| trim_blank(&n).to_string());
        if let Some(n) = &name {
            if n.is_empty() || n.chars().count() > 100 {
                f.error("name", "must be 1 to 100 characters");
            }
        }
        let role = f.required::<Role>("role");
        let expires_at = f.optional::<DateTime<Utc>>("expires_at");
        if expires_at.is_some_and(|e| e <= Utc::now()) {
            f.error("expires_at", "must be in the future");
        }
        Some(CreateServiceToken {
            name: name?,
            role: role?,
            expires_at,
        })
    }
}

/// List service tokens
///
/// The long-lived tokens for automation, newest first, revoked ones included (never their JWTs).
/// Role: admin.
#[utoipa::path(operation_id = "listServiceTokens", tag = "service-tokens", params(PageQuery),
    responses((status = 200, description = "A page of service tokens, newest first",
        body = Page<ServiceTokenView>)))]
#[get("/service-tokens")]
pub async fn list_service_tokens(
    _auth: Admin,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<ServiceTokenView>>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(web::Json(
        paging.of(service_tokens::list(&state, paging.request()).await?),
    ))
}

/// Create a service token
///
/// Creates a long-lived token with a role, for scripts and integrations. Its JWT (`token`) is in
/// this answer only: store it now. Role: admin. 422: the name is empty or too long, or the role is
/// unknown.
#[utoipa::path(operation_id = "createServiceToken", tag = "service-tokens",
    request_body = CreateServiceToken,
    responses((status = 201, description = "Created", body = CreatedServiceToken,
        headers(("Location" = String, description = "The token's URL")))))]
#[post("/service-tokens")]
pub async fn create_service_token(
    auth: Admin,
    state: web::Data<AppState>,
    body: ValidJson<CreateServiceToken>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    let row = service_tokens::create(
        &state,
        auth.actor(),
        input.name,
        input.role,
        input.expires_at,
    )
    .await?;
    let exp = input.expires_at.map(|e| e.timestamp()).unwrap_or_else(|| {
        (Utc::now() + chrono::Duration::days(365 * NO_EXPIRY_YEARS)).timestamp()
    });
    let token = state.jwt.issue(
        &Subject::service(&row.id, input.role),
        row.created_at.and_utc().timestamp(),
        exp,
    );
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/service-tokens/{}", row.id)))
        .json(CreatedServiceToken {
            service_token: ServiceTokenView::from(row),
            token,
        }))
}

/// Revoke a service token
///
/// Revokes a service token: refused at once by this process and within 5 seconds by others.
/// Revoking one twice is not an error. Role: admin. 404: no service token has this id.
#[utoipa::path(operation_id = "revokeServiceToken", tag = "service-tokens",
    params(("id" = String, Path)),
    responses((status = 204, description = "Revoked (or already revoked)")))]
#[delete("/service-tokens/{id}")]
pub async fn revoke_service_token(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let revoked = id.into_inner();
    service_tokens::revoke(&state, auth.actor(), revoked.clone()).await?;
    state
        .principals
        .invalidate(PrincipalKind::Service, &revoked);
    Ok(HttpResponse::NoContent().finish())
}
