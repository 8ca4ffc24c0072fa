//! `backup --to FILE`: the SQLite database copied online; PostgreSQL has pg_dump for that.

use std::path::Path;

use anyhow::bail;

use crate::adapters::config::{redact_url, sqlite_path, Settings};
use crate::adapters::database_kind::DatabaseKind;
use crate::adapters::secrets::KEY_FILE;

pub async fn run(settings: &Settings, target: &Path) -> anyhow::Result<()> {
    let key = match settings.encryption_key {
        Some(_) => "BRIDGE_ENCRYPTION_KEY".to_string(),
        None => settings.data_dir.join(KEY_FILE).display().to_string(),
    };
    if settings.database_kind() == DatabaseKind::Postgres {
        bail!(
            "backup copies SQLite databases; for PostgreSQL use pg_dump: \
             pg_dump --format=custom --file=bridge.dump \"$DATABASE_URL\", restore into an empty \
             database with pg_restore --no-owner --dbname=\"$DATABASE_URL\" bridge.dump, and keep \
             the encryption key ({key}) with the dump"
        );
    }
    let (url, to) = (settings.database_url.clone(), target.to_path_buf());
    tokio::task::spawn_blocking(move || crate::adapters::db::backup::sqlite_into(&url, &to))
        .await??;
    let database = sqlite_path(&settings.database_url);
    println!(
        "backed up {} to {}",
        redact_url(&settings.database_url),
        target.display()
    );
    println!(
        "Keep the encryption key ({key}) with it: the stored ConnectWise and KSC secrets cannot \
         be read without it."
    );
    println!(
        "Restore: stop the server, copy {} to {database}, delete {database}-wal and \
         {database}-shm, start the server.",
        target.display()
    );
    Ok(())
}
