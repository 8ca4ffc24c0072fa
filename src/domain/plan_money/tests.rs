//! The money of plan lines: terms written on create, drift corrected as a terms-only update
//! (never held), and each line's monthly effect — table tests through `plan`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use crate::domain::desired::{Contribution, DesiredQuantity};
use crate::domain::money::Money;
use crate::domain::plan::{
    plan, AdditionTerms, AgreementConstraints, CwAddition, ManagedAddition, PlanAction, PlanInput,
    PlanRow, Pricing, RowKey,
};
use crate::domain::policies::SyncPolicies;
use crate::domain::terms::{BillCustomer, LineTerms};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 7, 12, 0, 0).unwrap()
}

fn m(text: &str) -> Money {
    Money::parse(text).unwrap()
}

const KEY: RowKey = RowKey {
    agreement_id: 100,
    product_id: 11,
};

fn desired(quantity: u64) -> DesiredQuantity {
    DesiredQuantity {
        agreement_id: KEY.agreement_id,
        product_id: KEY.product_id,
        quantity,
        contributions: vec![Contribution {
            tenant_id: "t1".into(),
            application_id: "kes".into(),
            category: None,
            quantity,
        }],
    }
}

fn billed(quantity: f64, price: &str) -> CwAddition {
    CwAddition {
        id: 501,
        agreement_id: KEY.agreement_id,
        product_id: KEY.product_id,
        quantity,
        cancelled_date: None,
        terms: AdditionTerms {
            bill_customer: Some(BillCustomer::Billable),
            unit_price: Some(m(price)),
            unit_cost: Some(m("9.50")),
            taxable: Some(true),
            invoice_description: Some("KES".into()),
            less_included: 0.0,
        },
    }
}

fn profile(price: &str) -> LineTerms {
    LineTerms {
        bill_customer: BillCustomer::Billable,
        unit_price: Some(m(price)),
        unit_cost: Some(m("9.50")),
        taxable: true,
        invoice_description: Some("KES".into()),
        less_included: 0,
    }
}

struct Case {
    name: &'static str,
    desired: Option<u64>,
    addition: Option<CwAddition>,
    write: Option<LineTerms>,
    catalog_price: Option<&'static str>,
    max_decrease_percent: u8,
    /// (action, held action, unit price, monthly effect, writes terms)
    expected: (
        PlanAction,
        Option<PlanAction>,
        Option<&'static str>,
        &'static str,
        bool,
    ),
}

fn run(case: &Case) -> PlanRow {
    let desired: Vec<DesiredQuantity> = case.desired.map(desired).into_iter().collect();
    let additions: Vec<CwAddition> = case.addition.clone().into_iter().collect();
    let managed: Vec<ManagedAddition> = case
        .addition
        .iter()
        .map(|a| ManagedAddition {
            agreement_id: a.agreement_id,
            product_id: a.product_id,
            addition_id: a.id,
            tenant_id: Some("t1".into()),
            billed: None,
        })
        .collect();
    let pricing: BTreeMap<RowKey, Pricing> = [(
        KEY,
        Pricing {
            write: case.write.clone(),
            catalog_price: case.catalog_price.map(m),
        },
    )]
    .into();
    let planned = plan(&PlanInput {
        desired: &desired,
        additions: &additions,
        managed: &managed,
        constraints: &AgreementConstraints::default(),
        policies: SyncPolicies {
            max_decrease_percent: case.max_decrease_percent,
            ..SyncPolicies::default()
        },
        now: now(),
        lineage: &BTreeMap::new(),
        pricing: &pricing,
    });
    assert_eq!(planned.rows.len(), 1, "{}", case.name);
    planned.rows.into_iter().next().unwrap()
}

