//! What a product mapping may hold (DOMAIN.md §1 "Products", §6): checked when a mapping is
//! saved, so the billing rules only ever meet mappings that make sense.

use super::model::{DeviceCategory, LicensingModel};
use super::product_mapping::{mapping_status, MappingStatus, ProductMapping};

/// The request field of the single form.
pub const PRODUCT_FIELD: &str = "product_id";

/// The request field of one category of the category form.
pub fn category_field(category: DeviceCategory) -> &'static str {
    match category {
        DeviceCategory::WindowsWorkstation => "workstation_product_id",
        DeviceCategory::WindowsServer => "server_product_id",
        DeviceCategory::NonWindows => "non_windows_product_id",
    }
}

/// Where a product stands in the ConnectWise catalog cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductAvailability {
    Selectable,
    Inactive,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    pub field: &'static str,
    pub message: String,
}

fn violation(field: &'static str, message: impl Into<String>) -> RuleViolation {
    RuleViolation {
        field,
        message: message.into(),
    }
}

/// Every reason `mapping` cannot be saved for an application licensed by `model`, in the mode
/// `bill_devices_by_category`. A mapping with no product at all is always valid: it clears.
pub fn check_mapping(
    mapping: &ProductMapping,
    model: LicensingModel,
    bill_devices_by_category: bool,
    availability: impl Fn(i64) -> ProductAvailability,
) -> Vec<RuleViolation> {
    let mut violations = form_violations(mapping, model, bill_devices_by_category);
    for (field, product) in named_products(mapping) {
        match availability(product) {
            ProductAvailability::Selectable => {}
            ProductAvailability::Inactive => violations.push(violation(
                field,
                format!("ConnectWise product {product} is inactive or no longer in the catalog"),
            )),
            ProductAvailability::Unknown => violations.push(violation(
                field,
                format!(
                    "there is no ConnectWise product {product} in the catalog cache \
                     (refresh the catalog if it is new)"
                ),
            )),
        }
    }
    violations
}

