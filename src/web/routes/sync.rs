//! Sync: preview a plan, start runs (fresh, or applying a preview), read runs and their changes,
//! and the unbilled-usage report.

use std::collections::BTreeSet;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::sync::ChangeRow;
use crate::adapters::db::utc;
use crate::domain::desired::{Contribution, UnbilledUsage};
use crate::domain::outcome::{Outcome, RunStatus, RunSummary};
use crate::domain::plan::{Approval, PlanAction, RowKey};
use crate::domain::report::Plan;
use crate::runtime::state::AppState;
use crate::services::fields::FieldType;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::sync_runs;
use crate::sync::runs::{Run, RunRequest, Trigger};
use crate::web::error::ApiError;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::OptionalJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

#[derive(Debug, Default, ToSchema)]
pub struct PreviewRequest {
    /// Limit the plan to one company mapping; none = every company.
    pub company_mapping_id: Option<String>,
}

impl FromJsonBody for PreviewRequest {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        Some(PreviewRequest {
            company_mapping_id: f.optional::<String>("company_mapping_id"),
        })
    }
}

/// Preview a sync
///
/// Plans a sync without writing anything to ConnectWise: every (company, agreement, product) line
/// with its current and desired quantity and action, the moves between agreements, frozen and
/// blocked tenants and unbilled usage. The plan is stored; `POST /api/v1/sync/runs` with its
/// `plan_id` applies exactly this plan. The body may be left out. Role: operator. 409: ConnectWise
/// is not configured. 422: the company mapping asked for does not exist. 502 and 504: ConnectWise
/// failed or was too slow.
#[utoipa::path(operation_id = "previewSync", tag = "sync", request_body(content = Option<PreviewRequest>),
    responses(
        (status = 201, description = "The stored plan", body = Plan,
            headers(("Location" = String, description = "The plan's URL"))),
        crate::web::error::ConnectWiseFailures))]
#[post("/sync/preview")]
pub async fn preview_sync(
    auth: Operator,
    state: web::Data<AppState>,
    body: OptionalJson<PreviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0.unwrap_or_default();
    let created_by = auth.principal.id.clone().into();
    let plan = sync_runs::preview(&state, created_by, request.company_mapping_id).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/sync/plans/{}", plan.id)))
        .json(plan))
}

/// Read a stored plan
///
/// A plan stored by a preview or a run. Role: any. 404: no plan has this id.
#[utoipa::path(operation_id = "getSyncPlan", tag = "sync", params(("id" = String, Path)),
    responses((status = 200, description = "The plan", body = Plan)))]
#[get("/sync/plans/{id}")]
pub async fn get_sync_plan(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let plan = sync_runs::stored_plan(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(plan.get().to_owned()))
}

#[derive(Debug, Default, ToSchema)]
pub struct StartRunRequest {
    /// Apply exactly this previewed plan (lines whose ConnectWise state changed since are
    /// re-checked and reported, not applied); none = collect usage, plan afresh and apply.
    pub plan_id: Option<String>,
    /// Held lines to apply: `"all"`, or a list of lines and moves. Naming one line of a move
    /// approves the whole move.
    pub approve: Option<ApproveHeld>,
    /// What the run records as its `trigger`: `api` (the default) or `console` (the web
    /// console's buttons).
    pub trigger: Option<ApiTrigger>,
}

/// Who started a run over the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiTrigger {
    #[default]
    Api,
    Console,
}

impl FieldType for ApiTrigger {
    fn expected() -> String {
        "one of `api`, `console`".into()
    }
}

impl From<ApiTrigger> for Trigger {
    fn from(trigger: ApiTrigger) -> Self {
        match trigger {
            ApiTrigger::Api => Trigger::Api,
            ApiTrigger::Console => Trigger::Console,
        }
    }
}

/// `"all"`: every held line.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum AllHeld {
    #[serde(rename = "all")]
    All,
}

/// Which held lines to apply.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(example = json!([{"agreement_id": 31, "product_id": 12}, {"move_id": "move-ksc-42"}]))]
pub enum ApproveHeld {
    All(AllHeld),
    Selected(Vec<HeldItem>),
}

/// One held line, by its (agreement, product), or a whole move, by its id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HeldItem {
    Line(RowKey),
    Move(MoveRef),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRef {
    /// A move's id, as a plan's `moves[].id` and every line's `move_id` give it.
    pub move_id: String,
}

