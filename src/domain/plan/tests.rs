use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::domain::desired::Contribution;
use crate::domain::model::DeviceCategory::{self, NonWindows, WindowsServer, WindowsWorkstation};
use crate::domain::policies::{CancelDatePolicy, EffectiveDatePolicy};
use PlanAction::{Adopt, Cancel, Conflict, Create, Held, Release, Skipped, Unchanged, Update};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 7, 12, 0, 0).unwrap()
}

fn day(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

fn midnight(d: &str) -> DateTime<Utc> {
    day(d).and_hms_opt(0, 0, 0).unwrap().and_utc()
}

const TODAY: &str = "2026-05-07";
const MONTH_START: &str = "2026-05-01";
const MONTH_END: &str = "2026-05-31";
const PAST: &str = "2026-04-30";

fn desired(agreement_id: i64, product_id: i64, quantity: u64) -> DesiredQuantity {
    DesiredQuantity {
        agreement_id,
        product_id,
        quantity,
        contributions: Vec::new(),
    }
}

fn addition(id: i64, agreement_id: i64, product_id: i64, quantity: f64) -> CwAddition {
    CwAddition {
        id,
        agreement_id,
        product_id,
        quantity,
        cancelled_date: None,
        terms: Default::default(),
    }
}

fn cancelled(id: i64, agreement_id: i64, product_id: i64, quantity: f64, on: &str) -> CwAddition {
    CwAddition {
        cancelled_date: Some(midnight(on)),
        ..addition(id, agreement_id, product_id, quantity)
    }
}

fn managed(agreement_id: i64, product_id: i64, addition_id: i64) -> ManagedAddition {
    ManagedAddition {
        agreement_id,
        product_id,
        addition_id,
        tenant_id: None,
        billed: None,
    }
}

/// Usage of tenant ksc-a: (application, category, quantity).
type Usage<'a> = &'a [(&'a str, Option<DeviceCategory>, u64)];

fn contributions(usage: Usage<'_>) -> Vec<Contribution> {
    usage
        .iter()
        .map(|&(application, category, quantity)| Contribution {
            tenant_id: "ksc-a".into(),
            application_id: application.into(),
            category,
            quantity,
        })
        .collect()
}

/// What tenant ksc-a's usage asks of (agreement, product).
fn wants(agreement_id: i64, product_id: i64, usage: Usage<'_>) -> DesiredQuantity {
    DesiredQuantity {
        contributions: contributions(usage),
        quantity: usage.iter().map(|u| u.2).sum(),
        ..desired(agreement_id, product_id, 0)
    }
}

/// A managed addition recorded as billing tenant ksc-a's `usage`.
fn billed(
    agreement_id: i64,
    product_id: i64,
    addition_id: i64,
    usage: Usage<'_>,
) -> ManagedAddition {
    ManagedAddition {
        tenant_id: Some("ksc-a".into()),
        billed: Some(contributions(usage)),
        ..managed(agreement_id, product_id, addition_id)
    }
}

/// The decision-relevant part of a plan row (everything but the texts).
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    agreement_id: i64,
    product_id: i64,
    action: PlanAction,
    held_action: Option<PlanAction>,
    hold_reasons: Vec<HoldReason>,
    addition_id: Option<i64>,
    current: f64,
    desired: Option<u64>,
    effective_date: Option<NaiveDate>,
    cancelled_date: Option<NaiveDate>,
    clear_cancelled_date: bool,
    unmanaged: Vec<i64>,
    move_id: Option<String>,
}

impl From<&PlanRow> for Expected {
    fn from(row: &PlanRow) -> Self {
        Self {
            agreement_id: row.agreement_id,
            product_id: row.product_id,
            action: row.action,
            held_action: row.hold.as_ref().map(|h| h.action),
            hold_reasons: row
                .hold
                .as_ref()
                .map(|h| h.reasons.clone())
                .unwrap_or_default(),
            addition_id: row.addition_id,
            current: row.current_quantity,
            desired: row.desired_quantity,
            effective_date: row.effective_date,
            cancelled_date: row.cancelled_date,
            clear_cancelled_date: row.clear_cancelled_date,
            unmanaged: row.unmanaged_addition_ids.clone(),
            move_id: row.move_id.clone(),
        }
    }
}

/// An expected row: (agreement, product), the action, the quantities, then details by builder.
fn row(key: (i64, i64), action: PlanAction, current: f64, desired: u64) -> Expected {
    Expected {
        agreement_id: key.0,
        product_id: key.1,
        action,
        held_action: None,
        hold_reasons: Vec::new(),
        addition_id: None,
        current,
        desired: Some(desired),
        effective_date: None,
        cancelled_date: None,
        clear_cancelled_date: false,
        unmanaged: Vec::new(),
        move_id: None,
    }
}

impl Expected {
    fn on(mut self, addition_id: i64) -> Self {
        self.addition_id = Some(addition_id);
        self
    }
    fn held(mut self, action: PlanAction, reasons: &[HoldReason]) -> Self {
        self.held_action = Some(action);
        self.hold_reasons = reasons.to_vec();
        self
    }
    fn effective(mut self, d: &str) -> Self {
        self.effective_date = Some(day(d));
        self
    }
    fn cancel_on(mut self, d: &str) -> Self {
        self.cancelled_date = Some(day(d));
        self
    }
    fn clears_cancel(mut self) -> Self {
        self.clear_cancelled_date = true;
        self
    }
    fn unmanaged(mut self, ids: &[i64]) -> Self {
        self.unmanaged = ids.to_vec();
        self
    }
    fn not_computed(mut self) -> Self {
        self.desired = None;
        self
    }
    fn in_move(mut self) -> Self {
        self.move_id = Some("move-ksc-a".into());
        self
    }
}

#[derive(Default)]
struct Case {
    name: &'static str,
    desired: Vec<DesiredQuantity>,
    additions: Vec<CwAddition>,
    managed: Vec<ManagedAddition>,
    constraints: AgreementConstraints,
    policies: SyncPolicies,
    /// Licence tier → the application it folds into.
    lineage: BTreeMap<String, String>,
    expected: Vec<Expected>,
}

fn frozen(agreement_id: i64) -> AgreementConstraints {
    let frozen = [(agreement_id, "tenant ksc-a: login refused".to_string())].into();
    AgreementConstraints {
        frozen,
        ..AgreementConstraints::default()
    }
}

fn released(agreement_id: i64) -> AgreementConstraints {
    AgreementConstraints {
        released: [agreement_id].into(),
        ..AgreementConstraints::default()
    }
}

fn cancel_guarded(agreement_id: i64) -> AgreementConstraints {
    AgreementConstraints {
        cancel_guarded: [agreement_id].into(),
        ..AgreementConstraints::default()
    }
}

fn guard_at(max_decrease_percent: u8) -> SyncPolicies {
    SyncPolicies {
        max_decrease_percent,
        ..SyncPolicies::default()
    }
}

fn run(case: &Case) -> Vec<PlanRow> {
    planned(case).rows
}

fn planned(case: &Case) -> Planned {
    plan(&PlanInput {
        desired: &case.desired,
        additions: &case.additions,
        managed: &case.managed,
        constraints: &case.constraints,
        policies: case.policies,
        now: now(),
        lineage: &case.lineage,
        pricing: &Default::default(),
    })
}

const A: (i64, i64) = (100, 11);

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

/// Writes the applicable rows the way the sync engine would, into the test's ConnectWise and records.
fn apply(rows: &[PlanRow], additions: &mut Vec<CwAddition>, managed: &mut Vec<ManagedAddition>) {
    // The usage a write billed is recorded with it, as the sync engine does.
    fn remember(managed: &mut Vec<ManagedAddition>, row: &PlanRow, addition_id: i64) {
        managed.retain(|m| (m.agreement_id, m.product_id) != (row.agreement_id, row.product_id));
        managed.push(ManagedAddition {
            agreement_id: row.agreement_id,
            product_id: row.product_id,
            addition_id,
            tenant_id: row.contributions.first().map(|c| c.tenant_id.clone()),
            billed: Some(row.contributions.clone()),
        });
    }
    for row in rows {
        let quantity = row.desired_quantity.unwrap_or(0) as f64;
        let touched = row
            .addition_id
            .and_then(|id| additions.iter_mut().find(|a| a.id == id));
        match (row.action, touched) {
            (Create, _) => {
                let id = 900 + additions.len() as i64;
                additions.push(addition(id, row.agreement_id, row.product_id, quantity));
                remember(managed, row, id);
            }
            (Update | Adopt, Some(a)) => {
                a.quantity = quantity;
                if row.clear_cancelled_date {
                    a.cancelled_date = None;
                }
                remember(managed, row, a.id);
            }
            (Cancel, Some(a)) => {
                a.cancelled_date = row
                    .cancelled_date
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc());
                remember(managed, row, a.id);
            }
            (Release, _) => managed.retain(|m| Some(m.addition_id) != row.addition_id),
            (action, _) => assert!(
                !action.writes_to_connectwise(),
                "{action:?} without its addition"
            ),
        }
    }
}

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
            .map(|r| (r.product_id, r.action))
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

fn lines(lines: BTreeSet<RowKey>) -> Approval {
    Approval::Selected {
        lines,
        moves: BTreeSet::new(),
    }
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
        agreement_id: 100,
        product_id,
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
                .filter(|r| r.product_id != 12)
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
                agreement_id: 1,
                reason: UnreadableReason::LoginRefused,
            },
            FrozenTenant {
                tenant_id: "b".into(),
                agreement_id: 1,
                reason: UnreadableReason::NoSnapshot,
            },
        ],
        blocked: vec![BlockedTenant {
            tenant_id: "c".into(),
            agreement_id: 2,
            applications: vec!["x".into(), "y".into()],
        }],
        released: vec![ReleasedTenant {
            tenant_id: "d".into(),
            agreement_id: 3,
        }],
        unattributed_keys: vec![UnattributedKeysTenant {
            tenant_id: "e".into(),
            agreement_id: 4,
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
    assert_eq!(constraints.frozen, expected_frozen);
    assert_eq!(constraints.released, [3].into());
    assert_eq!(constraints.cancel_guarded, [4].into());
}

const WS: Option<DeviceCategory> = Some(WindowsWorkstation);
const SRV: Option<DeviceCategory> = Some(WindowsServer);
const NW: Option<DeviceCategory> = Some(NonWindows);

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
        agreement_id: 100,
        product_id: 12,
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
        .map(|r| (r.product_id, r.action, r.move_id.is_some()))
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
