//! A sync plan as it is shown and stored: the plan rows with the names of what they bill, and
//! everything the plan leaves unbilled. A plan is made of parts, one per set of tenants and
//! agreements that bill each other (a unit); `Plan::assemble` puts the parts together in one
//! order whatever order they were planned in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::desired::{BlockedTenant, DesiredState, FrozenTenant, UnbilledUsage};
use super::money::Money;
use super::moves::Move;
use super::plan::Planned;
use super::plan_lines::{ManagedAddition, PlanAction, PlanRow};

/// One (company, agreement, product) of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanLine {
    #[serde(flatten)]
    pub row: PlanRow,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub cw_company_id: Option<i64>,
    pub cw_company_name: Option<String>,
}

/// Why a billed tenant gets no changes in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotBilledKind {
    /// Its usage (or its agreement's additions) could not be read or is too old: skipped.
    Skipped,
    /// It uses an application whose product mapping is incomplete.
    Blocked,
}

/// A tenant with billing enabled whose bill the plan leaves as it is, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotBilledTenant {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub agreement_id: i64,
    pub kind: NotBilledKind,
    pub reason: String,
}

/// A billed tenant whose usage holds licence keys that were not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantKeys {
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    /// Keys that matched no security application.
    pub unknown_keys: usize,
    /// Keys that matched several applications equally well.
    pub ambiguous_keys: usize,
    /// The product names those keys carry (teach them with
    /// `POST /api/v1/security-applications/{id}/match-rules`).
    #[serde(default)]
    pub product_names: Vec<String>,
}

/// An agreement whose additions could not be read: frozen for this plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnreadableAgreement {
    pub agreement_id: i64,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The company mapping the plan is limited to, if any.
    pub company_mapping_id: Option<String>,
    pub lines: Vec<PlanLine>,
    /// Usage billed on other lines than before (mode switch, remap, agreement move): each
    /// move's lines are applied or held together, and name it in `move_id`.
    #[serde(default)]
    pub moves: Vec<Move>,
    /// How many lines of each action.
    pub counts: BTreeMap<String, usize>,
    /// Tenants whose usage could not be read: their agreements get no changes.
    pub frozen: Vec<FrozenTenant>,
    /// Tenants with usage of an application whose mapping is incomplete: no changes.
    pub blocked: Vec<BlockedTenant>,
    pub unreadable_agreements: Vec<UnreadableAgreement>,
    /// Every billed tenant the plan leaves unbilled (frozen, blocked, unreadable agreement), by name.
    #[serde(default)]
    pub not_billed: Vec<NotBilledTenant>,
    /// Billed tenants whose usage holds uncounted keys (their cancels wait for approval).
    #[serde(default)]
    pub unattributed_keys: Vec<TenantKeys>,
    /// Usage nothing bills.
    pub unbilled: Vec<UnbilledUsage>,
    /// The money the plan moves, per company and overall.
    #[serde(default)]
    pub money: MoneySummary,
}

/// The plan of one unit (or of the usage no unit bills: only `unbilled`).
#[derive(Debug, Clone, Default)]
pub struct PlanPart {
    pub lines: Vec<PlanLine>,
    pub moves: Vec<Move>,
    pub frozen: Vec<FrozenTenant>,
    pub blocked: Vec<BlockedTenant>,
    pub unreadable_agreements: Vec<UnreadableAgreement>,
    pub not_billed: Vec<NotBilledTenant>,
    pub unattributed_keys: Vec<TenantKeys>,
    pub unbilled: Vec<UnbilledUsage>,
}

impl PlanPart {
    /// Takes in another part (the order is set by `Plan::assemble`).
    pub fn extend(&mut self, other: PlanPart) {
        self.lines.extend(other.lines);
        self.moves.extend(other.moves);
        self.frozen.extend(other.frozen);
        self.blocked.extend(other.blocked);
        self.unreadable_agreements
            .extend(other.unreadable_agreements);
        self.not_billed.extend(other.not_billed);
        self.unattributed_keys.extend(other.unattributed_keys);
        self.unbilled.extend(other.unbilled);
    }
}

