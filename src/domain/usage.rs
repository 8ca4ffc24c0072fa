//! Counting KSC usage (DOMAIN.md §6: device category, application identity, what counts).
//! Plain inputs, no wire types: the Kaspersky client decodes into these.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::model::{
    ApplicationId, CategoryCounts, DeviceCategory, LicensingModel, MatchRules, TenantUsage,
    UnattributedKey,
};

// `KLHST_WKS_CTYPE` bits (Windows `SV_TYPE_*`).
const SV_TYPE_DOMAIN_CTRL: i64 = 0x8;
const SV_TYPE_DOMAIN_BAKCTRL: i64 = 0x10;
const SV_TYPE_NT: i64 = 0x1000;
const SV_TYPE_SERVER_NT: i64 = 0x8000;
const SV_TYPE_WINDOWS: i64 = 0x400000;

// `KLLIC_KEY_TYPE` values that are billed.
const KEY_TYPE_COMMERCIAL: i64 = 1;
const KEY_TYPE_SUBSCRIPTION: i64 = 6;

/// Device category of a host from its `KLHST_WKS_CTYPE` and `KLHST_WKS_OS_NAME`.
/// The 0x2 "server service" bit is deliberately ignored: ordinary Windows PCs set it.
pub fn classify(ctype: i64, os_name: &str) -> DeviceCategory {
    if ctype == 0 {
        return classify_by_os_name(os_name);
    }
    let windows = ctype & (SV_TYPE_NT | SV_TYPE_WINDOWS) != 0;
    let domain_controller = ctype & (SV_TYPE_DOMAIN_CTRL | SV_TYPE_DOMAIN_BAKCTRL) != 0;
    if ctype & SV_TYPE_SERVER_NT != 0 || (windows && domain_controller) {
        DeviceCategory::WindowsServer
    } else if windows {
        DeviceCategory::WindowsWorkstation
    } else {
        DeviceCategory::NonWindows
    }
}

fn classify_by_os_name(os_name: &str) -> DeviceCategory {
    let name = os_name.to_lowercase();
    match (name.contains("windows"), name.contains("server")) {
        (true, true) => DeviceCategory::WindowsServer,
        (true, false) => DeviceCategory::WindowsWorkstation,
        (false, _) => DeviceCategory::NonWindows,
    }
}

/// A security application as the counting rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRules {
    pub id: ApplicationId,
    pub licensing: LicensingModel,
    pub rules: MatchRules,
    /// A licence tier: the application its keys counted as before tiers were billed on their
    /// own (see [`TenantUsage::folded_devices`]).
    pub folds_into: Option<ApplicationId>,
}

/// Which application a licence key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Matched(ApplicationId),
    Unknown,
    /// Several applications matched equally well (sorted ids).
    Ambiguous(Vec<ApplicationId>),
}

/// The words of a product name as name rules compare them: lower case, split at anything but
/// letters and digits (spaces, dashes, dots, commas), version numbers left out — so
/// "Kaspersky Endpoint Security 11.11 for Windows" reads as "kaspersky endpoint security for windows".
pub fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty() && !is_version(word))
        .map(str::to_lowercase)
        .collect()
}

/// `12`, `2024`, `6a`, `sp1`, `mr2`, `v10`: a version or service-pack number.
fn is_version(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let digits_after = |prefix: &str| {
        lower
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
    };
    lower.starts_with(|c: char| c.is_ascii_digit())
        || ["sp", "mr", "v"].into_iter().any(digits_after)
}

/// Whether the pattern's words appear in the name's words, in order and next to each other.
fn words_match(name: &[String], pattern: &[String]) -> bool {
    !pattern.is_empty() && name.windows(pattern.len()).any(|window| window == pattern)
}

/// Whether a licence part number (`KL4863XAKFS`) is of a SKU (`KL4863`): a prefix, any case.
fn is_of_sku(part_number: &str, sku: &str) -> bool {
    let (part_number, sku) = (part_number.trim(), sku.trim());
    !sku.is_empty()
        && part_number
            .get(..sku.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(sku))
}

