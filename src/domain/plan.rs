//! The plan (DOMAIN.md §6 "Plan actions", "Lifecycle", "Safety"): per (agreement, product), what to
//! write to ConnectWise so its additions match the desired state, and what to hold back for approval.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::desired::{DesiredQuantity, DesiredState};
use super::guards::{self, TenantTotals};
use super::model::ApplicationId;
use super::moves::{self, Move};
pub use super::plan_lines::{
    AdditionTerms, CwAddition, Hold, HoldReason, ManagedAddition, PlanAction, PlanRow, RowKey,
};
pub use super::plan_money::Pricing;
use super::policies::SyncPolicies;

/// What restricts the plan per agreement. Precedence: frozen, then released, then billed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgreementConstraints {
    /// No action at all; rows are reported as skipped with this reason.
    pub frozen: BTreeMap<i64, String>,
    /// Managed additions are left as they are and no longer managed (billing disabled, mapping deleted).
    pub released: BTreeSet<i64>,
    /// The tenant reports unknown or ambiguous keys: every cancel is held.
    pub cancel_guarded: BTreeSet<i64>,
}

impl AgreementConstraints {
    /// The constraints the desired state implies. An agreement whose company mapping was deleted is
    /// unknown to it: the caller adds that agreement to `released`, or it would count as moved (cancelled).
    pub fn from_desired(desired: &DesiredState) -> Self {
        let mut frozen: BTreeMap<i64, String> = BTreeMap::new();
        let mut freeze = |agreement_id, reason: String| {
            frozen
                .entry(agreement_id)
                .and_modify(|reasons| *reasons = format!("{reasons}; {reason}"))
                .or_insert(reason);
        };
        for tenant in &desired.frozen {
            freeze(
                tenant.agreement_id,
                format!("tenant {}: {}", tenant.tenant_id, tenant.reason),
            );
        }
        for tenant in &desired.blocked {
            let applications = tenant.applications.join(", ");
            let reason = format!(
                "tenant {} blocked: incomplete product mapping for {applications}",
                tenant.tenant_id
            );
            freeze(tenant.agreement_id, reason);
        }
        Self {
            frozen,
            released: desired.released.iter().map(|t| t.agreement_id).collect(),
            cancel_guarded: desired
                .unattributed_keys
                .iter()
                .map(|t| t.agreement_id)
                .collect(),
        }
    }
}

/// Everything a plan is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub desired: &'a [DesiredQuantity],
    /// The additions of every agreement that is desired or holds a managed addition.
    pub additions: &'a [CwAddition],
    pub managed: &'a [ManagedAddition],
    pub constraints: &'a AgreementConstraints,
    pub policies: SyncPolicies,
    pub now: DateTime<Utc>,
    /// Licence tier → the application it folds into: usage billed under one and then the other
    /// is the same usage (a move), whichever way tiers are switched.
    pub lineage: &'a BTreeMap<ApplicationId, ApplicationId>,
    /// What each line's terms and money are computed from (none: written as before).
    pub pricing: &'a BTreeMap<RowKey, Pricing>,
}

/// A plan: its rows, sorted by (agreement, product), and the moves among them.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub rows: Vec<PlanRow>,
    pub moves: Vec<Move>,
}

