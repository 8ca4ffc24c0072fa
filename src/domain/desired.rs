//! Desired state (DOMAIN.md §6 "Desired quantity" and "Lifecycle"): from the tenants' usage and the
//! mappings, what each (agreement, product) should bill, which tenants are frozen or blocked, and which
//! usage nothing bills.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{AgreementId, ProductId};
use super::model::{
    ApplicationId, CategoryCounts, DeviceCategory, LicensingModel, Solution, TenantId, TenantUsage,
    UnattributedKey,
};
use super::product_mapping::{mapping_status, MappingStatus, ProductMapping};
use super::terms::{CompanyTerms, Routing};

/// A security application as the billing rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecurityApplication {
    pub id: ApplicationId,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    /// A licence tier: the application its devices bill as while tiers are not billed on their
    /// own (`bill_licence_tiers` off).
    pub folds_into: Option<ApplicationId>,
}

/// One tenant ↔ one ConnectWise company and the agreement that receives its billing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompanyMapping {
    pub tenant_id: TenantId,
    /// The tenant's solution: only that solution's applications bill it.
    pub solution: Solution,
    pub cw_company_id: i64,
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
    pub billing_enabled: bool,
    /// The customer's own terms: minimums, overrides, exclusions (DOMAIN.md §7).
    #[serde(default)]
    pub terms: CompanyTerms,
}

/// Why a tenant's usage cannot be trusted right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnreadableReason {
    Error {
        message: String,
    },
    LoginRefused,
    VirtualServerDisabled,
    VirtualServerVanished,
    PushTooOld {
        pushed_at: DateTime<Utc>,
    },
    /// Mapped and billed, but no usage has ever been collected or pushed.
    NoSnapshot,
}

impl fmt::Display for UnreadableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error { message } => write!(f, "usage could not be read: {message}"),
            Self::LoginRefused => f.write_str("login to the virtual server was refused"),
            Self::VirtualServerDisabled => f.write_str("the virtual server is disabled"),
            Self::VirtualServerVanished => f.write_str("the virtual server no longer exists"),
            Self::PushTooOld { pushed_at } => {
                write!(f, "the latest usage push ({pushed_at}) is too old")
            }
            Self::NoSnapshot => f.write_str("no usage snapshot yet"),
        }
    }
}

/// A tenant's usage as the sync sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum UsageState {
    Fresh(TenantUsage),
    Unreadable(UnreadableReason),
}

/// Everything the desired state is computed from.
#[derive(Debug, Clone, Copy)]
pub struct BillingInput<'a> {
    pub applications: &'a [SecurityApplication],
    pub product_mappings: &'a [ProductMapping],
    pub bill_devices_by_category: bool,
    /// Licence tiers bill as applications of their own; off, their devices bill as the
    /// application they fold into (installations upgraded from before tiers, until opted in).
    pub bill_licence_tiers: bool,
    pub company_mappings: &'a [CompanyMapping],
    /// Usage per tenant; a billed tenant missing here is frozen (`NoSnapshot`).
    pub usage: &'a BTreeMap<TenantId, UsageState>,
}

/// One application's (and category's) share of a desired quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contribution {
    pub tenant_id: TenantId,
    pub application_id: ApplicationId,
    pub category: Option<DeviceCategory>,
    pub quantity: u64,
}

/// What one (agreement, product) should bill: the sum of its contributions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DesiredQuantity {
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
    #[schema(value_type = i64)]
    pub product_id: ProductId,
    pub quantity: u64,
    pub contributions: Vec<Contribution>,
}

/// A tenant whose usage is unreadable: its agreement is frozen and reported as skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrozenTenant {
    pub tenant_id: TenantId,
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
    pub reason: UnreadableReason,
}

/// A tenant with usage of applications whose mapping is incomplete: its agreement is frozen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockedTenant {
    pub tenant_id: TenantId,
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
    pub applications: Vec<ApplicationId>,
}

/// A tenant whose billing is switched off: its managed additions are released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleasedTenant {
    pub tenant_id: TenantId,
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
}

