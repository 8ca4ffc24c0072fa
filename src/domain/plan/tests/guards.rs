//! The increase and first-billing guards, and the move arithmetic they judge by.

use super::*;

/// The increase and first-billing guards (DOMAIN.md §6 "Policies"): judged on the tenant's
/// total billed units, holding its raising lines only.
fn increase_cases() -> Vec<Case> {
    use HoldReason::{
        DecreaseAboveLimit as Decrease, FirstBilling, IncreaseAboveLimit as Increase,
    };
    vec![
        Case {
            name: "the tenant's units rise 2 → 9 (+350 %, +7): the raising line is held",
            desired: vec![wants(100, 11, &[("kes", None, 9)])],
            additions: vec![addition(501, 100, 11, 2.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 2)])],
            expected: vec![row(A, Held, 2.0, 9).on(501).held(Update, &[Increase])],
            ..Case::default()
        },
        Case {
            name: "2 → 3 devices: too few units to hold",
            desired: vec![wants(100, 11, &[("kes", None, 3)])],
            additions: vec![addition(501, 100, 11, 2.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 2)])],
            expected: vec![row(A, Update, 2.0, 3).on(501)],
            ..Case::default()
        },
        Case {
            name: "a line going 1 → 6 while the tenant goes 10 → 15 is applied",
            desired: vec![
                wants(100, 11, &[("kes", None, 6)]),
                wants(100, 12, &[("ksws", None, 9)]),
            ],
            additions: vec![addition(501, 100, 11, 1.0), addition(502, 100, 12, 9.0)],
            managed: vec![
                billed(100, 11, 501, &[("kes", None, 1)]),
                billed(100, 12, 502, &[("ksws", None, 9)]),
            ],
            expected: vec![
                row(A, Update, 1.0, 6).on(501),
                row((100, 12), Unchanged, 9.0, 9).on(502),
            ],
            ..Case::default()
        },
        Case {
            name: "a new line raising the tenant 3 → 10: held, the unchanged line stays",
            desired: vec![
                wants(100, 11, &[("kes", None, 3)]),
                wants(100, 12, &[("ksws", None, 7)]),
            ],
            additions: vec![addition(501, 100, 11, 3.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 3)])],
            expected: vec![
                row(A, Unchanged, 3.0, 3).on(501),
                row((100, 12), Held, 0.0, 7)
                    .effective(TODAY)
                    .held(Create, &[Increase]),
            ],
            ..Case::default()
        },
        Case {
            name: "a growing tenant's falling line is judged on its own: each its own reason",
            desired: vec![
                wants(100, 11, &[("kes", None, 1)]),
                wants(100, 12, &[("ksws", None, 30)]),
            ],
            additions: vec![addition(501, 100, 11, 10.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 10)])],
            expected: vec![
                row(A, Held, 10.0, 1).on(501).held(Update, &[Decrease]),
                row((100, 12), Held, 0.0, 30)
                    .effective(TODAY)
                    .held(Create, &[Increase]),
            ],
            ..Case::default()
        },
        Case {
            name: "first billing applies at once by default, however large",
            desired: vec![wants(100, 11, &[("kes", None, 50)])],
            expected: vec![row(A, Create, 0.0, 50).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "first billing waits with hold_first_billing, however small",
            desired: vec![
                wants(100, 11, &[("kes", None, 2)]),
                wants(100, 12, &[("ksws", None, 1)]),
            ],
            policies: SyncPolicies {
                hold_first_billing: true,
                ..SyncPolicies::default()
            },
            expected: vec![
                row(A, Held, 0.0, 2)
                    .effective(TODAY)
                    .held(Create, &[FirstBilling]),
                row((100, 12), Held, 0.0, 1)
                    .effective(TODAY)
                    .held(Create, &[FirstBilling]),
            ],
            ..Case::default()
        },
        Case {
            name: "adopting a hand-made addition is no first billing: judged as an increase",
            desired: vec![wants(100, 11, &[("kes", None, 4)])],
            additions: vec![addition(601, 100, 11, 3.0)],
            policies: SyncPolicies {
                hold_first_billing: true,
                ..SyncPolicies::default()
            },
            expected: vec![row(A, Adopt, 3.0, 4).on(601)],
            ..Case::default()
        },
        Case {
            name: "usage back over a pending cancel is a rise from nothing, not a first billing",
            desired: vec![wants(100, 11, &[("kes", None, 8)])],
            additions: vec![cancelled(501, 100, 11, 5.0, MONTH_END)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 5)])],
            expected: vec![row(A, Held, 5.0, 8)
                .on(501)
                .clears_cancel()
                .held(Update, &[Increase])],
            ..Case::default()
        },
        Case {
            name: "a managed addition deleted in ConnectWise is created again: judged against \
                   what was last written there, no rise",
            desired: vec![wants(100, 11, &[("kes", None, 9)])],
            managed: vec![billed(100, 11, 501, &[("kes", None, 9)])],
            expected: vec![row(A, Create, 0.0, 9).effective(TODAY)],
            ..Case::default()
        },
        Case {
            name: "usage back after the project cancelled its line: a rise from nothing",
            desired: vec![wants(100, 11, &[("kes", None, 9)])],
            additions: vec![cancelled(501, 100, 11, 9.0, PAST)],
            managed: vec![billed(100, 11, 501, &[])],
            expected: vec![row(A, Held, 0.0, 9)
                .effective(TODAY)
                .held(Create, &[Increase])],
            ..Case::default()
        },
        Case {
            name: "the guard at 400 %: 2 → 9 applies",
            desired: vec![wants(100, 11, &[("kes", None, 9)])],
            additions: vec![addition(501, 100, 11, 2.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 2)])],
            policies: SyncPolicies {
                max_increase_percent: 400,
                ..SyncPolicies::default()
            },
            expected: vec![row(A, Update, 2.0, 9).on(501)],
            ..Case::default()
        },
        Case {
            name: "a rise on an agreement without a known tenant is not judged",
            desired: vec![desired(100, 11, 90)],
            additions: vec![addition(501, 100, 11, 2.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![row(A, Update, 2.0, 90).on(501)],
            ..Case::default()
        },
        Case {
            name: "a move that doubles the tenant's units is held whole for the increase",
            desired: vec![
                wants(100, 11, &[("kes", WS, 20)]),
                wants(100, 12, &[("kes", SRV, 4)]),
            ],
            additions: vec![addition(520, 100, 20, 10.0)],
            managed: vec![billed(100, 20, 520, &[("kes", None, 10)])],
            expected: vec![
                row((100, 11), Held, 0.0, 20)
                    .effective(TODAY)
                    .in_move()
                    .held(Create, &[Increase]),
                row((100, 12), Held, 0.0, 4)
                    .effective(TODAY)
                    .in_move()
                    .held(Create, &[Increase]),
                row((100, 20), Held, 10.0, 0)
                    .on(520)
                    .cancel_on(TODAY)
                    .in_move()
                    .held(Cancel, &[Increase]),
            ],
            ..Case::default()
        },
    ]
}

