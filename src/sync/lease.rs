//! One run at a time across every process sharing the database: a lease with a time-to-live,
//! taken with the run's record, renewed in the background while the run works, checked before
//! each batch of writes, and released with the run's outcome in one transaction.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::adapters::db::{self, DbPool};
use crate::domain::outcome::{RunStatus, RunSummary};
use crate::sync::SyncError;

/// A run as stored.
type Run = db::sync::RunRow<RunSummary>;

/// How long a lease lasts without renewal: a holder that died frees it after this.
pub const LEASE_TTL: Duration = Duration::from_secs(60);
/// A lease renewed longer ago than this is renewed again before a write: with the heartbeat
/// late, a write never goes out on a lease that might have expired.
const FRESH_FOR: Duration = Duration::from_secs(20);

/// Takes the lease and records `run` as running; 409 naming the run that holds it. Any run
/// still marked running when the lease was free or expired has died and is marked interrupted.
pub fn take(conn: &mut db::DbConnection, run: &Run) -> Result<(), SyncError> {
    db::write_transaction(conn, "sync_lease", |conn| {
        let now = run.started_at;
        let until = now + LEASE_TTL;
        if !db::sync::try_acquire_lease(conn, &run.holder, &run.id, now, until)? {
            let lease = db::sync::lease(conn)?;
            return Err(SyncError::Busy(format!(
                "A sync run is going already (run {}); try again when it has finished.",
                lease.run_id.unwrap_or_default()
            )));
        }
        for mut dead in db::sync::running::<RunSummary>(conn)? {
            dead.status = RunStatus::Interrupted;
            dead.finished_at = Some(now);
            dead.error = Some("its process stopped before it finished".into());
            db::sync::update_run(conn, &dead)?;
        }
        db::sync::insert_run(conn, run)?;
        Ok(())
    })
}

/// The lease a working run holds.
pub struct Lease {
    pool: DbPool,
    holder: String,
    run_id: String,
    lost: AtomicBool,
    renewed_at: Mutex<Instant>,
}

impl Lease {
    /// The lease `run` took, renewed every quarter of its time-to-live until the returned
    /// guard is dropped.
    pub fn hold(pool: DbPool, run: &Run) -> (Arc<Lease>, Heartbeat) {
        let lease = Arc::new(Lease {
            pool,
            holder: run.holder.clone(),
            run_id: run.id.clone(),
            lost: AtomicBool::new(false),
            renewed_at: Mutex::new(Instant::now()),
        });
        let beating = lease.clone();
        let task = actix_web::rt::spawn(
            async move {
                loop {
                    actix_web::rt::time::sleep(LEASE_TTL / 4).await;
                    if !beating.renew().await {
                        break;
                    }
                }
            }
            .in_current_span(),
        );
        (lease, Heartbeat(task))
    }

    /// Renews the lease; false when this run lost it (from then on it must not write).
    async fn renew(&self) -> bool {
        if self.lost.load(Ordering::SeqCst) {
            return false;
        }
        let (holder, run_id) = (self.holder.clone(), self.run_id.clone());
        let renewed = db::run(&self.pool, move |conn| {
            Ok::<_, SyncError>(db::sync::renew_lease(
                conn,
                &holder,
                &run_id,
                db::now() + LEASE_TTL,
            )?)
        })
        .await
        .unwrap_or(false);
        if renewed {
            *self.renewed_at.lock().expect("lease clock") = Instant::now();
        } else {
            self.lost.store(true, Ordering::SeqCst);
            tracing::warn!(run = %self.run_id, "the run lost its lease");
        }
        renewed
    }

    /// Whether the run may write now: it still holds the lease, renewed recently.
    pub async fn may_write(&self) -> bool {
        let fresh = self.renewed_at.lock().expect("lease clock").elapsed() < FRESH_FOR;
        !self.lost.load(Ordering::SeqCst) && (fresh || self.renew().await)
    }

    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

/// Stops the renewals when dropped.
pub struct Heartbeat(actix_web::rt::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records the run's end and frees the lease in one transaction: whoever sees the run
/// finished can start the next one.
pub async fn finish(pool: &DbPool, run: Run) -> Result<(), SyncError> {
    db::run(pool, move |conn| {
        db::write_transaction(conn, "sync_lease", |conn| {
            db::sync::update_run(conn, &run)?;
            db::sync::release_lease(conn, &run.holder, &run.id)?;
            Ok(())
        })
    })
    .await
}
