//! The lines of a plan (DOMAIN.md §6 "Plan actions"): what ConnectWise has, what the project
//! manages, and one row per (agreement, product) with its action — shared by the plan and its moves.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::desired::{Contribution, DesiredQuantity};
use super::model::TenantId;
use super::money::Money;
use super::terms::{BillCustomer, LineTerms};

/// An agreement addition as read from ConnectWise (only what the decisions need).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CwAddition {
    pub id: i64,
    pub agreement_id: i64,
    pub product_id: i64,
    /// ConnectWise quantities are decimals; ours are whole units.
    pub quantity: f64,
    /// A date-only value is midnight UTC of that day.
    pub cancelled_date: Option<DateTime<Utc>>,
    /// What it bills besides its quantity.
    #[serde(default)]
    pub terms: AdditionTerms,
}

/// An addition's terms as ConnectWise has them (absent: not read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdditionTerms {
    pub bill_customer: Option<BillCustomer>,
    pub unit_price: Option<Money>,
    pub unit_cost: Option<Money>,
    pub taxable: Option<bool>,
    pub invoice_description: Option<String>,
    /// Units the agreement includes (`lessIncluded`).
    pub less_included: f64,
}

impl AdditionTerms {
    /// What differs from the terms a profile or the customer's terms ask for, by field name;
    /// a field the wanted terms leave open (a catalog price the catalog lacks) never differs.
    pub fn drift(&self, wanted: &LineTerms) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.bill_customer.unwrap_or_default() != wanted.bill_customer {
            fields.push("bill_customer");
        }
        if wanted.unit_price.is_some() && self.unit_price != wanted.unit_price {
            fields.push("unit_price");
        }
        if wanted.unit_cost.is_some() && self.unit_cost != wanted.unit_cost {
            fields.push("unit_cost");
        }
        if self.taxable != Some(wanted.taxable) {
            fields.push("taxable");
        }
        if wanted.invoice_description.is_some()
            && self.invoice_description != wanted.invoice_description
        {
            fields.push("invoice_description");
        }
        if self.less_included != wanted.less_included as f64 {
            fields.push("included_quantity");
        }
        fields
    }
}

impl CwAddition {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.cancelled_date.is_none_or(|cancelled| cancelled > now)
    }
}

/// The project's record of an addition it manages, one per (agreement, product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedAddition {
    pub agreement_id: i64,
    pub product_id: i64,
    pub addition_id: i64,
    /// The tenant whose usage it bills.
    pub tenant_id: Option<TenantId>,
    /// The usage behind its quantity when it was last written; `None` when not recorded.
    /// Tells a move (the same usage billed elsewhere now) from usage that really ended.
    pub billed: Option<Vec<Contribution>>,
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PlanAction {
        Create => "create",
        Update => "update",
        Cancel => "cancel",
        Adopt => "adopt",
        Conflict => "conflict",
        Held => "held",
        Unchanged => "unchanged",
        /// The agreement is frozen: nothing is done.
        Skipped => "skipped",
        /// The addition stays as it is in ConnectWise and is forgotten by the project.
        Release => "release",
    }
}

impl PlanAction {
    /// Whether applying the row writes to ConnectWise.
    pub fn writes_to_connectwise(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Cancel | Self::Adopt
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Lowers (or cancels) the billed quantity by more than `max_decrease_percent` (a move:
    /// lowers the tenant's total billed units by more).
    DecreaseAboveLimit,
    /// A cancel while the tenant reports unknown or ambiguous keys.
    UnattributedKeys,
    /// Raises billing while the tenant's total billed units rise by more than
    /// `max_increase_percent` and by at least `min_increase_units`.
    IncreaseAboveLimit,
    /// The tenant's very first lines, with `hold_first_billing` on.
    FirstBilling,
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DecreaseAboveLimit => "lowers billing by more than the allowed decrease",
            Self::UnattributedKeys => "the tenant reports unknown or ambiguous keys",
            Self::IncreaseAboveLimit => {
                "the tenant's billed units rise by more than the allowed increase"
            }
            Self::FirstBilling => "the tenant's first billing waits for approval",
        })
    }
}

