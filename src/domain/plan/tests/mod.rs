//! Plan tests: the shared fixtures (usage, desired quantities, ConnectWise additions, managed
//! records), the `Case` table runner and `apply`; the tests themselves are in the submodules.

mod cases;
mod guards;
mod moves;
mod replans;

use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::domain::desired::Contribution;
use crate::domain::ids::{AgreementId, ProductId};
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
        agreement_id: AgreementId(agreement_id),
        product_id: ProductId(product_id),
        quantity,
        contributions: Vec::new(),
    }
}

fn addition(id: i64, agreement_id: i64, product_id: i64, quantity: f64) -> CwAddition {
    CwAddition {
        id,
        agreement_id: AgreementId(agreement_id),
        product_id: ProductId(product_id),
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
        agreement_id: AgreementId(agreement_id),
        product_id: ProductId(product_id),
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
            agreement_id: row.agreement_id.0,
            product_id: row.product_id.0,
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
    let frozen = [(
        AgreementId(agreement_id),
        "tenant ksc-a: login refused".to_string(),
    )]
    .into();
    AgreementConstraints {
        frozen,
        ..AgreementConstraints::default()
    }
}

fn released(agreement_id: i64) -> AgreementConstraints {
    AgreementConstraints {
        released: [AgreementId(agreement_id)].into(),
        ..AgreementConstraints::default()
    }
}

fn cancel_guarded(agreement_id: i64) -> AgreementConstraints {
    AgreementConstraints {
        cancel_guarded: [AgreementId(agreement_id)].into(),
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

const WS: Option<DeviceCategory> = Some(WindowsWorkstation);
const SRV: Option<DeviceCategory> = Some(WindowsServer);
const NW: Option<DeviceCategory> = Some(NonWindows);

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
                additions.push(addition(id, row.agreement_id.0, row.product_id.0, quantity));
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

fn lines(lines: BTreeSet<RowKey>) -> Approval {
    Approval::Selected {
        lines,
        moves: BTreeSet::new(),
    }
}
