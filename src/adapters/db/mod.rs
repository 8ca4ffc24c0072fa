//! Persistence: one diesel code base for PostgreSQL and SQLite.
//!
//! Queries are blocking, so they run on the blocking thread pool through [`run`], which takes
//! the connection from the pool inside that thread. Everything backend-specific lives in
//! [`backend`].

pub mod audit;
pub mod backend;
pub mod backup;
pub mod billing_profiles;
pub mod billing_settings;
pub mod company_mappings;
pub mod company_terms;
pub mod connections;
pub mod cw_products;
pub mod data_versions;
pub mod json_text;
pub mod key_values;
pub mod money_text;
pub mod notices;
pub mod notification_channels;
pub mod paging;
pub mod product_mappings;
pub mod readings;
pub mod schema;
pub mod security_applications;
pub mod service_tokens;
pub mod sync;
pub mod tenants;
pub mod text_enum;
pub mod usage_snapshots;
pub mod users;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::InstrumentationEvent;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::adapters::config::sqlite_path;
use crate::adapters::database_kind::DatabaseKind;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// The connection pool, with a gate as wide as the pool: work waiting for a connection waits
/// as an async task instead of as a blocking thread parked in the pool (under load that kept
/// dozens of extra threads, each with its own allocator arena).
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<DbManager>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for DbPool {
    type Target = r2d2::Pool<DbManager>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

/// A connection in the pool, with what decides whether it must be checked before reuse.
pub struct PooledDb {
    conn: DbConnection,
    /// When it last went back to the pool.
    returned_at: Instant,
    /// Set when a query on it failed because the connection itself failed (closed, or a
    /// command could not be sent): such a connection never recovers.
    lost: Arc<AtomicBool>,
}

impl std::ops::Deref for PooledDb {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PooledDb {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A connection handed back less than this long ago is reused without a `SELECT 1` round
/// trip (HikariCP's rule): under load that check would double the round trips of a one-query
/// request, and a connection that failed meanwhile is discarded on return instead.
const TRUSTED_FOR: Duration = Duration::from_millis(500);

/// Whether a query error means the connection itself is gone (the database went away).
pub fn is_connection_lost(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// Opens connections of the backend named by the URL scheme.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: String,
    kind: DatabaseKind,
}

impl DbManager {
    pub fn new(url: &str) -> DbManager {
        DbManager {
            url: url.to_string(),
            kind: DatabaseKind::of(url),
        }
    }

    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match self.kind {
            DatabaseKind::Postgres => PgConnection::establish(&backend::connection_url(&self.url))
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseKind::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(r2d2::Error::ConnectionError)?;
                backend::configure_sqlite(&mut conn).map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for DbManager {
    type Connection = PooledDb;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PooledDb, r2d2::Error> {
        let mut conn = self.open()?;
        let lost = Arc::new(AtomicBool::new(false));
        let watch = lost.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery {
                error: Some(err), ..
            } = event
            {
                if is_connection_lost(err) {
                    watch.store(true, Ordering::Relaxed);
                }
            }
        });
        Ok(PooledDb {
            conn,
            returned_at: Instant::now(),
            lost,
        })
    }

    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), r2d2::Error> {
        use diesel::connection::SimpleConnection;
        if pooled.returned_at.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        pooled.returned_at = Instant::now();
        pooled.lost.load(Ordering::Relaxed)
    }
}

/// Opens one connection first, so a wrong URL, password or host is reported with its real
/// reason (r2d2 itself only says it timed out), then builds the pool.
pub fn connect_pool(url: &str, max_size: u32) -> anyhow::Result<DbPool> {
    let manager = DbManager::new(url);
    if manager.kind == DatabaseKind::Sqlite {
        create_sqlite_file(sqlite_path(url))?;
    }
    let first = manager
        .open()
        .map_err(|e| anyhow::anyhow!("{}", one_line(&e)))?;
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(manager);
    drop(first);
    Ok(DbPool {
        pool,
        gate: Arc::new(tokio::sync::Semaphore::new(max_size.max(1) as usize)),
    })
}

/// The database file created owner-only before SQLite opens it: SQLite would make it 0644, and
/// its WAL and SHM files take the database file's mode.
fn create_sqlite_file(path: &str) -> anyhow::Result<()> {
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::adapters::owner_only::create_dir_all(parent)?;
    }
    crate::adapters::owner_only::ensure_file(path)
}

fn one_line(err: &dyn std::fmt::Display) -> String {
    err.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The write lock of the Products tab's state: applications, mappings, billing settings and
/// the usage snapshots that say which applications are in use.
pub const PRODUCTS_LOCK: &str = "products";

/// Why a database call could not run at all (its own errors are the closure's).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no database connection available: {0}")]
    Unavailable(#[from] r2d2::PoolError),
    #[error("the database task failed: {0}")]
    Crashed(String),
}

/// Runs `f` with a pooled connection on the blocking thread pool; `f`'s error type is the
/// caller's, so storage stays free of HTTP and service errors.
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
{
    let permit = pool
        .gate
        .clone()
        .acquire_owned()
        .await
        .expect("the gate is never closed");
    let pool = pool.pool.clone();
    // The caller's span follows the query onto the blocking thread (a run's id, a request's).
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let _permit = permit;
        let mut conn = pool.get().map_err(StorageError::from)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| E::from(StorageError::Crashed(e.to_string())))?
}

/// Stored times are naive UTC; the API speaks RFC 3339 with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The current time as stored: UTC, microsecond precision (what PostgreSQL keeps).
pub fn now() -> NaiveDateTime {
    stored_time(Utc::now())
}

/// A time as stored: naive UTC truncated to microseconds, so both backends read back the same.
pub fn stored_time(t: DateTime<Utc>) -> NaiveDateTime {
    let t = t.naive_utc();
    t - Duration::from_nanos(u64::from(t.and_utc().timestamp_subsec_nanos() % 1000))
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a diesel error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

pub use backend::{run_migrations, write_transaction};
