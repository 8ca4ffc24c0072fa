//! Applying a plan's lines to ConnectWise, one change record per line.
//!
//! Safety (DOMAIN.md §6): cancels set `cancelledDate`, never DELETE; a write whose outcome is
//! unknown is recorded as failed and never repeated here — the next plan re-reads ConnectWise
//! and adopts or corrects it, so a lost response never creates a duplicate.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::adapters::connectwise::{ConnectWiseClient, NewAddition, PatchOperation};
use crate::domain::ids::AgreementId;
use crate::domain::outcome::Outcome;
use crate::domain::plan::{CwAddition, PlanAction, PlanRow, RowKey};
use crate::domain::report::PlanLine;
use crate::domain::terms::{BillCustomer, LineTerms};
use crate::sync::plan::read_additions;

/// The result of writing one line.
#[derive(Clone)]
pub struct Written {
    pub outcome: Outcome,
    pub detail: String,
    /// The addition the line now manages (created or adopted).
    pub managed_addition: Option<i64>,
}

impl Written {
    pub fn new(outcome: Outcome, detail: String) -> Self {
        Written {
            outcome,
            detail,
            managed_addition: None,
        }
    }
}

fn at_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// "Kaspersky: kes-windows (Windows servers), ksws (Windows servers)": what the line bills.
pub fn description(row: &PlanRow) -> String {
    let mut parts: Vec<String> = row
        .contributions
        .iter()
        .map(|c| match c.category {
            Some(cat) => format!("{} ({})", c.application_id, cat.label()),
            None => c.application_id.clone(),
        })
        .collect();
    parts.sort();
    parts.dedup();
    let text = format!("Kaspersky: {}", parts.join(", "));
    text.chars().take(6000).collect()
}

/// The patch that brings an addition's terms to `terms`.
fn terms_operations(terms: &LineTerms) -> Vec<PatchOperation> {
    let mut ops = vec![
        PatchOperation::replace("billCustomer", terms.bill_customer),
        PatchOperation::replace("taxableFlag", terms.taxable),
        PatchOperation::replace("lessIncluded", terms.less_included as f64),
    ];
    if let Some(price) = terms.unit_price {
        ops.push(PatchOperation::replace_amount("unitPrice", price));
    }
    if let Some(cost) = terms.unit_cost {
        ops.push(PatchOperation::replace_amount("unitCost", cost));
    }
    if let Some(text) = &terms.invoice_description {
        ops.push(PatchOperation::replace("invoiceDescription", text));
    }
    ops
}

/// Writes one line whose action writes to ConnectWise.
pub async fn write(client: &ConnectWiseClient, line: &PlanLine) -> Written {
    let row = &line.row;
    let desired = row.desired_quantity.unwrap_or(0) as f64;
    let failed = |e: crate::adapters::connectwise::ConnectWiseError| {
        Written::new(Outcome::Failed, e.to_string())
    };
    match row.action {
        PlanAction::Create => {
            let bill = row
                .terms
                .as_ref()
                .map_or(BillCustomer::Billable, |t| t.bill_customer);
            let mut addition = NewAddition::new(row.product_id, bill, desired);
            addition.effective_date = row.effective_date.map(at_midnight);
            addition.description = Some(description(row));
            if let Some(terms) = &row.terms {
                addition.unit_price = terms.unit_price;
                addition.unit_cost = terms.unit_cost;
                addition.taxable_flag = Some(terms.taxable);
                addition.invoice_description = terms.invoice_description.clone();
                addition.less_included = Some(terms.less_included as f64);
            }
            match client.create_addition(row.agreement_id, &addition).await {
                Ok(created) => Written {
                    outcome: Outcome::Applied,
                    detail: format!("created addition {}", created.id.unwrap_or_default()),
                    managed_addition: created.id,
                },
                Err(e) => failed(e),
            }
        }
        PlanAction::Update | PlanAction::Adopt | PlanAction::Cancel => {
            let Some(addition_id) = row.addition_id else {
                return Written::new(
                    Outcome::Failed,
                    "the plan names no addition to change".into(),
                );
            };
            let mut ops = Vec::new();
            if row.action == PlanAction::Cancel {
                let day = row
                    .cancelled_date
                    .unwrap_or_else(|| Utc::now().date_naive());
                ops.push(PatchOperation::replace("cancelledDate", at_midnight(day)));
            } else {
                ops.push(PatchOperation::replace("quantity", desired));
                if row.clear_cancelled_date {
                    ops.push(PatchOperation::replace("cancelledDate", Value::Null));
                }
                if let Some(terms) = &row.terms {
                    ops.extend(terms_operations(terms));
                }
            }
            match client
                .patch_addition(row.agreement_id, addition_id, &ops)
                .await
            {
                Ok(_) => Written {
                    outcome: Outcome::Applied,
                    detail: match row.action {
                        PlanAction::Cancel => format!(
                            "cancelled from {}",
                            row.cancelled_date
                                .map(|d| d.to_string())
                                .unwrap_or_default()
                        ),
                        PlanAction::Adopt => {
                            format!("adopted addition {addition_id}, quantity {desired}")
                        }
                        _ => format!("quantity {} → {desired}", row.current_quantity),
                    },
                    managed_addition: (row.action == PlanAction::Adopt).then_some(addition_id),
                },
                Err(e) => failed(e),
            }
        }
        _ => Written::new(Outcome::NotApplied, "nothing to write".into()),
    }
}

