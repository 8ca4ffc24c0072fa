//! Proofs of identity: logging in and changing one's own password. Both prove a password, so
//! both go through the login throttle the same way: wait the turn it gives, try, and count a
//! failure only when the password was wrong.

use std::future::Future;
use std::net::IpAddr;

use crate::adapters::db::{self, audit::Actor, users::UserRow};
use crate::runtime::auth::throttle::LoginThrottle;
use crate::runtime::auth::{password, principal, Principal, PrincipalKind};
use crate::runtime::state::Core;
use crate::services::accounts::{self, normalize_username, PasswordChange};
use crate::services::{FieldError, ServiceError};

/// The answer to a wrong user name or password: it never says which.
pub const BAD_CREDENTIALS: &str = "Invalid username or password, or the account is disabled.";

/// Runs `proof` under the throttle for (`username`, `address`); `proof` answers `None` when
/// the password was wrong, which counts as a failure.
async fn throttled<T>(
    throttle: &LoginThrottle,
    username: &str,
    address: IpAddr,
    proof: impl Future<Output = Result<Option<T>, ServiceError>>,
) -> Result<Option<T>, ServiceError> {
    let attempt =
        throttle
            .begin(username, address)
            .map_err(|retry_after| ServiceError::Throttled {
                detail: "Too many failed logins; wait before trying again.".into(),
                retry_after,
            })?;
    actix_web::rt::time::sleep(attempt.wait_for_turn()).await;
    let proved = proof.await?;
    match proved {
        Some(_) => attempt.succeeded(),
        None => attempt.failed(),
    }
    Ok(proved)
}

/// The enabled user whose name and password these are; 401 otherwise (and 429 when throttled).
pub async fn log_in(
    ctx: &Core,
    throttle: &LoginThrottle,
    username: &str,
    given_password: String,
    address: IpAddr,
) -> Result<UserRow, ServiceError> {
    let username = normalize_username(username);
    let lookup = username.clone();
    let proof = db::run(&ctx.pool, move |conn| {
        let user = db::users::find_by_username(conn, &lookup)?;
        let ok = password::verify(
            &given_password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        );
        Ok::<_, ServiceError>(user.filter(|u| ok && !u.disabled))
    });
    match throttled(throttle, &username, address, proof).await? {
        Some(user) => Ok(user),
        None => {
            tracing::info!(%username, %address, "failed login");
            Err(ServiceError::Unauthenticated(BAD_CREDENTIALS.into()))
        }
    }
}

/// Changes the caller's own password after proving the current one (throttled like a login);
/// 422 on `current_password` when it is wrong.
// Who, from where, and both passwords: each is a plain input of the one use case.
#[allow(clippy::too_many_arguments)]
pub async fn change_own_password(
    ctx: &Core,
    throttle: &LoginThrottle,
    actor: Actor,
    user_id: String,
    username: &str,
    address: IpAddr,
    current_password: String,
    new_password: String,
) -> Result<(), ServiceError> {
    let change = accounts::change_password(ctx, actor, user_id, current_password, new_password);
    let proof = async {
        match change.await? {
            PasswordChange::Changed => Ok(Some(())),
            PasswordChange::WrongPassword => Ok(None),
            PasswordChange::NoSuchUser => {
                Err(ServiceError::Unauthenticated(BAD_CREDENTIALS.into()))
            }
        }
    };
    match throttled(throttle, username, address, proof).await? {
        Some(()) => Ok(()),
        None => Err(ServiceError::Validation(vec![FieldError::new(
            "current_password",
            "is not correct",
        )])),
    }
}

/// Who a token's subject is now (`None`: disabled, deleted or revoked).
pub async fn principal(
    ctx: &Core,
    kind: PrincipalKind,
    id: String,
) -> Result<Option<Principal>, ServiceError> {
    db::run(&ctx.pool, move |conn| Ok(principal::load(conn, kind, &id)?)).await
}
