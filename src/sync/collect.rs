//! Collecting KSC usage into usage snapshots: every enabled KSC tenant (or one), read with the
//! KSC applications' match rules, one snapshot per tenant — `failed` with the reason when its
//! usage cannot be read. A sync run collects first; `POST /api/v1/usage-snapshots/collect`
//! collects without syncing.

use futures_util::stream::{self, StreamExt};
use tokio::sync::mpsc;

use crate::adapters::db::security_applications::SecurityApplication;
use crate::adapters::db::tenants::TenantRow;
use crate::adapters::db::usage_snapshots::{Outcome, SnapshotSource, UsageSnapshot};
use crate::adapters::db::{self, audit::Actor, DbConnection, DbPool, PRODUCTS_LOCK};
use crate::adapters::kaspersky::{KscClient, VServer};
use crate::domain::model::Solution;
use crate::domain::usage::ApplicationRules;
use crate::runtime::clients;
use crate::runtime::state::Core;
use crate::sync::SyncError;

/// The virtual server a KSC tenant stands for, as discovery saw it last.
pub fn vserver_of(tenant: &TenantRow) -> VServer {
    VServer {
        id: tenant.ksc_vserver_id.unwrap_or_default(),
        uid: tenant.external_id.clone(),
        display_name: tenant.name.clone(),
        enabled: tenant.enabled,
    }
}

/// Snapshots stored in one transaction at most.
const STORE_BATCH: usize = 64;

/// One tenant's result of a collection.
pub struct Collected {
    pub tenant: TenantRow,
    pub snapshot: UsageSnapshot,
}

/// The KSC tenants to read: the one asked for, or every enabled one KSC still lists.
fn collection_targets(
    conn: &mut DbConnection,
    tenant_id: Option<&str>,
) -> Result<Vec<TenantRow>, SyncError> {
    let Some(id) = tenant_id else {
        let mut all: Vec<TenantRow> = db::tenants::of_solution(conn, db::tenants::KSC)?
            .into_iter()
            .filter(|t| t.enabled && !t.vanished)
            .collect();
        all.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        return Ok(all);
    };
    match db::tenants::find(conn, id)? {
        None => Err(SyncError::invalid(
            "tenant_id",
            format!("there is no tenant {id}"),
        )),
        Some(t) if t.solution() != Solution::Ksc => Err(SyncError::invalid(
            "tenant_id",
            "is not a KSC tenant: its usage is pushed (POST /api/v1/usage-snapshots)",
        )),
        Some(t) => Ok(vec![t]),
    }
}

/// The match rules of the KSC applications in use.
fn ksc_rules(conn: &mut DbConnection) -> Result<Vec<ApplicationRules>, SyncError> {
    Ok(db::security_applications::list(conn, Some(Solution::Ksc))?
        .iter()
        .filter(|a| !a.retired)
        .map(SecurityApplication::application_rules)
        .collect())
}

/// A tenant's usage as KSC answered it (or why it could not).
pub struct Read {
    tenant: TenantRow,
    outcome: Outcome,
    taken_at: chrono::NaiveDateTime,
}

/// What a collection reads: the target tenants and the KSC applications' match rules.
pub async fn targets(
    pool: &DbPool,
    tenant_id: Option<String>,
) -> Result<(Vec<TenantRow>, Vec<ApplicationRules>), SyncError> {
    db::run(pool, move |conn| {
        Ok::<_, SyncError>((
            collection_targets(conn, tenant_id.as_deref())?,
            ksc_rules(conn)?,
        ))
    })
    .await
}

/// Reads every target's usage (the client bounds how many at once, in the targets' order) and
/// sends each result as soon as it is read; stops reading when nobody listens any more.
pub async fn read_all(
    client: &KscClient,
    targets: Vec<TenantRow>,
    rules: &[ApplicationRules],
    sink: mpsc::UnboundedSender<Read>,
) {
    let at_once = client.config().max_concurrency.max(1) * 2;
    let sink = &sink;
    stream::iter(targets)
        .for_each_concurrent(at_once, |tenant| async move {
            if sink.is_closed() {
                return;
            }
            let outcome = match client.collect_usage(&vserver_of(&tenant), rules).await {
                Ok(usage) => Outcome::Ok(usage),
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "KSC usage collection failed");
                    Outcome::Failed(e.to_string())
                }
            };
            let read = Read {
                tenant,
                outcome,
                taken_at: db::now(),
            };
            // A closed sink means the run stopped: what was read is dropped with it.
            let _ = sink.send(read);
        })
        .await;
}

/// Stores what was read as snapshots, a batch of whatever has arrived per transaction, and
/// hands each stored batch to `stored` before waiting for more.
pub async fn store_all(
    pool: &DbPool,
    created_by: Option<String>,
    mut reads: mpsc::UnboundedReceiver<Read>,
    mut stored: impl FnMut(Vec<Collected>),
) -> Result<(), SyncError> {
    let mut batch = Vec::new();
    while reads.recv_many(&mut batch, STORE_BATCH).await > 0 {
        let created_by = created_by.clone();
        let reads = std::mem::take(&mut batch);
        let collected = db::run(pool, move |conn| {
            db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
                let mut collected = Vec::with_capacity(reads.len());
                for read in reads {
                    let snapshot = UsageSnapshot {
                        id: db::new_id(),
                        tenant_id: read.tenant.id.clone(),
                        taken_at: read.taken_at,
                        source: SnapshotSource::KscPull,
                        outcome: read.outcome,
                        created_by: created_by.clone(),
                        created_at: db::now(),
                    };
                    db::usage_snapshots::insert(conn, &snapshot)?;
                    collected.push(Collected {
                        tenant: read.tenant,
                        snapshot,
                    });
                }
                Ok::<_, SyncError>(collected)
            })
        })
        .await?;
        stored(collected);
    }
    Ok(())
}

/// Reads fresh usage from KSC for `tenant_id` (or every enabled KSC tenant) and stores one
/// snapshot per tenant, without syncing: a tenant that cannot be read gets a `failed` snapshot
/// with the reason while the others are still collected. In the targets' order (by name).
pub async fn collect(
    state: &Core,
    actor: &Actor,
    tenant_id: Option<String>,
) -> Result<Vec<Collected>, SyncError> {
    let (targets, rules) = targets(&state.pool, tenant_id).await?;
    let client = clients::shared_ksc(state).await?;
    let (sink, reads) = mpsc::unbounded_channel();
    let mut all = Vec::with_capacity(targets.len());
    let (_, stored) = futures_util::future::join(
        read_all(&client, targets, &rules, sink),
        store_all(&state.pool, actor.id.clone(), reads, |batch| {
            all.extend(batch)
        }),
    )
    .await;
    stored?;
    all.sort_by(|a, b| (&a.tenant.name, &a.tenant.id).cmp(&(&b.tenant.name, &b.tenant.id)));
    Ok(all)
}
