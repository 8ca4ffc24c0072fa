//! Moves (DOMAIN.md §6 "Moves"): usage that stays the same but is billed on another (agreement,
//! product) — a mode switch, a product remap, an agreement move. The old lines' cancels and
//! decreases and the new lines' creates and increases are one move per tenant: judged by the
//! units of the moved usage before and after, held whole or applied whole, and the old lines
//! end on the day the new lines start.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::desired::Contribution;
use super::model::{ApplicationId, TenantId};
use super::plan_lines::{HoldReason, ManagedAddition, PlanAction, PlanRow, RowKey};

/// One tenant's move, as shown in previews and runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Move {
    /// Stable for the tenant (`move-<tenant id>`), so it can be approved before a plan exists.
    pub id: String,
    pub tenant_id: TenantId,
    /// The applications whose usage moves.
    pub applications: Vec<ApplicationId>,
    /// Units of the moved usage on the old lines, as they were last billed.
    pub units_before: u64,
    /// Units of the same usage in the desired state.
    pub units_after: u64,
    /// The day the old lines end and the new lines start.
    pub date: NaiveDate,
    /// Every line of the move: the old lines (cancel or decrease) and the new ones.
    pub lines: Vec<RowKey>,
    /// Why the whole move waits for approval; empty when it applies.
    pub hold_reasons: Vec<HoldReason>,
}

impl Move {
    pub fn id_for(tenant_id: &str) -> String {
        format!("move-{tenant_id}")
    }
}

/// Whether `new` bills the usage `old` billed: same tenant and application, and the same device
/// category unless one side is the application's total (a "Bill devices by category" switch).
fn same_usage(old: &Contribution, new: &Contribution) -> bool {
    old.tenant_id == new.tenant_id
        && old.application_id == new.application_id
        && match (old.category, new.category) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}

/// The tenant whose usage a row bills: from its desired usage, else from the managed record.
pub fn tenant_of<'a>(row: &'a PlanRow, managed: Option<&'a ManagedAddition>) -> Option<&'a str> {
    row.contributions
        .first()
        .map(|c| c.tenant_id.as_str())
        .or_else(|| managed.and_then(|m| m.tenant_id.as_deref()))
}

/// An old line of a move: it ends (cancel) or lowers its billing. Written after the new lines.
pub fn is_old_line(row: &PlanRow) -> bool {
    match row.action {
        PlanAction::Cancel => true,
        PlanAction::Update => {
            !row.clear_cancelled_date
                && (row.desired_quantity.unwrap_or(0) as f64) < row.current_quantity
        }
        _ => false,
    }
}

fn raises(row: &PlanRow) -> bool {
    match row.action {
        PlanAction::Create => true,
        PlanAction::Update | PlanAction::Adopt => {
            row.clear_cancelled_date
                || (row.desired_quantity.unwrap_or(0) as f64) > row.current_quantity
        }
        _ => false,
    }
}

/// Where the desired state bills usage: rows that will really bill it (not conflicts).
fn bills(row: &PlanRow) -> bool {
    matches!(
        row.action,
        PlanAction::Create | PlanAction::Update | PlanAction::Adopt | PlanAction::Unchanged
    )
}

/// Finds every tenant's move among unguarded plan rows (no hold decided yet). `judge` returns
/// the hold reasons of a move from its units before and after and its lines.
pub fn find(
    rows: &[PlanRow],
    managed: &BTreeMap<RowKey, &ManagedAddition>,
    date: NaiveDate,
    judge: impl Fn(u64, u64, &[&PlanRow]) -> Vec<HoldReason>,
) -> Vec<Move> {
    let mut by_tenant: BTreeMap<&str, Vec<&PlanRow>> = BTreeMap::new();
    for row in rows {
        if let Some(tenant) = tenant_of(row, managed.get(&row.key()).copied()) {
            by_tenant.entry(tenant).or_default().push(row);
        }
    }
    by_tenant
        .into_iter()
        .filter_map(|(tenant, rows)| tenant_move(tenant, &rows, managed, date, &judge))
        .collect()
}

fn tenant_move(
    tenant: &str,
    rows: &[&PlanRow],
    managed: &BTreeMap<RowKey, &ManagedAddition>,
    date: NaiveDate,
    judge: &impl Fn(u64, u64, &[&PlanRow]) -> Vec<HoldReason>,
) -> Option<Move> {
    // Old lines whose recorded usage is billed by another line of the tenant now.
    let mut moved_old: Vec<&Contribution> = Vec::new();
    let mut old_lines: Vec<&PlanRow> = Vec::new();
    for &old in rows.iter().filter(|r| is_old_line(r)) {
        let Some(recorded) = managed.get(&old.key()).and_then(|m| m.billed.as_ref()) else {
            continue;
        };
        let elsewhere = |c: &Contribution| {
            rows.iter()
                .filter(|r| r.key() != old.key() && bills(r))
                .flat_map(|r| &r.contributions)
                .any(|n| n.quantity > 0 && same_usage(c, n))
        };
        let moved: Vec<&Contribution> = recorded.iter().filter(|c| elsewhere(c)).collect();
        if !moved.is_empty() {
            moved_old.extend(moved);
            old_lines.push(old);
        }
    }
    if old_lines.is_empty() {
        return None;
    }
    let is_new_home = |n: &Contribution| moved_old.iter().any(|c| same_usage(c, n));
    let units_after = rows
        .iter()
        .filter(|r| bills(r))
        .flat_map(|r| &r.contributions)
        .filter(|n| is_new_home(n))
        .map(|n| n.quantity)
        .sum();
    let units_before = moved_old.iter().map(|c| c.quantity).sum();
    let new_lines = rows
        .iter()
        .copied()
        .filter(|r| raises(r) && r.contributions.iter().any(is_new_home));
    let mut lines: Vec<&PlanRow> = old_lines.into_iter().chain(new_lines).collect();
    lines.sort_by_key(|r| r.key());
    lines.dedup_by_key(|r| r.key());
    let applications: BTreeSet<ApplicationId> =
        moved_old.iter().map(|c| c.application_id.clone()).collect();
    Some(Move {
        id: Move::id_for(tenant),
        tenant_id: tenant.to_string(),
        applications: applications.into_iter().collect(),
        units_before,
        units_after,
        date,
        hold_reasons: judge(units_before, units_after, &lines),
        lines: lines.iter().map(|r| r.key()).collect(),
    })
}
