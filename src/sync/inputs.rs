//! What a plan is computed from, read from the database once per plan or run: applications,
//! mappings, tenants, their latest usage, the additions the project manages, and the policies.
//! A unit's desired state and constraints come from the unit's tenants and agreements alone.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::adapters::db::usage_snapshots::{Outcome, SnapshotSource, UsageSnapshot};
use crate::adapters::db::{
    self, company_mappings::CompanyMappingRow, sync::ManagedRow, tenants::TenantRow, DbConnection,
};
use crate::domain::desired::{
    self, BillingInput, DesiredQuantity, DesiredState, UnbilledUsage, UnreadableReason, UsageState,
};
use crate::domain::ids::{AgreementId, ProductId};
use crate::domain::model::{ApplicationId, DeviceCategory, Solution};
use crate::domain::plan::{AgreementConstraints, ManagedAddition, Pricing, RowKey};
use crate::domain::product_mapping::ProductMapping;
use crate::domain::terms::{
    line_terms, BillingProfile, CatalogTerms, CompanyTerms, DescriptionContext,
};
use crate::domain::units::{self, Unit};
use crate::sync::settings::SyncSettings;
use crate::sync::SyncError;

/// Each tenant's usage as billing reads it.
pub type Usage = BTreeMap<String, UsageState>;

pub struct Inputs {
    pub now: DateTime<Utc>,
    pub settings: SyncSettings,
    applications: Vec<desired::SecurityApplication>,
    product_mappings: Vec<ProductMapping>,
    bill_devices_by_category: bool,
    bill_licence_tiers: bool,
    pub tenants: HashMap<String, TenantRow>,
    pub mappings: Vec<CompanyMappingRow>,
    pub managed: Vec<ManagedRow>,
    /// Licence tier → the application it folds into: usage moving between them is a move.
    pub lineage: BTreeMap<ApplicationId, ApplicationId>,
    /// Each tenant's usage as the database had it when the inputs were read.
    pub usage: Usage,
    /// What a line bills besides its quantity: profiles by product, terms by company mapping,
    /// the catalog's amounts, application names for descriptions.
    money: MoneyInputs,
    index: Index,
}

#[derive(Default)]
struct MoneyInputs {
    profiles: HashMap<i64, BillingProfile>,
    terms: HashMap<String, CompanyTerms>,
    catalog: HashMap<i64, CatalogTerms>,
    application_names: HashMap<String, String>,
}

/// Where to find a tenant's mapping, an agreement's first mapping and its managed additions.
#[derive(Default)]
struct Index {
    mapping_of_tenant: HashMap<String, usize>,
    mapping_of_agreement: HashMap<AgreementId, usize>,
    managed_of_agreement: HashMap<AgreementId, Vec<usize>>,
}

impl Index {
    fn new(mappings: &[CompanyMappingRow], managed: &[ManagedRow]) -> Index {
        let mut index = Index::default();
        for (i, m) in mappings.iter().enumerate() {
            index
                .mapping_of_tenant
                .entry(m.tenant_id.clone())
                .or_insert(i);
            index
                .mapping_of_agreement
                .entry(AgreementId(m.agreement_id))
                .or_insert(i);
        }
        for (i, m) in managed.iter().enumerate() {
            index
                .managed_of_agreement
                .entry(AgreementId(m.agreement_id))
                .or_default()
                .push(i);
        }
        index
    }
}

/// What one unit is planned from.
pub struct UnitState {
    pub desired: DesiredState,
    pub constraints: AgreementConstraints,
    pub managed: Vec<ManagedAddition>,
}

