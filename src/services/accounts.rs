//! Account rules shared by the API and the recovery CLI: username rules, the last-admin rule,
//! hashing, and the audit trail of every change.

use crate::adapters::db::{self, audit, audit::Actor, users::UserRow, DbConnection};
use crate::runtime::auth::{password, Role};
use crate::runtime::state::Core;
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::ServiceError;

pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

pub fn check_username(username: &str) -> Result<(), String> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if username.is_empty() || username.len() > 64 || !ok_chars {
        return Err("must be 1 to 64 characters: letters, digits, `.`, `_`, `@` or `-`".into());
    }
    Ok(())
}

/// The audited form of a user: never the password hash.
pub fn audited(u: &UserRow) -> serde_json::Value {
    serde_json::json!({"username": u.username, "role": u.role, "disabled": u.disabled})
}

pub fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("There is no user {id}."))
}

fn is_active_admin(u: &UserRow) -> bool {
    u.role == Role::Admin.as_str() && !u.disabled
}

/// The last active admin may be neither deleted, demoted nor disabled. Called after the change,
/// inside its transaction, when the change took an active admin away.
fn ensure_an_admin_remains(conn: &mut DbConnection) -> Result<(), ServiceError> {
    if db::users::count_active_admins(conn)? == 0 {
        return Err(ServiceError::Conflict(
            "This would leave no active admin; promote or enable another admin first.".into(),
        ));
    }
    Ok(())
}

/// Creates a user (username and password already validated).
pub fn create_user(
    conn: &mut DbConnection,
    actor: &Actor,
    username: &str,
    plain_password: &str,
    role: Role,
    disabled: bool,
) -> Result<UserRow, ServiceError> {
    let now = db::now();
    let row = UserRow {
        id: db::new_id(),
        username: normalize_username(username),
        // Hashing is slow: done before the write lock is taken.
        password_hash: password::hash(plain_password)?,
        role: role.as_str().into(),
        disabled,
        created_at: now,
        updated_at: now,
        session_generation: 0,
    };
    db::write_transaction(conn, "users", |conn| {
        if db::users::find_by_username(conn, &row.username)?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "The username {} is taken.",
                row.username
            )));
        }
        db::users::insert(conn, &row)?;
        audit::record(
            conn,
            actor,
            "create",
            "user",
            &row.id,
            None,
            Some(audited(&row)),
        )?;
        Ok(row)
    })
}

/// Whether a change ends the user's sessions: a new password or role, or a disabled account
/// (re-enabling it must not bring old tokens back).
fn ends_sessions(before: &UserRow, after: &UserRow) -> bool {
    after.password_hash != before.password_hash
        || after.role != before.role
        || (after.disabled && !before.disabled)
}

/// Changes a user under the users lock, refusing changes that leave no active admin. A change
/// of password or role, or a disable, starts a new session generation: every token issued
/// before is refused (the caller invalidates its principal cache).
pub fn update_user(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    change: impl FnOnce(&mut UserRow),
    password_reset: bool,
) -> Result<UserRow, ServiceError> {
    db::write_transaction(conn, "users", |conn| {
        let before = db::users::find(conn, id)?.ok_or_else(|| not_found(id))?;
        let mut after = before.clone();
        change(&mut after);
        after.updated_at = db::now();
        if ends_sessions(&before, &after) {
            after.session_generation += 1;
        }
        db::users::update(conn, &after)?;
        if is_active_admin(&before) && !is_active_admin(&after) {
            ensure_an_admin_remains(conn)?;
        }
        let mut after_audit = audited(&after);
        if password_reset {
            after_audit["password"] = "reset".into();
        }
        audit::record(
            conn,
            actor,
            "update",
            "user",
            id,
            Some(audited(&before)),
            Some(after_audit),
        )?;
        Ok(after)
    })
}

