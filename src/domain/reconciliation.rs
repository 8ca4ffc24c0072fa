//! Reconciliation (DOMAIN.md §7): per company and product, the units deployed against the units
//! ConnectWise bills today (managed additions or hand-made ones), and the money between them.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::desired::DesiredQuantity;
use super::ids::ProductId;
use super::money::Money;
use super::plan_lines::{AdditionTerms, CwAddition, PlanAction, PlanRow};
use super::plan_money::Pricing;
use super::terms::{monthly_amount, BillCustomer};

/// One product line of a company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReconciledLine {
    pub product_id: i64,
    /// Units the latest usage counts (none while the company's usage cannot be billed).
    pub units_deployed: Option<u64>,
    /// Units the company's terms bill for that usage (a minimum lifts it).
    pub units_due: Option<u64>,
    /// Units the additions in force today bill, managed or hand-made.
    pub units_billed: f64,
    /// The price billed (the additions'), else the price the line would bill at.
    pub unit_price: Option<Money>,
    /// The monthly amount the additions in force bill.
    pub amount_billed: Money,
    /// The monthly amount the deployed units would bill.
    pub amount_deployed: Option<Money>,
    /// `amount_deployed − amount_billed`: positive when the MSP under-bills.
    pub difference: Option<Money>,
}

impl ReconciledLine {
    pub fn differs(&self) -> bool {
        self.difference.is_some_and(|d| !d.is_zero())
            || self
                .units_due
                .is_some_and(|due| Decimal::from(due) != units(self.units_billed))
    }
}

/// What one company's lines are reconciled from.
pub struct CompanyInput<'a> {
    /// Its desired lines; `None` when its usage cannot be billed now (frozen, blocked, off).
    pub desired: Option<Vec<&'a DesiredQuantity>>,
    /// The additions of its agreement in force today.
    pub additions: Vec<&'a CwAddition>,
    pub pricing: &'a BTreeMap<i64, Pricing>,
}

/// A company's lines, by product id: every product it deploys or is billed for.
pub fn reconcile(input: &CompanyInput<'_>) -> Vec<ReconciledLine> {
    let mut products: Vec<ProductId> = input
        .additions
        .iter()
        .map(|a| a.product_id)
        .chain(input.desired.iter().flatten().map(|d| d.product_id))
        .collect();
    products.sort_unstable();
    products.dedup();
    products
        .into_iter()
        .map(|product_id| line(input, product_id))
        .collect()
}

fn units(quantity: f64) -> Decimal {
    Decimal::try_from(quantity).unwrap_or_default()
}

fn line(input: &CompanyInput<'_>, product_id: ProductId) -> ReconciledLine {
    let billed: Vec<&&CwAddition> = input
        .additions
        .iter()
        .filter(|a| a.product_id == product_id)
        .collect();
    // A float sum of nothing is -0.0, which would print as "-0": adding 0.0 makes it 0.
    let units_billed: f64 = billed.iter().map(|a| a.quantity).sum::<f64>() + 0.0;
    let amount_billed: Money = billed
        .iter()
        .map(|a| {
            monthly_amount(
                a.terms.bill_customer.unwrap_or_default(),
                units(a.quantity),
                units(a.terms.less_included),
                a.terms.unit_price,
            )
        })
        .sum();
    let pricing = input.pricing.get(&product_id.0);
    let written = pricing.and_then(|p| p.write.as_ref());
    let unit_price = billed
        .iter()
        .find_map(|a| a.terms.unit_price)
        .or_else(|| written.and_then(|t| t.unit_price))
        .or_else(|| pricing.and_then(|p| p.catalog_price));
    let desired = input.desired.as_ref().map(|lines| {
        lines
            .iter()
            .find(|d| d.product_id == product_id)
            .map_or((0, 0), |d| {
                let usage = d.contributions.iter().map(|c| c.quantity).sum::<u64>();
                (usage, d.quantity)
            })
    });
    let amount_deployed = desired.map(|(_, due)| match written {
        Some(terms) => monthly_amount(
            terms.bill_customer,
            Decimal::from(due),
            Decimal::from(terms.less_included),
            terms.unit_price,
        ),
        None => monthly_amount(
            BillCustomer::Billable,
            Decimal::from(due),
            Decimal::ZERO,
            unit_price,
        ),
    });
    ReconciledLine {
        product_id: product_id.0,
        units_deployed: desired.map(|(usage, _)| usage),
        units_due: desired.map(|(_, due)| due),
        units_billed,
        unit_price,
        amount_billed,
        amount_deployed,
        difference: amount_deployed.map(|deployed| deployed - amount_billed),
    }
}