/// Computes the plan: rows per (agreement, product), then the moves, then the guards.
pub fn plan(input: &PlanInput<'_>) -> Planned {
    let desired: BTreeMap<RowKey, &DesiredQuantity> = input
        .desired
        .iter()
        .map(|d| {
            (
                RowKey {
                    agreement_id: d.agreement_id,
                    product_id: d.product_id,
                },
                d,
            )
        })
        .collect();
    let managed: BTreeMap<RowKey, &ManagedAddition> = input
        .managed
        .iter()
        .map(|m| {
            (
                RowKey {
                    agreement_id: m.agreement_id,
                    product_id: m.product_id,
                },
                m,
            )
        })
        .collect();
    let keys: BTreeSet<RowKey> = desired.keys().chain(managed.keys()).copied().collect();
    let planner = Planner { input };
    let mut rows: Vec<PlanRow> = keys
        .into_iter()
        .filter_map(|key| planner.row(key, desired.get(&key).copied(), managed.get(&key).copied()))
        .collect();
    let date = input.policies.effective_date(input.now);
    let totals = guards::tenant_totals(&rows, &managed, |row| {
        planner.billed_now(row, managed.get(&row.key()).copied())
    });
    let moves = moves::find(
        &moves::Rows {
            rows: &rows,
            managed: &managed,
            lineage: input.lineage,
        },
        date,
        &totals,
        |totals, lines| planner.move_hold_reasons(totals, lines),
    );
    for row in &mut rows {
        let tenant = row
            .tenant(managed.get(&row.key()).copied())
            .and_then(|tenant| totals.get(tenant))
            .copied();
        match moves.iter().find(|m| m.lines.contains(&row.key())) {
            Some(m) => planner.join_move(row, m),
            None => planner.guard(row, tenant.as_ref()),
        }
        let addition = row.addition_id.and_then(|id| planner.addition(id));
        super::plan_money::price(row, addition, input.pricing.get(&row.key()));
    }
    let mut moves = moves;
    for m in &mut moves {
        m.monthly_effect = rows
            .iter()
            .filter(|row| m.lines.contains(&row.key()))
            .map(|row| row.monthly_effect)
            .sum();
    }
    Planned { rows, moves }
}

struct Planner<'p, 'a> {
    input: &'p PlanInput<'a>,
}

impl Planner<'_, '_> {
    fn row(
        &self,
        key: RowKey,
        desired: Option<&DesiredQuantity>,
        managed: Option<&ManagedAddition>,
    ) -> Option<PlanRow> {
        let constraints = self.input.constraints;
        let row = PlanRow::new(key, desired);
        // A managed addition counts only while ConnectWise still has it for this agreement and product.
        let managed_addition =
            managed.and_then(|m| self.additions(key).find(|a| a.id == m.addition_id));

        // Frozen and released agreements are reported with what ConnectWise has, nothing computed.
        let reported = || {
            PlanRow {
                desired_quantity: None,
                ..row.clone()
            }
            .touching(managed_addition)
        };
        if let Some(reason) = constraints.frozen.get(&key.agreement_id) {
            return Some(reported().with(PlanAction::Skipped, format!("frozen: {reason}")));
        }
        if constraints.released.contains(&key.agreement_id) {
            return managed.map(|m| {
                let row = PlanRow {
                    addition_id: Some(m.addition_id),
                    ..reported()
                };
                let reason =
                    "billing disabled or company mapping removed: left as it is, no longer managed";
                row.with(PlanAction::Release, reason.into())
            });
        }

        let now = self.input.now;
        let active_managed = managed_addition.filter(|a| a.is_active(now));
        let unmanaged: Vec<&CwAddition> = self
            .additions(key)
            .filter(|a| a.is_active(now) && Some(a.id) != active_managed.map(|m| m.id))
            .collect();
        let row = PlanRow {
            unmanaged_addition_ids: unmanaged.iter().map(|a| a.id).collect(),
            ..row
        };
        let row = match active_managed {
            Some(addition) => self.keep_managed(row, addition),
            None => self.acquire(row, &unmanaged, managed)?,
        };
        Some(self.with_terms(row))
    }

    fn addition(&self, id: i64) -> Option<&CwAddition> {
        self.input.additions.iter().find(|a| a.id == id)
    }

    /// The terms a line is written with: every create, and every addition whose terms drifted
    /// from its profile (a catalog price change, a profile edit) — a terms-only change is an
    /// update of its own, never held by the quantity guards.
    fn with_terms(&self, mut row: PlanRow) -> PlanRow {
        let Some(wanted) = self
            .input
            .pricing
            .get(&row.key())
            .and_then(|p| p.write.clone())
        else {
            return row;
        };
        let drift = match row.addition_id.and_then(|id| self.addition(id)) {
            Some(addition) => addition.terms.drift(&wanted),
            None => Vec::new(),
        };
        let describe = || format!("terms: {} as the billing profile says", drift.join(", "));
        match row.action {
            PlanAction::Create => row.terms = Some(wanted),
            PlanAction::Update | PlanAction::Adopt if !drift.is_empty() => {
                row.reason = format!("{}; {}", row.reason, describe());
                row.terms = Some(wanted);
            }
            PlanAction::Unchanged if !drift.is_empty() && row.desired() > 0 => {
                row.reason = describe();
                row.action = PlanAction::Update;
                row.terms = Some(wanted);
            }
            _ => {}
        }
        row
    }