/// A billed tenant whose snapshot reports keys that were not counted: its cancels are held
/// and the run is `partial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnattributedKeysTenant {
    pub tenant_id: TenantId,
    #[schema(value_type = i64)]
    pub agreement_id: AgreementId,
    pub unknown_keys: usize,
    pub ambiguous_keys: usize,
    /// The product names those keys carry, each once, sorted.
    #[serde(default)]
    pub product_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnbilledReason {
    /// The application has no product mapping at all.
    ApplicationNotMapped,
    /// Not an application of the tenant's solution counted in this unit.
    UnknownApplication,
    /// The tenant has no company mapping.
    TenantNotMapped,
    /// The tenant's company mapping has billing switched off.
    BillingDisabled,
    /// A licence key no application's match rules recognise (see `key`).
    UnknownKey,
    /// A licence key several applications' match rules recognise equally well (see `key`).
    AmbiguousKey,
    /// The application's product mapping is incomplete in the mode in force, so the tenant is
    /// blocked: nothing on its agreement changes until the mapping is completed.
    Blocked,
    /// The company's terms exclude the application (or category) from its bill.
    Excluded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnbilledUsage {
    pub tenant_id: TenantId,
    /// None for a licence key no single application counted.
    pub application_id: Option<ApplicationId>,
    pub category: Option<DeviceCategory>,
    /// Devices, users or mailboxes; for a key, the hosts it is the current key of.
    pub quantity: u64,
    pub reason: UnbilledReason,
    /// The key behind an `unknown_key` or `ambiguous_key` line: teach it to an application
    /// with `POST /api/v1/security-applications/{id}/match-rules`.
    #[serde(default)]
    pub key: Option<UnattributedKey>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DesiredState {
    /// Sorted by (agreement, product); only agreements of fresh, unblocked, billed tenants.
    pub quantities: Vec<DesiredQuantity>,
    pub frozen: Vec<FrozenTenant>,
    pub blocked: Vec<BlockedTenant>,
    pub released: Vec<ReleasedTenant>,
    pub unattributed_keys: Vec<UnattributedKeysTenant>,
    pub unbilled: Vec<UnbilledUsage>,
}

/// One non-zero amount of one application on a tenant, in the unit it was counted in.
struct UsageLine<'u> {
    application_id: &'u ApplicationId,
    unit: LicensingModel,
    category: Option<DeviceCategory>,
    quantity: u64,
}

impl UsageLine<'_> {
    fn contribution(&self, tenant_id: &TenantId) -> Contribution {
        Contribution {
            tenant_id: tenant_id.clone(),
            application_id: self.application_id.clone(),
            category: self.category,
            quantity: self.quantity,
        }
    }

    fn unbilled(&self, tenant_id: &TenantId, reason: UnbilledReason) -> UnbilledUsage {
        let Contribution {
            tenant_id,
            application_id,
            category,
            quantity,
        } = self.contribution(tenant_id);
        UnbilledUsage {
            tenant_id,
            application_id: Some(application_id),
            category,
            quantity,
            reason,
            key: None,
        }
    }
}

/// How usage becomes lines: by category or totalled, and which licence tiers fold away.
struct Reading<'a> {
    by_category: bool,
    /// Tiers whose devices count in the application they fold into (none when tiers bill on
    /// their own).
    folded_tiers: BTreeSet<&'a str>,
}

impl<'a> Reading<'a> {
    fn new(input: &BillingInput<'a>) -> Self {
        let folded_tiers = if input.bill_licence_tiers {
            BTreeSet::new()
        } else {
            input
                .applications
                .iter()
                .filter(|app| app.folds_into.is_some())
                .map(|app| app.id.as_str())
                .collect()
        };
        Reading {
            by_category: input.bill_devices_by_category,
            folded_tiers,
        }
    }

    /// Devices per application: with tiers folded, a tier's hosts count in the application it
    /// folds into, each host once (`folded_devices`), and the tier itself has none.
    fn devices<'u>(&self, usage: &'u TenantUsage) -> BTreeMap<&'u ApplicationId, CategoryCounts> {
        let mut devices: BTreeMap<&ApplicationId, CategoryCounts> = usage
            .devices
            .iter()
            .filter(|(id, _)| !self.folded_tiers.contains(id.as_str()))
            .map(|(id, counts)| (id, *counts))
            .collect();
        if !self.folded_tiers.is_empty() {
            devices.extend(usage.folded_devices.iter().map(|(id, c)| (id, *c)));
        }
        devices
    }

    /// Devices are split by category when the toggle is on, else totalled; zero amounts are
    /// no usage.
    fn lines<'u>(&self, usage: &'u TenantUsage) -> Vec<UsageLine<'u>> {
        let mut lines = Vec::new();
        for (application_id, counts) in self.devices(usage) {
            let line = |category, quantity| UsageLine {
                application_id,
                unit: LicensingModel::PerDevice,
                category,
                quantity,
            };
            if self.by_category {
                lines.extend(
                    DeviceCategory::ALL
                        .iter()
                        .map(|&c| line(Some(c), counts.get(c))),
                );
            } else {
                lines.push(line(None, counts.total()));
            }
        }
        let counted = [
            (&usage.users, LicensingModel::PerUser),
            (&usage.mailboxes, LicensingModel::PerMailbox),
        ];
        for (amounts, unit) in counted {
            lines.extend(amounts.iter().map(|(application_id, &quantity)| UsageLine {
                application_id,
                unit,
                category: None,
                quantity,
            }));
        }
        lines.retain(|line| line.quantity > 0);
        lines
    }
}

