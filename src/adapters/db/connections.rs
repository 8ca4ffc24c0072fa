use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::connections;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = connections)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct ConnectionRow {
    pub kind: String,
    pub settings_json: String,
    pub secrets_ciphertext: Option<String>,
    pub updated_at: NaiveDateTime,
}

pub fn get(conn: &mut DbConnection, kind: &str) -> QueryResult<Option<ConnectionRow>> {
    connections::table
        .find(kind)
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts or replaces (call inside a write transaction for the kind).
pub fn save(conn: &mut DbConnection, row: &ConnectionRow) -> QueryResult<()> {
    let updated = diesel::update(connections::table.find(&row.kind))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(connections::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