/// For a stored plan applied later: why the line no longer matches ConnectWise, if it does not.
pub fn stale_reason(
    row: &PlanRow,
    now_additions: &[CwAddition],
    now: DateTime<Utc>,
) -> Option<String> {
    let active_of_product: Vec<&CwAddition> = now_additions
        .iter()
        .filter(|a| {
            a.agreement_id == row.agreement_id && a.product_id == row.product_id && a.is_active(now)
        })
        .collect();
    match row.action {
        PlanAction::Create => {
            let unexpected: Vec<i64> = active_of_product
                .iter()
                .map(|a| a.id)
                .filter(|id| !row.unmanaged_addition_ids.contains(id))
                .collect();
            (!unexpected.is_empty()).then(|| {
                format!("an addition of this product appeared since the preview ({unexpected:?})")
            })
        }
        PlanAction::Update | PlanAction::Adopt | PlanAction::Cancel => {
            let id = row.addition_id?;
            match now_additions.iter().find(|a| a.id == id) {
                None => Some(format!("addition {id} no longer exists")),
                Some(a) if (a.quantity - row.current_quantity).abs() > f64::EPSILON => {
                    Some(format!(
                        "addition {id} now has quantity {} (the preview saw {})",
                        a.quantity, row.current_quantity
                    ))
                }
                Some(_) => None,
            }
        }
        _ => None,
    }
}

/// What re-reading a stored plan's agreements found: their additions, and which could not be
/// read.
#[derive(Default)]
pub struct Reread {
    pub agreements: BTreeSet<AgreementId>,
    pub unreadable: BTreeSet<AgreementId>,
    pub additions: Vec<CwAddition>,
}

/// For a preview applied later: the write lines whose ConnectWise state changed since, and why
/// (with what was read). A move is applied whole, so one changed line keeps all of its move back.
pub async fn stale_lines(
    client: &ConnectWiseClient,
    lines: &[PlanLine],
    now: DateTime<Utc>,
) -> (BTreeMap<RowKey, String>, Reread) {
    let writes: Vec<&PlanLine> = lines
        .iter()
        .filter(|l| l.row.action.writes_to_connectwise())
        .collect();
    if writes.is_empty() {
        return (BTreeMap::new(), Reread::default());
    }
    let agreements: BTreeSet<AgreementId> = writes.iter().map(|l| l.row.agreement_id).collect();
    let (additions, unreadable) = read_additions(client, &agreements).await;
    let mut stale = BTreeMap::new();
    for line in &writes {
        let reason = if unreadable
            .iter()
            .any(|u| u.agreement_id == line.row.agreement_id)
        {
            Some("its additions could not be re-read".to_string())
        } else {
            stale_reason(&line.row, &additions, now)
        };
        if let Some(reason) = reason {
            stale.insert(line.row.key(), reason);
        }
    }
    let changed_moves: BTreeSet<&String> = writes
        .iter()
        .filter(|l| stale.contains_key(&l.row.key()))
        .filter_map(|l| l.row.move_id.as_ref())
        .collect();
    for line in &writes {
        if line
            .row
            .move_id
            .as_ref()
            .is_some_and(|id| changed_moves.contains(id))
        {
            stale
                .entry(line.row.key())
                .or_insert_with(|| "another line of its move changed since the preview".into());
        }
    }
    let unreadable = unreadable.iter().map(|u| u.agreement_id).collect();
    let reread = Reread {
        agreements,
        unreadable,
        additions,
    };
    (stale, reread)
}