/// The additions as they are once a run's applied lines are written: what it read, with each
/// applied line's create (`created` is the new addition's id), update, adoption or cancel.
pub fn after_run<'a>(
    mut read: Vec<CwAddition>,
    applied: impl IntoIterator<Item = (&'a PlanRow, Option<i64>)>,
) -> Vec<CwAddition> {
    for (row, created) in applied {
        let desired = row.desired_quantity.unwrap_or(0) as f64;
        let terms = |t: &AdditionTerms| match &row.terms {
            Some(line) => AdditionTerms {
                bill_customer: Some(line.bill_customer),
                unit_price: line.unit_price,
                unit_cost: line.unit_cost,
                taxable: Some(line.taxable),
                invoice_description: line.invoice_description.clone(),
                less_included: line.less_included as f64,
            },
            None => t.clone(),
        };
        match row.action {
            PlanAction::Create => read.push(CwAddition {
                id: created.unwrap_or_default(),
                agreement_id: row.agreement_id,
                product_id: row.product_id,
                quantity: desired,
                cancelled_date: None,
                terms: terms(&AdditionTerms {
                    bill_customer: Some(BillCustomer::Billable),
                    unit_price: row.unit_price,
                    ..AdditionTerms::default()
                }),
            }),
            PlanAction::Update | PlanAction::Adopt | PlanAction::Cancel => {
                let Some(a) = read.iter_mut().find(|a| Some(a.id) == row.addition_id) else {
                    continue;
                };
                if row.action == PlanAction::Cancel {
                    a.cancelled_date = row
                        .cancelled_date
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc());
                } else {
                    a.quantity = desired;
                    a.terms = terms(&a.terms);
                    if row.clear_cancelled_date {
                        a.cancelled_date = None;
                    }
                }
            }
            _ => {}
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::desired::Contribution;
    use crate::domain::ids::AgreementId;
    use crate::domain::plan_lines::AdditionTerms;
    use crate::domain::terms::LineTerms;

    fn m(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    fn addition(id: i64, product_id: i64, quantity: f64, price: &str) -> CwAddition {
        CwAddition {
            id,
            agreement_id: AgreementId(100),
            product_id: ProductId(product_id),
            quantity,
            cancelled_date: None,
            terms: AdditionTerms {
                unit_price: Some(m(price)),
                ..AdditionTerms::default()
            },
        }
    }

    fn desired(product_id: i64, usage: u64, due: u64) -> DesiredQuantity {
        DesiredQuantity {
            agreement_id: AgreementId(100),
            product_id: ProductId(product_id),
            quantity: due,
            contributions: vec![Contribution {
                tenant_id: "t".into(),
                application_id: "kes".into(),
                category: None,
                quantity: usage,
            }],
        }
    }

    #[test]
    fn billed_against_deployed() {
        // Product 1: managed, 5 billed at 19.99, 6 deployed. Product 2: a hand-made addition of
        // 3 nothing deploys. Product 3: deployed, billed nowhere, profile price 10.00 with one
        // unit included and a minimum of 4.
        let additions = [addition(1, 1, 5.0, "19.99"), addition(2, 2, 3.0, "7.50")];
        let desired = [desired(1, 6, 6), desired(3, 2, 4)];
        let pricing: BTreeMap<i64, Pricing> = [(
            3,
            Pricing {
                write: Some(LineTerms {
                    bill_customer: BillCustomer::Billable,
                    unit_price: Some(m("10.00")),
                    unit_cost: None,
                    taxable: false,
                    invoice_description: None,
                    less_included: 1,
                }),
                catalog_price: Some(m("8.00")),
            },
        )]
        .into();
        let lines = reconcile(&CompanyInput {
            desired: Some(desired.iter().collect()),
            additions: additions.iter().collect(),
            pricing: &pricing,
        });
        let view: Vec<_> = lines
            .iter()
            .map(|l| {
                (
                    l.product_id,
                    l.units_deployed,
                    l.units_billed,
                    l.amount_billed.to_string(),
                    l.amount_deployed.map(|a| a.to_string()),
                    l.difference.map(|a| a.to_string()),
                    l.differs(),
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                (
                    1,
                    Some(6),
                    5.0,
                    "99.95".into(),
                    Some("119.94".into()),
                    Some("19.99".into()),
                    true
                ),
                (
                    2,
                    Some(0),
                    3.0,
                    "22.50".into(),
                    Some("0.00".into()),
                    Some("-22.50".into()),
                    true
                ),
                (
                    3,
                    Some(2),
                    0.0,
                    "0.00".into(),
                    Some("30.00".into()),
                    Some("30.00".into()),
                    true
                ),
            ]
        );
        // Nothing billed is 0, not -0 (which a float sum of nothing is).
        assert!(lines[2].units_billed.is_sign_positive());
        // Nothing deployed is known while the usage cannot be billed: no difference claimed.
        let frozen = reconcile(&CompanyInput {
            desired: None,
            additions: additions.iter().collect(),
            pricing: &pricing,
        });
        assert!(frozen
            .iter()
            .all(|l| l.difference.is_none() && !l.differs()));
        let settled = reconcile(&CompanyInput {
            desired: Some(vec![&desired[0]]),
            additions: vec![&addition(9, 1, 6.0, "19.99")],
            pricing: &pricing,
        });
        assert!(!settled[0].differs(), "{settled:?}");
    }
}
