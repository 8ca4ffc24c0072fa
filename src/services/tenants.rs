//! Tenants: discovery of KSC virtual servers and Business Hub companies created through the API.

use std::collections::HashSet;

use crate::adapters::db::company_mappings::CompanyMappingRow;
use crate::adapters::db::{self, audit, audit::Actor, tenants::TenantRow, DbConnection};
use crate::adapters::kaspersky::VServer;
use crate::domain::model::Solution;
use crate::runtime::state::Core;
use crate::services::connections::kaspersky as ksc;
use crate::services::listing::{PageRequest, Rows};
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
pub async fn refresh(state: &Core) -> Result<Discovery, ServiceError> {
    let client = ksc::shared_client(state).await?;
    let vservers = client.list_vservers().await.map_err(ksc::upstream_error)?;
    let discovery = db::run(&state.pool, move |conn| apply_discovery(conn, &vservers)).await;
    crate::sync::notices::wake(state);
    discovery
}

/// Brings the KSC tenants in line with the virtual servers KSC lists now: new ones added,
/// changed ones updated (a returning one is no longer vanished), missing ones marked vanished
/// (kept: mappings and history still point at them).
fn apply_discovery(
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
            match db::tenants::find_by_external_id(conn, Solution::Ksc, &v.uid)? {
                None => {
                    db::tenants::insert(
                        conn,
                        &TenantRow {
                            id: db::new_id(),
                            solution: Solution::Ksc,
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
        for mut row in db::tenants::of_solution(conn, Solution::Ksc)? {
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
fn create_business_hub(
    conn: &mut DbConnection,
    actor: &Actor,
    name: &str,
    external_id: &str,
) -> Result<TenantRow, ServiceError> {
    db::write_transaction(conn, "tenants", |conn| {
        if db::tenants::find_by_external_id(conn, Solution::BusinessHub, external_id)?.is_some() {
            return Err(ServiceError::Conflict(format!(
                "A Business Hub tenant with external id {external_id} exists already."
            )));
        }
        let now = db::now();
        let row = TenantRow {
            id: db::new_id(),
            solution: Solution::BusinessHub,
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

/// A tenant with the company mapping that bills it, if any.
pub type TenantWithMapping = (TenantRow, Option<CompanyMappingRow>);

/// Pairs each tenant with its mapping (one query for all of them).
fn with_mappings(
    conn: &mut DbConnection,
    rows: Vec<TenantRow>,
) -> Result<Vec<TenantWithMapping>, ServiceError> {
    let ids: Vec<String> = rows.iter().map(|t| t.id.clone()).collect();
    let mut mappings = db::company_mappings::of_tenants(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let mapping = mappings
                .iter()
                .position(|m| m.tenant_id == t.id)
                .map(|i| mappings.swap_remove(i));
            (t, mapping)
        })
        .collect())
}

/// A page of tenants (of one solution) by name, with their mappings.
pub async fn list(
    ctx: &Core,
    solution: Option<Solution>,
    page: PageRequest,
) -> Result<Rows<TenantWithMapping>, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let (rows, total) = db::tenants::list(conn, solution, page.offset, page.limit)?;
        Ok(Rows {
            rows: with_mappings(conn, rows)?,
            total,
        })
    })
    .await
}

/// One tenant with its mapping; 404 when there is none.
pub async fn find(ctx: &Core, id: String) -> Result<TenantWithMapping, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let row = db::tenants::find(conn, &id)?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no tenant {id}.")))?;
        Ok(with_mappings(conn, vec![row])?.remove(0))
    })
    .await
}

/// Creates a Business Hub tenant; 409 when its external id is taken.
pub async fn create(
    ctx: &Core,
    actor: Actor,
    name: String,
    external_id: String,
) -> Result<TenantRow, ServiceError> {
    let result = db::run(&ctx.pool, move |conn| {
        create_business_hub(conn, &actor, &name, &external_id)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}
