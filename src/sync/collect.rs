//! Collecting KSC usage into usage snapshots: every enabled KSC tenant (or one), read with the
//! KSC applications' match rules, one snapshot per tenant — `failed` with the reason when its
//! usage cannot be read. A sync run collects first; `POST /api/v1/usage-snapshots/collect`
//! collects without syncing.

use futures_util::future::join_all;

use crate::adapters::db::security_applications::SecurityApplication;
use crate::adapters::db::tenants::TenantRow;
use crate::adapters::db::usage_snapshots::{Outcome, SnapshotSource, UsageSnapshot};
use crate::adapters::db::{self, audit::Actor, DbConnection, PRODUCTS_LOCK};
use crate::adapters::kaspersky::VServer;
use crate::domain::model::Solution;
use crate::domain::usage::ApplicationRules;
use crate::runtime::clients;
use crate::runtime::state::AppState;
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

/// Reads fresh usage from KSC for `tenant_id` (or every enabled KSC tenant) and stores one
/// snapshot per tenant, without syncing. Tenants are read concurrently (the client bounds how
/// many at once); a tenant that cannot be read gets a `failed` snapshot with the reason while
/// the others are still collected.
pub async fn collect(
    state: &AppState,
    actor: &Actor,
    tenant_id: Option<String>,
) -> Result<Vec<Collected>, SyncError> {
    let (targets, rules) = db::run(&state.pool, move |conn| {
        Ok::<_, SyncError>((
            collection_targets(conn, tenant_id.as_deref())?,
            ksc_rules(conn)?,
        ))
    })
    .await?;
    let client = clients::shared_ksc(state).await?;
    let reads = targets.iter().map(|tenant| {
        let (client, rules) = (&client, &rules);
        async move {
            let read = client
                .collect_usage(&vserver_of(tenant), rules)
                .await;
            let outcome = match read {
                Ok(usage) => Outcome::Ok(usage),
                Err(e) => {
                    tracing::warn!(tenant = %tenant.name, error = %e, "KSC usage collection failed");
                    Outcome::Failed(e.to_string())
                }
            };
            (outcome, db::now())
        }
    });
    let outcomes = join_all(reads).await;
    let created_by = actor.id.clone();
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
            let mut collected = Vec::with_capacity(targets.len());
            for (tenant, (outcome, taken_at)) in targets.into_iter().zip(outcomes) {
                let snapshot = UsageSnapshot {
                    id: db::new_id(),
                    tenant_id: tenant.id.clone(),
                    taken_at,
                    source: SnapshotSource::KscPull,
                    outcome,
                    created_by: created_by.clone(),
                    created_at: db::now(),
                };
                db::usage_snapshots::insert(conn, &snapshot)?;
                collected.push(Collected { tenant, snapshot });
            }
            Ok(collected)
        })
    })
    .await
}
