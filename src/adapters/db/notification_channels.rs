//! Stored notification channels: where notices go, which kinds and from which severity.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::JsonText;
use super::schema::notification_channels;
use super::DbConnection;
use crate::domain::notices::TicketSettings;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = notification_channels)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub enabled: bool,
    /// Notice kinds by name; empty = every kind.
    pub event_kinds_json: JsonText<Vec<String>>,
    pub min_severity: String,
    pub settings_json: JsonText<serde_json::Value>,
    pub secret_ciphertext: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ChannelRow {
    /// A ticket channel's settings (none for a webhook).
    pub fn ticket_settings(&self) -> Option<TicketSettings> {
        serde_json::from_value(self.settings_json.0.get("ticket")?.clone()).ok()
    }
}

/// Every channel, by name (a small, bounded list).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<ChannelRow>> {
    notification_channels::table
        .order((
            notification_channels::name.asc(),
            notification_channels::id.asc(),
        ))
        .select(ChannelRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ChannelRow>> {
    notification_channels::table
        .find(id)
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &ChannelRow) -> QueryResult<()> {
    diesel::insert_into(notification_channels::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn update(conn: &mut DbConnection, row: &ChannelRow) -> QueryResult<()> {
    diesel::update(notification_channels::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(notification_channels::table.find(id))
        .execute(conn)
        .map(drop)
}
