//! Service tokens: created and revoked with an audit event each (the JWT itself is issued by
//! the handler, which shows it once).

use chrono::{DateTime, Utc};

use crate::adapters::db::{self, audit, audit::Actor, service_tokens::ServiceTokenRow, utc};
use crate::runtime::auth::Role;
use crate::runtime::state::Core;
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::ServiceError;

/// Creates a service token with `role`, valid until `expires_at` (for ever without it);
/// answers the stored token, whose JWT the caller issues.
pub async fn create(
    ctx: &Core,
    actor: Actor,
    name: String,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> Result<ServiceTokenRow, ServiceError> {
    let row = ServiceTokenRow {
        id: db::new_id(),
        name,
        role: role.as_str().into(),
        created_by: actor.id.clone(),
        created_at: db::now(),
        expires_at: expires_at.map(|e| e.naive_utc()),
        revoked_at: None,
    };
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, "service_tokens", |conn| {
            db::service_tokens::insert(conn, &row)?;
            let after = serde_json::json!({"name": row.name, "role": row.role,
                "expires_at": row.expires_at.map(utc)});
            audit::record(
                conn,
                &actor,
                "create",
                "service_token",
                &row.id,
                None,
                Some(after),
            )?;
            Ok(row)
        })
    })
    .await
}

/// Revokes a token (a token already revoked stays as it is); 404 when there is none.
pub async fn revoke(ctx: &Core, actor: Actor, id: String) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, "service_tokens", |conn| {
            let token = db::service_tokens::find(conn, &id)?.ok_or_else(|| {
                ServiceError::NotFound(format!("There is no service token {id}."))
            })?;
            if token.revoked_at.is_none() {
                let now = db::now();
                db::service_tokens::revoke(conn, &id, now)?;
                audit::record(
                    conn,
                    &actor,
                    "revoke",
                    "service_token",
                    &id,
                    Some(serde_json::json!({"revoked_at": null})),
                    Some(serde_json::json!({"revoked_at": utc(now)})),
                )?;
            }
            Ok(())
        })
    })
    .await
}

/// A page of the service tokens.
pub async fn list(ctx: &Core, page: PageRequest) -> Result<Rows<ServiceTokenRow>, ServiceError> {
    listing::page(ctx, page, db::service_tokens::list).await
}
