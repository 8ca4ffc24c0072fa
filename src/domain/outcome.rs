//! What a sync run did and how it ended (DOMAIN.md §6 "Run outcome"): the outcome of each line,
//! the run's summary, and the rule that turns the summary into the run's status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::report::{MoneySummary, NotBilledKind, NotBilledTenant, TenantKeys};

crate::text_enum! {
    /// What became of one line.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Outcome {
        /// Written to ConnectWise (or, for a release, forgotten).
        Applied => "applied",
        Failed => "failed",
        /// Waits for approval.
        Held => "held",
        /// Two or more unmanaged additions: reported, untouched.
        Conflict => "conflict",
        /// The agreement is frozen.
        Skipped => "skipped",
        /// ConnectWise changed since the plan was made: re-checked, not applied.
        Stale => "stale",
        /// Not applied: a dry run, a move left for the next run, or a lost lease.
        NotApplied => "not_applied",
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RunStatus {
        Running => "running",
        /// Every billed tenant was read and every planned line applied.
        Succeeded => "succeeded",
        /// Everything else applied, but lines wait for approval.
        Held => "held",
        /// A billed tenant was skipped or blocked, or lines were not applied (failed, stale,
        /// conflict, lease lost); `error` says which, the summary names the tenants.
        Partial => "partial",
        /// The run could not work: nothing was written.
        Failed => "failed",
        /// Its process died mid-run.
        Interrupted => "interrupted",
    }
}

/// A billed tenant the run did not bill, and since when runs have not billed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkippedTenant {
    #[serde(flatten)]
    pub tenant: NotBilledTenant,
    /// The start of the first run in the current series of runs that did not bill it.
    pub since: DateTime<Utc>,
}

/// Counts of a run, by planned action and by outcome, and what it left undone. Fields a stored
/// summary lacks (written by an older version) read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RunSummary {
    pub actions: BTreeMap<String, usize>,
    pub outcomes: BTreeMap<String, usize>,
    /// ConnectWise write calls made.
    pub write_calls: usize,
    /// Tenants with billing enabled whose usage could not be read (frozen).
    pub tenants_skipped: usize,
    /// Tenants with billing enabled held back by an incomplete product mapping.
    pub tenants_blocked: usize,
    /// Lines waiting for approval.
    pub lines_held: usize,
    /// Moves in the plan (usage billed on other lines than before).
    pub moves: usize,
    /// Every skipped or blocked tenant with its reason, by name.
    pub skipped_tenants: Vec<SkippedTenant>,
    /// Tenants whose usage holds licence keys no application counted.
    pub unattributed_keys: Vec<TenantKeys>,
    /// The money the run moved (lines applied) and left waiting (lines held).
    #[serde(default)]
    pub money: MoneySummary,
}

impl RunSummary {
    fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.get(outcome.as_str()).copied().unwrap_or(0)
    }

    /// Counts one recorded line: its planned action and what became of it.
    pub fn add_line(&mut self, action: &str, outcome: Outcome, wrote: bool) {
        if wrote {
            self.write_calls += 1;
        }
        *self.actions.entry(action.to_string()).or_insert(0) += 1;
        *self.outcomes.entry(outcome.as_str().into()).or_insert(0) += 1;
    }

    /// The tenants the plan leaves unbilled, each with since when (`previous` runs' series, or
    /// this run's start), and their counts.
    pub fn set_not_billed(
        &mut self,
        not_billed: &[NotBilledTenant],
        previous: &[SkippedTenant],
        started: DateTime<Utc>,
    ) {
        let since = |tenant_id: &str| {
            previous
                .iter()
                .find(|p| p.tenant.tenant_id == tenant_id)
                .map_or(started, |p| p.since)
        };
        self.skipped_tenants = not_billed
            .iter()
            .map(|t| SkippedTenant {
                since: since(&t.tenant_id),
                tenant: t.clone(),
            })
            .collect();
        let of_kind = |kind| {
            self.skipped_tenants
                .iter()
                .filter(|s| s.tenant.kind == kind)
                .count()
        };
        self.tenants_skipped = of_kind(NotBilledKind::Skipped);
        self.tenants_blocked = of_kind(NotBilledKind::Blocked);
    }

    /// The run's outcome (DOMAIN.md §6 "Run outcome") and, unless it succeeded, why.
    pub fn status(&self, lease_lost: bool, dry_run: bool) -> (RunStatus, Option<String>) {
        let mut problems = Vec::new();
        if lease_lost {
            problems.push("the run lost its lease and stopped writing".to_string());
        }
        let not_applied = [
            (Outcome::Failed, "failed"),
            (Outcome::Stale, "changed in ConnectWise since the preview"),
            (Outcome::Conflict, "in conflict"),
        ];
        for (outcome, what) in not_applied {
            let n = self.count(outcome);
            if n > 0 {
                problems.push(format!("{n} line(s) {what}"));
            }
        }
        let unwritten = self.count(Outcome::NotApplied);
        if !dry_run && !lease_lost && unwritten > 0 {
            problems.push(format!("{unwritten} line(s) not applied"));
        }
        if !self.skipped_tenants.is_empty() {
            let tenants: Vec<String> = self
                .skipped_tenants
                .iter()
                .map(|s| {
                    let t = &s.tenant;
                    let name = t.tenant_name.as_deref().unwrap_or(&t.tenant_id);
                    format!("{name} ({})", t.reason)
                })
                .collect();
            problems.push(format!("tenants not billed: {}", tenants.join("; ")));
        }
        if !self.unattributed_keys.is_empty() {
            let tenants: Vec<String> = self
                .unattributed_keys
                .iter()
                .map(|t| {
                    let name = t.tenant_name.as_deref().unwrap_or(&t.tenant_id);
                    format!("{name} ({})", t.product_names.join(", "))
                })
                .collect();
            problems.push(format!(
                "usage no security application counts (unknown or ambiguous licence keys): {}",
                tenants.join("; ")
            ));
        }
        if !problems.is_empty() {
            return (RunStatus::Partial, Some(problems.join("; ")));
        }
        if self.lines_held > 0 {
            return (RunStatus::Held, None);
        }
        (RunStatus::Succeeded, None)
    }
}

#[cfg(test)]
mod tests;