pub fn delete_user(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<(), ServiceError> {
    db::write_transaction(conn, "users", |conn| {
        let before = db::users::find(conn, id)?.ok_or_else(|| not_found(id))?;
        db::users::delete(conn, id)?;
        if is_active_admin(&before) {
            ensure_an_admin_remains(conn)?;
        }
        audit::record(
            conn,
            actor,
            "delete",
            "user",
            id,
            Some(audited(&before)),
            None,
        )?;
        Ok(())
    })
}

/// Sets a new password for `username` (CLI recovery); returns the user.
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &Actor,
    username: &str,
    plain_password: &str,
) -> Result<UserRow, ServiceError> {
    let username = normalize_username(username);
    let user = db::users::find_by_username(conn, &username)?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no user {username}.")))?;
    let hash = password::hash(plain_password)?;
    update_user(conn, actor, &user.id, |u| u.password_hash = hash, true)
}

/// What became of a password change.
pub enum PasswordChange {
    Changed,
    /// The current password given is not the user's.
    WrongPassword,
    /// The account is gone (deleted since the token was issued).
    NoSuchUser,
}

/// Changes a user's own password after checking the current one (a new session generation: every
/// token of the user issued before is refused); audited without either password.
pub async fn change_password(
    ctx: &Core,
    actor: Actor,
    user_id: String,
    current_password: String,
    new_password: String,
) -> Result<PasswordChange, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let Some(mut user) = db::users::find(conn, &user_id)? else {
            return Ok(PasswordChange::NoSuchUser);
        };
        if !password::verify(&current_password, Some(&user.password_hash)) {
            return Ok(PasswordChange::WrongPassword);
        }
        user.password_hash = password::hash(&new_password)?;
        user.updated_at = db::now();
        // Every token issued before, the caller's included, ends here.
        user.session_generation += 1;
        db::write_transaction(conn, "users", |conn| {
            db::users::update(conn, &user)?;
            audit::record(
                conn,
                &actor,
                "change_password",
                "user",
                &user.id,
                None,
                Some(serde_json::json!({"password": "changed"})),
            )?;
            Ok(PasswordChange::Changed)
        })
    })
    .await
}

/// "Log out everywhere": a new session generation for the user, so every token issued to it
/// before is refused; audited. Service tokens are not the user's and are untouched.
pub async fn end_sessions(ctx: &Core, actor: Actor, user_id: String) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, "users", |conn| {
            let mut user = db::users::find(conn, &user_id)?.ok_or_else(|| not_found(&user_id))?;
            user.session_generation += 1;
            user.updated_at = db::now();
            db::users::update(conn, &user)?;
            audit::record(
                conn,
                &actor,
                "end_sessions",
                "user",
                &user.id,
                None,
                Some(serde_json::json!({"sessions": "ended"})),
            )?;
            Ok(())
        })
    })
    .await
}

/// A page of the user accounts, by user name.
pub async fn list(ctx: &Core, page: PageRequest) -> Result<Rows<UserRow>, ServiceError> {
    listing::page(ctx, page, db::users::list).await
}

/// A new account (its name and password already checked against their rules).
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub disabled: bool,
}

/// Creates a user; 409 when the name is taken.
pub async fn create(ctx: &Core, actor: Actor, user: NewUser) -> Result<UserRow, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        create_user(
            conn,
            &actor,
            &user.username,
            &user.password,
            user.role,
            user.disabled,
        )
    })
    .await
}

/// One user; 404 when there is none.
pub async fn find(ctx: &Core, id: String) -> Result<UserRow, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::users::find(conn, &id)?.ok_or_else(|| not_found(&id))
    })
    .await
}

/// An admin's change of a user; `None` keeps a value.
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// A new password (an admin reset).
    pub password: Option<String>,
}

/// Changes a user (see `update_user`); the password is hashed before the write lock is taken.
pub async fn update(
    ctx: &Core,
    actor: Actor,
    id: String,
    change: UserChange,
) -> Result<UserRow, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let new_hash = change.password.as_deref().map(password::hash).transpose()?;
        let password_reset = new_hash.is_some();
        let apply = |u: &mut UserRow| {
            if let Some(role) = change.role {
                u.role = role.as_str().into();
            }
            if let Some(disabled) = change.disabled {
                u.disabled = disabled;
            }
            if let Some(hash) = new_hash {
                u.password_hash = hash;
            }
        };
        update_user(conn, &actor, &id, apply, password_reset)
    })
    .await
}

/// Deletes a user; 409 when it is the last active admin.
pub async fn delete(ctx: &Core, actor: Actor, id: String) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| delete_user(conn, &actor, &id)).await
}
