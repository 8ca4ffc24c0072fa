//! Moves (DOMAIN.md §6): the same usage billed on other lines.

use super::*;

/// Moves (DOMAIN.md §6): the same usage billed on other lines. Default policies: new lines
/// start today, usage that really ended is cancelled at the end of the month, guard 50 %.
fn move_cases() -> Vec<Case> {
    use HoldReason::{DecreaseAboveLimit as Decrease, UnattributedKeys as Keys};
    let by_category = || {
        (
            vec![
                addition(501, 100, 11, 8.0),
                addition(502, 100, 12, 2.0),
                addition(503, 100, 13, 2.0),
            ],
            vec![
                billed(100, 11, 501, &[("kes", WS, 8)]),
                billed(100, 12, 502, &[("kes", SRV, 2)]),
                billed(100, 13, 503, &[("kes", NW, 2)]),
            ],
        )
    };
    let (category_additions, category_managed) = by_category();
    let remap = || {
        (
            vec![addition(501, 100, 11, 5.0), addition(505, 100, 15, 2.0)],
            vec![
                billed(100, 11, 501, &[("kes", None, 5)]),
                billed(100, 15, 505, &[("ksws", None, 2)]),
            ],
        )
    };
    let (remap_additions, remap_managed) = remap();
    vec![
        Case {
            name: "toggle on → off: three category lines move to one product, same day",
            desired: vec![wants(100, 20, &[("kes", None, 12)])],
            additions: category_additions.clone(),
            managed: category_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 8.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 12), Cancel, 2.0, 0)
                    .on(502)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 13), Cancel, 2.0, 0)
                    .on(503)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 20), Create, 0.0, 12).effective(TODAY).in_move(),
            ],
            ..Case::default()
        },
        Case {
            name: "toggle off → on: one product moves to three category lines",
            desired: vec![
                wants(100, 11, &[("kes", WS, 8)]),
                wants(100, 12, &[("kes", SRV, 2)]),
                wants(100, 13, &[("kes", NW, 2)]),
            ],
            additions: vec![addition(520, 100, 20, 12.0)],
            managed: vec![billed(100, 20, 520, &[("kes", None, 12)])],
            expected: vec![
                row((100, 11), Create, 0.0, 8).effective(TODAY).in_move(),
                row((100, 12), Create, 0.0, 2).effective(TODAY).in_move(),
                row((100, 13), Create, 0.0, 2).effective(TODAY).in_move(),
                row((100, 20), Cancel, 12.0, 0)
                    .on(520)
                    .cancel_on(TODAY)
                    .in_move(),
            ],
            ..Case::default()
        },
        Case {
            name: "toggle off → on with the first-of-month policy: the old line ends that day too",
            desired: vec![
                wants(100, 11, &[("kes", WS, 10)]),
                wants(100, 12, &[("kes", SRV, 2)]),
            ],
            additions: vec![addition(520, 100, 20, 12.0)],
            managed: vec![billed(100, 20, 520, &[("kes", None, 12)])],
            policies: SyncPolicies {
                effective_date: EffectiveDatePolicy::FirstOfMonth,
                ..SyncPolicies::default()
            },
            expected: vec![
                row((100, 11), Create, 0.0, 10)
                    .effective(MONTH_START)
                    .in_move(),
                row((100, 12), Create, 0.0, 2)
                    .effective(MONTH_START)
                    .in_move(),
                row((100, 20), Cancel, 12.0, 0)
                    .on(520)
                    .cancel_on(MONTH_START)
                    .in_move(),
            ],
            ..Case::default()
        },
        Case {
            name: "remap of one application: its usage moves, the other line stays",
            desired: vec![
                wants(100, 12, &[("kes", None, 5)]),
                wants(100, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
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
        Case {
            name: "remap onto a line that bills other usage: an increase there",
            desired: vec![wants(100, 15, &[("kes", None, 5), ("ksws", None, 2)])],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 15), Update, 2.0, 7).on(505).in_move(),
            ],
            ..Case::default()
        },
        Case {
            name: "remap while the tenant's units drop by 57 % (7 → 3): the whole move is held",
            desired: vec![
                wants(100, 12, &[("kes", None, 1)]),
                wants(100, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Held, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move()
                    .held(Cancel, &[Decrease]),
                row((100, 12), Held, 0.0, 1)
                    .effective(TODAY)
                    .in_move()
                    .held(Create, &[Decrease]),
                row((100, 15), Unchanged, 2.0, 2).on(505),
            ],
            ..Case::default()
        },
        Case {
            name: "remap of one application while another line stays: judged on the tenant's \
                   7 → 4 (−43 %), not on the moved usage's 5 → 2 (−60 %), applied whole",
            desired: vec![
                wants(100, 12, &[("kes", None, 2)]),
                wants(100, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 12), Create, 0.0, 2).effective(TODAY).in_move(),
                row((100, 15), Unchanged, 2.0, 2).on(505),
            ],
            ..Case::default()
        },
        Case {
            name: "remap while usage drops by 40 %: within the guard, applied whole",
            desired: vec![
                wants(100, 12, &[("kes", None, 3)]),
                wants(100, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 12), Create, 0.0, 3).effective(TODAY).in_move(),
                row((100, 15), Unchanged, 2.0, 2).on(505),
            ],
            ..Case::default()
        },
        Case {
            name: "agreement move: the old agreement's lines end the day the new ones start",
            desired: vec![
                wants(200, 11, &[("kes", None, 5)]),
                wants(200, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 15), Cancel, 2.0, 0)
                    .on(505)
                    .cancel_on(TODAY)
                    .in_move(),
                row((200, 11), Create, 0.0, 5).effective(TODAY).in_move(),
                row((200, 15), Create, 0.0, 2).effective(TODAY).in_move(),
            ],
            ..Case::default()
        },
        Case {
            name: "move plus an unrelated cancel: the move applies, the ended usage is guarded",
            desired: vec![wants(100, 12, &[("kes", None, 5)])],
            additions: remap_additions.clone(),
            managed: remap_managed.clone(),
            expected: vec![
                row((100, 11), Cancel, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move(),
                row((100, 12), Create, 0.0, 5).effective(TODAY).in_move(),
                row((100, 15), Held, 2.0, 0)
                    .on(505)
                    .cancel_on(MONTH_END)
                    .held(Cancel, &[Decrease]),
            ],
            ..Case::default()
        },
        Case {
            name: "move while the tenant reports unknown keys: held whole",
            desired: vec![
                wants(100, 12, &[("kes", None, 5)]),
                wants(100, 15, &[("ksws", None, 2)]),
            ],
            additions: remap_additions,
            managed: remap_managed,
            constraints: cancel_guarded(100),
            expected: vec![
                row((100, 11), Held, 5.0, 0)
                    .on(501)
                    .cancel_on(TODAY)
                    .in_move()
                    .held(Cancel, &[Keys]),
                row((100, 12), Held, 0.0, 5)
                    .effective(TODAY)
                    .in_move()
                    .held(Create, &[Keys]),
                row((100, 15), Unchanged, 2.0, 2).on(505),
            ],
            ..Case::default()
        },
        Case {
            name: "usage that really ended is no move: cancelled at the end of the month",
            desired: vec![],
            additions: vec![addition(501, 100, 11, 1.0)],
            managed: vec![billed(100, 11, 501, &[("kes", None, 1)])],
            expected: vec![row((100, 11), Held, 1.0, 0)
                .on(501)
                .cancel_on(MONTH_END)
                .held(Cancel, &[Decrease])],
            ..Case::default()
        },
        Case {
            name: "unrecorded usage of the old line: judged on its own, as before",
            desired: vec![wants(100, 12, &[("kes", None, 5)])],
            additions: vec![addition(501, 100, 11, 5.0)],
            managed: vec![managed(100, 11, 501)],
            expected: vec![
                row((100, 11), Held, 5.0, 0)
                    .on(501)
                    .cancel_on(MONTH_END)
                    .held(Cancel, &[Decrease]),
                row((100, 12), Create, 0.0, 5).effective(TODAY),
            ],
            ..Case::default()
        },
    ]
}

