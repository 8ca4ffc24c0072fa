//! A sync plan: the billing rules applied to the tenants' usage and to the agreements'
//! additions as ConnectWise has them now. Stored, so a preview can be applied exactly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::connectwise::{Addition, ConnectWiseClient};
use crate::domain::desired::{BlockedTenant, FrozenTenant, UnbilledUsage};
use crate::domain::moves::Move;
use crate::domain::plan::{self as rules, CwAddition, ManagedAddition, PlanInput, PlanRow};
use crate::sync::inputs::Inputs;
use crate::sync::SyncError;

/// One (company, agreement, product) of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanLine {
    #[serde(flatten)]
    pub row: PlanRow,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub cw_company_id: Option<i64>,
    pub cw_company_name: Option<String>,
}

/// Why a billed tenant gets no changes in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotBilledKind {
    /// Its usage (or its agreement's additions) could not be read or is too old: skipped.
    Skipped,
    /// It uses an application whose product mapping is incomplete.
    Blocked,
}

/// A tenant with billing enabled whose bill the plan leaves as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotBilledTenant {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub agreement_id: i64,
    pub kind: NotBilledKind,
    pub reason: String,
}

/// A billed tenant whose usage holds licence keys that were not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantKeys {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    /// Keys that matched no security application.
    pub unknown_keys: usize,
    /// Keys that matched several applications equally well.
    pub ambiguous_keys: usize,
    /// The product names those keys carry (teach them with
    /// `POST /api/v1/security-applications/{id}/match-rules`).
    #[serde(default)]
    pub product_names: Vec<String>,
}

/// An agreement whose additions could not be read: frozen for this plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnreadableAgreement {
    pub agreement_id: i64,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The company mapping the plan is limited to, if any.
    pub company_mapping_id: Option<String>,
    pub lines: Vec<PlanLine>,
    /// Usage billed on other lines than before (mode switch, remap, agreement move): each
    /// move's lines are applied or held together, and name it in `move_id`.
    #[serde(default)]
    pub moves: Vec<Move>,
    /// How many lines of each action.
    pub counts: BTreeMap<String, usize>,
    /// Tenants whose usage could not be read: their agreements get no changes.
    pub frozen: Vec<FrozenTenant>,
    /// Tenants with usage of an application whose mapping is incomplete: no changes.
    pub blocked: Vec<BlockedTenant>,
    pub unreadable_agreements: Vec<UnreadableAgreement>,
    /// Every billed tenant the plan leaves unbilled (frozen, blocked, unreadable agreement), by name.
    #[serde(default)]
    pub not_billed: Vec<NotBilledTenant>,
    /// Billed tenants whose usage holds uncounted keys (their cancels wait for approval).
    #[serde(default)]
    pub unattributed_keys: Vec<TenantKeys>,
    /// Usage nothing bills.
    pub unbilled: Vec<UnbilledUsage>,
}

pub fn to_cw_addition(agreement_id: i64, a: &Addition) -> Option<CwAddition> {
    Some(CwAddition {
        id: a.id?,
        agreement_id,
        product_id: a.product.as_ref()?.id?,
        quantity: a.quantity.unwrap_or(0.0),
        cancelled_date: a.cancelled_date,
    })
}

/// Reads the additions of every agreement (one paged list each; the client bounds concurrency).
pub async fn read_additions(
    client: &ConnectWiseClient,
    agreements: &BTreeSet<i64>,
) -> (Vec<CwAddition>, Vec<UnreadableAgreement>) {
    let reads = agreements
        .iter()
        .map(|&id| async move { (id, client.list_additions(id, None).await) });
    let mut additions = Vec::new();
    let mut unreadable = Vec::new();
    for (agreement_id, read) in join_all(reads).await {
        match read {
            Ok(list) => {
                additions.extend(list.iter().filter_map(|a| to_cw_addition(agreement_id, a)))
            }
            Err(e) => unreadable.push(UnreadableAgreement {
                agreement_id,
                error: e.to_string(),
            }),
        }
    }
    (additions, unreadable)
}