enum LineBilling {
    Product(ProductId),
    Unbilled(UnbilledReason),
    Blocked,
}

/// Applications and product mappings indexed for the mode in force.
struct Catalog<'a> {
    applications: BTreeMap<&'a str, &'a SecurityApplication>,
    mappings: BTreeMap<&'a str, &'a ProductMapping>,
    bill_devices_by_category: bool,
}

impl<'a> Catalog<'a> {
    fn new(input: &BillingInput<'a>) -> Self {
        Self {
            applications: input
                .applications
                .iter()
                .map(|a| (a.id.as_str(), a))
                .collect(),
            mappings: input
                .product_mappings
                .iter()
                .map(|m| (m.application_id.as_str(), m))
                .collect(),
            bill_devices_by_category: input.bill_devices_by_category,
        }
    }

    /// How a line bills for a company: its terms first (an exclusion, another product), then
    /// the product mapping in force.
    fn classify(&self, line: &UsageLine<'_>, company: &CompanyMapping) -> LineBilling {
        let application = self
            .applications
            .get(line.application_id.as_str())
            .filter(|app| app.solution == company.solution && app.licensing_model == line.unit);
        let Some(application) = application else {
            return LineBilling::Unbilled(UnbilledReason::UnknownApplication);
        };
        match company.terms.routing(&application.id, line.category) {
            Routing::Excluded => return LineBilling::Unbilled(UnbilledReason::Excluded),
            Routing::Product(product) => return LineBilling::Product(ProductId(product)),
            Routing::Mapped => {}
        }
        let mapping = self.mappings.get(application.id.as_str()).copied();
        match mapping_status(
            mapping,
            application.licensing_model,
            self.bill_devices_by_category,
        ) {
            MappingStatus::Unmapped => LineBilling::Unbilled(UnbilledReason::ApplicationNotMapped),
            MappingStatus::Incomplete => LineBilling::Blocked,
            MappingStatus::Complete => mapping
                .and_then(|m| m.product_for(line.category))
                .map_or(LineBilling::Blocked, |p| LineBilling::Product(ProductId(p))),
        }
    }
}

