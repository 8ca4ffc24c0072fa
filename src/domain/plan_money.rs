//! The money a plan line moves (DOMAIN.md §7): the monthly amount it bills once applied (for a
//! held line, once approved) against the amount its addition bills now.

use rust_decimal::Decimal;

use super::money::Money;
use super::plan_lines::{AdditionTerms, CwAddition, PlanAction, PlanRow};
use super::terms::{monthly_amount, BillCustomer, LineTerms};

/// What a line's money is computed from, besides its addition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pricing {
    /// The terms to write (a billing profile or customer terms apply); none: as before.
    pub write: Option<LineTerms>,
    /// The catalog price, which ConnectWise gives a new addition written without terms.
    pub catalog_price: Option<Money>,
}

fn quantity(units: f64) -> Decimal {
    Decimal::try_from(units).unwrap_or_default()
}

fn amount_now(terms: &AdditionTerms, units: f64) -> Money {
    monthly_amount(
        terms.bill_customer.unwrap_or_default(),
        quantity(units),
        quantity(terms.less_included),
        terms.unit_price,
    )
}

/// Sets the line's unit price and monthly effect. `addition` is the addition it touches.
pub(super) fn price(row: &mut PlanRow, addition: Option<&CwAddition>, pricing: Option<&Pricing>) {
    let now = addition.map(|a| (&a.terms, amount_now(&a.terms, a.quantity)));
    let before = now.as_ref().map_or(Money::ZERO, |(_, amount)| *amount);
    let action = match (&row.action, &row.hold) {
        (PlanAction::Held, Some(hold)) => hold.action,
        (action, _) => *action,
    };
    let desired = Decimal::from(row.desired_quantity.unwrap_or(0));
    let (unit_price, after) = match action {
        PlanAction::Cancel => (now.and_then(|(t, _)| t.unit_price), Money::ZERO),
        PlanAction::Create | PlanAction::Update | PlanAction::Adopt => match (&row.terms, now) {
            (Some(terms), _) => (
                terms.unit_price,
                monthly_amount(
                    terms.bill_customer,
                    desired,
                    Decimal::from(terms.less_included),
                    terms.unit_price,
                ),
            ),
            (None, Some((terms, _))) => (
                terms.unit_price,
                amount_now(terms, row.desired_quantity.unwrap_or(0) as f64),
            ),
            (None, None) => {
                let price = pricing.and_then(|p| p.catalog_price);
                (
                    price,
                    monthly_amount(BillCustomer::Billable, desired, Decimal::ZERO, price),
                )
            }
        },
        _ => (now.and_then(|(t, _)| t.unit_price), before),
    };
    row.unit_price = unit_price;
    row.monthly_effect = after - before;
}

#[cfg(test)]
mod tests;
