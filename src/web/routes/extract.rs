//! `Auth<MIN>`: the extractor that authenticates a request and requires a minimum role.
//! Handlers name the role they need through the aliases `Viewer`, `Operator` and `Admin`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};

use crate::adapters::db::audit::Actor;
use crate::runtime::auth::{Principal, Role};
use crate::runtime::state::AppState;
use crate::services::sessions;
use crate::web::error::ApiError;
use crate::web::middleware::{ClientAddress, RequestId};

pub struct Auth<const MIN: u8> {
    pub principal: Principal,
    request_id: Option<String>,
    client_address: Option<String>,
}

pub type Viewer = Auth<0>;
pub type Operator = Auth<1>;
pub type Admin = Auth<2>;

const fn min_role(level: u8) -> Role {
    match level {
        0 => Role::Viewer,
        1 => Role::Operator,
        _ => Role::Admin,
    }
}

impl<const MIN: u8> Auth<MIN> {
    /// The audit actor for changes this request makes.
    pub fn actor(&self) -> Actor {
        self.principal
            .actor(self.request_id.clone(), self.client_address.clone())
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("Send `Authorization: Bearer <token>`.".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("The Authorization header is malformed.".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::Unauthorized(
            "The Authorization header must use the Bearer scheme.".into(),
        )),
    }
}

pub async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState is not registered")))?
        .clone();
    let token = bearer_token(req)?;
    let claims = state.jwt.verify(&token).map_err(ApiError::Unauthorized)?;
    let principal = match state.principals.get(claims.kind, &claims.sub) {
        Some(cached) => cached,
        None => {
            let loaded = sessions::principal(&state, claims.kind, claims.sub.clone()).await?;
            state
                .principals
                .put(claims.kind, &claims.sub, loaded.clone());
            loaded
        }
    };
    let principal = principal.ok_or_else(|| {
        ApiError::Unauthorized("The token's account is disabled, deleted or revoked.".into())
    })?;
    if principal.session_generation != claims.session_generation {
        return Err(ApiError::Unauthorized(
            "The token was ended by a password or role change, a disabled account or a log-out \
             everywhere: log in again."
                .into(),
        ));
    }
    Ok(principal)
}

impl<const MIN: u8> FromRequest for Auth<MIN> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = authenticate(&req).await?;
            let needed = min_role(MIN);
            if principal.role < needed {
                return Err(ApiError::Forbidden(format!(
                    "This needs the {needed} role; the caller is {}.",
                    principal.role
                )));
            }
            let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
            let client_address = req
                .extensions()
                .get::<ClientAddress>()
                .map(|a| a.0.to_string());
            Ok(Auth {
                principal,
                request_id,
                client_address,
            })
        })
    }
}
