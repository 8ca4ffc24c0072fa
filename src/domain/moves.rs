//! Moves (DOMAIN.md §6 "Moves"): usage that stays the same but is billed on another (agreement,
//! product) — a mode switch, a product remap, an agreement move. The old lines' cancels and
//! decreases and the new lines' creates and increases are one move per tenant: judged by the
//! tenant's total billed units before and after, held whole or applied whole, and the old lines
//! end on the day the new lines start.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::desired::Contribution;
use super::guards::TenantTotals;
use super::model::{ApplicationId, TenantId};
use super::money::Money;
use super::plan_lines::{HoldReason, ManagedAddition, PlanAction, PlanRow, RowKey};

/// One tenant's move, as shown in previews and runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Move {
    /// Stable for the tenant (`move-<tenant id>`), so it can be approved before a plan exists.
    pub id: String,
    pub tenant_id: TenantId,
    /// The applications whose usage moves.
    pub applications: Vec<ApplicationId>,
    /// The tenant's total billed units before the move (all its lines; a move that keeps the
    /// total is no decrease).
    pub units_before: f64,
    /// The tenant's total billed units once the plan is applied.
    pub units_after: f64,
    /// The day the old lines end and the new lines start.
    pub date: NaiveDate,
    /// Every line of the move: the old lines (cancel or decrease) and the new ones.
    pub lines: Vec<RowKey>,
    /// Why the whole move waits for approval; empty when it applies.
    pub hold_reasons: Vec<HoldReason>,
    /// How much the whole move changes the monthly bill (its lines' effects together).
    #[serde(default)]
    pub monthly_effect: Money,
}

impl Move {
    pub fn id_for(tenant_id: &str) -> String {
        format!("move-{tenant_id}")
    }
}

/// A plan's rows with what tells where their usage was billed before.
pub struct Rows<'a> {
    pub rows: &'a [PlanRow],
    pub managed: &'a BTreeMap<RowKey, &'a ManagedAddition>,
    /// Licence tier → the application it folds into.
    pub lineage: &'a BTreeMap<ApplicationId, ApplicationId>,
}

impl Rows<'_> {
    /// Whether `new` bills the usage `old` billed: same tenant, the same application (or a
    /// licence tier and the application it folds into), and the same device category unless one
    /// side is the application's total (a "Bill devices by category" switch).
    fn same_usage(&self, old: &Contribution, new: &Contribution) -> bool {
        let (a, b) = (&old.application_id, &new.application_id);
        old.tenant_id == new.tenant_id
            && (a == b || self.lineage.get(a) == Some(b) || self.lineage.get(b) == Some(a))
            && match (old.category, new.category) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
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
/// the hold reasons of a move from its tenant's totals and its lines.
pub fn find(
    plan: &Rows<'_>,
    date: NaiveDate,
    totals: &BTreeMap<String, TenantTotals>,
    judge: impl Fn(&TenantTotals, &[&PlanRow]) -> Vec<HoldReason>,
) -> Vec<Move> {
    let mut by_tenant: BTreeMap<&str, Vec<&PlanRow>> = BTreeMap::new();
    for row in plan.rows {
        if let Some(tenant) = row.tenant(plan.managed.get(&row.key()).copied()) {
            by_tenant.entry(tenant).or_default().push(row);
        }
    }
    by_tenant
        .into_iter()
        .filter_map(|(tenant, rows)| {
            let totals = totals.get(tenant).copied().unwrap_or_default();
            plan.tenant_move(tenant, &rows, date, &totals, &judge)
        })
        .collect()
}

impl Rows<'_> {
    fn tenant_move(
        &self,
        tenant: &str,
        rows: &[&PlanRow],
        date: NaiveDate,
        totals: &TenantTotals,
        judge: &impl Fn(&TenantTotals, &[&PlanRow]) -> Vec<HoldReason>,
    ) -> Option<Move> {
        // Old lines whose recorded usage is billed by another line of the tenant now.
        let mut moved_old: Vec<&Contribution> = Vec::new();
        let mut old_lines: Vec<&PlanRow> = Vec::new();
        for &old in rows.iter().filter(|r| r.lowers()) {
            let Some(recorded) = self.managed.get(&old.key()).and_then(|m| m.billed.as_ref())
            else {
                continue;
            };
            let elsewhere = |c: &Contribution| {
                rows.iter()
                    .filter(|r| r.key() != old.key() && bills(r))
                    .flat_map(|r| &r.contributions)
                    .any(|n| n.quantity > 0 && self.same_usage(c, n))
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
        let is_new_home = |n: &Contribution| moved_old.iter().any(|c| self.same_usage(c, n));
        // Every other written line that now bills moved usage belongs to the move, also one that
        // bills less than before: the move is applied or held with all of them.
        let new_lines: Vec<&PlanRow> = rows
            .iter()
            .copied()
            .filter(|r| {
                r.action.writes_to_connectwise()
                    && !old_lines.iter().any(|old| old.key() == r.key())
                    && r.contributions.iter().any(is_new_home)
            })
            .collect();
        let mut lines = old_lines;
        lines.extend(new_lines);
        lines.sort_by_key(|r| r.key());
        lines.dedup_by_key(|r| r.key());
        let applications: BTreeSet<ApplicationId> =
            moved_old.iter().map(|c| c.application_id.clone()).collect();
        Some(Move {
            id: Move::id_for(tenant),
            tenant_id: tenant.to_string(),
            applications: applications.into_iter().collect(),
            units_before: totals.before,
            units_after: totals.after,
            date,
            hold_reasons: judge(totals, &lines),
            lines: lines.iter().map(|r| r.key()).collect(),
            monthly_effect: Money::ZERO,
        })
    }
}
