//! A sync plan: the billing rules applied to the tenants' usage and to the agreements'
//! additions as ConnectWise has them now. Stored, so a preview can be applied exactly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::connections::connectwise::upstream_error;
use crate::connectwise::{Addition, ConnectWiseClient};
use crate::domain::desired::{BlockedTenant, FrozenTenant, UnbilledUsage};
use crate::domain::plan::{self as rules, CwAddition, ManagedAddition, PlanInput, PlanRow};
use crate::error::ApiError;
use crate::sync::inputs::Inputs;

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
    /// How many lines of each action.
    pub counts: BTreeMap<String, usize>,
    /// Tenants whose usage could not be read: their agreements get no changes.
    pub frozen: Vec<FrozenTenant>,
    /// Tenants with usage of an application whose mapping is incomplete: no changes.
    pub blocked: Vec<BlockedTenant>,
    pub unreadable_agreements: Vec<UnreadableAgreement>,
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
                error: upstream_error(e).to_string(),
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
    scope: Option<&crate::db::company_mappings::CompanyMappingRow>,
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
        })
        .collect();
    let rows = rules::plan(&PlanInput {
        desired: &inputs.desired.quantities,
        additions,
        managed: &managed,
        constraints: &constraints,
        policies: inputs.settings.policies(),
        now,
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
    Plan {
        id: crate::db::new_id(),
        created_at: now,
        company_mapping_id: scope.map(|m| m.id.clone()),
        lines,
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
        unreadable_agreements: unreadable
            .into_iter()
            .filter(|u| in_scope(u.agreement_id))
            .collect(),
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
    state: &crate::state::AppState,
    scope: Option<crate::db::company_mappings::CompanyMappingRow>,
) -> Result<(Plan, Inputs), ApiError> {
    let now = Utc::now();
    let inputs = crate::db::run(&state.pool, move |conn| {
        crate::sync::inputs::load(conn, now)
    })
    .await?;
    let client = state.connectwise.get(state).await?;
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