/// Why a row needs approval, and the action it has once approved.
/// It stays on an approved row, as the record of why approval was needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub action: PlanAction,
    pub reasons: Vec<HoldReason>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub struct RowKey {
    pub agreement_id: i64,
    pub product_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanRow {
    pub agreement_id: i64,
    pub product_id: i64,
    pub contributions: Vec<Contribution>,
    /// Quantity of the addition the row manages or adopts; 0 when there is none.
    pub current_quantity: f64,
    /// `None` when not computed: the agreement is frozen or released.
    pub desired_quantity: Option<u64>,
    pub action: PlanAction,
    pub hold: Option<Hold>,
    /// The ConnectWise addition the row touches (none for create and conflict).
    pub addition_id: Option<i64>,
    /// Create: the effective date to write.
    pub effective_date: Option<NaiveDate>,
    /// Cancel: the cancel date to write.
    pub cancelled_date: Option<NaiveDate>,
    /// Update or adopt of an addition with a pending cancel: clear its cancel date.
    pub clear_cancelled_date: bool,
    /// Active additions of the product the project does not manage: reported, never touched.
    pub unmanaged_addition_ids: Vec<i64>,
    /// The move the row belongs to (applied or held with the rest of it).
    #[serde(default)]
    pub move_id: Option<String>,
    pub reason: String,
    /// The terms written with the line (its product's billing profile and the customer's
    /// terms); none: written as before, with ConnectWise's catalog defaults.
    #[serde(default)]
    pub terms: Option<LineTerms>,
    /// The unit price the line bills at once applied (none: unknown).
    #[serde(default)]
    pub unit_price: Option<Money>,
    /// How much the line changes the monthly bill once applied (for a held line: once
    /// approved); negative when it lowers it.
    #[serde(default)]
    pub monthly_effect: Money,
}

impl PlanRow {
    pub fn key(&self) -> RowKey {
        RowKey {
            agreement_id: self.agreement_id,
            product_id: self.product_id,
        }
    }

    pub(super) fn new(key: RowKey, desired: Option<&DesiredQuantity>) -> Self {
        Self {
            agreement_id: key.agreement_id,
            product_id: key.product_id,
            contributions: desired.map(|d| d.contributions.clone()).unwrap_or_default(),
            current_quantity: 0.0,
            desired_quantity: Some(desired.map_or(0, |d| d.quantity)),
            action: PlanAction::Unchanged,
            hold: None,
            addition_id: None,
            effective_date: None,
            cancelled_date: None,
            clear_cancelled_date: false,
            unmanaged_addition_ids: Vec::new(),
            move_id: None,
            reason: String::new(),
            terms: None,
            unit_price: None,
            monthly_effect: Money::ZERO,
        }
    }

    pub(super) fn desired(&self) -> u64 {
        self.desired_quantity.unwrap_or(0)
    }

    /// It ends (cancel) or lowers its billing: the old line of a move, written after the new.
    pub fn lowers(&self) -> bool {
        match self.action {
            PlanAction::Cancel => true,
            PlanAction::Update => {
                !self.clear_cancelled_date && (self.desired() as f64) < self.current_quantity
            }
            _ => false,
        }
    }

    /// It starts billing, bills more, or keeps billing past a pending cancel.
    pub fn raises(&self) -> bool {
        match self.action {
            PlanAction::Create => true,
            PlanAction::Update | PlanAction::Adopt => {
                self.clear_cancelled_date || (self.desired() as f64) > self.current_quantity
            }
            _ => false,
        }
    }

    /// The tenant whose usage it bills: from its desired usage, else from the managed record.
    pub fn tenant<'a>(&'a self, managed: Option<&'a ManagedAddition>) -> Option<&'a str> {
        self.contributions
            .first()
            .map(|c| c.tenant_id.as_str())
            .or_else(|| managed.and_then(|m| m.tenant_id.as_deref()))
    }

    pub(super) fn touching(mut self, addition: Option<&CwAddition>) -> Self {
        self.addition_id = addition.map(|a| a.id);
        self.current_quantity = addition.map_or(0.0, |a| a.quantity);
        self
    }

    pub(super) fn with(mut self, action: PlanAction, reason: String) -> Self {
        self.action = action;
        self.reason = reason;
        self
    }
}