/// Computes the plan from the inputs and the agreements' additions.
pub fn compute(
    inputs: &Inputs,
    additions: &[CwAddition],
    unreadable: Vec<UnreadableAgreement>,
    scope: Option<&crate::adapters::db::company_mappings::CompanyMappingRow>,
    now: DateTime<Utc>,
) -> Plan {
    let mut constraints = inputs.constraints.clone();
    for u in &unreadable {
        constraints.frozen.insert(
            u.agreement_id,
            format!("its additions could not be read: {}", u.error),
        );
    }
    let managed: Vec<ManagedAddition> = inputs
        .managed
        .iter()
        .map(|m| ManagedAddition {
            agreement_id: m.agreement_id,
            product_id: m.product_id,
            addition_id: m.addition_id,
            tenant_id: m.tenant_id.clone(),
            billed: m.billed_json.as_ref().map(|billed| billed.0.clone()),
        })
        .collect();
    let rules::Planned { rows, moves } = rules::plan(&PlanInput {
        desired: &inputs.desired.quantities,
        additions,
        managed: &managed,
        constraints: &constraints,
        policies: inputs.settings.policies(),
        now,
        lineage: &inputs.lineage,
    });
    let in_scope = |agreement_id: i64| match scope {
        None => true,
        Some(m) => {
            agreement_id == m.agreement_id
                || inputs.managed.iter().any(|r| {
                    r.agreement_id == agreement_id && r.tenant_id.as_deref() == Some(&m.tenant_id)
                })
        }
    };
    let lines: Vec<PlanLine> = rows
        .into_iter()
        .filter(|r| in_scope(r.agreement_id))
        .map(|row| {
            let (tenant, mapping) = inputs.owner_of(row.agreement_id);
            PlanLine {
                tenant_id: tenant.map(|t| t.id.clone()),
                tenant_name: tenant.map(|t| t.name.clone()),
                cw_company_id: mapping.map(|m| m.cw_company_id),
                cw_company_name: mapping.map(|m| m.cw_company_name.clone()),
                row,
            }
        })
        .collect();
    let mut counts = BTreeMap::new();
    for line in &lines {
        *counts
            .entry(line.row.action.as_str().to_string())
            .or_insert(0) += 1;
    }
    let tenant_in_scope = |tenant_id: &str| scope.is_none_or(|m| m.tenant_id == tenant_id);
    let unreadable: Vec<UnreadableAgreement> = unreadable
        .into_iter()
        .filter(|u| in_scope(u.agreement_id))
        .collect();
    let name_of = |tenant_id: &str| inputs.tenants.get(tenant_id).map(|t| t.name.clone());
    let mut not_billed: Vec<NotBilledTenant> = Vec::new();
    let mut add = |tenant_id: &str, agreement_id, kind, reason: String| {
        if !tenant_in_scope(tenant_id) {
            return;
        }
        match not_billed.iter_mut().find(|t| t.tenant_id == tenant_id) {
            Some(known) => known.reason = format!("{}; {reason}", known.reason),
            None => not_billed.push(NotBilledTenant {
                tenant_id: tenant_id.to_string(),
                tenant_name: name_of(tenant_id),
                agreement_id,
                kind,
                reason,
            }),
        }
    };
    for t in &inputs.desired.frozen {
        add(
            &t.tenant_id,
            t.agreement_id,
            NotBilledKind::Skipped,
            t.reason.to_string(),
        );
    }
    for t in &inputs.desired.blocked {
        let reason = format!(
            "incomplete product mapping for {}",
            t.applications.join(", ")
        );
        add(&t.tenant_id, t.agreement_id, NotBilledKind::Blocked, reason);
    }
    for u in &unreadable {
        if let (Some(tenant), _) = inputs.owner_of(u.agreement_id) {
            let reason = format!(
                "the additions of agreement {} could not be read: {}",
                u.agreement_id, u.error
            );
            add(&tenant.id, u.agreement_id, NotBilledKind::Skipped, reason);
        }
    }
    not_billed.sort_by(|a, b| (&a.tenant_name, &a.tenant_id).cmp(&(&b.tenant_name, &b.tenant_id)));
    let unattributed_keys = inputs
        .desired
        .unattributed_keys
        .iter()
        .filter(|t| tenant_in_scope(&t.tenant_id))
        .map(|t| TenantKeys {
            tenant_id: t.tenant_id.clone(),
            tenant_name: name_of(&t.tenant_id),
            unknown_keys: t.unknown_keys,
            ambiguous_keys: t.ambiguous_keys,
            product_names: t.product_names.clone(),
        })
        .collect();
    Plan {
        id: crate::adapters::db::new_id(),
        created_at: now,
        company_mapping_id: scope.map(|m| m.id.clone()),
        lines,
        moves: moves
            .into_iter()
            .filter(|m| tenant_in_scope(&m.tenant_id))
            .collect(),
        counts,
        frozen: inputs
            .desired
            .frozen
            .iter()
            .filter(|t| tenant_in_scope(&t.tenant_id))
            .cloned()
            .collect(),
        blocked: inputs
            .desired
            .blocked
            .iter()
            .filter(|t| tenant_in_scope(&t.tenant_id))
            .cloned()
            .collect(),
        unreadable_agreements: unreadable,
        not_billed,
        unattributed_keys,
        unbilled: inputs
            .desired
            .unbilled
            .iter()
            .filter(|u| tenant_in_scope(&u.tenant_id))
            .cloned()
            .collect(),
    }
}

/// Plans afresh: inputs from the database, additions from ConnectWise.
pub async fn make(
    state: &crate::runtime::state::AppState,
    scope: Option<crate::adapters::db::company_mappings::CompanyMappingRow>,
) -> Result<(Plan, Inputs), SyncError> {
    let now = Utc::now();
    let inputs = crate::adapters::db::run(&state.pool, move |conn| {
        crate::sync::inputs::load(conn, now)
    })
    .await?;
    let client = crate::runtime::clients::shared_connectwise(state).await?;
    let agreements: BTreeSet<i64> = match &scope {
        None => inputs.agreements(),
        Some(m) => inputs
            .agreements()
            .into_iter()
            .filter(|&a| {
                a == m.agreement_id
                    || inputs.managed.iter().any(|r| {
                        r.agreement_id == a && r.tenant_id.as_deref() == Some(&m.tenant_id)
                    })
            })
            .collect(),
    };
    let (additions, unreadable) = read_additions(&client, &agreements).await;
    let plan = compute(&inputs, &additions, unreadable, scope.as_ref(), now);
    Ok((plan, inputs))
}
