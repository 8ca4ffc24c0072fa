//! An application's product mapping (DOMAIN.md §1 "Products"): the single form, the category
//! form, and whether the mode in force can bill with what is stored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{ApplicationId, DeviceCategory, LicensingModel};

/// The three products of a per-device application billed by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryProducts {
    pub windows_workstation: Option<i64>,
    pub windows_server: Option<i64>,
    pub non_windows: Option<i64>,
}

impl CategoryProducts {
    pub fn get(&self, category: DeviceCategory) -> Option<i64> {
        match category {
            DeviceCategory::WindowsWorkstation => self.windows_workstation,
            DeviceCategory::WindowsServer => self.windows_server,
            DeviceCategory::NonWindows => self.non_windows,
        }
    }
}

/// An application's product mapping. Both forms may be stored at once, so switching
/// "Bill devices by category" back and forth loses nothing; the mode in force picks the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductMapping {
    pub application_id: ApplicationId,
    /// Single form: one product for the application.
    pub product_id: Option<i64>,
    /// Category form: one product per device category.
    #[serde(default)]
    pub category_products: CategoryProducts,
}

impl ProductMapping {
    pub fn stores_any_product(&self) -> bool {
        self.product_id.is_some()
            || DeviceCategory::ALL
                .iter()
                .any(|&c| self.category_products.get(c).is_some())
    }

    /// The product billing one usage line: a category line uses the category form, a total the single form.
    pub fn product_for(&self, category: Option<DeviceCategory>) -> Option<i64> {
        match category {
            Some(category) => self.category_products.get(category),
            None => self.product_id,
        }
    }
}

/// Whether an application can be billed in the mode in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingStatus {
    /// Every product the mode needs is set.
    Complete,
    /// Some product is stored but not every one the mode needs: usage of the application blocks billing.
    Incomplete,
    /// No product stored at all: usage is reported as unbilled.
    Unmapped,
}

/// Only per-device applications are split by category, and only when the toggle is on.
pub fn bills_by_category(model: LicensingModel, bill_devices_by_category: bool) -> bool {
    bill_devices_by_category && model == LicensingModel::PerDevice
}

pub fn mapping_status(
    mapping: Option<&ProductMapping>,
    model: LicensingModel,
    bill_devices_by_category: bool,
) -> MappingStatus {
    let Some(mapping) = mapping.filter(|m| m.stores_any_product()) else {
        return MappingStatus::Unmapped;
    };
    let complete = if bills_by_category(model, bill_devices_by_category) {
        DeviceCategory::ALL
            .iter()
            .all(|&c| mapping.category_products.get(c).is_some())
    } else {
        mapping.product_id.is_some()
    };
    if complete {
        MappingStatus::Complete
    } else {
        MappingStatus::Incomplete
    }
}
