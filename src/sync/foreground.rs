//! `kaspersky-msp-bridge sync`: one run in the foreground, its changes as a table, and an exit
//! code a cron job or a script can act on.

use std::collections::HashMap;
use std::sync::Arc;

use crate::adapters::db::{self, sync::ChangeRow};
use crate::domain::outcome::RunStatus;
use crate::runtime::state::Core;
use crate::sync::runs::{self, Run, RunRequest, Trigger};
use crate::sync::SyncError;

/// The exit code of a run: 0 succeeded, 1 held or partial (billing is not complete), 2 failed
/// (or could not start).
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => 0,
        RunStatus::Held | RunStatus::Partial => 1,
        RunStatus::Running | RunStatus::Failed | RunStatus::Interrupted => 2,
    }
}

/// What the command prints and returns.
pub struct Report {
    pub run: Run,
    pub table: String,
    pub held: usize,
}

impl Report {
    pub fn exit_code(&self) -> u8 {
        exit_code(RunStatus::parse(&self.run.status).unwrap_or(RunStatus::Failed))
    }
}

/// Runs one sync (`Trigger::Cli`) to its end; `Err` when it could not start (409: the lease
/// is held, with the reason).
pub async fn run(state: Arc<Core>, dry_run: bool) -> Result<Report, SyncError> {
    let request = RunRequest {
        dry_run,
        ..RunRequest::default()
    };
    let run = runs::begin(&state, Trigger::Cli, &request).await?;
    let run = runs::execute(state.clone(), run, request).await;
    let run_id = run.id.clone();
    let (changes, names) = db::run(&state.pool, move |conn| {
        let (changes, _) = db::sync::list_changes(conn, &run_id, 0, i64::MAX)?;
        let names = Names::load(conn, &changes)?;
        Ok::<_, SyncError>((changes, names))
    })
    .await?;
    let held = changes.iter().filter(|c| c.result == "held").count();
    Ok(Report {
        table: table(&changes, &names),
        run,
        held,
    })
}

/// Display names of companies, agreements and products, from the mappings and the catalog
/// cache; ids where they are unknown.
#[derive(Default)]
struct Names {
    companies: HashMap<i64, String>,
    agreements: HashMap<i64, String>,
    products: HashMap<i64, String>,
}

impl Names {
    fn load(conn: &mut db::DbConnection, changes: &[ChangeRow]) -> diesel::QueryResult<Names> {
        let mut names = Names::default();
        for m in db::company_mappings::all(conn)? {
            names.companies.insert(m.cw_company_id, m.cw_company_name);
            names.agreements.insert(m.agreement_id, m.agreement_name);
        }
        let ids: Vec<i64> = changes.iter().map(|c| c.product_id).collect();
        for p in db::cw_products::find_many(conn, &ids)? {
            names.products.insert(p.id, p.identifier);
        }
        Ok(names)
    }
}

fn name_or_id(names: &HashMap<i64, String>, id: i64) -> String {
    names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
}

/// One line per change: company, agreement, product, action, old → new, result.
fn table(changes: &[ChangeRow], names: &Names) -> String {
    let header = [
        "company",
        "agreement",
        "product",
        "action",
        "quantity",
        "result",
    ]
    .map(String::from);
    let rows: Vec<[String; 6]> = changes
        .iter()
        .map(|c| {
            let company = match (c.cw_company_id, &c.tenant_name) {
                (Some(id), _) => name_or_id(&names.companies, id),
                (None, Some(tenant)) => tenant.clone(),
                (None, None) => "-".into(),
            };
            let new = c.new_quantity.map_or("-".into(), |q| q.to_string());
            [
                company,
                name_or_id(&names.agreements, c.agreement_id),
                name_or_id(&names.products, c.product_id),
                c.action.clone(),
                format!("{} → {new}", c.old_quantity),
                c.result.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_string() + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::db::json_text::JsonText;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(RunStatus::Succeeded), 0);
        assert_eq!(exit_code(RunStatus::Held), 1);
        assert_eq!(exit_code(RunStatus::Partial), 1);
        assert_eq!(exit_code(RunStatus::Failed), 2);
        assert_eq!(exit_code(RunStatus::Interrupted), 2);
    }

    #[test]
    fn table_aligns_columns_and_names_what_it_knows() {
        let change = |company: Option<i64>, product: i64, new: Option<i64>| ChangeRow {
            id: "c".into(),
            run_id: "r".into(),
            seq: 0,
            tenant_id: None,
            tenant_name: Some("Tenant".into()),
            cw_company_id: company,
            agreement_id: 31,
            product_id: product,
            contributions_json: JsonText(Vec::new()),
            action: "create".into(),
            old_quantity: 0.0,
            new_quantity: new,
            addition_id: None,
            result: "applied".into(),
            detail: String::new(),
            created_at: db::now(),
            move_id: None,
        };
        let mut names = Names::default();
        names.companies.insert(7, "Contoso".into());
        names.products.insert(12, "KES-WS".into());
        let text = table(
            &[change(Some(7), 12, Some(5)), change(None, 13, None)],
            &names,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "company  agreement  product  action  quantity  result"
        );
        assert_eq!(
            lines[1],
            "Contoso  #31        KES-WS   create  0 → 5     applied"
        );
        assert_eq!(
            lines[2],
            "Tenant   #31        #13      create  0 → -     applied"
        );
    }
}
