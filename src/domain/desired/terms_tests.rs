//! A company's terms in the desired state: overrides, exclusions and minimums.

use super::*;
use crate::domain::product_mapping::CategoryProducts;
use crate::domain::terms::{ApplicationTerms, ProductTerms};

const KES: &str = "kes";
const KSC_A: &str = "ksc-a";

fn applications() -> Vec<SecurityApplication> {
    vec![SecurityApplication {
        id: KES.into(),
        solution: Solution::Ksc,
        licensing_model: LicensingModel::PerDevice,
        folds_into: None,
    }]
}

fn mappings() -> Vec<ProductMapping> {
    vec![ProductMapping {
        application_id: KES.into(),
        product_id: Some(11),
        category_products: CategoryProducts {
            windows_workstation: Some(21),
            windows_server: Some(22),
            non_windows: Some(23),
        },
    }]
}

fn usage(workstations: u64, servers: u64) -> BTreeMap<TenantId, UsageState> {
    let mut usage = TenantUsage::default();
    usage.devices.insert(
        KES.into(),
        CategoryCounts {
            windows_workstation: workstations,
            windows_server: servers,
            non_windows: 0,
        },
    );
    [(KSC_A.to_string(), UsageState::Fresh(usage))].into()
}

fn state(
    terms: CompanyTerms,
    by_category: bool,
    usage: &BTreeMap<TenantId, UsageState>,
) -> DesiredState {
    let companies = [CompanyMapping {
        tenant_id: KSC_A.into(),
        solution: Solution::Ksc,
        cw_company_id: 7,
        agreement_id: AgreementId(100),
        billing_enabled: true,
        terms,
    }];
    desired_state(&BillingInput {
        applications: &applications(),
        product_mappings: &mappings(),
        bill_devices_by_category: by_category,
        bill_licence_tiers: false,
        company_mappings: &companies,
        usage,
    })
}

fn rule(category: Option<DeviceCategory>, product: Option<i64>, excluded: bool) -> CompanyTerms {
    CompanyTerms {
        applications: vec![ApplicationTerms {
            application_id: KES.into(),
            category,
            product,
            excluded,
        }],
        ..CompanyTerms::default()
    }
}

fn minimum(product: i64, minimum_quantity: u64) -> CompanyTerms {
    CompanyTerms {
        products: vec![ProductTerms {
            product_id: product,
            minimum_quantity,
            ..ProductTerms::default()
        }],
        ..CompanyTerms::default()
    }
}

fn quantities(s: &DesiredState) -> Vec<(i64, u64)> {
    s.quantities
        .iter()
        .map(|q| (q.product_id.0, q.quantity))
        .collect()
}

fn unbilled(s: &DesiredState) -> Vec<(Option<DeviceCategory>, u64, UnbilledReason)> {
    s.unbilled
        .iter()
        .map(|u| (u.category, u.quantity, u.reason))
        .collect()
}

#[test]
fn terms_route_usage() {
    use DeviceCategory::WindowsServer as WS;
    use UnbilledReason::Excluded;
    // (name, terms, by category, workstations, servers, quantities, unbilled)
    type Case = (
        &'static str,
        CompanyTerms,
        bool,
        u64,
        u64,
        Vec<(i64, u64)>,
        Vec<(Option<DeviceCategory>, u64, UnbilledReason)>,
    );
    let cases: Vec<Case> = vec![
        (
            "no terms",
            CompanyTerms::default(),
            false,
            3,
            2,
            vec![(11, 5)],
            vec![],
        ),
        (
            "override",
            rule(None, Some(40), false),
            false,
            3,
            2,
            vec![(40, 5)],
            vec![],
        ),
        (
            "override one category",
            rule(Some(WS), Some(40), false),
            true,
            3,
            2,
            vec![(21, 3), (40, 2)],
            vec![],
        ),
        (
            "exclusion",
            rule(None, None, true),
            false,
            3,
            2,
            vec![],
            vec![(None, 5, Excluded)],
        ),
        (
            "exclude servers only",
            rule(Some(WS), None, true),
            true,
            3,
            2,
            vec![(21, 3)],
            vec![(Some(WS), 2, Excluded)],
        ),
        (
            "minimum lifts a small line",
            minimum(11, 10),
            false,
            3,
            2,
            vec![(11, 10)],
            vec![],
        ),
        (
            "minimum below usage",
            minimum(11, 4),
            false,
            3,
            2,
            vec![(11, 5)],
            vec![],
        ),
        (
            "minimum of another product",
            minimum(21, 10),
            false,
            3,
            2,
            vec![(11, 5)],
            vec![],
        ),
        (
            "minimum per category",
            minimum(WW_PRODUCT, 5),
            true,
            3,
            2,
            vec![(21, 5), (22, 2)],
            vec![],
        ),
        (
            "no usage, no standing charge",
            minimum(11, 10),
            false,
            0,
            0,
            vec![],
            vec![],
        ),
    ];
    for (name, terms, by_category, ws, srv, expected, expected_unbilled) in cases {
        let s = state(terms, by_category, &usage(ws, srv));
        assert_eq!(quantities(&s), expected, "{name}");
        assert_eq!(unbilled(&s), expected_unbilled, "{name}");
        assert!(s.blocked.is_empty(), "{name}");
    }
}

const WW_PRODUCT: i64 = 21;

#[test]
fn a_minimum_keeps_the_usage_as_contributions() {
    let s = state(minimum(11, 10), false, &usage(3, 0));
    assert_eq!(s.quantities[0].quantity, 10);
    let counted: u64 = s.quantities[0]
        .contributions
        .iter()
        .map(|c| c.quantity)
        .sum();
    assert_eq!(counted, 3);
}
