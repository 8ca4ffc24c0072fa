//! Settings values (billing, sync) replaced whole: `If-Match` checked under their lock, audited.

use diesel::QueryResult;
use serde::Serialize;

use crate::db::{self, audit, audit::Actor, DbConnection, DbPool};
use crate::services::etag::{etag_of, IfMatch};
use crate::services::ServiceError;

/// Where one settings value lives and how it is audited.
pub struct SettingsStore<T> {
    /// The write lock it is changed under.
    pub lock: &'static str,
    pub entity_type: &'static str,
    pub entity_id: &'static str,
    pub get: fn(&mut DbConnection) -> QueryResult<T>,
    pub put: fn(&mut DbConnection, &T) -> QueryResult<()>,
}

/// Replaces a settings value: `If-Match` checked against the stored value under its lock, an
/// audit event (before → after) when it changed. Returns the value now stored.
pub async fn save<T>(
    pool: &DbPool,
    store: SettingsStore<T>,
    actor: Actor,
    if_match: IfMatch,
    after: T,
) -> Result<T, ServiceError>
where
    T: Serialize + PartialEq + Send + 'static,
{
    db::run(pool, move |conn| {
        db::write_transaction(conn, store.lock, |conn| {
            let before = (store.get)(conn)?;
            if_match.check(&etag_of(&before))?;
            if before != after {
                (store.put)(conn, &after)?;
                audit::record(
                    conn,
                    &actor,
                    "update",
                    store.entity_type,
                    store.entity_id,
                    Some(serde_json::to_value(&before).expect("settings serialise")),
                    Some(serde_json::to_value(&after).expect("settings serialise")),
                )?;
            }
            Ok::<_, ServiceError>(after)
        })
    })
    .await
}
