//! What the last run read of each agreement's additions, after its own writes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::JsonText;
use super::schema::connectwise_readings;
use super::DbConnection;
use crate::domain::plan_lines::CwAddition;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = connectwise_readings)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ReadingRow {
    pub agreement_id: i64,
    pub additions_json: JsonText<Vec<CwAddition>>,
    pub read_at: NaiveDateTime,
}

/// Replaces the readings of these agreements.
pub fn put_many(conn: &mut DbConnection, rows: &[ReadingRow]) -> QueryResult<()> {
    let ids: Vec<i64> = rows.iter().map(|r| r.agreement_id).collect();
    diesel::delete(
        connectwise_readings::table.filter(connectwise_readings::agreement_id.eq_any(&ids)),
    )
    .execute(conn)?;
    // One row a statement: multi-row inserts are not portable across the two backends here.
    for row in rows {
        diesel::insert_into(connectwise_readings::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The readings of these agreements (an agreement never read is absent).
pub fn of(conn: &mut DbConnection, agreements: &[i64]) -> QueryResult<Vec<ReadingRow>> {
    let mut rows = Vec::new();
    for chunk in agreements.chunks(500) {
        rows.extend(
            connectwise_readings::table
                .filter(connectwise_readings::agreement_id.eq_any(chunk))
                .select(ReadingRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}
