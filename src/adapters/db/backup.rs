//! `backup`: a copy of the SQLite database, made while the server keeps running.

use std::path::Path;

use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

use crate::adapters::config::sqlite_path;

/// Copies the SQLite database of `url` into `target`, a new owner-only file. The copy is
/// consistent as of one moment while others keep writing: `VACUUM INTO` reads it inside one
/// transaction (and leaves out free pages, so the copy is compact).
pub fn sqlite_into(url: &str, target: &Path) -> anyhow::Result<()> {
    let source = sqlite_path(url);
    if !Path::new(source).is_file() {
        bail!("there is no SQLite database at {source}");
    }
    let target_text = target
        .to_str()
        .with_context(|| format!("the backup path {} is not UTF-8", target.display()))?;
    let mut conn = SqliteConnection::establish(source)
        .with_context(|| format!("cannot open the database {source}"))?;
    // A writer holding the lock makes the copy wait, not fail.
    conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
    crate::adapters::owner_only::create_new(target)?;
    let copied = diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target_text)
        .execute(&mut conn);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(target);
        bail!("cannot back up {source}: {e}");
    }
    Ok(())
}
