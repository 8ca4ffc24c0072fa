//! The sync as the API drives it: previews, runs started in the background, and what they
//! recorded.

use std::sync::Arc;

use chrono::Utc;
use serde_json::value::RawValue;

use crate::adapters::db::{self, sync::ChangeRow};
use crate::domain::desired::UnbilledUsage;
use crate::domain::report::Plan;
use crate::runtime::state::Core;
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::ServiceError;
use crate::sync::inputs::Inputs;
use crate::sync::plan;
use crate::sync::runs::{self, Run, RunRequest, Trigger};

/// Plans a sync (of one company mapping, or all) without writing to ConnectWise and stores
/// the plan for a run to apply; 422 when the company mapping named does not exist.
pub async fn preview(
    ctx: &Core,
    created_by: Option<String>,
    company_mapping_id: Option<String>,
) -> Result<Plan, ServiceError> {
    let scope = match company_mapping_id {
        None => None,
        Some(id) => Some(
            db::run(&ctx.pool, move |conn| {
                db::company_mappings::find(conn, &id)?.ok_or_else(|| {
                    ServiceError::validation(
                        "company_mapping_id",
                        format!("there is no company mapping {id}"),
                    )
                })
            })
            .await?,
        ),
    };
    let plan = plan::preview(ctx, scope).await?;
    runs::store_plan(ctx, &plan, created_by).await?;
    Ok(plan)
}

/// A stored plan's JSON as stored (passed on unread); 404 when there is none.
pub async fn stored_plan(ctx: &Core, id: String) -> Result<Box<RawValue>, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::sync::find_plan::<Box<RawValue>>(conn, &id)?
            .map(|record| record.plan_json.into_inner())
            .ok_or_else(|| ServiceError::NotFound(format!("There is no stored plan {id}.")))
    })
    .await
}

/// Starts a run in the background (it outlives the request, so it holds the context).
pub async fn start(
    ctx: &Arc<Core>,
    trigger: Trigger,
    request: RunRequest,
) -> Result<Run, ServiceError> {
    // Fail early, before taking the lease, when nothing could be written anyway.
    crate::services::connections::connectwise::shared_client(ctx).await?;
    Ok(runs::start(ctx.clone(), trigger, request).await?)
}

/// A page of runs, newest first (finished ones only with `finished`).
pub async fn list(
    ctx: &Core,
    page: PageRequest,
    finished: bool,
) -> Result<Rows<Run>, ServiceError> {
    listing::page(ctx, page, move |conn, offset, limit| {
        db::sync::list_runs(conn, offset, limit, finished)
    })
    .await
}

/// One run; 404 when there is none.
pub async fn find(ctx: &Core, id: String) -> Result<Run, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::sync::find_run(conn, &id)?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no sync run {id}.")))
    })
    .await
}

/// A page of a run's changes in plan order; 404 when there is no such run.
pub async fn changes(
    ctx: &Core,
    run_id: String,
    page: PageRequest,
) -> Result<Rows<ChangeRow>, ServiceError> {
    let run = find(ctx, run_id).await?;
    listing::page(ctx, page, move |conn, offset, limit| {
        db::sync::list_changes(conn, &run.id, offset, limit)
    })
    .await
}

/// Usage nothing bills now, as the stored state says.
pub async fn unbilled(ctx: &Core) -> Result<Vec<UnbilledUsage>, ServiceError> {
    let now = Utc::now();
    let inputs = db::run(&ctx.pool, move |conn| Inputs::load(conn, now)).await?;
    Ok(inputs.unbilled())
}
