//! Sync storage: managed additions, stored plans, runs, their changes, and the run lease.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::{Json, JsonText};
use super::paging::{page_and_total, TotalRows};
use super::schema::{managed_additions, sync_changes, sync_lease, sync_plans, sync_runs};
use super::DbConnection;
use crate::domain::desired::Contribution;
use crate::domain::outcome::{Outcome, RunStatus, Trigger};
use crate::domain::plan_lines::PlanAction;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = managed_additions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ManagedRow {
    pub agreement_id: i64,
    pub product_id: i64,
    pub addition_id: i64,
    pub tenant_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// JSON contributions: the usage it billed when last written (none before it was recorded).
    pub billed_json: Option<JsonText<Vec<Contribution>>>,
}

pub fn managed(conn: &mut DbConnection) -> QueryResult<Vec<ManagedRow>> {
    managed_additions::table
        .select(ManagedRow::as_select())
        .load(conn)
}

/// Records (or re-points) the addition managed for (agreement, product).
pub fn put_managed(conn: &mut DbConnection, row: &ManagedRow) -> QueryResult<()> {
    let key = managed_additions::table.find((row.agreement_id, row.product_id));
    let updated = diesel::update(key)
        .set((
            managed_additions::addition_id.eq(row.addition_id),
            managed_additions::tenant_id.eq(&row.tenant_id),
            managed_additions::updated_at.eq(row.updated_at),
            managed_additions::billed_json.eq(&row.billed_json),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(managed_additions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn forget_managed(
    conn: &mut DbConnection,
    agreement_id: i64,
    product_id: i64,
) -> QueryResult<()> {
    diesel::delete(managed_additions::table.find((agreement_id, product_id)))
        .execute(conn)
        .map(drop)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_plans)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
/// A stored plan; `P` is how it is read: the sync's plan, or raw JSON to pass on unread.
pub struct PlanRecord<P: 'static> {
    pub id: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub company_mapping_id: Option<String>,
    pub plan_json: JsonText<P>,
}

pub fn insert_plan<P: Json>(conn: &mut DbConnection, row: &PlanRecord<P>) -> QueryResult<()> {
    diesel::insert_into(sync_plans::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_plan<P: Json>(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PlanRecord<P>>> {
    sync_plans::table
        .find(id)
        .select(PlanRecord::<P>::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sync_runs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
/// A run; `S` is its summary, stored as JSON (the sync defines it).
pub struct RunRow<S: 'static> {
    pub id: String,
    pub trigger_kind: Trigger,
    pub status: RunStatus,
    pub plan_id: Option<String>,
    pub dry_run: bool,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub holder: String,
    pub summary_json: JsonText<S>,
    pub error: Option<String>,
}

pub fn insert_run<S: Json>(conn: &mut DbConnection, row: &RunRow<S>) -> QueryResult<()> {
    diesel::insert_into(sync_runs::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn update_run<S: Json>(conn: &mut DbConnection, row: &RunRow<S>) -> QueryResult<()> {
    diesel::update(sync_runs::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

pub fn find_run<S: Json>(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RunRow<S>>> {
    sync_runs::table
        .find(id)
        .select(RunRow::<S>::as_select())
        .first(conn)
        .optional()
}

/// Runs still marked running (their holder may have died).
pub fn running<S: Json>(conn: &mut DbConnection) -> QueryResult<Vec<RunRow<S>>> {
    sync_runs::table
        .filter(sync_runs::status.eq(RunStatus::Running))
        .select(RunRow::<S>::as_select())
        .load(conn)
}

/// The newest run other than `except` that worked through a plan (succeeded, held or partial).
pub fn latest_worked_run<S: Json>(
    conn: &mut DbConnection,
    except: &str,
) -> QueryResult<Option<RunRow<S>>> {
    sync_runs::table
        .filter(sync_runs::status.eq_any([
            RunStatus::Succeeded,
            RunStatus::Held,
            RunStatus::Partial,
        ]))
        .filter(sync_runs::id.ne(except))
        .order((sync_runs::started_at.desc(), sync_runs::id.desc()))
        .select(RunRow::<S>::as_select())
        .first(conn)
        .optional()
}

/// The newest run that was not a dry run, with one of `statuses`.
pub fn latest_real_run<S: Json>(
    conn: &mut DbConnection,
    statuses: &[RunStatus],
) -> QueryResult<Option<RunRow<S>>> {
    sync_runs::table
        .filter(sync_runs::status.eq_any(statuses.to_vec()))
        .filter(sync_runs::dry_run.eq(false))
        .order((sync_runs::started_at.desc(), sync_runs::id.desc()))
        .select(RunRow::<S>::as_select())
        .first(conn)
        .optional()
}

/// One page, newest first; only finished runs if `finished_only`.
pub fn list_runs<S: Json>(
    conn: &mut DbConnection,
    offset: i64,
    limit: i64,
    finished_only: bool,
) -> QueryResult<(Vec<RunRow<S>>, i64)> {
    let runs = || {
        let query = sync_runs::table.into_boxed();
        if finished_only {
            query.filter(sync_runs::finished_at.is_not_null())
        } else {
            query
        }
    };
    let rows = runs()
        .order((sync_runs::started_at.desc(), sync_runs::id.desc()))
        .offset(offset)
        .limit(limit)
        .select((RunRow::<S>::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || runs().count().get_result(conn))
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_changes)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ChangeRow {
    pub id: String,
    pub run_id: String,
    pub seq: i32,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub cw_company_id: Option<i64>,
    pub agreement_id: i64,
    pub product_id: i64,
    pub contributions_json: JsonText<Vec<Contribution>>,
    pub action: PlanAction,
    pub old_quantity: f64,
    pub new_quantity: Option<i64>,
    pub addition_id: Option<i64>,
    pub result: Outcome,
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub move_id: Option<String>,
}

pub fn insert_change(conn: &mut DbConnection, row: &ChangeRow) -> QueryResult<()> {
    diesel::insert_into(sync_changes::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// One page of a run's changes, in plan order.
pub fn list_changes(
    conn: &mut DbConnection,
    run_id: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ChangeRow>, i64)> {
    let of_run = sync_changes::table.filter(sync_changes::run_id.eq(run_id));
    let rows = of_run
        .order(sync_changes::seq.asc())
        .offset(offset)
        .limit(limit)
        .select((ChangeRow::as_select(), TotalRows))
        .load(conn)?;
    page_and_total(rows, offset, || of_run.count().get_result(conn))
}

const LEASE: &str = "sync";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_lease)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LeaseRow {
    pub name: String,
    pub holder: Option<String>,
    pub run_id: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

pub fn lease(conn: &mut DbConnection) -> QueryResult<LeaseRow> {
    sync_lease::table
        .find(LEASE)
        .select(LeaseRow::as_select())
        .first(conn)
}

/// Takes the lease when it is free or its holder stopped renewing it; one UPDATE, so two
/// processes racing cannot both win.
pub fn try_acquire_lease(
    conn: &mut DbConnection,
    holder: &str,
    run_id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let taken = diesel::update(
        sync_lease::table.filter(sync_lease::name.eq(LEASE)).filter(
            sync_lease::holder
                .is_null()
                .or(sync_lease::expires_at.lt(now))
                .or(sync_lease::expires_at.is_null()),
        ),
    )
    .set((
        sync_lease::holder.eq(holder),
        sync_lease::run_id.eq(run_id),
        sync_lease::expires_at.eq(until),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Extends the lease; false when this holder lost it.
pub fn renew_lease(
    conn: &mut DbConnection,
    holder: &str,
    run_id: &str,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let renewed = diesel::update(
        sync_lease::table
            .filter(sync_lease::name.eq(LEASE))
            .filter(sync_lease::holder.eq(holder))
            .filter(sync_lease::run_id.eq(run_id)),
    )
    .set(sync_lease::expires_at.eq(until))
    .execute(conn)?;
    Ok(renewed == 1)
}

pub fn release_lease(conn: &mut DbConnection, holder: &str, run_id: &str) -> QueryResult<()> {
    diesel::update(
        sync_lease::table
            .filter(sync_lease::name.eq(LEASE))
            .filter(sync_lease::holder.eq(holder))
            .filter(sync_lease::run_id.eq(run_id)),
    )
    .set((
        sync_lease::holder.eq(None::<String>),
        sync_lease::run_id.eq(None::<String>),
        sync_lease::expires_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(drop)
}

/// Deletes finished runs started before `before`, with their changes: (runs, changes).
pub fn prune_runs(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<(usize, usize)> {
    let old = || {
        sync_runs::table
            .filter(sync_runs::started_at.lt(before))
            .filter(sync_runs::status.ne(RunStatus::Running))
    };
    conn.transaction(|conn| {
        let changes = diesel::delete(
            sync_changes::table.filter(sync_changes::run_id.eq_any(old().select(sync_runs::id))),
        )
        .execute(conn)?;
        let runs = diesel::delete(old()).execute(conn)?;
        Ok((runs, changes))
    })
}

/// Deletes stored plans made before `before`.
pub fn prune_plans(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sync_plans::table.filter(sync_plans::created_at.lt(before))).execute(conn)
}