impl Plan {
    /// The plan of all parts: lines by (agreement, product), tenants by name then id, moves by
    /// id, agreements by id; usage nothing bills by tenant, each tenant's in the order found.
    pub fn assemble(
        id: String,
        created_at: DateTime<Utc>,
        company_mapping_id: Option<String>,
        mut all: PlanPart,
    ) -> Plan {
        all.lines.sort_by_key(|l| l.row.key());
        all.moves.sort_by(|a, b| a.id.cmp(&b.id));
        all.frozen.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        all.blocked.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        all.unreadable_agreements.sort_by_key(|u| u.agreement_id);
        all.not_billed
            .sort_by(|a, b| (&a.tenant_name, &a.tenant_id).cmp(&(&b.tenant_name, &b.tenant_id)));
        all.unattributed_keys
            .sort_by(|a, b| (&a.tenant_name, &a.tenant_id).cmp(&(&b.tenant_name, &b.tenant_id)));
        all.unbilled.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        let mut counts = BTreeMap::new();
        for line in &all.lines {
            *counts
                .entry(line.row.action.as_str().to_string())
                .or_insert(0) += 1;
        }
        Plan {
            money: MoneySummary::of_plan(&all.lines),
            id,
            created_at,
            company_mapping_id,
            lines: all.lines,
            moves: all.moves,
            counts,
            frozen: all.frozen,
            blocked: all.blocked,
            unreadable_agreements: all.unreadable_agreements,
            not_billed: all.not_billed,
            unattributed_keys: all.unattributed_keys,
            unbilled: all.unbilled,
        }
    }
}

/// The money a plan or a run moves on the monthly bills, per company and overall.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MoneySummary {
    /// What the lines applied (a plan: to apply) change the monthly bills by.
    pub monthly_effect: Money,
    /// What the lines waiting for approval would change them by once approved.
    pub held_effect: Money,
    /// Per company, by name (companies whose bill does not change are left out).
    pub companies: Vec<CompanyMoney>,
}

/// The money one company's lines move.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompanyMoney {
    pub cw_company_id: Option<i64>,
    pub cw_company_name: Option<String>,
    pub monthly_effect: Money,
    pub held_effect: Money,
}

impl MoneySummary {
    /// Adds a line's effect: `applies` when it changes the bill now, `held` when it waits.
    pub fn add(&mut self, line: &PlanLine, applies: bool, held: bool) {
        let effect = line.row.monthly_effect;
        if effect.is_zero() || !(applies || held) {
            return;
        }
        let at = self
            .companies
            .iter()
            .position(|c| c.cw_company_id == line.cw_company_id)
            .unwrap_or_else(|| {
                self.companies.push(CompanyMoney {
                    cw_company_id: line.cw_company_id,
                    cw_company_name: line.cw_company_name.clone(),
                    ..CompanyMoney::default()
                });
                self.companies.len() - 1
            });
        let company = &mut self.companies[at];
        if applies {
            company.monthly_effect = company.monthly_effect + effect;
            self.monthly_effect = self.monthly_effect + effect;
        } else {
            company.held_effect = company.held_effect + effect;
            self.held_effect = self.held_effect + effect;
        }
        self.companies.sort_by(|a, b| {
            (&a.cw_company_name, a.cw_company_id).cmp(&(&b.cw_company_name, b.cw_company_id))
        });
    }

    /// A plan's money: the lines it writes, and the ones it holds.
    pub fn of_plan(lines: &[PlanLine]) -> MoneySummary {
        let mut money = MoneySummary::default();
        for line in lines {
            let held = line.row.action == PlanAction::Held;
            money.add(line, line.row.action.writes_to_connectwise(), held);
        }
        money
    }
}

/// Who an agreement bills, as a plan line names it.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub cw_company_id: Option<i64>,
    pub cw_company_name: Option<String>,
}

/// The company mapping a plan is limited to: its tenant, and the agreements that bill it (the
/// mapped one and those holding additions managed for the tenant).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub tenant_id: &'a str,
    pub agreement_id: i64,
}

impl Scope<'_> {
    fn covers_tenant(scope: Option<&Self>, tenant_id: &str) -> bool {
        scope.is_none_or(|s| s.tenant_id == tenant_id)
    }

    fn covers_agreement(
        scope: Option<&Self>,
        agreement_id: i64,
        managed: &[ManagedAddition],
    ) -> bool {
        scope.is_none_or(|s| {
            agreement_id == s.agreement_id
                || managed.iter().any(|m| {
                    m.agreement_id == agreement_id && m.tenant_id.as_deref() == Some(s.tenant_id)
                })
        })
    }
}

