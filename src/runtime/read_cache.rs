//! Version-checked in-memory copies of the hottest reads: the mapping grid and the sync-run
//! list, as rendered response bodies.
//!
//! Triggers raise a counter in `data_versions` in the same transaction as every write to the
//! tables behind a copy, whichever process or code path writes. A request first reads the
//! counters with a query that *starts after the request arrived*, so a copy read at the same
//! counter is exactly what a direct read would return now; only when the counter moved is
//! the data read again. Requests arriving together share that one small query: while it runs,
//! newcomers queue for the next one, so under load one round trip validates many requests.
//!
//! A table a copy is read from must have its trigger (migration `data_versions`, both
//! backends); without one, its changes would show only with the next counter change.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use bytes::Bytes;

use crate::adapters::db::{self, data_versions::DataVersions, DbPool};
use crate::adapters::metrics;
use crate::domain::model::Solution;

/// Entries one copy keeps per counter value (distinct queries of the same list).
const MAX_ENTRIES: usize = 32;

/// The copies the server keeps, and the reader of their counters.
pub struct ReadCopies {
    pub versions: Arc<VersionReader>,
    /// The mapping grid by solution filter: body and ETag.
    pub grid: VersionedCopies<Option<Solution>, (Bytes, String)>,
    /// Pages of the sync-run list by (page, per_page, finished runs only).
    pub sync_runs: VersionedCopies<(u32, u32, bool), Bytes>,
}

impl ReadCopies {
    pub fn new(pool: DbPool) -> ReadCopies {
        ReadCopies {
            versions: VersionReader::new(pool),
            grid: VersionedCopies::new("grid"),
            sync_runs: VersionedCopies::new("sync_runs"),
        }
    }
}

/// Reads the counters for every request waiting, one query at a time.
pub struct VersionReader {
    pool: DbPool,
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    requests: Vec<oneshot::Sender<Option<DataVersions>>>,
    reading: bool,
}

impl VersionReader {
    pub fn new(pool: DbPool) -> Arc<VersionReader> {
        Arc::new(VersionReader {
            pool,
            waiting: Mutex::new(Waiting::default()),
        })
    }

    /// The counters as of a moment after this call; `None` when they cannot be read (the
    /// caller then reads the data directly and reports that read's error, if any).
    pub async fn current(self: &Arc<Self>) -> Option<DataVersions> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut waiting = self.lock();
            waiting.requests.push(tx);
            !std::mem::replace(&mut waiting.reading, true)
        };
        if start {
            // A task of its own: a request that goes away must not strand the others.
            actix_web::rt::spawn(self.clone().serve());
        }
        rx.await.ok().flatten()
    }

    async fn serve(self: Arc<Self>) {
        let _release = Release(self.clone());
        loop {
            let batch = {
                let mut waiting = self.lock();
                if waiting.requests.is_empty() {
                    return;
                }
                std::mem::take(&mut waiting.requests)
            };
            let versions = db::run(&self.pool, |conn| {
                db::data_versions::read(conn).map_err(|e| db::StorageError::Crashed(e.to_string()))
            })
            .await
            .ok();
            metrics::data_versions_read();
            for request in batch {
                let _ = request.send(versions);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a reader task however it ends (done, a panic, the runtime going away): the next
/// request starts a new one, and requests still queued read the data directly.
struct Release(Arc<VersionReader>);

impl Drop for Release {
    fn drop(&mut self) {
        let mut waiting = self.0.lock();
        waiting.reading = false;
        waiting.requests.clear();
    }
}

/// Copies of one kind of response, all read at one counter value.
pub struct VersionedCopies<K, V> {
    /// For metrics.
    name: &'static str,
    copies: Mutex<(i64, HashMap<K, V>)>,
}

impl<K: Eq + Hash, V: Clone> VersionedCopies<K, V> {
    pub fn new(name: &'static str) -> Self {
        VersionedCopies {
            name,
            copies: Mutex::new((i64::MIN, HashMap::new())),
        }
    }

    /// The copy of `key` if it is current (by the counter `counter` picks), else what `load`
    /// reads, kept for the next requests.
    pub async fn get_or_load<Fut, E>(
        &self,
        versions: &Arc<VersionReader>,
        counter: fn(&DataVersions) -> i64,
        key: K,
        load: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Fut: Future<Output = Result<V, E>>,
    {
        let version = versions.current().await.map(|v| counter(&v));
        if let Some(copy) = version.and_then(|v| self.get(v, &key)) {
            metrics::read_copy(self.name, true);
            return Ok(copy);
        }
        metrics::read_copy(self.name, false);
        let value = load().await?;
        if let Some(version) = version {
            self.put(version, key, value.clone());
        }
        Ok(value)
    }

    /// A copy of `key` at least as new as counter `version`, if any.
    pub fn get(&self, version: i64, key: &K) -> Option<V> {
        let copies = self.copies.lock().unwrap_or_else(|e| e.into_inner());
        (copies.0 >= version).then(|| copies.1.get(key).cloned())?
    }

    /// Keeps a copy read after the counter showed `version` (so it is at least that new). A
    /// copy older than the ones kept is dropped.
    pub fn put(&self, version: i64, key: K, value: V) {
        let mut copies = self.copies.lock().unwrap_or_else(|e| e.into_inner());
        if version > copies.0 {
            *copies = (version, HashMap::new());
        }
        if version == copies.0 {
            if copies.1.len() >= MAX_ENTRIES {
                copies.1.clear();
            }
            copies.1.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VersionedCopies;

    #[test]
    fn a_copy_serves_readers_of_its_version_or_older_only() {
        let copies: VersionedCopies<&str, u32> = VersionedCopies::new("test");
        assert_eq!(copies.get(0, &"a"), None);
        copies.put(5, "a", 1);
        // (reader's counter, key, expected)
        let cases = [
            (5, "a", Some(1)),
            (4, "a", Some(1)),
            (6, "a", None),
            (5, "b", None),
        ];
        for (version, key, expected) in cases {
            assert_eq!(copies.get(version, &key), expected, "{version} {key}");
        }
        // A copy read at an older counter never replaces a newer one.
        copies.put(4, "a", 2);
        assert_eq!(copies.get(5, &"a"), Some(1));
        // A newer counter drops every older copy.
        copies.put(6, "b", 3);
        assert_eq!(copies.get(6, &"a"), None);
        assert_eq!(copies.get(6, &"b"), Some(3));
    }

    #[test]
    fn copies_are_bounded() {
        let copies: VersionedCopies<usize, usize> = VersionedCopies::new("test");
        for key in 0..=super::MAX_ENTRIES {
            copies.put(1, key, key);
        }
        assert_eq!(copies.get(1, &super::MAX_ENTRIES), Some(super::MAX_ENTRIES));
        assert_eq!(copies.get(1, &0), None);
    }
}