/// Attributes a key to an application: an app-id or SKU match beats a name match, the name
/// pattern with the most words wins (patterns compare as [`name_words`]), and a tie at the
/// deciding level is ambiguous.
pub fn identify(
    key_app_id: &str,
    key_product_name: &str,
    key_part_number: &str,
    applications: &[ApplicationRules],
) -> Identity {
    let key_app_id = key_app_id.trim();
    let by_app_id_or_sku: BTreeSet<&ApplicationId> = applications
        .iter()
        .filter(|app| {
            let app_id = !key_app_id.is_empty()
                && app.rules.app_ids.iter().any(|id| id.trim() == key_app_id);
            app_id
                || app
                    .rules
                    .skus
                    .iter()
                    .any(|sku| is_of_sku(key_part_number, sku))
        })
        .map(|app| &app.id)
        .collect();
    if !by_app_id_or_sku.is_empty() {
        return decide(by_app_id_or_sku);
    }

    let product_name = name_words(key_product_name);
    let longest_match = |app: &ApplicationRules| {
        app.rules
            .name_patterns
            .iter()
            .map(|pattern| name_words(pattern))
            .filter(|pattern| words_match(&product_name, pattern))
            .map(|pattern| pattern.len())
            .max()
    };
    let scored: Vec<(usize, &ApplicationId)> = applications
        .iter()
        .filter_map(|app| longest_match(app).map(|len| (len, &app.id)))
        .collect();
    let Some(best) = scored.iter().map(|(len, _)| *len).max() else {
        return Identity::Unknown;
    };
    decide(
        scored
            .into_iter()
            .filter(|(len, _)| *len == best)
            .map(|(_, id)| id)
            .collect(),
    )
}

fn decide(candidates: BTreeSet<&ApplicationId>) -> Identity {
    let mut ids: Vec<ApplicationId> = candidates.into_iter().cloned().collect();
    match ids.len() {
        0 => Identity::Unknown,
        1 => Identity::Matched(ids.remove(0)),
        _ => Identity::Ambiguous(ids),
    }
}

/// A licence key as listed by `LicenseKeys.EnumKeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceKey {
    pub serial: String,
    pub product_name: String,
    pub app_id: String,
    /// `KLLIC_PART_NUMBER` (the licence SKU); empty where KSC does not return it.
    pub part_number: String,
    pub key_type: i64,
    /// `None`: the key never expires.
    pub limit_date: Option<DateTime<Utc>>,
}

impl LicenceKey {
    /// Only unexpired commercial keys and subscriptions are billed.
    pub fn is_billable(&self, now: DateTime<Utc>) -> bool {
        matches!(self.key_type, KEY_TYPE_COMMERCIAL | KEY_TYPE_SUBSCRIPTION)
            && self.limit_date.is_none_or(|limit| limit > now)
    }
}

/// One host on one key, from `LicenseKeys.AcquireKeyHosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHost {
    pub serial: String,
    /// `KLLICSRV_HOSTNAME`, the same id as the host's `KLHST_WKS_HOSTNAME`.
    pub host_id: String,
    /// The key is the host's active key.
    pub current: bool,
}

/// A host of the tenant, from `HostGroup.FindHosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `KLHST_WKS_HOSTNAME`: unique, unlike the display name.
    pub host_id: String,
    pub ctype: i64,
    pub os_name: String,
}