#[test]
fn increase_table() {
    for case in increase_cases() {
        let rows = run(&case);
        let actual: Vec<Expected> = rows.iter().map(Expected::from).collect();
        assert_eq!(actual, case.expected, "{}", case.name);
    }
}

/// A move is judged by the tenant's total billed units before and after, all lines counted
/// on both sides (DOMAIN.md §6 "Moves").
fn move_arithmetic_cases() -> Vec<(Case, (f64, f64))> {
    use HoldReason::DecreaseAboveLimit as Decrease;
    let categories = |ws: f64, srv: f64, nw: f64| {
        (
            vec![
                addition(501, 100, 11, ws),
                addition(502, 100, 12, srv),
                addition(503, 100, 13, nw),
            ],
            vec![
                billed(100, 11, 501, &[("kes", WS, ws as u64)]),
                billed(100, 12, 502, &[("kes", SRV, srv as u64)]),
                billed(100, 13, 503, &[("kes", NW, nw as u64)]),
            ],
        )
    };
    let (switch_additions, switch_managed) = categories(3.0, 2.0, 2.0);
    let (drop_additions, drop_managed) = categories(10.0, 2.0, 2.0);
    vec![
        (
            Case {
                name: "switch off with no change, the single product being the workstations' \
                       one: 7 → 7, not 4 → 7",
                desired: vec![wants(100, 11, &[("kes", None, 7)])],
                additions: switch_additions,
                managed: switch_managed,
                expected: vec![
                    row((100, 11), Update, 3.0, 7).on(501).in_move(),
                    row((100, 12), Cancel, 2.0, 0)
                        .on(502)
                        .cancel_on(TODAY)
                        .in_move(),
                    row((100, 13), Cancel, 2.0, 0)
                        .on(503)
                        .cancel_on(TODAY)
                        .in_move(),
                ],
                ..Case::default()
            },
            (7.0, 7.0),
        ),
        (
            Case {
                name: "switch off hiding a real drop (14 → 6): held whole, the lowered line too",
                desired: vec![wants(100, 11, &[("kes", None, 6)])],
                additions: drop_additions,
                managed: drop_managed,
                expected: vec![
                    row((100, 11), Held, 10.0, 6)
                        .on(501)
                        .in_move()
                        .held(Update, &[Decrease]),
                    row((100, 12), Held, 2.0, 0)
                        .on(502)
                        .cancel_on(TODAY)
                        .in_move()
                        .held(Cancel, &[Decrease]),
                    row((100, 13), Held, 2.0, 0)
                        .on(503)
                        .cancel_on(TODAY)
                        .in_move()
                        .held(Cancel, &[Decrease]),
                ],
                ..Case::default()
            },
            (14.0, 6.0),
        ),
        (
            Case {
                name: "switch on while half the servers disappear (12 → 10): applied whole",
                desired: vec![
                    wants(100, 11, &[("kes", WS, 8)]),
                    wants(100, 12, &[("kes", SRV, 2)]),
                ],
                additions: vec![addition(520, 100, 20, 12.0)],
                managed: vec![billed(100, 20, 520, &[("kes", None, 12)])],
                expected: vec![
                    row((100, 11), Create, 0.0, 8).effective(TODAY).in_move(),
                    row((100, 12), Create, 0.0, 2).effective(TODAY).in_move(),
                    row((100, 20), Cancel, 12.0, 0)
                        .on(520)
                        .cancel_on(TODAY)
                        .in_move(),
                ],
                ..Case::default()
            },
            (12.0, 10.0),
        ),
        (
            Case {
                name: "switch on while every server and half the workstations go (12 → 4): held",
                desired: vec![wants(100, 11, &[("kes", WS, 4)])],
                additions: vec![addition(520, 100, 20, 12.0)],
                managed: vec![billed(100, 20, 520, &[("kes", None, 12)])],
                expected: vec![
                    row((100, 11), Held, 0.0, 4)
                        .effective(TODAY)
                        .in_move()
                        .held(Create, &[Decrease]),
                    row((100, 20), Held, 12.0, 0)
                        .on(520)
                        .cancel_on(TODAY)
                        .in_move()
                        .held(Cancel, &[Decrease]),
                ],
                ..Case::default()
            },
            (12.0, 4.0),
        ),
        (
            Case {
                name: "remap of one application while the other line stays: 7 → 7",
                desired: vec![
                    wants(100, 12, &[("kes", None, 5)]),
                    wants(100, 15, &[("ksws", None, 2)]),
                ],
                additions: vec![addition(501, 100, 11, 5.0), addition(505, 100, 15, 2.0)],
                managed: vec![
                    billed(100, 11, 501, &[("kes", None, 5)]),
                    billed(100, 15, 505, &[("ksws", None, 2)]),
                ],
                expected: vec![
                    row((100, 11), Cancel, 5.0, 0)
                        .on(501)
                        .cancel_on(TODAY)
                        .in_move(),
                    row((100, 12), Create, 0.0, 5).effective(TODAY).in_move(),
                    row((100, 15), Unchanged, 2.0, 2).on(505),
                ],
                ..Case::default()
            },
            (7.0, 7.0),
        ),
    ]
}

