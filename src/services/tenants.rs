//! Tenants: discovery of KSC virtual servers and Business Hub companies created through the API.

use std::collections::HashSet;

use crate::adapters::db::{self, audit, audit::Actor, tenants::TenantRow, DbConnection};
use crate::adapters::kaspersky::VServer;
use crate::runtime::state::AppState;
use crate::services::connections::kaspersky as ksc;
use crate::services::ServiceError;

/// What one discovery changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Discovery {
    pub total: usize,
    pub added: usize,
    pub updated: usize,
    pub vanished: usize,
}

/// Lists KSC's virtual servers and applies them ([`apply_discovery`]).
pub async fn refresh(state: &AppState) -> Result<Discovery, ServiceError> {
    let client = ksc::shared_client(state).await?;
    let vservers = client.list_vservers().await.map_err(ksc::upstream_error)?;
    let discovery = db::run(&state.pool, move |conn| apply_discovery(conn, &vservers)).await;
    crate::sync::notices::wake(state);
    discovery
}

/// Brings the KSC tenants in line with the virtual servers KSC lists now: new ones added,
/// changed ones updated (a returning one is no longer vanished), missing ones marked vanished
/// (kept: mappings and history still point at them).
pub fn apply_discovery(
    conn: &mut DbConnection,
    vservers: &[VServer],
) -> Result<Discovery, ServiceError> {
    db::write_transaction(conn, "tenants", |conn| {
        let now = db::now();
        let mut result = Discovery {
            total: vservers.len(),
            ..Discovery::default()
        };
        for v in vservers {
            match db::tenants::find_by_external_id(conn, db::tenants::KSC, &v.uid)? {
                None => {
                    db::tenants::insert(
                        conn,
                        &TenantRow {
                            id: db::new_id(),
                            solution: db::tenants::KSC.into(),
                            name: v.display_name.clone(),
                            external_id: v.uid.clone(),
                            ksc_vserver_id: Some(v.id),
                            enabled: v.enabled,
                            vanished: false,
                            last_seen_at: Some(now),
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                    result.added += 1;
                }
                Some(mut row) => {
                    let changed = row.name != v.display_name
                        || row.ksc_vserver_id != Some(v.id)
                        || row.enabled != v.enabled
                        || row.vanished;
                    row.name = v.display_name.clone();
                    row.ksc_vserver_id = Some(v.id);
                    row.enabled = v.enabled;
                    row.vanished = false;
                    row.last_seen_at = Some(now);
                    if changed {
                        row.updated_at = now;
                        result.updated += 1;
                    }
                    db::tenants::update(conn, &row)?;
                }
            }
        }
        let seen: HashSet<&str> = vservers.iter().map(|v| v.uid.as_str()).collect();
        for mut row in db::tenants::of_solution(conn, db::tenants::KSC)? {
            if !row.vanished && !seen.contains(row.external_id.as_str()) {
                row.vanished = true;
                row.updated_at = now;
                db::tenants::update(conn, &row)?;
                result.vanished += 1;
            }
        }
        Ok(result)
    })
}

/// The audited form of a tenant.
fn audited(t: &TenantRow) -> serde_json::Value {
    serde_json::json!({"solution": t.solution, "name": t.name, "external_id": t.external_id})
}

/// Creates a Business Hub tenant (Business Hub has no public API to discover them).
pub fn create_business_hub(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    external_id: &str,
) -> Result<TenantRow, ServiceError> {
    db::write_transaction(conn, "tenants", |conn| {
        if db::tenants::find_by_external_id(conn, db::tenants::BUSINESS_HUB, external_id)?.is_some()
        {
            return Err(ServiceError::Conflict(format!(
                "A Business Hub tenant with external id {external_id} exists already."
            )));
        }
        let now = db::now();
        let row = TenantRow {
            id: db::new_id(),
            solution: db::tenants::BUSINESS_HUB.into(),
            name: name.to_string(),
            external_id: external_id.to_string(),
            ksc_vserver_id: None,
            enabled: true,
            vanished: false,
            last_seen_at: None,
            created_at: now,
            updated_at: now,
        };
        db::tenants::insert(conn, &row)?;
        audit::record(
            conn,
            actor,
            "create",
            "tenant",
            &row.id,
            None,
            Some(audited(&row)),
        )?;
        Ok(row)
    })
}