    fn additions(&self, key: RowKey) -> impl Iterator<Item = &CwAddition> {
        self.input
            .additions
            .iter()
            .filter(move |a| a.agreement_id == key.agreement_id && a.product_id == key.product_id)
    }

    /// Rows for an active addition the project manages.
    fn keep_managed(&self, row: PlanRow, addition: &CwAddition) -> PlanRow {
        let row = row.touching(Some(addition));
        let desired = row.desired();
        let current = addition.quantity;
        match (desired, addition.cancelled_date) {
            (0, Some(pending)) => {
                let reason = format!("cancel already pending for {}", pending.date_naive());
                row.with(PlanAction::Unchanged, reason)
            }
            (0, None) => {
                let date = self.input.policies.cancel_date(self.input.now);
                let row = PlanRow {
                    cancelled_date: Some(date),
                    ..row
                };
                row.with(
                    PlanAction::Cancel,
                    format!("usage fell to 0: cancel on {date}"),
                )
            }
            (_, Some(pending)) => {
                let row = PlanRow {
                    clear_cancelled_date: true,
                    ..row
                };
                let pending = pending.date_naive();
                let reason = format!(
                    "usage returned: clear the cancel pending for {pending}, quantity {current} → {desired}"
                );
                row.with(PlanAction::Update, reason)
            }
            _ if current != desired as f64 => row.with(
                PlanAction::Update,
                format!("quantity {current} → {desired}"),
            ),
            _ => row.with(
                PlanAction::Unchanged,
                format!("quantity {desired} already billed"),
            ),
        }
    }

    /// Rows without an active managed addition: create, adopt or report a conflict; nothing to do at 0.
    fn acquire(
        &self,
        row: PlanRow,
        unmanaged: &[&CwAddition],
        stale_record: Option<&ManagedAddition>,
    ) -> Option<PlanRow> {
        let desired = row.desired();
        if desired == 0 {
            return None;
        }
        Some(match unmanaged {
            [] => {
                let date = self.input.policies.effective_date(self.input.now);
                let row = PlanRow {
                    effective_date: Some(date),
                    ..row
                };
                let reason = match stale_record {
                    Some(m) => format!(
                        "managed addition {} is no longer active in ConnectWise: create again with quantity {desired}",
                        m.addition_id
                    ),
                    None => format!("new billing: quantity {desired} from {date}"),
                };
                row.with(PlanAction::Create, reason)
            }
            [addition] => {
                // The adopted addition is managed from now on, no longer reported as unmanaged.
                let row = PlanRow {
                    clear_cancelled_date: addition.cancelled_date.is_some(),
                    unmanaged_addition_ids: Vec::new(),
                    ..row
                };
                let row = row.touching(Some(addition));
                let reason = format!(
                    "adopt the one existing addition {}: quantity {} → {desired}",
                    addition.id, addition.quantity
                );
                row.with(PlanAction::Adopt, reason)
            }
            several => {
                let reason = format!(
                    "{} active additions of this product not created by the project: resolve in ConnectWise",
                    several.len()
                );
                row.with(PlanAction::Conflict, reason)
            }
        })
    }

    /// Units the row bills going forward now: its active addition without a pending cancel; for
    /// a create over a managed addition that vanished or was ended in ConnectWise, what the
    /// project last wrote there (re-creating it is no rise); nothing for a conflict.
    fn billed_now(&self, row: &PlanRow, managed: Option<&ManagedAddition>) -> f64 {
        match row.action {
            PlanAction::Conflict => 0.0,
            PlanAction::Create => managed
                .and_then(|m| m.billed.as_ref())
                .map_or(0.0, |billed| billed.iter().map(|c| c.quantity as f64).sum()),
            _ => {
                let billing = row
                    .addition_id
                    .and_then(|id| self.input.additions.iter().find(|a| a.id == id))
                    .is_some_and(|a| a.cancelled_date.is_none());
                if billing {
                    row.current_quantity
                } else {
                    0.0
                }
            }
        }
    }