#[test]
fn billing_licence_tiers_on_their_own_is_a_move() {
    // Endpoint Security for Windows billed 10 devices, 3 of them on Select keys; tiers billed on
    // their own now, Select mapped to product 12.
    let case = Case {
        desired: vec![
            wants(100, 11, &[("kes-windows", None, 7)]),
            wants(100, 12, &[("kesb-select", None, 3)]),
        ],
        additions: vec![addition(501, 100, 11, 10.0)],
        managed: vec![billed(100, 11, 501, &[("kes-windows", None, 10)])],
        lineage: [("kesb-select".to_string(), "kes-windows".to_string())].into(),
        ..Case::default()
    };
    let expected = vec![
        row((100, 11), Update, 10.0, 7).on(501).in_move(),
        row((100, 12), Create, 0.0, 3).effective(TODAY).in_move(),
    ];
    let opted_in = planned(&case);
    let actual: Vec<Expected> = opted_in.rows.iter().map(Expected::from).collect();
    assert_eq!(actual, expected);
    assert_eq!(
        (
            opted_in.moves[0].units_before,
            opted_in.moves[0].units_after
        ),
        (10.0, 10.0)
    );
    // And back: switching tiers off again moves the usage home.
    let back = Case {
        desired: vec![wants(100, 11, &[("kes-windows", None, 10)])],
        additions: vec![addition(501, 100, 11, 7.0), addition(502, 100, 12, 3.0)],
        managed: vec![
            billed(100, 11, 501, &[("kes-windows", None, 7)]),
            billed(100, 12, 502, &[("kesb-select", None, 3)]),
        ],
        lineage: case.lineage.clone(),
        ..Case::default()
    };
    let actions: Vec<_> = run(&back)
        .iter()
        .map(|r| (r.product_id.0, r.action, r.move_id.is_some()))
        .collect();
    assert_eq!(actions, [(11, Update, true), (12, Cancel, true)]);
    // Without the lineage the Select line is a new line, the drop a decrease: no move.
    let unrelated = Case {
        lineage: BTreeMap::new(),
        ..case
    };
    assert!(planned(&unrelated).moves.is_empty());
}

#[test]
fn move_arithmetic_table() {
    for (case, units) in move_arithmetic_cases() {
        let planned = planned(&case);
        let actual: Vec<Expected> = planned.rows.iter().map(Expected::from).collect();
        assert_eq!(actual, case.expected, "{}", case.name);
        let [m] = planned.moves.as_slice() else {
            panic!("{}: one move, got {:?}", case.name, planned.moves);
        };
        assert_eq!((m.units_before, m.units_after), units, "{}", case.name);
    }
}
