use rust_decimal::Decimal;

use super::*;

fn m(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn catalog() -> CatalogTerms {
    CatalogTerms {
        price: Some(m("19.99")),
        cost: Some(m("9.50")),
        taxable: true,
    }
}

fn context<'a>(applications: &'a [String], categories: &'a [String]) -> DescriptionContext<'a> {
    DescriptionContext {
        applications,
        categories,
        company: "Contoso",
        tenant: "contoso-vs",
        quantity: 3,
    }
}

#[test]
fn no_profile_and_no_customer_terms_write_as_before() {
    let apps = vec!["KES for Windows".to_string()];
    assert_eq!(
        line_terms(None, None, catalog(), &context(&apps, &[])),
        None
    );
}

#[test]
fn line_terms_table() {
    let apps = vec!["KES for Windows".to_string()];
    let cats = vec!["Windows servers".to_string()];
    let fixed = BillingProfile {
        bill_customer: BillCustomer::NoCharge,
        unit_price: Price::Fixed(m("24.50")),
        unit_cost: Price::Fixed(m("12")),
        taxable: Some(false),
        invoice_description: Some("{application} for {company}: {quantity} ({category})".into()),
    };
    let default_profile = BillingProfile::default();
    let customer = ProductTerms {
        product_id: 12,
        minimum_quantity: 5,
        included_quantity: 2,
        unit_price: Some(m("17.00")),
    };
    // (profile, customer terms) → (bill, price, cost, taxable, description, less included)
    let cases: Vec<(Option<&BillingProfile>, Option<&ProductTerms>, LineTerms)> = vec![
        (
            Some(&default_profile),
            None,
            LineTerms {
                bill_customer: BillCustomer::Billable,
                unit_price: Some(m("19.99")),
                unit_cost: Some(m("9.50")),
                taxable: true,
                invoice_description: Some("KES for Windows (Windows servers)".into()),
                less_included: 0,
            },
        ),
        (
            Some(&fixed),
            None,
            LineTerms {
                bill_customer: BillCustomer::NoCharge,
                unit_price: Some(m("24.50")),
                unit_cost: Some(m("12")),
                taxable: false,
                invoice_description: Some(
                    "KES for Windows for Contoso: 3 (Windows servers)".into(),
                ),
                less_included: 0,
            },
        ),
        // The customer's price beats the profile's; its included units become lessIncluded.
        (
            Some(&fixed),
            Some(&customer),
            LineTerms {
                unit_price: Some(m("17.00")),
                less_included: 2,
                ..line_terms(Some(&fixed), None, catalog(), &context(&apps, &cats)).unwrap()
            },
        ),
        // Customer terms without a profile: the catalog's amounts.
        (
            None,
            Some(&customer),
            LineTerms {
                bill_customer: BillCustomer::Billable,
                unit_price: Some(m("17.00")),
                unit_cost: Some(m("9.50")),
                taxable: true,
                invoice_description: Some("KES for Windows (Windows servers)".into()),
                less_included: 2,
            },
        ),
    ];
    for (i, (profile, terms, expected)) in cases.into_iter().enumerate() {
        assert_eq!(
            line_terms(profile, terms, catalog(), &context(&apps, &cats)),
            Some(expected),
            "case {i}"
        );
    }
}

#[test]
fn a_catalog_price_follows_the_catalog() {
    let apps = vec!["A".to_string()];
    let profile = BillingProfile::default();
    let none = CatalogTerms::default();
    let terms = line_terms(Some(&profile), None, none, &context(&apps, &[])).unwrap();
    assert_eq!(
        (terms.unit_price, terms.unit_cost, terms.taxable),
        (None, None, false)
    );
}

#[test]
fn monthly_amounts() {
    let d = Decimal::from;
    let cases = [
        // (bill, quantity, less included, price) → amount
        (BillCustomer::Billable, d(3), d(0), Some("19.99"), "59.97"),
        (BillCustomer::Billable, d(5), d(2), Some("10.00"), "30.00"),
        (BillCustomer::Billable, d(1), d(2), Some("10.00"), "0.00"),
        (BillCustomer::NoCharge, d(5), d(0), Some("10.00"), "0.00"),
        (BillCustomer::DoNotBill, d(5), d(0), Some("10.00"), "0.00"),
        (BillCustomer::Billable, d(5), d(0), None, "0.00"),
        (BillCustomer::Billable, d(1), d(0), Some("0.005"), "0.01"),
        (BillCustomer::Billable, d(3), d(0), Some("4.125"), "12.38"),
    ];
    for (bill, quantity, less, price, expected) in cases {
        assert_eq!(
            monthly_amount(bill, quantity, less, price.map(m)),
            m(expected),
            "{bill:?} {quantity} {less} {price:?}"
        );
    }
}

#[test]
fn routing_and_minimums() {
    let terms = CompanyTerms {
        products: vec![ProductTerms {
            product_id: 12,
            minimum_quantity: 5,
            ..ProductTerms::default()
        }],
        applications: vec![
            ApplicationTerms {
                application_id: "kes".into(),
                category: None,
                product: Some(40),
                excluded: false,
            },
            ApplicationTerms {
                application_id: "kes".into(),
                category: Some(DeviceCategory::WindowsServer),
                product: None,
                excluded: true,
            },
            ApplicationTerms {
                application_id: "kesm".into(),
                category: None,
                product: None,
                excluded: false,
            },
        ],
    };
    let ws = Some(DeviceCategory::WindowsWorkstation);
    let srv = Some(DeviceCategory::WindowsServer);
    assert_eq!(terms.routing("kes", ws), Routing::Product(40));
    assert_eq!(terms.routing("kes", None), Routing::Product(40));
    assert_eq!(terms.routing("kes", srv), Routing::Excluded);
    assert_eq!(terms.routing("kesm", None), Routing::Mapped);
    assert_eq!(terms.routing("other", None), Routing::Mapped);
    // A minimum is a floor on a line with usage, not a standing charge.
    assert_eq!(terms.billed_quantity(12, 3), 5);
    assert_eq!(terms.billed_quantity(12, 7), 7);
    assert_eq!(terms.billed_quantity(12, 0), 0);
    assert_eq!(terms.billed_quantity(13, 3), 3);
}

#[test]
fn descriptions_are_cut_to_what_connectwise_keeps() {
    let apps = vec!["A".to_string()];
    let long = "x".repeat(INVOICE_DESCRIPTION_MAX + 10);
    assert_eq!(
        expand(&long, &context(&apps, &[])).chars().count(),
        INVOICE_DESCRIPTION_MAX
    );
    assert_eq!(
        expand("{unknown} {tenant}", &context(&apps, &[])),
        "{unknown} contoso-vs"
    );
}

#[test]
fn prices_travel_as_catalog_or_an_amount() {
    assert_eq!(
        serde_json::to_string(&Price::Catalog).unwrap(),
        "\"catalog\""
    );
    assert_eq!(
        serde_json::from_str::<Price>("\"24.50\"").unwrap(),
        Price::Fixed(m("24.50"))
    );
    assert!(serde_json::from_str::<Price>("\"cheap\"").is_err());
}
