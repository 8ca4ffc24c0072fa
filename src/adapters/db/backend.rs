//! The one place for SQL that differs between PostgreSQL and SQLite.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::sql_types::Text;
use diesel::{QueryResult, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// SQLite as a server database: WAL for concurrent readers, enforced foreign keys, and a busy
/// timeout so a writer waits for another instead of failing.
pub(super) fn configure_sqlite(conn: &mut diesel::SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )
}

/// The URL libpq is given: a 5-second `connect_timeout` unless one is set, so an unreachable
/// PostgreSQL fails start-up within seconds; and, for a server on this machine (loopback or a
/// Unix socket) with no `sslmode` given, `sslmode=disable`: TLS protects nothing there, and
/// without it libpq never touches OpenSSL, whose exit-time clean-up races with pool threads.
pub fn connection_url(url: &str) -> String {
    let mut options = Vec::new();
    if !url.contains("connect_timeout=") {
        options.push("connect_timeout=5");
    }
    if !url.contains("sslmode=") && is_local(url) {
        options.push("sslmode=disable");
    }
    if options.is_empty() {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", options.join("&"))
}

/// Whether a PostgreSQL URL names a server on this machine.
fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Applies pending migrations; returns how many ran. On PostgreSQL an advisory lock keeps
/// two processes starting together from migrating at once.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<usize> {
    let ran = match conn {
        DbConnection::Pg(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7243190001)")?;
            let ran = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
            c.batch_execute("SELECT pg_advisory_unlock(7243190001)")?;
            ran
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    ran.map_err(|e| anyhow::anyhow!("migration failed: {e}"))
}

/// A read-modify-write transaction that is serialised against every other writer of the same
/// `lock` name, across processes: SQLite takes its write lock up front (`BEGIN IMMEDIATE`,
/// avoiding the deadlock of two deferred transactions upgrading), PostgreSQL takes a
/// transaction-scoped advisory lock. Checks such as "the last admin stays" or `If-Match` stay
/// true until the commit.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, lock: &str, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Pg(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            let locked = diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind::<Text, _>(lock)
                .execute(c);
            if let Err(err) = locked {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                return Err(err.into());
            }
        }
    }
    match f(conn) {
        Ok(value) => {
            match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
                DbConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(err) => {
            let _ = match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                DbConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection_url;

    #[test]
    fn connection_urls() {
        let cases = [
            (
                "postgres://u@127.0.0.1:5432/db",
                "postgres://u@127.0.0.1:5432/db?connect_timeout=5&sslmode=disable",
            ),
            (
                "postgres://localhost/db?application_name=x",
                "postgres://localhost/db?application_name=x&connect_timeout=5&sslmode=disable",
            ),
            (
                "postgres://u:p@[::1]:5432/db",
                "postgres://u:p@[::1]:5432/db?connect_timeout=5&sslmode=disable",
            ),
            (
                "postgres:///db",
                "postgres:///db?connect_timeout=5&sslmode=disable",
            ),
            (
                "postgres://db.example.com/db",
                "postgres://db.example.com/db?connect_timeout=5",
            ),
            (
                "postgres://127.0.0.1/db?sslmode=require&connect_timeout=2",
                "postgres://127.0.0.1/db?sslmode=require&connect_timeout=2",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(connection_url(url), expected, "{url}");
        }
    }
}
