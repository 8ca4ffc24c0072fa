//! Counters that triggers raise with every write to a group of tables (migration
//! `data_versions`); [`crate::runtime::read_cache`] compares them with its copies.

use diesel::prelude::*;

use super::schema::data_versions;
use super::DbConnection;

/// The counters, as read by one query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataVersions {
    /// Applications, product mappings, the catalog cache, billing settings.
    pub products: i64,
    pub sync_runs: i64,
}

/// The counters; `NotFound` when one is missing (copies are then never trusted).
pub fn read(conn: &mut DbConnection) -> QueryResult<DataVersions> {
    let rows: Vec<(String, i64)> = data_versions::table
        .select((data_versions::name, data_versions::version))
        .load(conn)?;
    let find = |wanted: &str| {
        rows.iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, version)| *version)
            .ok_or(diesel::result::Error::NotFound)
    };
    Ok(DataVersions {
        products: find("products")?,
        sync_runs: find("sync_runs")?,
    })
}