impl Inputs {
    pub fn load(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Inputs, SyncError> {
        let settings = crate::sync::settings::get(conn)?;
        let all_applications = db::security_applications::list(conn, None)?;
        let lineage = all_applications
            .iter()
            .filter_map(|a| Some((a.id.clone(), a.folds_into.clone()?)))
            .collect();
        let applications = all_applications
            .iter()
            .filter(|a| !a.retired)
            .map(|a| a.billing())
            .collect();
        let billing = db::billing_settings::get(conn)?;
        let tenants: HashMap<String, TenantRow> = db::tenants::all(conn)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mappings = db::company_mappings::all(conn)?;
        let managed = db::sync::managed(conn)?;
        let money = MoneyInputs {
            profiles: db::billing_profiles::by_product(conn)?,
            terms: db::company_terms::by_mapping(conn)?,
            catalog: db::cw_products::all_terms(conn)?.into_iter().collect(),
            application_names: all_applications
                .iter()
                .map(|a| (a.id.clone(), a.name.clone()))
                .collect(),
        };
        let mut inputs = Inputs {
            now,
            applications,
            product_mappings: db::product_mappings::list(conn)?,
            bill_devices_by_category: billing.bill_devices_by_category,
            bill_licence_tiers: billing.bill_licence_tiers,
            index: Index::new(&mappings, &managed),
            mappings,
            managed,
            lineage,
            usage: Usage::new(),
            money,
            settings,
            tenants,
        };
        let latest: HashMap<String, UsageSnapshot> = db::usage_snapshots::latest_per_tenant(conn)?
            .into_iter()
            .map(|s| (s.tenant_id.clone(), s))
            .collect();
        inputs.usage = inputs
            .tenants
            .keys()
            .filter_map(|id| Some((id.clone(), inputs.state_of(id, latest.get(id))?)))
            .collect();
        Ok(inputs)
    }

    /// A tenant's usage as billing reads it, from its newest snapshot.
    pub fn state_of(&self, tenant_id: &str, latest: Option<&UsageSnapshot>) -> Option<UsageState> {
        let tenant = self.tenants.get(tenant_id)?;
        let max_age = Duration::hours(i64::from(self.settings.max_usage_age_hours));
        usage_state(tenant, latest, self.now, max_age)
    }

    /// The units of billing: mapped tenants and the agreements they and the managed additions bill.
    pub fn units(&self) -> Vec<Unit> {
        let mapped = self
            .mappings
            .iter()
            .map(|m| (Some(m.tenant_id.as_str()), AgreementId(m.agreement_id)));
        let managed = self
            .managed
            .iter()
            .map(|m| (m.tenant_id.as_deref(), AgreementId(m.agreement_id)));
        units::units(mapped.chain(managed))
    }

    /// The mapping of a tenant.
    pub fn mapping_of(&self, tenant_id: &str) -> Option<&CompanyMappingRow> {
        Some(&self.mappings[*self.index.mapping_of_tenant.get(tenant_id)?])
    }

    /// The mappings of a unit's tenants (all of them: none), in the stored order.
    fn company_mappings(&self, unit: Option<&Unit>) -> Vec<desired::CompanyMapping> {
        let rows: Vec<&CompanyMappingRow> = match unit {
            None => self.mappings.iter().collect(),
            Some(u) => {
                let mut rows: Vec<usize> = u
                    .tenants
                    .iter()
                    .filter_map(|t| self.index.mapping_of_tenant.get(t).copied())
                    .collect();
                rows.sort_unstable();
                rows.into_iter().map(|i| &self.mappings[i]).collect()
            }
        };
        rows.into_iter()
            .filter_map(|m| {
                let tenant = self.tenants.get(&m.tenant_id)?;
                Some(desired::CompanyMapping {
                    tenant_id: m.tenant_id.clone(),
                    solution: tenant.solution,
                    cw_company_id: m.cw_company_id,
                    agreement_id: AgreementId(m.agreement_id),
                    billing_enabled: m.billing_enabled,
                    terms: self.money.terms.get(&m.id).cloned().unwrap_or_default(),
                })
            })
            .collect()
    }

    fn desired(&self, company_mappings: &[desired::CompanyMapping], usage: &Usage) -> DesiredState {
        desired::desired_state(&BillingInput {
            applications: &self.applications,
            product_mappings: &self.product_mappings,
            bill_devices_by_category: self.bill_devices_by_category,
            bill_licence_tiers: self.bill_licence_tiers,
            company_mappings,
            usage,
        })
    }

    /// The desired state of every mapped tenant at once (the reconciliation report).
    pub fn desired_all(&self) -> DesiredState {
        self.desired(&self.company_mappings(None), &self.usage)
    }

    /// The product an application's usage (in `category`) bills on in the mode in force.
    pub fn product_for(
        &self,
        application_id: &str,
        category: Option<DeviceCategory>,
    ) -> Option<i64> {
        let mapping = self
            .product_mappings
            .iter()
            .find(|m| m.application_id == application_id)?;
        let category = category.filter(|_| self.bill_devices_by_category);
        mapping.product_for(category)
    }

    /// What the catalog cache says a product costs the customer.
    pub fn catalog_price(&self, product_id: i64) -> Option<crate::domain::money::Money> {
        self.money.catalog.get(&product_id).and_then(|c| c.price)
    }

    /// Usage nothing bills, of every tenant (the unbilled-usage report).
    pub fn unbilled(&self) -> Vec<UnbilledUsage> {
        self.desired(&self.company_mappings(None), &self.usage)
            .unbilled
    }

    /// Usage nothing bills of tenants in no unit (none of them is mapped), from `usage`.
    pub fn unbilled_outside(&self, units: &[Unit], usage: &Usage) -> Vec<UnbilledUsage> {
        let in_units: std::collections::HashSet<&String> =
            units.iter().flat_map(|u| &u.tenants).collect();
        let usage: Usage = usage
            .iter()
            .filter(|(t, _)| !in_units.contains(t))
            .map(|(t, u)| (t.clone(), u.clone()))
            .collect();
        self.desired(&[], &usage).unbilled
    }

    /// A unit's desired state (from `usage`, the usage of its tenants) and its constraints.
    pub fn unit_state(&self, unit: &Unit, usage: &Usage) -> UnitState {
        let desired = self.desired(&self.company_mappings(Some(unit)), usage);
        let managed: Vec<&ManagedRow> = unit
            .agreements
            .iter()
            .filter_map(|a| self.index.managed_of_agreement.get(a))
            .flatten()
            .map(|&i| &self.managed[i])
            .collect();
        let mut constraints = AgreementConstraints::from_desired(&desired);
        let current_agreement = |m: &ManagedRow| {
            let tenant = m.tenant_id.as_deref()?;
            Some(AgreementId(self.mapping_of(tenant)?.agreement_id))
        };
        // A mapping deleted: its tenant's managed additions are left as they are and forgotten.
        for m in &managed {
            if current_agreement(m).is_none() {
                constraints.released.insert(AgreementId(m.agreement_id));
            }
        }
        // A tenant's earlier agreements (its mapping moved) share its constraints: nothing there
        // is cancelled while its usage is unreadable, and cancels wait while it has unattributed
        // keys.
        for m in &managed {
            let agreement = AgreementId(m.agreement_id);
            let Some(current) = current_agreement(m).filter(|&a| a != agreement) else {
                continue;
            };
            if let Some(reason) = constraints.frozen.get(&current).cloned() {
                constraints.frozen.entry(agreement).or_insert(reason);
            }
            if constraints.cancel_guarded.contains(&current) {
                constraints.cancel_guarded.insert(agreement);
            }
        }
        UnitState {
            desired,
            constraints,
            managed: managed
                .into_iter()
                .map(|m| ManagedAddition {
                    agreement_id: AgreementId(m.agreement_id),
                    product_id: ProductId(m.product_id),
                    addition_id: m.addition_id,
                    tenant_id: m.tenant_id.clone(),
                    billed: m.billed_json.as_ref().map(|billed| billed.0.clone()),
                })
                .collect(),
        }
    }

    /// What each desired line's terms and money are computed from.
    pub fn pricing(&self, desired: &[DesiredQuantity]) -> BTreeMap<RowKey, Pricing> {
        desired
            .iter()
            .map(|d| {
                let key = RowKey {
                    agreement_id: d.agreement_id,
                    product_id: d.product_id,
                };
                (key, self.pricing_of(d))
            })
            .collect()
    }

    fn pricing_of(&self, d: &DesiredQuantity) -> Pricing {
        let catalog = self
            .money
            .catalog
            .get(&d.product_id.0)
            .copied()
            .unwrap_or_default();
        let (tenant, mapping) = self.owner_of(d.agreement_id);
        let customer = mapping
            .and_then(|m| self.money.terms.get(&m.id))
            .and_then(|t| t.product(d.product_id.0));
        let mut applications: Vec<String> = d
            .contributions
            .iter()
            .map(|c| {
                let name = self.money.application_names.get(&c.application_id);
                name.unwrap_or(&c.application_id).clone()
            })
            .collect();
        applications.sort();
        applications.dedup();
        let mut categories: Vec<String> = d
            .contributions
            .iter()
            .filter_map(|c| Some(c.category?.label().to_string()))
            .collect();
        categories.sort();
        categories.dedup();
        let context = DescriptionContext {
            applications: &applications,
            categories: &categories,
            company: mapping.map_or("", |m| m.cw_company_name.as_str()),
            tenant: tenant.map_or("", |t| t.name.as_str()),
            quantity: d.quantity,
        };
        Pricing {
            write: line_terms(
                self.money.profiles.get(&d.product_id.0),
                customer,
                catalog,
                &context,
            ),
            catalog_price: catalog.price,
        }
    }

    /// The tenant and company an agreement bills (through its current mapping, or the tenant
    /// whose managed additions it holds).
    pub fn owner_of(
        &self,
        agreement_id: AgreementId,
    ) -> (Option<&TenantRow>, Option<&CompanyMappingRow>) {
        if let Some(&i) = self.index.mapping_of_agreement.get(&agreement_id) {
            let m = &self.mappings[i];
            return (self.tenants.get(&m.tenant_id), Some(m));
        }
        let tenant = self
            .index
            .managed_of_agreement
            .get(&agreement_id)
            .and_then(|rows| rows.first())
            .and_then(|&i| self.managed[i].tenant_id.as_ref())
            .and_then(|t| self.tenants.get(t));
        let mapping = tenant.and_then(|t| self.mapping_of(&t.id));
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
    if tenant.solution == Solution::Ksc {
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

/// The usage of the given tenants.
pub fn of_tenants<'a>(usage: &Usage, tenants: impl IntoIterator<Item = &'a String>) -> Usage {
    tenants
        .into_iter()
        .filter_map(|t| Some((t.clone(), usage.get(t)?.clone())))
        .collect()
}
