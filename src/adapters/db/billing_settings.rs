//! Billing settings, kept as one JSON value in `app_state` so new settings need no migration.

use diesel::QueryResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{key_values, DbConnection};

/// Where they are stored in `app_state`.
pub const KEY: &str = "billing_settings";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BillingSettings {
    /// Bill per-device applications per device category (Windows workstations, Windows
    /// servers, non-Windows devices), each category with its own product. Switching it
    /// changes which mapping form is in force; both forms stay stored.
    pub bill_devices_by_category: bool,
    /// Licence tiers (Kaspersky Next, Endpoint Security for Business Select and Advanced, Total
    /// Security for Business, Hybrid Cloud Security) bill as applications of their own. Off
    /// (installations upgraded from before tiers), a tier's devices bill as the application it
    /// folds into (`folds_into`), as before; turning it on is shown as a move by the next plan.
    #[serde(default = "bill_licence_tiers_by_default")]
    #[schema(default = true)]
    pub bill_licence_tiers: bool,
}

fn bill_licence_tiers_by_default() -> bool {
    true
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            bill_devices_by_category: false,
            bill_licence_tiers: bill_licence_tiers_by_default(),
        }
    }
}

/// The stored settings; defaults (category billing off, tiers billed on their own) until first
/// saved.
pub fn get(conn: &mut DbConnection) -> QueryResult<BillingSettings> {
    Ok(key_values::get_json(conn, KEY)?.unwrap_or_default())
}

pub fn put(conn: &mut DbConnection, settings: &BillingSettings) -> QueryResult<()> {
    key_values::put_json(conn, KEY, settings)
}
