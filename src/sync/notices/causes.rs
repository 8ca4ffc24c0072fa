//! The causes of notices as the stored state shows them now: the last run's outcome and
//! unattributed keys, lines held too long, tenants no mapping covers, mapped products gone
//! inactive. Derived from state (not from events), so a process that died between a run and
//! its notice still raises it on its next evaluation.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

use crate::adapters::db::{self, DbConnection};
use crate::domain::money::Money;
use crate::domain::notices::{Cause, NoticeDetail, NoticeKind, Severity};
use crate::domain::outcome::{Outcome, RunStatus, RunSummary};
use crate::domain::report::MoneySummary;
use crate::sync::runs::Run;
use crate::sync::settings;

/// How far back the streak of runs with held lines is looked for.
const HELD_STREAK_RUNS: i64 = 200;

pub fn derived(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<Cause>> {
    let mut causes = Vec::new();
    let finished = [
        RunStatus::Succeeded,
        RunStatus::Held,
        RunStatus::Partial,
        RunStatus::Failed,
    ];
    if let Some(run) = db::sync::latest_real_run::<RunSummary>(conn, &finished)? {
        causes.extend(run_outcome(&run));
        causes.extend(unattributed(&run.summary_json.0));
        let threshold = settings::get(conn)?.held_money_notice_threshold;
        causes.extend(held_money(&run, threshold));
    }
    causes.extend(held_lines(conn, now)?);
    causes.extend(unmapped_tenants(conn)?);
    causes.extend(inactive_products(conn)?);
    Ok(causes)
}

fn detail(summary: String, tenants: Vec<String>, link: &str) -> NoticeDetail {
    NoticeDetail {
        summary,
        tenants,
        link: link.into(),
        ..NoticeDetail::default()
    }
}

fn run_outcome(run: &Run) -> Option<Cause> {
    let status = run.status;
    let severity = match status {
        RunStatus::Failed => Severity::Critical,
        RunStatus::Partial | RunStatus::Held => Severity::Warning,
        _ => return None,
    };
    let summary = &run.summary_json.0;
    let tenants = summary
        .skipped_tenants
        .iter()
        .map(|s| {
            s.tenant
                .tenant_name
                .clone()
                .unwrap_or(s.tenant.tenant_id.clone())
        })
        .collect();
    Some(Cause {
        key: "run_outcome".into(),
        kind: NoticeKind::RunOutcome,
        severity,
        title: format!("The last sync run ended {status}"),
        detail: detail(run.error.clone().unwrap_or_default(), tenants, "/#/sync"),
        // Every run that ends like this again is a recurrence.
        fingerprint: run.id.clone(),
    })
}

fn unattributed(summary: &RunSummary) -> Vec<Cause> {
    summary
        .unattributed_keys
        .iter()
        .map(|t| {
            let name = t.tenant_name.clone().unwrap_or(t.tenant_id.clone());
            let products = t.product_names.join(", ");
            Cause {
                key: format!("unattributed_keys:{}", t.tenant_id),
                kind: NoticeKind::UnattributedKeys,
                severity: Severity::Warning,
                title: format!("{name} has licence keys no application counts"),
                detail: detail(
                    format!(
                        "{} unknown and {} ambiguous keys ({products}): teach an application \
                         their product name",
                        t.unknown_keys, t.ambiguous_keys
                    ),
                    vec![name],
                    "/#/products",
                ),
                fingerprint: format!("{}/{}/{products}", t.unknown_keys, t.ambiguous_keys),
            }
        })
        .collect()
}

/// Lines held in every run of the latest streak of runs with held lines, since its first run.
fn held_lines(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Option<Cause>> {
    let after = Duration::hours(settings::get(conn)?.held_notice_after_hours.into());
    let (runs, _) = db::sync::list_runs::<RunSummary>(conn, 0, HELD_STREAK_RUNS, true)?;
    let streak: Vec<_> = runs
        .iter()
        .filter(|r| !r.dry_run && r.status != RunStatus::Interrupted)
        .take_while(|r| r.summary_json.0.lines_held > 0)
        .collect();
    let (Some(latest), Some(first)) = (streak.first(), streak.last()) else {
        return Ok(None);
    };
    if now - first.started_at < after {
        return Ok(None);
    }
    let (changes, _) = db::sync::list_changes(conn, &latest.id, 0, 10_000)?;
    let tenants: BTreeSet<String> = changes
        .into_iter()
        .filter(|c| c.result == Outcome::Held)
        .filter_map(|c| c.tenant_name.or(c.tenant_id))
        .collect();
    let held = latest.summary_json.0.lines_held;
    let money = &latest.summary_json.0.money;
    let (companies, company_ids) = held_companies(money);
    Ok(Some(Cause {
        key: "held_lines".into(),
        kind: NoticeKind::HeldLines,
        severity: Severity::Warning,
        title: format!(
            "{held} line(s) have waited for approval since {}",
            db::utc(first.started_at).format("%Y-%m-%d %H:%M UTC")
        ),
        detail: NoticeDetail {
            companies,
            company_ids,
            money_at_stake: (!money.held_effect.is_zero()).then_some(money.held_effect),
            ..detail(
                "Approve or correct them: held lines are not billed.".into(),
                tenants.into_iter().collect(),
                "/#/sync",
            )
        },
        fingerprint: held.to_string(),
    }))
}

/// The companies whose bill held lines would change, by name and id.
fn held_companies(money: &MoneySummary) -> (Vec<String>, Vec<i64>) {
    let held = money.companies.iter().filter(|c| !c.held_effect.is_zero());
    let names = held
        .clone()
        .filter_map(|c| c.cw_company_name.clone())
        .collect();
    (names, held.filter_map(|c| c.cw_company_id).collect())
}

/// One notice per company whose held lines would move its monthly bill by at least
/// `threshold` either way (none when no threshold is set). Each held run is a recurrence.
fn held_money(run: &Run, threshold: Option<Money>) -> Vec<Cause> {
    let Some(threshold) = threshold else {
        return Vec::new();
    };
    let summary = &run.summary_json.0;
    if summary.lines_held == 0 {
        return Vec::new();
    }
    summary
        .money
        .companies
        .iter()
        .filter(|c| {
            let at_stake = c.held_effect;
            let size = if at_stake.is_negative() {
                -at_stake
            } else {
                at_stake
            };
            !at_stake.is_zero() && size >= threshold
        })
        .map(|c| {
            let name = c.cw_company_name.clone().unwrap_or_else(|| {
                c.cw_company_id
                    .map_or("a company".into(), |id| format!("company {id}"))
            });
            let (verb, amount) = if c.held_effect.is_negative() {
                ("lower", -c.held_effect)
            } else {
                ("raise", c.held_effect)
            };
            Cause {
                key: format!("held_money:{}", c.cw_company_id.unwrap_or_default()),
                kind: NoticeKind::HeldMoney,
                severity: Severity::Critical,
                title: format!("Held lines would {verb} {name}'s monthly bill by {amount}"),
                detail: NoticeDetail {
                    companies: vec![name.clone()],
                    company_ids: c.cw_company_id.into_iter().collect(),
                    money_at_stake: Some(c.held_effect),
                    ..detail(
                        format!(
                            "The change is at least {threshold} a month, the notice threshold: \
                             approve the held lines if it is right, or correct the cause first."
                        ),
                        Vec::new(),
                        "/#/sync",
                    )
                },
                // A different amount is a recurrence; the same one held again is not.
                fingerprint: c.held_effect.to_string(),
            }
        })
        .collect()
}

fn unmapped_tenants(conn: &mut DbConnection) -> QueryResult<Vec<Cause>> {
    let mapped: BTreeSet<String> = db::company_mappings::all(conn)?
        .into_iter()
        .map(|m| m.tenant_id)
        .collect();
    Ok(db::tenants::all(conn)?
        .into_iter()
        // A disabled virtual server is not billed: nothing to map (as the console counts).
        .filter(|t| !t.vanished && t.enabled && !mapped.contains(&t.id))
        .map(|t| Cause {
            key: format!("unmapped_tenant:{}", t.id),
            kind: NoticeKind::UnmappedTenant,
            severity: Severity::Warning,
            title: format!("Tenant {} is not mapped to a ConnectWise company", t.name),
            detail: detail(
                "Its usage is not billed until a company mapping covers it.".into(),
                vec![t.name],
                &format!("/#/companies?tenant={}", t.id),
            ),
            fingerprint: String::new(),
        })
        .collect())
}

fn inactive_products(conn: &mut DbConnection) -> QueryResult<Vec<Cause>> {
    let used: BTreeSet<i64> = db::product_mappings::list(conn)?
        .into_iter()
        .flat_map(|m| {
            let c = m.category_products;
            [
                m.product_id,
                c.windows_workstation,
                c.windows_server,
                c.non_windows,
            ]
        })
        .flatten()
        .collect();
    let ids: Vec<i64> = used.iter().copied().collect();
    let known = db::cw_products::find_many(conn, &ids)?;
    Ok(ids
        .into_iter()
        .filter_map(|id| {
            let product = known.iter().find(|p| p.id == id);
            let (name, state) = match product {
                Some(p) if p.vanished => (p.identifier.clone(), "is no longer in the catalog"),
                Some(p) if p.inactive => (p.identifier.clone(), "is inactive"),
                Some(_) => return None,
                None => (id.to_string(), "is no longer in the catalog"),
            };
            Some(Cause {
                key: format!("inactive_product:{id}"),
                kind: NoticeKind::InactiveProduct,
                severity: Severity::Warning,
                title: format!("ConnectWise product {name}, used by a product mapping, {state}"),
                detail: detail(
                    "Map the applications that bill on it to an active product.".into(),
                    Vec::new(),
                    "/#/products",
                ),
                fingerprint: state.into(),
            })
        })
        .collect())
}
