//! The tenant-wide guards (DOMAIN.md §6 "Policies", "Moves"): a tenant's total billed units
//! before and after a plan, over every line of it, judge its increases, its first billing and
//! its moves — never one line alone.

use std::collections::{BTreeMap, BTreeSet};

use super::plan_lines::{HoldReason, ManagedAddition, PlanAction, PlanRow, RowKey};
use super::policies::SyncPolicies;

/// A tenant's billed units over all its lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TenantTotals {
    /// Billed going forward before the plan: active additions without a pending cancel.
    pub before: f64,
    /// Billed going forward once the plan is applied.
    pub after: f64,
    /// Nothing of the tenant is billed or was ever managed: these are its first lines.
    pub first_billing: bool,
}

impl TenantTotals {
    /// Why the tenant's raising lines wait for approval; none when they apply.
    pub fn raising_hold_reasons(&self, policies: &SyncPolicies) -> Vec<HoldReason> {
        if self.first_billing {
            return if policies.hold_first_billing {
                vec![HoldReason::FirstBilling]
            } else {
                Vec::new()
            };
        }
        if policies.exceeds_increase_guard(self.before, self.after) {
            vec![HoldReason::IncreaseAboveLimit]
        } else {
            Vec::new()
        }
    }

    /// "10 → 25 units" for reasons and summaries.
    pub fn describe(&self) -> String {
        format!("tenant total {} → {} units", self.before, self.after)
    }
}

/// Units the line bills once the plan is applied.
fn billed_after(row: &PlanRow) -> f64 {
    match row.action {
        PlanAction::Create | PlanAction::Update | PlanAction::Adopt | PlanAction::Unchanged => {
            row.desired() as f64
        }
        _ => 0.0,
    }
}

/// Every tenant's totals over the rows that bill its usage (frozen and released agreements
/// are not judged). `billed_now` gives the units a row's addition bills going forward now.
pub fn tenant_totals(
    rows: &[PlanRow],
    managed: &BTreeMap<RowKey, &ManagedAddition>,
    billed_now: impl Fn(&PlanRow) -> f64,
) -> BTreeMap<String, TenantTotals> {
    let ever_managed: BTreeSet<&str> = managed
        .values()
        .filter_map(|m| m.tenant_id.as_deref())
        .collect();
    let mut totals: BTreeMap<String, TenantTotals> = BTreeMap::new();
    for row in rows {
        if matches!(row.action, PlanAction::Skipped | PlanAction::Release) {
            continue;
        }
        let Some(tenant) = row.tenant(managed.get(&row.key()).copied()) else {
            continue;
        };
        let entry = totals.entry(tenant.to_string()).or_default();
        entry.before += billed_now(row);
        entry.after += billed_after(row);
    }
    for (tenant, entry) in &mut totals {
        entry.first_billing = entry.before == 0.0 && !ever_managed.contains(tenant.as_str());
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_lines_are_judged_by_the_tenant() {
        let policies = SyncPolicies::default();
        let first = SyncPolicies {
            hold_first_billing: true,
            ..SyncPolicies::default()
        };
        let totals = |before, after, first_billing| TenantTotals {
            before,
            after,
            first_billing,
        };
        use HoldReason::{FirstBilling, IncreaseAboveLimit};
        let cases = [
            (
                "first billing applies by default",
                totals(0.0, 50.0, true),
                policies,
                vec![],
            ),
            (
                "first billing held on request",
                totals(0.0, 2.0, true),
                first,
                vec![FirstBilling],
            ),
            (
                "back from nothing",
                totals(0.0, 8.0, false),
                policies,
                vec![IncreaseAboveLimit],
            ),
            ("10 → 15", totals(10.0, 15.0, false), policies, vec![]),
            (
                "2 → 9",
                totals(2.0, 9.0, false),
                first,
                vec![IncreaseAboveLimit],
            ),
        ];
        for (name, totals, policies, reasons) in cases {
            assert_eq!(totals.raising_hold_reasons(&policies), reasons, "{name}");
        }
    }
}
