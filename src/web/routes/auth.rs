use std::net::{IpAddr, Ipv4Addr};

use actix_web::{get, post, put, web, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::runtime::auth::jwt::Subject;
use crate::runtime::auth::{password, PrincipalKind, Role};
use crate::runtime::state::AppState;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::{accounts, sessions};
use crate::web::error::ApiError;
use crate::web::middleware::ClientAddress;
use crate::web::routes::extract::Viewer;
use crate::web::routes::input::ValidJson;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl FromJsonBody for LoginRequest {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let username = f.required::<String>("username");
        let password = f.required::<String>("password");
        Some(LoginRequest {
            username: username?,
            password: password?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub role: Role,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub kind: PrincipalKind,
    /// The username, or the service token's name.
    pub name: String,
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters, not only white space.
    #[schema(min_length = 10, pattern = "\\S")]
    pub new_password: String,
}

impl FromJsonBody for ChangePasswordRequest {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let current_password = f.required::<String>("current_password");
        let new_password = f.required::<String>("new_password");
        if let Some(p) = &new_password {
            f.check("new_password", password::check_strength(p));
        }
        Some(ChangePasswordRequest {
            current_password: current_password?,
            new_password: new_password?,
        })
    }
}

fn client_address(req: &HttpRequest) -> IpAddr {
    req.extensions()
        .get::<ClientAddress>()
        .map(|a| a.0)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Log in with a username and password
///
/// Exchanges a username and password for a bearer token (`access_token`, valid for `expires_in`
/// seconds) to send as `Authorization: Bearer <token>`. No token needed. 401: the username or
/// password is wrong, or the account is disabled (the answer does not say which). 429: too many
/// failed attempts for this account or address; wait `Retry-After` seconds.
#[utoipa::path(operation_id = "login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Wrong credentials or disabled account", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see `Retry-After`",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.0;
    let address = client_address(&req);
    let user =
        sessions::log_in(&state, &state.login_throttle, &username, password, address).await?;
    let role = Role::parse(&user.role).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("user {} has role {:?}", user.id, user.role))
    })?;
    let ttl = state.settings.jwt_ttl;
    let token = state.jwt.issue_for(
        &Subject {
            id: &user.id,
            kind: PrincipalKind::User,
            role,
            session_generation: user.session_generation,
        },
        ttl,
    );
    Ok(HttpResponse::Ok().json(LoginResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ttl.as_secs(),
        role,
    }))
}

/// Who am I
///
/// The account the token belongs to: a user or a service token, with its current role (a role
/// change applies to tokens already issued within 5 seconds). Role: any. 401: the token is missing,
/// invalid, expired or its account was disabled, deleted or revoked.
#[utoipa::path(operation_id = "getMe", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)))]
#[get("/auth/me")]
pub async fn me(auth: Viewer) -> HttpResponse {
    let p = auth.principal;
    HttpResponse::Ok().json(Me {
        id: p.id,
        kind: p.kind,
        name: p.name,
        role: p.role,
    })
}

/// Change my password
///
/// Changes the caller's own password, proving the current one. Every token of the user issued
/// before, this one included, is refused from then on: log in again with the new password. Role:
/// any user; a service token gets 403 (it has no password). 422: the
/// current password is wrong or the new one breaks the password rules (`errors` says which). 429:
/// too many wrong current passwords; wait `Retry-After` seconds.
#[utoipa::path(operation_id = "changeMyPassword", tag = "auth", request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 429, description = "Too many wrong current passwords", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/auth/me/password")]
pub async fn change_my_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Viewer,
    body: ValidJson<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    if auth.principal.kind != PrincipalKind::User {
        return Err(ApiError::Forbidden(
            "Service tokens have no password.".into(),
        ));
    }
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.0;
    sessions::change_own_password(
        &state,
        &state.login_throttle,
        auth.actor(),
        auth.principal.id.clone(),
        &auth.principal.name,
        client_address(&req),
        current_password,
        new_password,
    )
    .await?;
    state
        .principals
        .invalidate(PrincipalKind::User, &auth.principal.id);
    Ok(HttpResponse::NoContent().finish())
}

/// Log out everywhere
///
/// Ends every session of the calling user: every token issued to it before, this one included,
/// is refused from then on — at once by this server, within 5 seconds by the others. Service
/// tokens are not a user's and are untouched (revoke one with `DELETE
/// /api/v1/service-tokens/{id}`). Role: any user; a service token gets 403.
#[utoipa::path(operation_id = "endMySessions", tag = "auth",
    responses(
        (status = 204, description = "Every session of the caller ended"),
        (status = 403, description = "A service token has no sessions to end",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/auth/me/sessions/revoke")]
pub async fn end_my_sessions(
    state: web::Data<AppState>,
    auth: Viewer,
) -> Result<HttpResponse, ApiError> {
    if auth.principal.kind != PrincipalKind::User {
        return Err(ApiError::Forbidden(
            "A service token has no sessions; revoke it with DELETE /api/v1/service-tokens/{id}."
                .into(),
        ));
    }
    let (user_id, actor) = (auth.principal.id.clone(), auth.actor());
    accounts::end_sessions(&state, actor, user_id).await?;
    state
        .principals
        .invalidate(PrincipalKind::User, &auth.principal.id);
    Ok(HttpResponse::NoContent().finish())
}