/// What a unit's plan part is made from.
pub struct PartInput<'a> {
    pub planned: Planned,
    pub desired: DesiredState,
    pub managed: &'a [ManagedAddition],
    pub unreadable: Vec<UnreadableAgreement>,
    pub scope: Option<Scope<'a>>,
    /// Who an agreement bills.
    pub owner: &'a dyn Fn(i64) -> Owner,
    /// A tenant's name.
    pub tenant_name: &'a dyn Fn(&str) -> Option<String>,
}

/// A unit's plan part: its lines with who they bill, its moves, and every tenant it leaves
/// unbilled with the reason; with a scope, only what concerns that company mapping.
pub fn part(input: PartInput<'_>) -> PlanPart {
    let scope = input.scope.as_ref();
    let in_scope = |agreement_id| Scope::covers_agreement(scope, agreement_id, input.managed);
    let tenant_in_scope = |tenant_id: &str| Scope::covers_tenant(scope, tenant_id);
    let lines: Vec<PlanLine> = input
        .planned
        .rows
        .into_iter()
        .filter(|r| in_scope(r.agreement_id))
        .map(|row| {
            let owner = (input.owner)(row.agreement_id);
            PlanLine {
                tenant_id: owner.tenant_id,
                tenant_name: owner.tenant_name,
                cw_company_id: owner.cw_company_id,
                cw_company_name: owner.cw_company_name,
                row,
            }
        })
        .collect();
    let unreadable: Vec<UnreadableAgreement> = input
        .unreadable
        .into_iter()
        .filter(|u| in_scope(u.agreement_id))
        .collect();
    let mut not_billed: Vec<NotBilledTenant> = Vec::new();
    let mut add = |tenant_id: &str, agreement_id, kind, reason: String| {
        if !tenant_in_scope(tenant_id) {
            return;
        }
        match not_billed.iter_mut().find(|t| t.tenant_id == tenant_id) {
            Some(known) => known.reason = format!("{}; {reason}", known.reason),
            None => not_billed.push(NotBilledTenant {
                tenant_id: tenant_id.to_string(),
                tenant_name: (input.tenant_name)(tenant_id),
                agreement_id,
                kind,
                reason,
            }),
        }
    };
    let desired = input.desired;
    for t in &desired.frozen {
        let reason = t.reason.to_string();
        add(&t.tenant_id, t.agreement_id, NotBilledKind::Skipped, reason);
    }
    for t in &desired.blocked {
        let reason = format!(
            "incomplete product mapping for {}",
            t.applications.join(", ")
        );
        add(&t.tenant_id, t.agreement_id, NotBilledKind::Blocked, reason);
    }
    for u in &unreadable {
        if let Some(tenant_id) = (input.owner)(u.agreement_id).tenant_id {
            let reason = format!(
                "the additions of agreement {} could not be read: {}",
                u.agreement_id, u.error
            );
            add(&tenant_id, u.agreement_id, NotBilledKind::Skipped, reason);
        }
    }
    let unattributed_keys = desired
        .unattributed_keys
        .iter()
        .filter(|t| tenant_in_scope(&t.tenant_id))
        .map(|t| TenantKeys {
            tenant_id: t.tenant_id.clone(),
            tenant_name: (input.tenant_name)(&t.tenant_id),
            unknown_keys: t.unknown_keys,
            ambiguous_keys: t.ambiguous_keys,
            product_names: t.product_names.clone(),
        })
        .collect();
    PlanPart {
        lines,
        moves: input
            .planned
            .moves
            .into_iter()
            .filter(|m| tenant_in_scope(&m.tenant_id))
            .collect(),
        frozen: desired
            .frozen
            .into_iter()
            .filter(|t| tenant_in_scope(&t.tenant_id))
            .collect(),
        blocked: desired
            .blocked
            .into_iter()
            .filter(|t| tenant_in_scope(&t.tenant_id))
            .collect(),
        unreadable_agreements: unreadable,
        not_billed,
        unattributed_keys,
        unbilled: desired
            .unbilled
            .into_iter()
            .filter(|u| tenant_in_scope(&u.tenant_id))
            .collect(),
    }
}
