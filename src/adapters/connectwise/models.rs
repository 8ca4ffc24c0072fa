//! The ConnectWise records the bridge reads and writes.
//!
//! Tolerant on input (unknown fields ignored, every field optional) and quiet on output (absent fields
//! are not sent: `skip_serializing_none`), so other API versions and partially filled records both work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_with::skip_serializing_none;

use crate::domain::money::Money;
use crate::domain::terms::BillCustomer;

/// `{id, identifier, name}` references as ConnectWise embeds them in records.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub id: Option<i64>,
    pub identifier: Option<String>,
    pub name: Option<String>,
}

impl Reference {
    pub fn id(id: i64) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub id: Option<i64>,
    pub identifier: Option<String>,
    pub description: Option<String>,
    pub customer_description: Option<String>,
    #[serde(default, with = "super::exact")]
    pub price: Option<Money>,
    #[serde(default, with = "super::exact")]
    pub cost: Option<Money>,
    pub inactive_flag: Option<bool>,
    pub product_class: Option<String>,
    pub taxable_flag: Option<bool>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: Option<i64>,
    pub identifier: Option<String>,
    pub name: Option<String>,
    pub deleted_flag: Option<bool>,
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agreement {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub company: Option<Reference>,
    /// `Active` | `Cancelled` | `Expired` | `Inactive`
    pub agreement_status: Option<String>,
    pub cancelled_flag: Option<bool>,
    pub no_ending_date_flag: Option<bool>,
    pub start_date: Option<DateTime<Utc>>,
    pub end_date: Option<DateTime<Utc>>,
}

impl Agreement {
    /// Whether billing can be added to it at `now`: active, not cancelled, not ended.
    pub fn accepts_additions(&self, now: DateTime<Utc>) -> bool {
        let active = self
            .agreement_status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("active"));
        let ended =
            self.no_ending_date_flag != Some(true) && self.end_date.is_some_and(|end| end < now);
        active && self.cancelled_flag != Some(true) && !ended
    }
}

#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addition {
    pub id: Option<i64>,
    pub product: Option<Reference>,
    pub quantity: Option<f64>,
    pub less_included: Option<f64>,
    #[serde(default, with = "super::exact")]
    pub unit_price: Option<Money>,
    #[serde(default, with = "super::exact")]
    pub unit_cost: Option<Money>,
    /// `Billable` | `DoNotBill` | `NoCharge`
    pub bill_customer: Option<String>,
    pub effective_date: Option<DateTime<Utc>>,
    pub cancelled_date: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub invoice_description: Option<String>,
    pub agreement_status: Option<String>,
    pub agreement_id: Option<i64>,
    pub taxable_flag: Option<bool>,
}

impl Addition {
    /// Active = not cancelled, or cancelled only from a date still in the future (DOMAIN.md §6).
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.cancelled_date.is_none_or(|cancelled| cancelled > now)
    }
}

/// Body of `POST /finance/agreements/{id}/additions`: what the sync sets. Terms left out
/// (no billing profile) are taken by ConnectWise from the catalog item.
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAddition {
    pub product: Reference,
    pub bill_customer: BillCustomer,
    pub quantity: f64,
    pub effective_date: Option<DateTime<Utc>>,
    pub description: Option<String>,
    #[serde(with = "super::exact")]
    pub unit_price: Option<Money>,
    #[serde(with = "super::exact")]
    pub unit_cost: Option<Money>,
    pub taxable_flag: Option<bool>,
    pub invoice_description: Option<String>,
    pub less_included: Option<f64>,
}

impl NewAddition {
    pub fn new(product_id: i64, bill_customer: BillCustomer, quantity: f64) -> Self {
        Self {
            product: Reference::id(product_id),
            bill_customer,
            quantity,
            effective_date: None,
            description: None,
            unit_price: None,
            unit_cost: None,
            taxable_flag: None,
            invoice_description: None,
            less_included: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

/// One JSON-Patch operation; ConnectWise paths have no leading slash (`quantity`, `product/id`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: String,
    /// `Some(null)` is an explicit null (clearing a field), `None` no value at all. Kept as
    /// raw JSON so an amount is sent digit for digit.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub value: Option<Box<RawValue>>,
}

/// A present `value` is kept even when it is `null` (serde would read `null` as `None`).
fn present_value<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(deserializer).map(Some)
}

impl PatchOperation {
    pub fn replace(path: &str, value: impl Serialize) -> Self {
        Self {
            op: PatchOp::Replace,
            path: path.to_owned(),
            // Serializing plain values (numbers, strings, dates) cannot fail.
            value: Some(serde_json::value::to_raw_value(&value).expect("plain values serialise")),
        }
    }

    /// Replaces an amount, written as the exact number it is.
    pub fn replace_amount(path: &str, amount: Money) -> Self {
        Self {
            op: PatchOp::Replace,
            path: path.to_owned(),
            value: Some(super::exact::number(amount)),
        }
    }
}

/// `GET system/info`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    pub version: Option<String>,
    pub is_cloud: Option<bool>,
    pub server_time_zone: Option<String>,
    pub cloud_region: Option<String>,
}

/// `GET login/companyinfo/{companyId}` (PascalCase, unlike the REST API).
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompanyInfo {
    pub codebase: Option<String>,
    pub company_name: Option<String>,
    pub version_code: Option<String>,
    pub version_number: Option<String>,
    #[serde(rename = "CompanyID")]
    pub company_id: Option<String>,
    pub is_cloud: Option<bool>,
    pub site_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reading_tolerates_unknown_and_missing_fields() {
        let addition: Addition = serde_json::from_value(json!({
            "id": 9, "product": {"id": 3, "identifier": "KES-WS", "_info": {}},
            "quantity": 12.0, "billCustomer": "Billable", "cancelledDate": null,
            "effectiveDate": "2026-01-01T00:00:00Z", "someFutureField": [1, 2]
        }))
        .unwrap();
        assert_eq!(
            addition.product.unwrap().identifier.as_deref(),
            Some("KES-WS")
        );
        assert_eq!(addition.quantity, Some(12.0));
        assert!(addition.unit_price.is_none());
    }

    #[test]
    fn new_addition_sends_only_what_is_set() {
        let body = serde_json::to_value(NewAddition::new(3, BillCustomer::Billable, 5.0)).unwrap();
        assert_eq!(
            body,
            json!({"product": {"id": 3}, "billCustomer": "Billable", "quantity": 5.0})
        );
    }

    #[test]
    fn patch_has_no_leading_slash() {
        let op = serde_json::to_value(PatchOperation::replace("quantity", 12)).unwrap();
        assert_eq!(
            op,
            json!({"op": "replace", "path": "quantity", "value": 12})
        );
    }

    #[test]
    fn activity_follows_the_cancel_date() {
        let now = "2026-05-10T00:00:00Z".parse().unwrap();
        let mut addition = Addition::default();
        assert!(addition.is_active_at(now));
        addition.cancelled_date = Some("2026-05-31T00:00:00Z".parse().unwrap());
        assert!(addition.is_active_at(now));
        addition.cancelled_date = Some("2026-05-01T00:00:00Z".parse().unwrap());
        assert!(!addition.is_active_at(now));
    }
}