#[test]
fn move_table() {
    for case in move_cases() {
        let rows = run(&case);
        let actual: Vec<Expected> = rows.iter().map(Expected::from).collect();
        assert_eq!(actual, case.expected, "{}", case.name);
    }
}

#[test]
fn a_move_counts_the_units_it_moves() {
    let case = &move_cases()[0];
    let moves = planned(case).moves;
    assert_eq!(moves.len(), 1);
    let m = &moves[0];
    assert_eq!(
        (m.id.as_str(), m.tenant_id.as_str()),
        ("move-ksc-a", "ksc-a")
    );
    assert_eq!((m.units_before, m.units_after), (12.0, 12.0));
    assert_eq!(m.applications, vec!["kes".to_string()]);
    assert_eq!(m.date, day(TODAY));
    assert_eq!(m.lines.len(), 4);
    assert!(m.hold_reasons.is_empty());
}

#[test]
fn approving_one_line_of_a_held_move_approves_the_move() {
    let case = move_cases()
        .into_iter()
        .find(|c| {
            c.name
                .starts_with("remap while the tenant's units drop by 57")
        })
        .unwrap();
    let new_line = RowKey {
        agreement_id: AgreementId(100),
        product_id: ProductId(12),
    };
    for approval in [
        lines([new_line].into()),
        Approval::Selected {
            lines: BTreeSet::new(),
            moves: ["move-ksc-a".to_string()].into(),
        },
    ] {
        let mut rows = run(&case);
        let approved = approve(&mut rows, &approval);
        assert_eq!(approved.len(), 2, "{approval:?}");
        let actions: Vec<_> = rows.iter().map(|r| r.action).collect();
        assert_eq!(actions, [Cancel, Create, Unchanged], "{approval:?}");
    }
}

#[test]
fn an_applied_move_replans_to_unchanged() {
    for mut case in move_cases() {
        let mut rows = run(&case);
        approve(&mut rows, &Approval::All);
        apply(&rows, &mut case.additions, &mut case.managed);
        let again = run(&case);
        assert!(
            again.iter().all(|r| r.action == Unchanged),
            "{}: {:?}",
            case.name,
            again
                .iter()
                .map(|r| (r.key(), r.action))
                .collect::<Vec<_>>()
        );
    }
}
