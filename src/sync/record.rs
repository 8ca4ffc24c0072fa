//! Recording a run's lines as they are decided: one change row per line (numbered in the order
//! they were recorded), the managed additions the writes created, adopted or released, and the
//! run's counts. Units record concurrently; each batch is one transaction.

use std::sync::Mutex;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::sync::{ChangeRow, ManagedRow};
use crate::adapters::db::{self, DbPool};
use crate::adapters::metrics;
use crate::domain::outcome::{Outcome, RunSummary};
use crate::domain::plan::PlanAction;
use crate::domain::report::PlanLine;
use crate::sync::apply::Written;
use crate::sync::SyncError;

/// A line and what became of it.
pub type Decided = (PlanLine, Written);

/// Records a run's lines and counts them.
pub struct Recorder {
    pool: DbPool,
    run_id: String,
    counted: Mutex<(usize, RunSummary)>,
}

impl Recorder {
    pub fn new(pool: DbPool, run_id: String) -> Recorder {
        Recorder {
            pool,
            run_id,
            counted: Mutex::new((0, RunSummary::default())),
        }
    }

    /// Counts and stores a batch of decided lines.
    pub async fn add(&self, records: Vec<Decided>) -> Result<(), SyncError> {
        if records.is_empty() {
            return Ok(());
        }
        let first_seq = {
            let mut counted = self.counted.lock().expect("recorder counts");
            let (next_seq, summary) = &mut *counted;
            for (line, written) in &records {
                let writes = line.row.action.writes_to_connectwise();
                let wrote = writes && matches!(written.outcome, Outcome::Applied | Outcome::Failed);
                summary.add_line(line.row.action.as_str(), written.outcome, wrote);
                let applied = writes && written.outcome == Outcome::Applied;
                let held = line.row.action == PlanAction::Held;
                summary.money.add(line, applied, held);
                if writes && written.outcome == Outcome::Applied {
                    metrics::sync_additions_written(line.row.action.as_str(), 1);
                }
            }
            let first = *next_seq;
            *next_seq += records.len();
            first
        };
        let run_id = self.run_id.clone();
        db::run(&self.pool, move |conn| {
            db::write_transaction(conn, "managed_additions", |conn| {
                let now = db::now();
                for (offset, (line, written)) in records.iter().enumerate() {
                    keep_managed(conn, line, written, now)?;
                    db::sync::insert_change(
                        conn,
                        &change_row(&run_id, first_seq + offset, line, written, now),
                    )?;
                }
                Ok(())
            })
        })
        .await
    }

    /// The counts of every line recorded.
    pub fn into_summary(self) -> RunSummary {
        self.counted.into_inner().expect("recorder counts").1
    }
}

/// Remembers the usage a written line bills now (to recognise it when it moves), and forgets
/// a released addition: it is no longer managed.
fn keep_managed(
    conn: &mut db::DbConnection,
    line: &PlanLine,
    written: &Written,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<()> {
    let row = &line.row;
    if written.outcome != Outcome::Applied {
        return Ok(());
    }
    if row.action == PlanAction::Release {
        return db::sync::forget_managed(conn, row.agreement_id, row.product_id);
    }
    let Some(addition_id) = written.managed_addition.or(row.addition_id) else {
        return Ok(());
    };
    if !row.action.writes_to_connectwise() {
        return Ok(());
    }
    db::sync::put_managed(
        conn,
        &ManagedRow {
            agreement_id: row.agreement_id,
            product_id: row.product_id,
            addition_id,
            tenant_id: row
                .contributions
                .first()
                .map(|c| c.tenant_id.clone())
                .or_else(|| line.tenant_id.clone()),
            created_at: now,
            updated_at: now,
            billed_json: Some(JsonText(row.contributions.clone())),
        },
    )
}

fn change_row(
    run_id: &str,
    seq: usize,
    line: &PlanLine,
    written: &Written,
    now: chrono::NaiveDateTime,
) -> ChangeRow {
    let row = &line.row;
    ChangeRow {
        id: db::new_id(),
        run_id: run_id.to_string(),
        seq: seq as i32,
        tenant_id: line.tenant_id.clone(),
        tenant_name: line.tenant_name.clone(),
        cw_company_id: line.cw_company_id,
        agreement_id: row.agreement_id,
        product_id: row.product_id,
        contributions_json: JsonText(row.contributions.clone()),
        action: row.action.as_str().into(),
        old_quantity: row.current_quantity,
        new_quantity: row.desired_quantity.map(|q| q as i64),
        addition_id: written.managed_addition.or(row.addition_id),
        result: written.outcome.as_str().into(),
        detail: written.detail.clone(),
        created_at: now,
        move_id: row.move_id.clone(),
    }
}
