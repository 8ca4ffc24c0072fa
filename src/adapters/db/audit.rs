//! The audit trail: who changed which configuration, when, before → after.
//! Callers record events inside the transaction of the change they describe, with values
//! that never contain secrets (see `mask_secrets`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::json_text::JsonText;
use super::paging::{page_and_total, TotalRows};
use super::schema::audit_events;
use super::{new_id, now, DbConnection};

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<String>,
    pub name: String,
    pub request_id: Option<String>,
    /// Where the request came from (behind trusted proxies, the client they name).
    pub client_address: Option<String>,
}

impl Actor {
    /// Changes made by the server itself or its command line.
    pub fn system(name: &str) -> Actor {
        Actor {
            id: None,
            name: name.to_string(),
            request_id: None,
            client_address: None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEventRow {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before_json: Option<JsonText<Value>>,
    pub after_json: Option<JsonText<Value>>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// Keys whose values are replaced by `"***"` wherever they appear in an audited value.
const SECRET_KEYS: &[&str] = &[
    "password",
    "password_hash",
    "private_key",
    "secret",
    "token",
];

pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) && !v.is_null() {
                    *v = Value::String("***".into());
                } else {
                    mask_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> QueryResult<()> {
    let serialize = |v: Option<Value>| {
        v.map(|mut v| {
            mask_secrets(&mut v);
            JsonText(v)
        })
    };
    let row = AuditEventRow {
        id: new_id(),
        occurred_at: now(),
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        action: action.to_string(),
        entity_type: entity_type.to_string(),
        entity_id: entity_id.to_string(),
        before_json: serialize(before),
        after_json: serialize(after),
        request_id: actor.request_id.clone(),
        client_address: actor.client_address.clone(),
    };
    diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Matches the actor's id or name.
    pub actor: Option<String>,
    /// Entity types the reader may not see.
    pub hidden_entity_types: Vec<String>,
    /// Only events at or after this moment.
    pub since: Option<NaiveDateTime>,
    /// Only events before this moment.
    pub until: Option<NaiveDateTime>,
}

/// One page, newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditEventRow>, i64)> {
    let query = || {
        let mut q = audit_events::table.into_boxed();
        if let Some(t) = &filter.entity_type {
            q = q.filter(audit_events::entity_type.eq(t.clone()));
        }
        if let Some(id) = &filter.entity_id {
            q = q.filter(audit_events::entity_id.eq(id.clone()));
        }
        if let Some(actor) = &filter.actor {
            q = q.filter(
                audit_events::actor_id
                    .eq(actor.clone())
                    .or(audit_events::actor_name.eq(actor.clone())),
            );
        }
        if let Some(since) = filter.since {
            q = q.filter(audit_events::occurred_at.ge(since));
        }
        if let Some(until) = filter.until {
            q = q.filter(audit_events::occurred_at.lt(until));
        }
        if !filter.hidden_entity_types.is_empty() {
            q = q.filter(audit_events::entity_type.ne_all(filter.hidden_entity_types.clone()));
        }
        q
    };
    let rows = query()
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((AuditEventRow::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || query().count().get_result(conn))
}

/// Deletes events that occurred before `before`.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(audit_events::table.filter(audit_events::occurred_at.lt(before))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let mut v = json!({
            "username": "bob",
            "password": "hunter2",
            "nested": {"private_key": "k", "public_key": "p"},
            "list": [{"secret": "s"}],
            "token": null
        });
        mask_secrets(&mut v);
        assert_eq!(
            v,
            json!({
                "username": "bob",
                "password": "***",
                "nested": {"private_key": "***", "public_key": "p"},
                "list": [{"secret": "***"}],
                "token": null
            })
        );
    }
}
