//! Planning: the billing rules applied to a unit's usage and to its agreements' additions as
//! ConnectWise has them now. A preview plans every unit at once and is stored, so it can be
//! applied exactly.

use std::collections::BTreeSet;

use chrono::Utc;
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};

use crate::adapters::connectwise::{Addition, ConnectWiseClient};
use crate::adapters::db::{self, company_mappings::CompanyMappingRow};
use crate::domain::plan::{self as rules, AdditionTerms, CwAddition, PlanInput};
use crate::domain::report::{self, Owner, PartInput, Plan, PlanPart, Scope, UnreadableAgreement};
use crate::domain::terms::BillCustomer;
use crate::domain::units::Unit;
use crate::runtime::state::Core;
use crate::sync::inputs::{of_tenants, Inputs, Usage};
use crate::sync::SyncError;

/// Units planned at once: enough to keep every ConnectWise call slot busy while some units wait
/// for their additions and others record what they wrote.
pub fn units_at_once(client: &ConnectWiseClient) -> usize {
    client.config().max_concurrency * 2 + 2
}

pub fn to_cw_addition(agreement_id: i64, a: &Addition) -> Option<CwAddition> {
    Some(CwAddition {
        id: a.id?,
        agreement_id,
        product_id: a.product.as_ref()?.id?,
        quantity: a.quantity.unwrap_or(0.0),
        cancelled_date: a.cancelled_date,
        terms: AdditionTerms {
            bill_customer: a.bill_customer.as_deref().and_then(BillCustomer::parse),
            unit_price: a.unit_price,
            unit_cost: a.unit_cost,
            taxable: a.taxable_flag,
            invoice_description: a.invoice_description.clone(),
            less_included: a.less_included.unwrap_or(0.0),
        },
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

/// Plans one unit from its tenants' usage: reads its agreements' additions, then computes.
/// Returns the additions read too (the agreements that could not be read have none).
pub async fn plan_unit(
    client: &ConnectWiseClient,
    inputs: &Inputs,
    unit: &Unit,
    usage: &Usage,
    scope: Option<&CompanyMappingRow>,
) -> (PlanPart, Vec<CwAddition>) {
    let (additions, unreadable) = read_additions(client, &unit.agreements).await;
    let part = compute(inputs, unit, usage, &additions, unreadable, scope);
    (part, additions)
}

/// A unit's plan from its usage and its agreements' additions; with a scope, only the lines,
/// moves and tenants of that company mapping.
fn compute(
    inputs: &Inputs,
    unit: &Unit,
    usage: &Usage,
    additions: &[CwAddition],
    unreadable: Vec<UnreadableAgreement>,
    scope: Option<&CompanyMappingRow>,
) -> PlanPart {
    let state = inputs.unit_state(unit, usage);
    let mut constraints = state.constraints;
    for u in &unreadable {
        constraints.frozen.insert(
            u.agreement_id,
            format!("its additions could not be read: {}", u.error),
        );
    }
    let planned = rules::plan(&PlanInput {
        desired: &state.desired.quantities,
        additions,
        managed: &state.managed,
        constraints: &constraints,
        policies: inputs.settings.policies(),
        now: inputs.now,
        lineage: &inputs.lineage,
        pricing: &inputs.pricing(&state.desired.quantities),
    });
    let owner = |agreement_id| {
        let (tenant, mapping) = inputs.owner_of(agreement_id);
        Owner {
            tenant_id: tenant.map(|t| t.id.clone()),
            tenant_name: tenant.map(|t| t.name.clone()),
            cw_company_id: mapping.map(|m| m.cw_company_id),
            cw_company_name: mapping.map(|m| m.cw_company_name.clone()),
        }
    };
    let tenant_name = |tenant_id: &str| inputs.tenants.get(tenant_id).map(|t| t.name.clone());
    report::part(PartInput {
        planned,
        desired: state.desired,
        managed: &state.managed,
        unreadable,
        scope: scope.map(|m| Scope {
            tenant_id: &m.tenant_id,
            agreement_id: m.agreement_id,
        }),
        owner: &owner,
        tenant_name: &tenant_name,
    })
}

/// Plans afresh without writing: inputs from the database, additions from ConnectWise, every
/// unit at once (or the one of `scope`'s tenant).
pub async fn preview(state: &Core, scope: Option<CompanyMappingRow>) -> Result<Plan, SyncError> {
    let now = Utc::now();
    let inputs = db::run(&state.pool, move |conn| Inputs::load(conn, now)).await?;
    let client = crate::runtime::clients::shared_connectwise(state).await?;
    let units: Vec<Unit> = inputs
        .units()
        .into_iter()
        .filter(|u| {
            scope
                .as_ref()
                .is_none_or(|m| u.tenants.contains(&m.tenant_id))
        })
        .collect();
    let (inputs, client, scope) = (&inputs, &client, scope.as_ref());
    let mut all = PlanPart::default();
    if scope.is_none() {
        all.unbilled = inputs.unbilled_outside(&units, &inputs.usage);
    }
    let mut parts = stream::iter(&units)
        .map(|unit| async move {
            let usage = of_tenants(&inputs.usage, &unit.tenants);
            plan_unit(client, inputs, unit, &usage, scope).await.0
        })
        .buffer_unordered(units_at_once(client));
    while let Some(part) = parts.next().await {
        all.extend(part);
    }
    let mapping_id = scope.map(|m| m.id.clone());
    Ok(Plan::assemble(db::new_id(), now, mapping_id, all))
}