/// Counts one tenant's usage (DOMAIN.md §6 "What counts").
///
/// A host that is current on a billable key but absent from `hosts` is skipped (and logged):
/// `hosts` is the tenant's own host list, so such a host was removed or moved to another
/// tenant between the two reads, and billing must not guess a category or a tenant for it.
/// Applications licensed per user or per mailbox get their distinct host count under that
/// unit: KSC only sees devices, and one seat per protected device is the closest reading.
pub fn count_usage(
    keys: &[LicenceKey],
    key_hosts: &[KeyHost],
    hosts: &[Host],
    applications: &[ApplicationRules],
    now: DateTime<Utc>,
) -> TenantUsage {
    let categories: HashMap<&str, DeviceCategory> = hosts
        .iter()
        .map(|host| (host.host_id.as_str(), classify(host.ctype, &host.os_name)))
        .collect();
    let mut current_hosts: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for key_host in key_hosts.iter().filter(|kh| kh.current) {
        current_hosts
            .entry(key_host.serial.as_str())
            .or_default()
            .insert(key_host.host_id.as_str());
    }

    let mut hosts_per_app: BTreeMap<ApplicationId, BTreeSet<&str>> = BTreeMap::new();
    let mut usage = TenantUsage::default();
    let mut unlisted = BTreeSet::new();
    for key in keys.iter().filter(|key| key.is_billable(now)) {
        let key_hosts = current_hosts
            .get(key.serial.as_str())
            .cloned()
            .unwrap_or_default();
        let (listed, missing): (BTreeSet<&str>, BTreeSet<&str>) = key_hosts
            .into_iter()
            .partition(|host| categories.contains_key(host));
        unlisted.extend(missing);
        let unattributed = |candidates| UnattributedKey {
            serial: key.serial.clone(),
            product_name: key.product_name.clone(),
            app_id: key.app_id.clone(),
            candidates,
            hosts: listed.len() as u64,
        };
        match identify(
            &key.app_id,
            &key.product_name,
            &key.part_number,
            applications,
        ) {
            Identity::Matched(id) => hosts_per_app.entry(id).or_default().extend(&listed),
            Identity::Unknown => usage.unknown_keys.push(unattributed(Vec::new())),
            Identity::Ambiguous(candidates) => usage.ambiguous_keys.push(unattributed(candidates)),
        }
    }
    if !unlisted.is_empty() {
        let hosts = unlisted
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(%hosts, "hosts on billable keys are missing from the tenant's host list; not counted");
    }

    for app in applications {
        let Some(app_hosts) = hosts_per_app.get(&app.id).filter(|hosts| !hosts.is_empty()) else {
            continue;
        };
        let count = app_hosts.len() as u64;
        match app.licensing {
            LicensingModel::PerDevice => {
                let counts = usage.devices.entry(app.id.clone()).or_default();
                for host in app_hosts {
                    counts.add(categories[host], 1);
                }
            }
            LicensingModel::PerUser => {
                usage.users.insert(app.id.clone(), count);
            }
            LicensingModel::PerMailbox => {
                usage.mailboxes.insert(app.id.clone(), count);
            }
        }
    }
    usage.folded_devices = folded_devices(applications, &hosts_per_app, &categories);
    usage.unknown_keys.sort_by(|a, b| a.serial.cmp(&b.serial));
    usage.ambiguous_keys.sort_by(|a, b| a.serial.cmp(&b.serial));
    usage
}

/// The devices of each per-device application that licence tiers with hosts fold into: its own
/// hosts and the tiers' hosts, each host once, as it counted before tiers were separate.
fn folded_devices(
    applications: &[ApplicationRules],
    hosts_per_app: &BTreeMap<ApplicationId, BTreeSet<&str>>,
    categories: &HashMap<&str, DeviceCategory>,
) -> BTreeMap<ApplicationId, CategoryCounts> {
    let per_device = |id: &str| {
        applications
            .iter()
            .any(|app| app.id == id && app.licensing == LicensingModel::PerDevice)
    };
    let mut folded: BTreeMap<ApplicationId, BTreeSet<&str>> = BTreeMap::new();
    for tier in applications {
        let Some(target) = tier.folds_into.as_ref().filter(|t| per_device(t)) else {
            continue;
        };
        let Some(tier_hosts) = hosts_per_app.get(&tier.id).filter(|h| !h.is_empty()) else {
            continue;
        };
        folded
            .entry(target.clone())
            .or_insert_with(|| hosts_per_app.get(target).cloned().unwrap_or_default())
            .extend(tier_hosts);
    }
    folded
        .into_iter()
        .map(|(target, hosts)| {
            let mut counts = CategoryCounts::default();
            for host in hosts {
                counts.add(categories[host], 1);
            }
            (target, counts)
        })
        .collect()
}

#[cfg(test)]
mod tests;