    /// The guards turn a write into a held row: the decrease guard judges the line, the
    /// unattributed-keys guard its cancel, the increase and first-billing guards its tenant.
    fn guard(&self, row: &mut PlanRow, tenant: Option<&TenantTotals>) {
        let policies = &self.input.policies;
        let lowers = matches!(
            row.action,
            PlanAction::Update | PlanAction::Adopt | PlanAction::Cancel
        );
        let mut reasons = Vec::new();
        if lowers && policies.exceeds_decrease_guard(row.current_quantity, row.desired() as f64) {
            reasons.push(HoldReason::DecreaseAboveLimit);
        }
        if self.cancel_guarded(row) {
            reasons.push(HoldReason::UnattributedKeys);
        }
        if let Some(tenant) = tenant.filter(|_| row.raises()) {
            let tenant_reasons = tenant.raising_hold_reasons(policies);
            if !tenant_reasons.is_empty() {
                row.reason = format!("{} ({})", row.reason, tenant.describe());
                reasons.extend(tenant_reasons);
            }
        }
        hold(row, reasons);
    }

    fn cancel_guarded(&self, row: &PlanRow) -> bool {
        row.action == PlanAction::Cancel
            && self
                .input
                .constraints
                .cancel_guarded
                .contains(&row.agreement_id)
    }

    /// A move is judged whole, by its tenant's total billed units before and after: held
    /// when they fall by more than the decrease guard allows or rise by more than the increase
    /// guard allows, or when any of its cancels falls under the unattributed-keys guard.
    fn move_hold_reasons(&self, tenant: &TenantTotals, lines: &[&PlanRow]) -> Vec<HoldReason> {
        let policies = &self.input.policies;
        let mut reasons = Vec::new();
        if policies.exceeds_decrease_guard(tenant.before, tenant.after) {
            reasons.push(HoldReason::DecreaseAboveLimit);
        }
        if lines.iter().any(|row| self.cancel_guarded(row)) {
            reasons.push(HoldReason::UnattributedKeys);
        }
        if lines.iter().any(|row| row.raises()) {
            reasons.extend(tenant.raising_hold_reasons(policies));
        }
        reasons
    }

    /// A line of a move: old lines end on the move's date, and the move's hold is the line's.
    fn join_move(&self, row: &mut PlanRow, m: &Move) {
        row.move_id = Some(m.id.clone());
        if row.action == PlanAction::Cancel {
            row.cancelled_date = Some(m.date);
            row.reason = format!(
                "usage moved to other lines: cancel on {}, the day the new lines start",
                m.date
            );
        }
        row.reason = format!(
            "{} (move: tenant total {} → {} units)",
            row.reason, m.units_before, m.units_after
        );
        hold(row, m.hold_reasons.clone());
    }
}

/// Holds a row for approval when there are reasons to.
fn hold(row: &mut PlanRow, reasons: Vec<HoldReason>) {
    if reasons.is_empty() {
        return;
    }
    let why: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    row.reason = format!("{}; held until approved: {}", row.reason, why.join(", "));
    row.hold = Some(Hold {
        action: row.action,
        reasons,
    });
    row.action = PlanAction::Held;
}

/// Which held rows an operator approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    All,
    /// These lines, and every line of these moves (a line of a move approves its whole move).
    Selected {
        lines: BTreeSet<RowKey>,
        moves: BTreeSet<String>,
    },
}

/// Turns the approved held rows into the action they were held from; returns their keys.
pub fn approve(rows: &mut [PlanRow], approval: &Approval) -> Vec<RowKey> {
    let moves: BTreeSet<String> = match approval {
        Approval::All => BTreeSet::new(),
        Approval::Selected { lines, moves } => rows
            .iter()
            .filter(|row| lines.contains(&row.key()))
            .filter_map(|row| row.move_id.clone())
            .chain(moves.iter().cloned())
            .collect(),
    };
    let covers = |row: &PlanRow| match approval {
        Approval::All => true,
        Approval::Selected { lines, .. } => {
            lines.contains(&row.key()) || row.move_id.as_ref().is_some_and(|id| moves.contains(id))
        }
    };
    let mut approved = Vec::new();
    for row in rows.iter_mut().filter(|row| covers(row)) {
        if let (PlanAction::Held, Some(hold)) = (row.action, &row.hold) {
            row.action = hold.action;
            approved.push(row.key());
        }
    }
    approved
}

#[cfg(test)]
mod tests;
