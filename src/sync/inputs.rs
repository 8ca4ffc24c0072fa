//! What a plan is computed from, read from the database: applications, mappings, tenants, their
//! latest usage, the additions the project manages, and the policies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::adapters::db::usage_snapshots::{Outcome, SnapshotSource, UsageSnapshot};
use crate::adapters::db::{
    self, company_mappings::CompanyMappingRow, sync::ManagedRow, tenants::TenantRow, DbConnection,
};
use crate::domain::desired::{self, BillingInput, DesiredState, UnreadableReason, UsageState};
use crate::domain::model::ApplicationId;
use crate::domain::plan::AgreementConstraints;
use crate::sync::settings::SyncSettings;
use crate::sync::SyncError;

pub struct Inputs {
    pub desired: DesiredState,
    pub constraints: AgreementConstraints,
    pub managed: Vec<ManagedRow>,
    pub settings: SyncSettings,
    pub tenants: HashMap<String, TenantRow>,
    pub mappings: Vec<CompanyMappingRow>,
    /// Licence tier → the application it folds into: usage moving between them is a move.
    pub lineage: BTreeMap<ApplicationId, ApplicationId>,
}

impl Inputs {
    /// Every agreement whose additions the plan needs: mapped ones and ones holding managed additions.
    pub fn agreements(&self) -> BTreeSet<i64> {
        self.mappings
            .iter()
            .map(|m| m.agreement_id)
            .chain(self.managed.iter().map(|m| m.agreement_id))
            .collect()
    }

    /// The tenant and company an agreement bills (through its current mapping, or the tenant
    /// whose managed additions it holds).
    pub fn owner_of(&self, agreement_id: i64) -> (Option<&TenantRow>, Option<&CompanyMappingRow>) {
        if let Some(m) = self
            .mappings
            .iter()
            .find(|m| m.agreement_id == agreement_id)
        {
            return (self.tenants.get(&m.tenant_id), Some(m));
        }
        let tenant = self
            .managed
            .iter()
            .find(|m| m.agreement_id == agreement_id)
            .and_then(|m| m.tenant_id.as_ref())
            .and_then(|t| self.tenants.get(t));
        let mapping = tenant.and_then(|t| self.mappings.iter().find(|m| m.tenant_id == t.id));
        (tenant, mapping)
    }
}

/// Why a tenant's latest usage cannot be billed now, if it cannot.
fn usage_state(
    tenant: &TenantRow,
    latest: Option<&UsageSnapshot>,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Option<UsageState> {
    if tenant.solution == db::tenants::KSC {
        if tenant.vanished {
            return Some(UsageState::Unreadable(
                UnreadableReason::VirtualServerVanished,
            ));
        }
        if !tenant.enabled {
            return Some(UsageState::Unreadable(
                UnreadableReason::VirtualServerDisabled,
            ));
        }
    }
    let snapshot = latest?;
    let taken_at = snapshot.taken_at.and_utc();
    Some(match &snapshot.outcome {
        Outcome::Failed(reason) => UsageState::Unreadable(UnreadableReason::Error {
            message: reason.clone(),
        }),
        Outcome::Ok(_) if now - taken_at > max_age => match snapshot.source {
            SnapshotSource::Push => UsageState::Unreadable(UnreadableReason::PushTooOld {
                pushed_at: taken_at,
            }),
            SnapshotSource::KscPull => UsageState::Unreadable(UnreadableReason::Error {
                message: format!("the latest KSC usage ({taken_at}) is older than the maximum age"),
            }),
        },
        Outcome::Ok(usage) => UsageState::Fresh(usage.clone()),
    })
}

pub fn load(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Inputs, SyncError> {
    let settings = crate::sync::settings::get(conn)?;
    let all_applications = db::security_applications::list(conn, None)?;
    let lineage = all_applications
        .iter()
        .filter_map(|a| Some((a.id.clone(), a.folds_into.clone()?)))
        .collect();
    let applications: Vec<desired::SecurityApplication> = all_applications
        .iter()
        .filter(|a| !a.retired)
        .map(|a| a.billing())
        .collect();
    let product_mappings = db::product_mappings::list(conn)?;
    let billing = db::billing_settings::get(conn)?;
    let mappings = db::company_mappings::all(conn)?;
    let tenants: HashMap<String, TenantRow> = db::tenants::all(conn)?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let latest: HashMap<String, UsageSnapshot> = db::usage_snapshots::latest_per_tenant(conn)?
        .into_iter()
        .map(|s| (s.tenant_id.clone(), s))
        .collect();
    let max_age = Duration::hours(i64::from(settings.max_usage_age_hours));
    let usage: BTreeMap<String, UsageState> = tenants
        .values()
        .filter_map(|t| {
            Some((
                t.id.clone(),
                usage_state(t, latest.get(&t.id), now, max_age)?,
            ))
        })
        .collect();
    let company_mappings: Vec<desired::CompanyMapping> = mappings
        .iter()
        .filter_map(|m| {
            let tenant = tenants.get(&m.tenant_id)?;
            Some(desired::CompanyMapping {
                tenant_id: m.tenant_id.clone(),
                solution: tenant.solution(),
                cw_company_id: m.cw_company_id,
                agreement_id: m.agreement_id,
                billing_enabled: m.billing_enabled,
            })
        })
        .collect();
    let desired = desired::desired_state(&BillingInput {
        applications: &applications,
        product_mappings: &product_mappings,
        bill_devices_by_category: billing.bill_devices_by_category,
        bill_licence_tiers: billing.bill_licence_tiers,
        company_mappings: &company_mappings,
        usage: &usage,
    });
    let managed = db::sync::managed(conn)?;
    let mut constraints = AgreementConstraints::from_desired(&desired);
    // A mapping deleted: its tenant's managed additions are left as they are and forgotten.
    for m in &managed {
        let still_mapped = m
            .tenant_id
            .as_ref()
            .is_some_and(|t| mappings.iter().any(|cm| &cm.tenant_id == t));
        if !still_mapped {
            constraints.released.insert(m.agreement_id);
        }
    }
    // A tenant's earlier agreements (its mapping moved) share its constraints: nothing there is
    // cancelled while its usage is unreadable, and cancels wait while it has unattributed keys.
    for m in &managed {
        let Some(current) = m
            .tenant_id
            .as_ref()
            .and_then(|t| mappings.iter().find(|cm| &cm.tenant_id == t))
            .map(|cm| cm.agreement_id)
            .filter(|&a| a != m.agreement_id)
        else {
            continue;
        };
        if let Some(reason) = constraints.frozen.get(&current).cloned() {
            constraints.frozen.entry(m.agreement_id).or_insert(reason);
        }
        if constraints.cancel_guarded.contains(&current) {
            constraints.cancel_guarded.insert(m.agreement_id);
        }
    }
    Ok(Inputs {
        desired,
        constraints,
        managed,
        settings,
        tenants,
        mappings,
        lineage,
    })
}