impl From<ApproveHeld> for Approval {
    fn from(approve: ApproveHeld) -> Self {
        match approve {
            ApproveHeld::All(_) => Approval::All,
            ApproveHeld::Selected(items) => {
                let (mut lines, mut moves) = (BTreeSet::new(), BTreeSet::new());
                for item in items {
                    match item {
                        HeldItem::Line(key) => {
                            lines.insert(key);
                        }
                        HeldItem::Move(m) => {
                            moves.insert(m.move_id);
                        }
                    }
                }
                Approval::Selected { lines, moves }
            }
        }
    }
}

impl FromJsonBody for StartRunRequest {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let plan_id = f.optional::<String>("plan_id");
        let approve = f
            .optional::<serde_json::Value>("approve")
            .and_then(|value| match serde_json::from_value::<ApproveHeld>(value) {
                Ok(approve) => Some(approve),
                Err(_) => {
                    f.error(
                        "approve",
                        "must be \"all\" or a list of {\"agreement_id\", \"product_id\"} and {\"move_id\"}",
                    );
                    None
                }
            });
        let trigger = f.optional::<ApiTrigger>("trigger");
        Some(StartRunRequest {
            plan_id,
            approve,
            trigger,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRun {
    pub id: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    /// The plan it applied (a preview, or the plan it made).
    pub plan_id: Option<String>,
    pub dry_run: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: RunSummary,
    pub error: Option<String>,
}

/// A stored run the code cannot read is a server fault, never shown as something it is not.
impl TryFrom<Run> for SyncRun {
    type Error = ApiError;

    fn try_from(r: Run) -> Result<Self, ApiError> {
        let corrupt = |what: &str| ApiError::internal(anyhow::anyhow!("run {}: bad {what}", r.id));
        Ok(SyncRun {
            trigger: Trigger::parse(&r.trigger_kind).ok_or_else(|| corrupt("trigger"))?,
            status: RunStatus::parse(&r.status).ok_or_else(|| corrupt("status"))?,
            summary: r.summary_json.into_inner(),
            id: r.id,
            plan_id: r.plan_id,
            dry_run: r.dry_run,
            started_at: utc(r.started_at),
            finished_at: r.finished_at.map(utc),
            error: r.error,
        })
    }
}

/// Start a sync run
///
/// Starts a run in the background and answers 202 at once; poll its `Location`. Without a body it
/// collects usage (KSC pull; the latest push for other tenants), plans and applies; with `plan_id`
/// it applies that preview. `approve` applies held lines (`"all"`, or lines and moves);
/// `trigger` names who started it (`api`, the default, or `console`). Role:
/// operator. 409: another run is going (in any process), or ConnectWise is not configured. 422:
/// every invalid field, e.g. an unknown plan.
#[utoipa::path(operation_id = "startSyncRun", tag = "sync", request_body(content = Option<StartRunRequest>),
    responses(
        (status = 202, description = "Started", body = SyncRun,
            headers(("Location" = String, description = "The run's URL"))),
        (status = 409, description = "Another run is going, or ConnectWise is not configured",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/sync/runs")]
pub async fn start_sync_run(
    _auth: Operator,
    state: web::Data<AppState>,
    body: OptionalJson<StartRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0.unwrap_or_default();
    let run = sync_runs::start(
        &state.core,
        request.trigger.unwrap_or_default().into(),
        RunRequest {
            plan_id: request.plan_id,
            approve: request.approve.map(Approval::from),
            dry_run: false,
        },
    )
    .await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/sync/runs/{}", run.id)))
        .json(SyncRun::try_from(run)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilter {
    /// `true`: finished runs only — `?finished=true&per_page=1` is the last outcome (which
    /// tenants are not billed, and since when), even while a run is going.
    pub finished: Option<bool>,
}

/// List sync runs
///
/// Sync runs, newest first, paged; `finished=true&per_page=1` is the last outcome, even while a run
/// is going. Role: any.
#[utoipa::path(operation_id = "listSyncRuns", tag = "sync", params(PageQuery, RunFilter),
    responses((status = 200, description = "A page of runs", body = Page<SyncRun>)))]
#[get("/sync/runs")]
pub async fn list_sync_runs(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
    filter: web::Query<RunFilter>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let finished = filter.finished.unwrap_or(false);
    let body = state
        .copies
        .sync_runs
        .get_or_load(
            &state.copies.versions,
            |v| v.sync_runs,
            (paging.page, paging.per_page, finished),
            || async {
                let rows = sync_runs::list(&state, paging.request(), finished).await?;
                let runs = rows
                    .rows
                    .into_iter()
                    .map(SyncRun::try_from)
                    .collect::<Result<Vec<_>, _>>()?;
                let page = paging.wrap(runs, rows.total);
                Ok::<_, ApiError>(serde_json::to_vec(&page).expect("runs serialise").into())
            },
        )
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}

/// Read a sync run
///
/// One run with its status and summary (actions, held lines, moves, outcomes, skipped and blocked
/// tenants). Role: any. 404: no run has this id.
#[utoipa::path(operation_id = "getSyncRun", tag = "sync", params(("id" = String, Path)),
    responses((status = 200, description = "The run", body = SyncRun)))]
#[get("/sync/runs/{id}")]
pub async fn get_sync_run(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<SyncRun>, ApiError> {
    Ok(web::Json(SyncRun::try_from(
        sync_runs::find(&state, id.into_inner()).await?,
    )?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncChange {
    pub seq: i32,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub cw_company_id: Option<i64>,
    pub agreement_id: i64,
    pub product_id: i64,
    /// The applications (and categories) whose usage makes the quantity.
    pub contributions: Vec<Contribution>,
    pub action: PlanAction,
    pub old_quantity: f64,
    pub new_quantity: Option<i64>,
    pub addition_id: Option<i64>,
    pub result: Outcome,
    pub detail: String,
    /// The move the line belongs to, if any (`moves[].id` of the run's plan).
    pub move_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A stored change the code cannot read is a server fault, never shown as something it is not.
impl TryFrom<ChangeRow> for SyncChange {
    type Error = ApiError;

    fn try_from(c: ChangeRow) -> Result<Self, ApiError> {
        let corrupt =
            |what: &str| ApiError::internal(anyhow::anyhow!("change {}: bad {what}", c.id));
        Ok(SyncChange {
            seq: c.seq,
            tenant_id: c.tenant_id,
            tenant_name: c.tenant_name,
            cw_company_id: c.cw_company_id,
            agreement_id: c.agreement_id,
            product_id: c.product_id,
            contributions: c.contributions_json.into_inner(),
            action: PlanAction::parse(&c.action).ok_or_else(|| corrupt("action"))?,
            old_quantity: c.old_quantity,
            new_quantity: c.new_quantity,
            addition_id: c.addition_id,
            result: Outcome::parse(&c.result).ok_or_else(|| corrupt("result"))?,
            detail: c.detail,
            move_id: c.move_id,
            created_at: utc(c.created_at),
        })
    }
}

/// List a run's changes
///
/// A run's changes in plan order, paged: one per plan line that was not unchanged, with the
/// quantities, the addition written and the outcome. Role: any. 404: no run has this id.
#[utoipa::path(operation_id = "listSyncRunChanges", tag = "sync", params(("id" = String, Path), PageQuery),
    responses((status = 200, description = "A page of changes", body = Page<SyncChange>)))]
#[get("/sync/runs/{id}/changes")]
pub async fn list_sync_run_changes(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<SyncChange>>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let rows = sync_runs::changes(&state, id.into_inner(), paging.request()).await?;
    let changes = rows
        .rows
        .into_iter()
        .map(SyncChange::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(web::Json(paging.wrap(changes, rows.total)))
}

/// Report unbilled usage
///
/// Usage nothing bills, paged: applications without a product mapping, tenants without a company
/// mapping or with billing switched off, usage of an application whose incomplete mapping blocks
/// its tenant (`blocked`), and licence keys no application counted. Role: any.
#[utoipa::path(operation_id = "unbilledUsage", tag = "sync", params(PageQuery),
    responses((status = 200, description = "A page of unbilled usage", body = Page<UnbilledUsage>)))]
#[get("/reports/unbilled-usage")]
pub async fn unbilled_usage(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<UnbilledUsage>>, ApiError> {
    let paging = Paging::new(query.page, query.per_page)?;
    let unbilled = sync_runs::unbilled(&state).await?;
    Ok(web::Json(paging.slice(unbilled.into_iter())))
}