#[test]
fn money_of_lines() {
    use PlanAction::{Cancel, Create, Held, Unchanged, Update};
    let with_included = LineTerms {
        less_included: 2,
        ..profile("10.00")
    };
    let no_charge = LineTerms {
        bill_customer: BillCustomer::NoCharge,
        ..profile("19.99")
    };
    let cases = [
        Case {
            name: "create without a profile: the catalog price, terms left to ConnectWise",
            desired: Some(3),
            addition: None,
            write: None,
            catalog_price: Some("19.99"),
            max_decrease_percent: 50,
            expected: (Create, None, Some("19.99"), "59.97", false),
        },
        Case {
            name: "create with a profile: its terms written",
            desired: Some(3),
            addition: None,
            write: Some(profile("24.50")),
            catalog_price: Some("19.99"),
            max_decrease_percent: 50,
            expected: (Create, None, Some("24.50"), "73.50", true),
        },
        Case {
            name: "create with included units: billed beyond them",
            desired: Some(5),
            addition: None,
            write: Some(with_included.clone()),
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Create, None, Some("10.00"), "30.00", true),
        },
        Case {
            name: "a no-charge line moves no money",
            desired: Some(5),
            addition: None,
            write: Some(no_charge.clone()),
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Create, None, Some("19.99"), "0.00", true),
        },
        Case {
            name: "quantity up at the addition's own price",
            desired: Some(5),
            addition: Some(billed(3.0, "19.99")),
            write: None,
            catalog_price: Some("25.00"),
            max_decrease_percent: 50,
            expected: (Update, None, Some("19.99"), "39.98", false),
        },
        Case {
            name: "nothing changes: no money moves",
            desired: Some(3),
            addition: Some(billed(3.0, "19.99")),
            write: Some(profile("19.99")),
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Unchanged, None, Some("19.99"), "0.00", false),
        },
        Case {
            name: "terms drift (a catalog price change): a terms-only update",
            desired: Some(3),
            addition: Some(billed(3.0, "19.99")),
            write: Some(profile("21.99")),
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Update, None, Some("21.99"), "6.00", true),
        },
        Case {
            name: "a price cut is never held by the decrease guard",
            desired: Some(3),
            addition: Some(billed(3.0, "40.00")),
            write: Some(profile("1.00")),
            catalog_price: None,
            max_decrease_percent: 0,
            expected: (Update, None, Some("1.00"), "-117.00", true),
        },
        Case {
            name: "cancel: the whole line's amount goes",
            desired: None,
            addition: Some(billed(6.0, "20.00")),
            write: None,
            catalog_price: None,
            max_decrease_percent: 100,
            expected: (Cancel, None, Some("20.00"), "-120.00", false),
        },
        Case {
            name: "a held decrease shows what approving it moves",
            desired: Some(1),
            addition: Some(billed(6.0, "20.00")),
            write: None,
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Held, Some(Update), Some("20.00"), "-100.00", false),
        },
        Case {
            name: "half a cent rounds as ConnectWise rounds",
            desired: Some(1),
            addition: None,
            write: Some(profile("0.005")),
            catalog_price: None,
            max_decrease_percent: 50,
            expected: (Create, None, Some("0.005"), "0.01", true),
        },
    ];
    for case in &cases {
        let row = run(case);
        let (action, held, price, effect, writes) = case.expected;
        assert_eq!(row.action, action, "{}: {}", case.name, row.reason);
        assert_eq!(row.hold.as_ref().map(|h| h.action), held, "{}", case.name);
        assert_eq!(row.unit_price, price.map(m), "{}", case.name);
        assert_eq!(row.monthly_effect, m(effect), "{}", case.name);
        assert_eq!(row.terms.is_some(), writes, "{}", case.name);
    }
}

#[test]
fn drift_names_the_fields() {
    let row = run(&Case {
        name: "drift",
        desired: Some(3),
        addition: Some(billed(3.0, "19.99")),
        write: Some(LineTerms {
            taxable: false,
            less_included: 1,
            ..profile("19.99")
        }),
        catalog_price: None,
        max_decrease_percent: 50,
        expected: (PlanAction::Update, None, None, "0", true),
    });
    assert_eq!(row.action, PlanAction::Update);
    assert!(
        row.reason.contains("taxable, included_quantity"),
        "{}",
        row.reason
    );
    // One unit now included: 3 billed as 2.
    assert_eq!(row.monthly_effect, m("-19.99"));
}
