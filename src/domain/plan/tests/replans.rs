//! Re-planning after an apply, approvals of held lines, and agreement constraints from desired
//! state.

use super::*;

#[test]
fn applied_plan_replans_to_unchanged() {
    let today = SyncPolicies {
        cancel_date: CancelDatePolicy::Today,
        ..SyncPolicies::default()
    };
    // With a cancel dated today the cancelled addition is inactive at once, so it leaves the plan.
    let cases = [
        (
            "cancel at end of month",
            SyncPolicies::default(),
            vec![11, 12, 13, 14, 15],
        ),
        ("cancel today", today, vec![11, 12, 13, 14]),
    ];
    for (name, policies, unchanged_products) in cases {
        let mut case = Case {
            desired: vec![
                desired(100, 11, 5),
                desired(100, 12, 3),
                desired(100, 13, 4),
                desired(100, 14, 2),
            ],
            additions: vec![
                addition(501, 100, 11, 2.0),             // update
                cancelled(502, 100, 12, 9.0, MONTH_END), // clear the pending cancel, held decrease
                addition(601, 100, 13, 4.0),             // adopt
                addition(503, 100, 15, 8.0),             // held cancel
                addition(504, 300, 11, 1.0),             // released agreement
            ],
            managed: vec![
                managed(100, 11, 501),
                managed(100, 12, 502),
                managed(100, 15, 503),
                managed(300, 11, 504),
            ],
            constraints: released(300),
            policies,
            ..Case::default()
        };
        let mut rows = run(&case);
        approve(&mut rows, &Approval::All);
        let applied: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(
            applied,
            [Update, Update, Adopt, Create, Cancel, Release],
            "{name}: first plan, approved"
        );
        apply(&rows, &mut case.additions, &mut case.managed);
        let replanned: Vec<_> = run(&case)
            .iter()
            .map(|r| (r.product_id.0, r.action))
            .collect();
        let expected: Vec<_> = unchanged_products
            .into_iter()
            .map(|p| (p, Unchanged))
            .collect();
        assert_eq!(replanned, expected, "{name}");
    }
}

#[test]
fn unchanged_usage_replans_identically() {
    let case = Case {
        desired: vec![desired(100, 11, 5)],
        additions: vec![
            addition(501, 100, 11, 5.0),
            addition(601, 100, 12, 1.0),
            addition(602, 100, 12, 1.0),
        ],
        managed: vec![managed(100, 11, 501)],
        ..Case::default()
    };
    assert_eq!(run(&case), run(&case));
}

#[test]
fn approve_table() {
    let rows = || {
        let case = Case {
            desired: vec![desired(100, 12, 5), desired(100, 13, 1)],
            additions: vec![
                addition(501, 100, 11, 5.0),
                addition(502, 100, 12, 5.0),
                addition(503, 100, 13, 10.0),
            ],
            managed: vec![
                managed(100, 11, 501),
                managed(100, 12, 502),
                managed(100, 13, 503),
            ],
            ..Case::default()
        };
        run(&case)
    };
    let key = |product_id| RowKey {
        agreement_id: AgreementId(100),
        product_id: ProductId(product_id),
    };
    let cases = [
        (
            "all",
            Approval::All,
            vec![key(11), key(13)],
            [Cancel, Unchanged, Update],
        ),
        (
            "one row",
            lines([key(13)].into()),
            vec![key(13)],
            [Held, Unchanged, Update],
        ),
        (
            "a row that is not held",
            lines([key(12)].into()),
            vec![],
            [Held, Unchanged, Held],
        ),
        (
            "nothing",
            lines(BTreeSet::new()),
            vec![],
            [Held, Unchanged, Held],
        ),
    ];
    for (name, approval, approved_keys, actions) in cases {
        let mut rows = rows();
        assert_eq!(
            approve(&mut rows, &approval),
            approved_keys,
            "{name}: approved keys"
        );
        let after: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(after, actions, "{name}: actions");
        assert!(
            rows.iter()
                .filter(|r| r.product_id != ProductId(12))
                .all(|r| r.hold.is_some()),
            "{name}: hold kept"
        );
    }
}

#[test]
fn constraints_from_desired_state() {
    use crate::domain::desired::{
        BlockedTenant, FrozenTenant, ReleasedTenant, UnattributedKeysTenant, UnreadableReason,
    };
    let state = DesiredState {
        frozen: vec![
            FrozenTenant {
                tenant_id: "a".into(),
                agreement_id: AgreementId(1),
                reason: UnreadableReason::LoginRefused,
            },
            FrozenTenant {
                tenant_id: "b".into(),
                agreement_id: AgreementId(1),
                reason: UnreadableReason::NoSnapshot,
            },
        ],
        blocked: vec![BlockedTenant {
            tenant_id: "c".into(),
            agreement_id: AgreementId(2),
            applications: vec!["x".into(), "y".into()],
        }],
        released: vec![ReleasedTenant {
            tenant_id: "d".into(),
            agreement_id: AgreementId(3),
        }],
        unattributed_keys: vec![UnattributedKeysTenant {
            tenant_id: "e".into(),
            agreement_id: AgreementId(4),
            unknown_keys: 1,
            ambiguous_keys: 0,
            product_names: vec!["Kaspersky Next EDR Optimum".into()],
        }],
        ..DesiredState::default()
    };
    let constraints = AgreementConstraints::from_desired(&state);
    let expected_frozen: BTreeMap<i64, String> = [
        (
            1,
            "tenant a: login to the virtual server was refused; tenant b: no usage snapshot yet"
                .to_string(),
        ),
        (
            2,
            "tenant c blocked: incomplete product mapping for x, y".to_string(),
        ),
    ]
    .into();
    let ids = |set: &BTreeSet<AgreementId>| set.iter().map(|a| a.0).collect::<BTreeSet<i64>>();
    let frozen: BTreeMap<i64, String> = constraints
        .frozen
        .iter()
        .map(|(a, reason)| (a.0, reason.clone()))
        .collect();
    assert_eq!(frozen, expected_frozen);
    assert_eq!(ids(&constraints.released), [3].into());
    assert_eq!(ids(&constraints.cancel_guarded), [4].into());
}