/// Computes the desired state: DOMAIN.md §6 "Desired quantity" and the first three lifecycle rows.
pub fn desired_state(input: &BillingInput<'_>) -> DesiredState {
    let catalog = Catalog::new(input);
    let reading = Reading::new(input);
    let mut state = DesiredState::default();
    let mut quantities: BTreeMap<(AgreementId, ProductId), DesiredQuantity> = BTreeMap::new();

    for mapping in input.company_mappings {
        let tenant_id = &mapping.tenant_id;
        let agreement_id = mapping.agreement_id;
        let usage = input.usage.get(tenant_id);
        if !mapping.billing_enabled {
            state.released.push(ReleasedTenant {
                tenant_id: tenant_id.clone(),
                agreement_id,
            });
            if let Some(UsageState::Fresh(usage)) = usage {
                report_unbilled(
                    &mut state,
                    tenant_id,
                    usage,
                    input,
                    UnbilledReason::BillingDisabled,
                );
            }
            continue;
        }
        let usage = match usage {
            Some(UsageState::Fresh(usage)) => usage,
            Some(UsageState::Unreadable(reason)) => {
                state.frozen.push(FrozenTenant {
                    tenant_id: tenant_id.clone(),
                    agreement_id,
                    reason: reason.clone(),
                });
                continue;
            }
            None => {
                let reason = UnreadableReason::NoSnapshot;
                state.frozen.push(FrozenTenant {
                    tenant_id: tenant_id.clone(),
                    agreement_id,
                    reason,
                });
                continue;
            }
        };
        if !usage.unknown_keys.is_empty() || !usage.ambiguous_keys.is_empty() {
            let product_names: BTreeSet<&str> = usage
                .unknown_keys
                .iter()
                .chain(&usage.ambiguous_keys)
                .map(|key| key.product_name.as_str())
                .collect();
            state.unattributed_keys.push(UnattributedKeysTenant {
                tenant_id: tenant_id.clone(),
                agreement_id,
                unknown_keys: usage.unknown_keys.len(),
                ambiguous_keys: usage.ambiguous_keys.len(),
                product_names: product_names.into_iter().map(String::from).collect(),
            });
        }

        let mut billed = Vec::new();
        let mut blocking = BTreeSet::new();
        for line in reading.lines(usage) {
            match catalog.classify(&line, mapping) {
                LineBilling::Product(product_id) => {
                    billed.push((product_id, line.contribution(tenant_id)))
                }
                LineBilling::Unbilled(reason) => {
                    state.unbilled.push(line.unbilled(tenant_id, reason))
                }
                LineBilling::Blocked => {
                    blocking.insert(line.application_id.clone());
                    // The usage that blocks is billed nowhere until its mapping is complete.
                    let reason = UnbilledReason::Blocked;
                    state.unbilled.push(line.unbilled(tenant_id, reason));
                }
            }
        }
        if !blocking.is_empty() {
            let applications = blocking.into_iter().collect();
            state.blocked.push(BlockedTenant {
                tenant_id: tenant_id.clone(),
                agreement_id,
                applications,
            });
            continue;
        }
        for (product_id, contribution) in billed {
            let desired = quantities
                .entry((agreement_id, product_id))
                .or_insert_with(|| DesiredQuantity {
                    agreement_id,
                    product_id,
                    quantity: 0,
                    contributions: Vec::new(),
                });
            desired.quantity += contribution.quantity;
            desired.contributions.push(contribution);
        }
    }

    let mapped: BTreeSet<&TenantId> = input
        .company_mappings
        .iter()
        .map(|m| &m.tenant_id)
        .collect();
    for (tenant_id, usage) in input.usage {
        if let (false, UsageState::Fresh(usage)) = (mapped.contains(tenant_id), usage) {
            report_unbilled(
                &mut state,
                tenant_id,
                usage,
                input,
                UnbilledReason::TenantNotMapped,
            );
        }
    }

    // Keys nothing counted, of every tenant: whoever bills it, its usage is missing.
    for (tenant_id, usage) in input.usage {
        if let UsageState::Fresh(usage) = usage {
            report_keys(&mut state, tenant_id, usage);
        }
    }

    // A minimum is a floor on a line with usage: the quantity bills at least it, the
    // contributions stay the usage.
    let terms: BTreeMap<AgreementId, &CompanyTerms> = input
        .company_mappings
        .iter()
        .map(|m| (m.agreement_id, &m.terms))
        .collect();
    state.quantities = quantities
        .into_values()
        .map(|mut desired| {
            if let Some(terms) = terms.get(&desired.agreement_id) {
                desired.quantity = terms.billed_quantity(desired.product_id.0, desired.quantity);
            }
            desired
        })
        .collect();
    state
}

fn report_keys(state: &mut DesiredState, tenant_id: &TenantId, usage: &TenantUsage) {
    let keys = usage
        .unknown_keys
        .iter()
        .map(|k| (k, UnbilledReason::UnknownKey))
        .chain(
            usage
                .ambiguous_keys
                .iter()
                .map(|k| (k, UnbilledReason::AmbiguousKey)),
        );
    state
        .unbilled
        .extend(keys.map(|(key, reason)| UnbilledUsage {
            tenant_id: tenant_id.clone(),
            application_id: None,
            category: None,
            quantity: key.hosts,
            reason,
            key: Some(key.clone()),
        }));
}

fn report_unbilled(
    state: &mut DesiredState,
    tenant_id: &TenantId,
    usage: &TenantUsage,
    input: &BillingInput<'_>,
    reason: UnbilledReason,
) {
    let lines = Reading::new(input).lines(usage);
    state
        .unbilled
        .extend(lines.iter().map(|line| line.unbilled(tenant_id, reason)));
}

#[cfg(test)]
mod terms_tests;
#[cfg(test)]
mod tests;
