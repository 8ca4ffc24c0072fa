//! The shared vocabulary of the billing rules (DOMAIN.md §1 and §6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Stable id (slug) of a security application, e.g. `kes-windows`.
pub type ApplicationId = String;

/// Stable id of a Kaspersky tenant (a KSC virtual server or a Business Hub company).
pub type TenantId = String;

/// Where a tenant's usage comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Solution {
    /// Kaspersky Security Center: usage is pulled through the KSC Open API.
    Ksc,
    /// Kaspersky Business Hub: usage is pushed as snapshots.
    BusinessHub,
}

/// What one licence of an application counts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LicensingModel {
    PerDevice,
    PerUser,
    PerMailbox,
}

/// Device category used when "Bill devices by category" is on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeviceCategory {
    WindowsWorkstation,
    WindowsServer,
    NonWindows,
}

impl DeviceCategory {
    pub const ALL: [DeviceCategory; 3] = [
        DeviceCategory::WindowsWorkstation,
        DeviceCategory::WindowsServer,
        DeviceCategory::NonWindows,
    ];

    /// As an invoice names it.
    pub fn label(self) -> &'static str {
        match self {
            DeviceCategory::WindowsWorkstation => "Windows workstations",
            DeviceCategory::WindowsServer => "Windows servers",
            DeviceCategory::NonWindows => "non-Windows devices",
        }
    }
}

/// Distinct devices of one application, split by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryCounts {
    pub windows_workstation: u64,
    pub windows_server: u64,
    pub non_windows: u64,
}

impl CategoryCounts {
    pub fn get(&self, category: DeviceCategory) -> u64 {
        match category {
            DeviceCategory::WindowsWorkstation => self.windows_workstation,
            DeviceCategory::WindowsServer => self.windows_server,
            DeviceCategory::NonWindows => self.non_windows,
        }
    }

    pub fn add(&mut self, category: DeviceCategory, n: u64) {
        match category {
            DeviceCategory::WindowsWorkstation => self.windows_workstation += n,
            DeviceCategory::WindowsServer => self.windows_server += n,
            DeviceCategory::NonWindows => self.non_windows += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.windows_workstation + self.windows_server + self.non_windows
    }
}

/// How a KSC licence key is recognised as belonging to an application (DOMAIN.md §6,
/// "Application identity"): an app-id or SKU match beats a name match; among name matches
/// the longest pattern wins; a tie is ambiguous.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MatchRules {
    /// Exact `KLLIC_APP_ID` values; none when left out.
    #[serde(default)]
    #[schema(schema_with = app_id_list)]
    pub app_ids: Vec<String>,
    /// Case-insensitive substrings of `KLLIC_PROD_NAME`; none when left out.
    #[serde(default)]
    #[schema(schema_with = name_pattern_list)]
    pub name_patterns: Vec<String>,
    /// Licence SKU prefixes (`KL4863` matches the part number `KL4863XAKFS`), compared with
    /// `KLLIC_PART_NUMBER` where KSC returns it (15.4 and later); none when left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = sku_list)]
    pub skus: Vec<String>,
}

/// The longest app id or name pattern, and the shortest pattern (shorter ones match too much).
pub const MAX_RULE_CHARS: usize = 200;
pub const MIN_PATTERN_CHARS: usize = 3;
/// The shortest SKU prefix: `KL` and a product family digit at least.
pub const MIN_SKU_CHARS: usize = 3;

fn rule_list(min_chars: usize) -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(min_chars))
                .max_length(Some(MAX_RULE_CHARS)),
        )
        .default(Some(serde_json::json!([])))
        .build()
}

fn app_id_list() -> utoipa::openapi::Array {
    rule_list(1)
}

fn name_pattern_list() -> utoipa::openapi::Array {
    rule_list(MIN_PATTERN_CHARS)
}

fn sku_list() -> utoipa::openapi::Array {
    rule_list(MIN_SKU_CHARS)
}

/// A licence key that could not be attributed to exactly one application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnattributedKey {
    pub serial: String,
    pub product_name: String,
    pub app_id: String,
    /// For an ambiguous key: the applications that tied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ApplicationId>,
    /// Hosts that would have counted had the key been attributed.
    pub hosts: u64,
}

/// One tenant's usage at one moment: the content of a usage snapshot.
/// Each application appears under the unit of its licensing model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantUsage {
    /// Per-device applications: distinct devices per category.
    #[serde(default)]
    pub devices: BTreeMap<ApplicationId, CategoryCounts>,
    /// Per-user applications: users.
    #[serde(default)]
    pub users: BTreeMap<ApplicationId, u64>,
    /// Per-mailbox applications: protected mailboxes.
    #[serde(default)]
    pub mailboxes: BTreeMap<ApplicationId, u64>,
    /// Keys that matched no application (reported, never counted).
    #[serde(default)]
    pub unknown_keys: Vec<UnattributedKey>,
    /// Keys that matched several applications equally well (reported, never counted).
    #[serde(default)]
    pub ambiguous_keys: Vec<UnattributedKey>,
    /// Per-device applications that licence tiers fold into (KSC only): their devices with the
    /// hosts of the tiers that fold into them, each host once — what they bill while
    /// `bill_licence_tiers` is off (installations upgraded from before licence tiers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub folded_devices: BTreeMap<ApplicationId, CategoryCounts>,
}

impl TenantUsage {
    /// Whether `application` has a non-zero count, in whichever unit it appears.
    pub fn uses(&self, application: &str) -> bool {
        [&self.devices, &self.folded_devices]
            .iter()
            .any(|devices| devices.get(application).is_some_and(|c| c.total() > 0))
            || self.users.get(application).is_some_and(|&n| n > 0)
            || self.mailboxes.get(application).is_some_and(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_is_used_only_with_a_non_zero_count() {
        let usage = TenantUsage {
            devices: [
                (
                    "kes-windows".to_string(),
                    CategoryCounts {
                        non_windows: 1,
                        ..Default::default()
                    },
                ),
                ("kes-mac".to_string(), CategoryCounts::default()),
            ]
            .into(),
            users: [
                ("kes-cloud".to_string(), 3),
                ("kes-cloud-pro".to_string(), 0),
            ]
            .into(),
            mailboxes: [("ks-office365".to_string(), 40)].into(),
            ..TenantUsage::default()
        };
        for (app, used) in [
            ("kes-windows", true),
            ("kes-mac", false),
            ("kes-cloud", true),
            ("kes-cloud-pro", false),
            ("ks-office365", true),
            ("kes-linux", false),
        ] {
            assert_eq!(usage.uses(app), used, "{app}");
        }
    }
}
