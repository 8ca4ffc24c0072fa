//! The plan table: one case per planning rule, and the contributions each row carries.

use super::*;

fn cases() -> Vec<Case> {
    use HoldReason::{DecreaseAboveLimit as Decrease, UnattributedKeys as Keys};
    vec![
        Case {
            name: "create: usage, nothing in ConnectWise",
            desired: vec![desired(100, 11, 5)],
            expected: vec![row(A, Create, 0.0, 5).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "create: effective date first of month",
            desired: vec![desired(100, 11, 5)],
            policies: SyncPolicies {
                effective_date: EffectiveDatePolicy::FirstOfMonth,
                ..SyncPolicies::default()
            },
            expected: vec![row(A, Create, 0.0, 5).effective(MONTH_START)],
            ..Case::default()
        },
        Case {
            name: "update: increase",
            desired: vec![desired(100, 11, 8)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Update, 5.0, 8).on(501)],
            ..Case::default()
        },
        Case {
            name: "update: decrease of exactly 50 % applies",
            desired: vec![desired(100, 11, 5)],
            additions: vec![addition(501, 100, 11, 10.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Update, 10.0, 5).on(501)],
            ..Case::default()
        },
        Case {
            name: "held: decrease of 51 %",
            desired: vec![desired(100, 11, 49)],
            additions: vec![addition(501, 100, 11, 100.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Held, 100.0, 49).on(501).held(Update, &[Decrease])],
            ..Case::default()
        },
        Case {
            name: "update: decrease of 51 % applies with the guard at 60",
            desired: vec![desired(100, 11, 49)],
            additions: vec![addition(501, 100, 11, 100.0)],
            managed: vec![managed(100, 11, 501)],
            policies: guard_at(60),
            expected: vec![row(A, Update, 100.0, 49).on(501)],
            ..Case::default()
        },
        Case {
            name: "held: cancel at the default guard, cancel date end of month",
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Held, 5.0, 0)
                .on(501)
                .cancel_on(MONTH_END)
                .held(Cancel, &[Decrease])],
            ..Case::default()
        },
        Case {
            name: "cancel: guard at 100 %, cancel date today",
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            policies: SyncPolicies {
                cancel_date: CancelDatePolicy::Today,
                ..guard_at(100)
            },
            expected: vec![row(A, Cancel, 5.0, 0).on(501).cancel_on(TODAY)],
            ..Case::default()
        },
        Case {
            name: "held: cancel for a tenant with unknown keys even with guard at 100 %",
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            constraints: cancel_guarded(100),
            policies: guard_at(100),
            expected: vec![row(A, Held, 5.0, 0)
                .on(501)
                .cancel_on(MONTH_END)
                .held(Cancel, &[Keys])],
            ..Case::default()
        },
        Case {
            name: "held: cancel with unknown keys at default guard names both reasons",
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            constraints: cancel_guarded(100),
            expected: vec![row(A, Held, 5.0, 0)
                .on(501)
                .cancel_on(MONTH_END)
                .held(Cancel, &[Decrease, Keys])],
            ..Case::default()
        },
        Case {
            name: "update: unknown keys hold only cancels",
            desired: vec![desired(100, 11, 8)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            constraints: cancel_guarded(100),
            expected: vec![row(A, Update, 5.0, 8).on(501)],
            ..Case::default()
        },
        Case {
            name: "unchanged: same quantity",
            desired: vec![desired(100, 11, 5)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Unchanged, 5.0, 5).on(501)],
            ..Case::default()
        },
        Case {
            name: "unchanged: re-run over a pending cancel",
            additions: vec![cancelled(501, 100, 11, 5.0, MONTH_END)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Unchanged, 5.0, 0).on(501)],
            ..Case::default()
        },
        Case {
            name: "update: usage returns over a pending cancel, cancel date cleared",
            desired: vec![desired(100, 11, 5)],
            additions: vec![cancelled(501, 100, 11, 5.0, MONTH_END)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Update, 5.0, 5).on(501).clears_cancel()],
            ..Case::default()
        },
        Case {
            name: "held: usage returns much lower over a pending cancel",
            desired: vec![desired(100, 11, 1)],
            additions: vec![cancelled(501, 100, 11, 5.0, MONTH_END)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Held, 5.0, 1)
                .on(501)
                .clears_cancel()
                .held(Update, &[Decrease])],
            ..Case::default()
        },
        Case {
            name: "create: managed addition cancelled in the past, usage returns",
            desired: vec![desired(100, 11, 5)],
            additions: vec![cancelled(501, 100, 11, 5.0, PAST)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Create, 0.0, 5).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "no row: managed addition cancelled in the past, still no usage",
            additions: vec![cancelled(501, 100, 11, 5.0, PAST)],
            managed: vec![managed(100, 11, 501)],
            ..Case::default()
        },
        Case {
            name: "cancel date exactly now is no longer active",
            desired: vec![desired(100, 11, 5)],
            additions: vec![CwAddition {
                cancelled_date: Some(now()),
                ..addition(501, 100, 11, 5.0)
            }],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Create, 0.0, 5).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "create: managed addition vanished from ConnectWise",
            desired: vec![desired(100, 11, 5)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Create, 0.0, 5).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "create: managed id now belongs to another product",
            desired: vec![desired(100, 11, 5)],
            additions: vec![addition(501, 100, 12, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Create, 0.0, 5).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "no row: managed addition vanished, no usage",
            managed: vec![managed(100, 11, 501)],
            ..Case::default()
        },
        Case {
            name: "adopt: exactly one unmanaged active addition",
            desired: vec![desired(100, 11, 5)],
            additions: vec![
                addition(601, 100, 11, 3.0),
                cancelled(600, 100, 11, 9.0, PAST),
            ],
            expected: vec![row(A, Adopt, 3.0, 5).on(601)],
            ..Case::default()
        },
        Case {
            name: "adopt: same quantity still becomes managed",
            desired: vec![desired(100, 11, 3)],
            additions: vec![addition(601, 100, 11, 3.0)],
            expected: vec![row(A, Adopt, 3.0, 3).on(601)],
            ..Case::default()
        },
        Case {
            name: "adopt: unmanaged addition with pending cancel gets it cleared",
            desired: vec![desired(100, 11, 3)],
            additions: vec![cancelled(601, 100, 11, 3.0, MONTH_END)],
            expected: vec![row(A, Adopt, 3.0, 3).on(601).clears_cancel()],
            ..Case::default()
        },
        Case {
            name: "adopt: vanished managed addition replaced by one unmanaged (lost POST response)",
            desired: vec![desired(100, 11, 5)],
            additions: vec![addition(602, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Adopt, 5.0, 5).on(602)],
            ..Case::default()
        },
        Case {
            name: "held: adopting would lower the existing addition by more than 50 %",
            desired: vec![desired(100, 11, 2)],
            additions: vec![addition(601, 100, 11, 10.0)],
            expected: vec![row(A, Held, 10.0, 2).on(601).held(Adopt, &[Decrease])],
            ..Case::default()
        },
        Case {
            name: "conflict: two unmanaged active additions, untouched",
            desired: vec![desired(100, 11, 5)],
            additions: vec![
                addition(601, 100, 11, 3.0),
                cancelled(602, 100, 11, 2.0, MONTH_END),
            ],
            expected: vec![row(A, Conflict, 0.0, 5).unmanaged(&[601, 602])],
            ..Case::default()
        },
        Case {
            name: "unmanaged next to a managed addition: reported, managed one updated",
            desired: vec![desired(100, 11, 8)],
            additions: vec![addition(501, 100, 11, 5.0), addition(601, 100, 11, 2.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Update, 5.0, 8).on(501).unmanaged(&[601])],
            ..Case::default()
        },
        Case {
            name: "no row: unmanaged addition of a product nothing bills",
            additions: vec![addition(601, 100, 11, 2.0), addition(602, 100, 99, 1.0)],
            ..Case::default()
        },
        Case {
            name: "skipped: frozen agreement, managed additions reported, nothing computed",
            desired: vec![desired(100, 12, 4)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            constraints: frozen(100),
            expected: vec![
                row(A, Skipped, 5.0, 0).on(501).not_computed(),
                row((100, 12), Skipped, 0.0, 0).not_computed(),
            ],
            ..Case::default()
        },
        Case {
            name: "release: billing disabled, every managed addition forgotten",
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501), managed(100, 12, 502)],
            constraints: released(100),
            expected: vec![
                row(A, Release, 5.0, 0).on(501).not_computed(),
                row((100, 12), Release, 0.0, 0).on(502).not_computed(),
            ],
            ..Case::default()
        },
        Case {
            name: "company mapping moved: old agreement cancelled, new one created",
            desired: vec![desired(300, 11, 5)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            policies: guard_at(100),
            expected: vec![
                row(A, Cancel, 5.0, 0).on(501).cancel_on(MONTH_END),
                row((300, 11), Create, 0.0, 5).effective(TODAY),
            ],
            ..Case::default()
        },
        Case {
            name: "product mapping changed: old product cancelled (held), new product created",
            desired: vec![desired(100, 12, 5)],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![
                row(A, Held, 5.0, 0)
                    .on(501)
                    .cancel_on(MONTH_END)
                    .held(Cancel, &[Decrease]),
                row((100, 12), Create, 0.0, 5).effective(TODAY),
            ],
            ..Case::default()
        },
        Case {
            name: "product mapping changed for one of two summed apps: old product recomputed",
            desired: vec![desired(100, 11, 6), desired(100, 12, 4)],
            additions: vec![addition(501, 100, 11, 10.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![
                row(A, Update, 10.0, 6).on(501),
                row((100, 12), Create, 0.0, 4).effective(TODAY),
            ],
            ..Case::default()
        },
    ]
}

#[test]
fn plan_table() {
    for case in cases() {
        let rows = run(&case);
        let actual: Vec<Expected> = rows.iter().map(Expected::from).collect();
        assert_eq!(actual, case.expected, "{}", case.name);
        for row in &rows {
            assert!(
                !row.reason.is_empty(),
                "{}: every row explains itself",
                case.name
            );
        }
    }
}

#[test]
fn rows_carry_their_contributions() {
    let contribution = Contribution {
        tenant_id: "ksc-a".into(),
        application_id: "kes-win".into(),
        category: None,
        quantity: 5,
    };
    let case = Case {
        desired: vec![DesiredQuantity {
            contributions: vec![contribution.clone()],
            ..desired(100, 11, 5)
        }],
        ..Case::default()
    };
    assert_eq!(run(&case)[0].contributions, vec![contribution]);
}
