use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::users::UserRow;
use crate::adapters::db::utc;
use crate::runtime::auth::{password, PrincipalKind, Role};
use crate::runtime::state::AppState;
use crate::services::accounts::{self, check_username, normalize_username};
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::web::error::ApiError;
use crate::web::routes::extract::Admin;
use crate::web::routes::input::ValidJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            role: Role::parse(&u.role).unwrap_or(Role::Viewer),
            disabled: u.disabled,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Stored lower-case; letters, digits, `.`, `_`, `@`, `-`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub username: String,
    /// At least 10 characters, not only white space.
    #[schema(min_length = 10, pattern = "\\S")]
    pub password: String,
    pub role: Role,
    /// A disabled user cannot log in.
    #[serde(default)]
    #[schema(value_type = Option<bool>, default = false)]
    pub disabled: bool,
}

impl FromJsonBody for CreateUser {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let username = f
            .required::<String>("username")
            .map(|u| normalize_username(&u));
        if let Some(u) = &username {
            f.check("username", check_username(u));
        }
        let password = f.required::<String>("password");
        if let Some(p) = &password {
            f.check("password", password::check_strength(p));
        }
        let role = f.required::<Role>("role");
        let disabled = f.optional::<bool>("disabled").unwrap_or(false);
        Some(CreateUser {
            username: username?,
            password: password?,
            role: role?,
            disabled,
        })
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Sets a new password (an admin reset): at least 10 characters, not only white space.
    #[schema(min_length = 10, pattern = "\\S")]
    pub password: Option<String>,
}

impl FromJsonBody for UpdateUser {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let role = f.optional::<Role>("role");
        let disabled = f.optional::<bool>("disabled");
        let password = f.optional::<String>("password");
        if let Some(p) = &password {
            f.check("password", password::check_strength(p));
        }
        Some(UpdateUser {
            role,
            disabled,
            password,
        })
    }
}

/// List users
///
/// Every user account, ordered by username, paged. Role: admin.
#[utoipa::path(operation_id = "listUsers", tag = "users", params(PageQuery),
    responses((status = 200, description = "A page of users", body = Page<UserView>)))]
#[get("/users")]
pub async fn list_users(
    _auth: Admin,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<UserView>>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    Ok(web::Json(
        paging.of(accounts::list(&state, paging.request()).await?),
    ))
}

/// Create a user
///
/// Creates a login account with a role (`viewer`, `operator` or `admin`). Role: admin. 409: the
/// username is taken. 422: a field is missing or breaks its rule (username characters, password
/// length); `errors` lists every problem.
#[utoipa::path(operation_id = "createUser", tag = "users", request_body = CreateUser,
    responses(
        (status = 201, description = "Created", body = UserView,
            headers(("Location" = String, description = "The new user's URL"))),
        (status = 409, description = "The username is taken", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/users")]
pub async fn create_user(
    auth: Admin,
    state: web::Data<AppState>,
    body: ValidJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    let new_user = accounts::NewUser {
        username: input.username,
        password: input.password,
        role: input.role,
        disabled: input.disabled,
    };
    let user = accounts::create(&state, auth.actor(), new_user).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserView::from(user)))
}

/// Read a user
///
/// One user account (never its password). Role: admin. 404: no user has this id.
#[utoipa::path(operation_id = "getUser", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "The user", body = UserView)))]
#[get("/users/{id}")]
pub async fn get_user(
    _auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<UserView>, ApiError> {
    let user = accounts::find(&state, id.into_inner()).await?;
    Ok(web::Json(UserView::from(user)))
}

/// Change a user
///
/// Changes a user's role, disabled flag or password; fields left out keep their value. A new
/// password or role, or a disable, ends the user's sessions: every token issued to it before is
/// refused — at once by this server, within 5 seconds by the others (re-enabling the account
/// brings none back). Role: admin. 409: the change would leave no active admin. 422: a field
/// breaks its rule.
#[utoipa::path(operation_id = "updateUser", tag = "users", params(("id" = String, Path)),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "The updated user", body = UserView),
        (status = 409, description = "It would leave no active admin", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[patch("/users/{id}")]
pub async fn update_user(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<UpdateUser>,
) -> Result<web::Json<UserView>, ApiError> {
    let UpdateUser {
        role,
        disabled,
        password,
    } = body.0;
    let change = accounts::UserChange {
        role,
        disabled,
        password,
    };
    let user = accounts::update(&state, auth.actor(), id.into_inner(), change).await?;
    state.principals.invalidate(PrincipalKind::User, &user.id);
    Ok(web::Json(UserView::from(user)))
}

/// Delete a user
///
/// Deletes a user account; its tokens are refused within 5 seconds. Audit events keep its name.
/// Role: admin. 404: no user has this id. 409: it is the last active admin.
#[utoipa::path(operation_id = "deleteUser", tag = "users", params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "It would leave no active admin", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[delete("/users/{id}")]
pub async fn delete_user(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    accounts::delete(&state, auth.actor(), id.clone()).await?;
    state.principals.invalidate(PrincipalKind::User, &id);
    Ok(HttpResponse::NoContent().finish())
}

/// End a user's sessions
///
/// Ends every session of a user (lost laptop, leaver): every token issued to it before is refused
/// from then on — at once by this server, within 5 seconds by the others. Its password stays;
/// service tokens are untouched. Role: admin. 404: no user has this id.
#[utoipa::path(operation_id = "endUserSessions", tag = "users", params(("id" = String, Path)),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 404, description = "No user has this id", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/users/{id}/sessions/revoke")]
pub async fn end_user_sessions(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    accounts::end_sessions(&state, auth.actor(), id.clone()).await?;
    state.principals.invalidate(PrincipalKind::User, &id);
    Ok(HttpResponse::NoContent().finish())
}