/// The products a mapping names, in either form, with their request fields.
pub fn named_products(mapping: &ProductMapping) -> impl Iterator<Item = (&'static str, i64)> + '_ {
    let single = mapping.product_id.map(|p| (PRODUCT_FIELD, p));
    let categories = DeviceCategory::ALL.into_iter().filter_map(|c| {
        mapping
            .category_products
            .get(c)
            .map(|p| (category_field(c), p))
    });
    single.into_iter().chain(categories)
}

fn form_violations(
    mapping: &ProductMapping,
    model: LicensingModel,
    bill_devices_by_category: bool,
) -> Vec<RuleViolation> {
    let (given, missing): (Vec<DeviceCategory>, Vec<DeviceCategory>) = DeviceCategory::ALL
        .into_iter()
        .partition(|&c| mapping.category_products.get(c).is_some());
    if model != LicensingModel::PerDevice {
        return given
            .into_iter()
            .map(|c| {
                violation(
                    category_field(c),
                    format!(
                        "only per-device applications are billed by device category; a {} \
                         application maps to a single product (`product_id`)",
                        unit_name(model)
                    ),
                )
            })
            .collect();
    }
    if !given.is_empty() && !missing.is_empty() {
        return missing
            .into_iter()
            .map(|c| {
                violation(
                    category_field(c),
                    "give all three category products or none (the same product may be \
                     chosen for several categories)",
                )
            })
            .collect();
    }
    if mapping_status(Some(mapping), model, bill_devices_by_category) != MappingStatus::Incomplete {
        return Vec::new();
    }
    // Some product is stored, but not the form in force.
    if bill_devices_by_category {
        missing
            .into_iter()
            .map(|c| {
                violation(
                    category_field(c),
                    "is required while `bill_devices_by_category` is on: a per-device \
                     application needs all three category products",
                )
            })
            .collect()
    } else {
        vec![violation(
            PRODUCT_FIELD,
            "is required while `bill_devices_by_category` is off",
        )]
    }
}

fn unit_name(model: LicensingModel) -> &'static str {
    match model {
        LicensingModel::PerDevice => "per-device",
        LicensingModel::PerUser => "per-user",
        LicensingModel::PerMailbox => "per-mailbox",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::product_mapping::CategoryProducts;
    use LicensingModel::{PerDevice, PerMailbox, PerUser};

    const ACTIVE: i64 = 1;
    const ACTIVE_2: i64 = 2;
    const INACTIVE: i64 = 8;
    const UNKNOWN: i64 = 9;

    fn catalog(product: i64) -> ProductAvailability {
        match product {
            ACTIVE | ACTIVE_2 => ProductAvailability::Selectable,
            INACTIVE => ProductAvailability::Inactive,
            _ => ProductAvailability::Unknown,
        }
    }

    fn mapping(
        single: Option<i64>,
        ww: Option<i64>,
        ws: Option<i64>,
        nw: Option<i64>,
    ) -> ProductMapping {
        ProductMapping {
            application_id: "app".into(),
            product_id: single,
            category_products: CategoryProducts {
                windows_workstation: ww,
                windows_server: ws,
                non_windows: nw,
            },
        }
    }

    const A: Option<i64> = Some(ACTIVE);
    const B: Option<i64> = Some(ACTIVE_2);
    const N: Option<i64> = None;

    #[test]
    fn rules_in_both_modes() {
        // (case, mapping, model, by category, fields in violation)
        let cases: &[(&str, ProductMapping, LicensingModel, bool, &[&str])] = &[
            (
                "empty clears, off",
                mapping(N, N, N, N),
                PerDevice,
                false,
                &[],
            ),
            ("empty clears, on", mapping(N, N, N, N), PerUser, true, &[]),
            ("single, off", mapping(A, N, N, N), PerDevice, false, &[]),
            (
                "both forms, off",
                mapping(A, A, B, A),
                PerDevice,
                false,
                &[],
            ),
            ("both forms, on", mapping(A, A, B, A), PerDevice, true, &[]),
            (
                "categories, on, repeats",
                mapping(N, A, A, A),
                PerDevice,
                true,
                &[],
            ),
            (
                "single only, on",
                mapping(A, N, N, N),
                PerDevice,
                true,
                &[
                    "workstation_product_id",
                    "server_product_id",
                    "non_windows_product_id",
                ],
            ),
            (
                "categories only, off",
                mapping(N, A, A, A),
                PerDevice,
                false,
                &["product_id"],
            ),
            (
                "partial categories, off",
                mapping(A, A, N, N),
                PerDevice,
                false,
                &["server_product_id", "non_windows_product_id"],
            ),
            (
                "partial categories, on",
                mapping(N, A, B, N),
                PerDevice,
                true,
                &["non_windows_product_id"],
            ),
            (
                "per user single, on",
                mapping(A, N, N, N),
                PerUser,
                true,
                &[],
            ),
            (
                "per mailbox single, off",
                mapping(A, N, N, N),
                PerMailbox,
                false,
                &[],
            ),
            (
                "per user with categories, on",
                mapping(A, A, A, N),
                PerUser,
                true,
                &["workstation_product_id", "server_product_id"],
            ),
            (
                "per mailbox with a category, off",
                mapping(A, N, N, A),
                PerMailbox,
                false,
                &["non_windows_product_id"],
            ),
            (
                "unknown and inactive products",
                mapping(Some(UNKNOWN), Some(INACTIVE), A, A),
                PerDevice,
                true,
                &["product_id", "workstation_product_id"],
            ),
        ];
        for (case, m, model, by_category, expected) in cases {
            let fields: Vec<&str> = check_mapping(m, *model, *by_category, catalog)
                .iter()
                .map(|v| v.field)
                .collect();
            assert_eq!(&fields, expected, "{case}");
        }
    }

    #[test]
    fn messages_say_why() {
        let per_user = check_mapping(&mapping(A, A, N, N), PerUser, true, catalog);
        assert!(per_user[0].message.contains("per-user"));
        let unknown = check_mapping(&mapping(Some(UNKNOWN), N, N, N), PerUser, false, catalog);
        assert!(unknown[0].message.contains("no ConnectWise product 9"));
        let inactive = check_mapping(&mapping(Some(INACTIVE), N, N, N), PerUser, false, catalog);
        assert!(inactive[0].message.contains("inactive"));
    }
}
