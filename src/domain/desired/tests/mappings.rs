//! Contributions, mapping status, and licence tiers folded into their application.

use super::*;

#[test]
fn contributions_name_tenant_application_and_category() {
    let contribution = |application_id: &str, category, quantity| Contribution {
        tenant_id: KSC_A.into(),
        application_id: application_id.into(),
        category,
        quantity,
    };
    // Flattened in (product, application) order.
    let cases = [
        (
            false,
            vec![
                contribution(KES_LINUX, None, 5),
                contribution(KES_WIN, None, 4),
            ],
        ),
        (
            true,
            vec![
                contribution(KES_WIN, Some(WW), 3),
                contribution(KES_LINUX, Some(WS), 1),
                contribution(KES_WIN, Some(WS), 1),
                contribution(KES_LINUX, Some(NW), 4),
            ],
        ),
    ];
    for (by_category, expected) in cases {
        let case = Case {
            by_category,
            mappings: vec![
                ProductMapping {
                    product_id: Some(11),
                    ..by_category_all(KES_WIN)
                },
                ProductMapping {
                    product_id: Some(11),
                    ..by_category_all(KES_LINUX)
                },
            ],
            companies: vec![company(KSC_A, 100)],
            usage: vec![(
                KSC_A,
                Usage::default()
                    .devices(KES_WIN, 3, 1, 0)
                    .devices(KES_LINUX, 0, 1, 4)
                    .fresh(),
            )],
            ..Case::default()
        };
        let contributions: Vec<_> = run(&case)
            .quantities
            .into_iter()
            .flat_map(|q| q.contributions)
            .collect();
        assert_eq!(contributions, expected, "by_category={by_category}");
    }
}

/// Every category of every application on the same three products.
fn by_category_all(app: &str) -> ProductMapping {
    by_category(app, Some(21), Some(22), Some(23))
}

#[test]
fn mapping_status_table() {
    use MappingStatus::{Complete, Incomplete, Unmapped};
    let all = Some(by_category_all(KES_WIN));
    let one = Some(single(KES_WIN, 11));
    let both = Some(ProductMapping {
        product_id: Some(11),
        ..by_category_all(KES_WIN)
    });
    let partial = Some(by_category(KES_WIN, Some(21), None, Some(23)));
    let empty = Some(by_category(KES_WIN, None, None, None));
    let cases = [
        ("no mapping row", None, PerDevice, false, Unmapped),
        (
            "row with no product",
            empty.clone(),
            PerDevice,
            true,
            Unmapped,
        ),
        ("off: single", one.clone(), PerDevice, false, Complete),
        ("off: both forms", both.clone(), PerDevice, false, Complete),
        (
            "off: only categories",
            all.clone(),
            PerDevice,
            false,
            Incomplete,
        ),
        ("on: all categories", all.clone(), PerDevice, true, Complete),
        ("on: both forms", both.clone(), PerDevice, true, Complete),
        (
            "on: two of three categories",
            partial.clone(),
            PerDevice,
            true,
            Incomplete,
        ),
        ("on: only single", one.clone(), PerDevice, true, Incomplete),
        ("on: per-user single", one.clone(), PerUser, true, Complete),
        (
            "on: per-mailbox single",
            one.clone(),
            PerMailbox,
            true,
            Complete,
        ),
        (
            "on: per-user only categories",
            partial,
            PerUser,
            true,
            Incomplete,
        ),
        ("off: per-user no mapping", empty, PerUser, false, Unmapped),
    ];
    for (name, mapping, model, bill_by_category, expected) in cases {
        assert_eq!(
            mapping_status(mapping.as_ref(), model, bill_by_category),
            expected,
            "{name}"
        );
    }
}

/// Licence tiers (DOMAIN.md §6 "Application identity"): on their own when tiers are billed
/// separately; folded into the application they counted as before when not, each host once.
#[test]
fn folded_tiers_bill_as_the_application_they_fold_into() {
    const SELECT: &str = "kesb-select";
    let mut applications = catalog();
    applications.push(SecurityApplication {
        id: SELECT.into(),
        solution: Solution::Ksc,
        licensing_model: PerDevice,
        folds_into: Some(KES_WIN.into()),
    });
    let mut usage = Usage::default()
        .devices(KES_WIN, 1, 1, 0)
        .devices(SELECT, 2, 0, 0)
        .0;
    // One host holds both keys: folded, it is one device.
    usage.folded_devices = [(
        KES_WIN.to_string(),
        CategoryCounts {
            windows_workstation: 2,
            windows_server: 1,
            non_windows: 0,
        },
    )]
    .into();
    let usage = [(KSC_A.to_string(), UsageState::Fresh(usage))].into();
    let companies = [company(KSC_A, 100)];
    let both_mapped = [single(KES_WIN, 11), single(SELECT, 12)];
    let category_mapped = [by_category(KES_WIN, Some(21), Some(22), Some(23))];
    // (case, mappings, by category, tiers separate, quantities, unbilled tier units)
    type TierCase<'a> = (
        &'a str,
        &'a [ProductMapping],
        bool,
        bool,
        Vec<(i64, i64, u64)>,
        u64,
    );
    let cases: Vec<TierCase> = vec![
        (
            "separate",
            &both_mapped,
            false,
            true,
            vec![(100, 11, 2), (100, 12, 2)],
            0,
        ),
        (
            "folded: as before, one device per host",
            &both_mapped,
            false,
            false,
            vec![(100, 11, 3)],
            0,
        ),
        (
            "separate, the tier unmapped: unbilled",
            &both_mapped[..1],
            false,
            true,
            vec![(100, 11, 2)],
            2,
        ),
        (
            "folded by category: the tier's unmapped state does not matter",
            &category_mapped,
            true,
            false,
            vec![(100, 21, 2), (100, 22, 1)],
            0,
        ),
    ];
    for (name, mappings, by_category, separate, quantities, unbilled_tier) in cases {
        let state = desired_state(&BillingInput {
            applications: &applications,
            product_mappings: mappings,
            bill_devices_by_category: by_category,
            bill_licence_tiers: separate,
            company_mappings: &companies,
            usage: &usage,
        });
        let actual: Vec<_> = state
            .quantities
            .iter()
            .map(|q| (q.agreement_id.0, q.product_id.0, q.quantity))
            .collect();
        assert_eq!(actual, quantities, "{name}");
        assert!(state.blocked.is_empty(), "{name}: {:?}", state.blocked);
        let tier_unbilled: u64 = state
            .unbilled
            .iter()
            .filter(|u| u.application_id.as_deref() == Some(SELECT))
            .map(|u| u.quantity)
            .sum();
        assert_eq!(tier_unbilled, unbilled_tier, "{name}");
    }
}
