//! Small server-wide values kept in the database (e.g. the sealed JWT signing key), so
//! every process sharing the database agrees on them.

use diesel::prelude::*;
use serde::Serialize;

use super::json_text::{Json, JsonText};
use super::schema::app_state;
use super::{is_unique_violation, now, DbConnection};

pub fn get(conn: &mut DbConnection, key: &str) -> QueryResult<Option<String>> {
    app_state::table
        .find(key)
        .select(app_state::value)
        .first(conn)
        .optional()
}

/// Returns the stored value, storing `candidate` first if there is none. Two processes racing
/// both end up with the value of whichever inserted first.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, candidate: &str) -> QueryResult<String> {
    if let Some(existing) = get(conn, key)? {
        return Ok(existing);
    }
    let inserted = diesel::insert_into(app_state::table)
        .values((
            app_state::key.eq(key),
            app_state::value.eq(candidate),
            app_state::updated_at.eq(now()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(candidate.to_string()),
        Err(err) if is_unique_violation(&err) => get(conn, key)?.ok_or(err),
        Err(err) => Err(err),
    }
}

/// Stores `value` under `key`, replacing what was there (callers serialise writers).
pub fn set(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(app_state::table.find(key))
        .set((app_state::value.eq(value), app_state::updated_at.eq(now())))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(app_state::table)
            .values((
                app_state::key.eq(key),
                app_state::value.eq(value),
                app_state::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The document stored under `key`, read through the `JsonText` codec like every JSON column
/// (unreadable: a query error); `None` until first stored.
pub fn get_json<T: Json>(conn: &mut DbConnection, key: &str) -> QueryResult<Option<T>> {
    let stored: Option<JsonText<T>> = app_state::table
        .find(key)
        .select(app_state::value)
        .first(conn)
        .optional()?;
    Ok(stored.map(JsonText::into_inner))
}

/// Stores `value` under `key` in the `JsonText` form (callers serialise writers).
pub fn put_json<T: Serialize>(conn: &mut DbConnection, key: &str, value: &T) -> QueryResult<()> {
    let text = JsonText(value)
        .to_text()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    set(conn, key, &text)
}

/// Removes `key` (nothing happens when it is not there).
pub fn delete(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(app_state::table.find(key)).execute(conn)?;
    Ok(())
}
