//! Usage snapshots: pushed by automation for non-KSC tenants, collected from KSC on demand,
//! and read back as history or as each tenant's latest.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::tenants::TenantRow;
use crate::adapters::db::usage_snapshots::{
    Outcome, SnapshotFilter, SnapshotSource, SnapshotStatus, UsageSnapshot,
};
use crate::adapters::db::utc;
use crate::domain::model::{CategoryCounts, Solution, TenantUsage};
use crate::runtime::state::AppState;
use crate::services::fields::{FromJsonBody, JsonFields, LenientJson};
use crate::services::usage_snapshots::{self as snapshots, PushedUsage};
use crate::sync::collect::Collected;
use crate::web::error::ApiError;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::OptionalJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

/// The tenant a snapshot belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotTenant {
    pub id: String,
    pub name: String,
    pub solution: Solution,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSnapshotView {
    pub id: String,
    pub tenant: SnapshotTenant,
    /// When the usage was true.
    pub taken_at: DateTime<Utc>,
    pub source: SnapshotSource,
    pub status: SnapshotStatus,
    /// Why the usage could not be read (`failed` only).
    pub error: Option<String>,
    /// The counts (`ok` only): devices per application and category, users, mailboxes, and
    /// the KSC keys that matched no application or several.
    pub usage: Option<TenantUsage>,
    /// Id of the user or service token that pushed or collected it.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<(UsageSnapshot, TenantRow)> for UsageSnapshotView {
    fn from((s, t): (UsageSnapshot, TenantRow)) -> Self {
        let status = s.outcome.status();
        let (usage, error) = match s.outcome {
            Outcome::Ok(usage) => (Some(usage), None),
            Outcome::Failed(reason) => (None, Some(reason)),
        };
        UsageSnapshotView {
            id: s.id,
            tenant: SnapshotTenant {
                solution: t.solution(),
                id: t.id,
                name: t.name,
            },
            taken_at: utc(s.taken_at),
            source: s.source,
            status,
            error,
            usage,
            created_by: s.created_by,
            created_at: utc(s.created_at),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// Only this tenant's snapshots.
    pub tenant_id: Option<String>,
    /// Only the newest snapshot of each tenant (default false: the whole history).
    pub latest: Option<bool>,
}

/// List usage snapshots
///
/// Usage snapshots, newest first, paged: the whole history or (`latest=true`) each tenant's latest,
/// optionally of one tenant. Role: any.
#[utoipa::path(operation_id = "listUsageSnapshots", tag = "usage", params(SnapshotQuery, PageQuery),
    responses((status = 200, description = "A page of snapshots", body = Page<UsageSnapshotView>)))]
#[get("/usage-snapshots")]
pub async fn list_usage_snapshots(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<SnapshotQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<UsageSnapshotView>>, ApiError> {
    let query = query.into_inner();
    let paging = Paging::new(page.page, page.per_page)?;
    let filter = SnapshotFilter {
        tenant_id: query.tenant_id,
        latest: query.latest.unwrap_or(false),
    };
    let rows = snapshots::list(&state, filter, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}

/// Read a usage snapshot
///
/// One usage snapshot with its counts per application. Role: any. 404: no snapshot has this id.
#[utoipa::path(operation_id = "getUsageSnapshot", tag = "usage", params(("id" = String, Path)),
    responses((status = 200, description = "The snapshot", body = UsageSnapshotView)))]
#[get("/usage-snapshots/{id}")]
pub async fn get_usage_snapshot(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<UsageSnapshotView>, ApiError> {
    let found = snapshots::find(&state, id.into_inner()).await?;
    Ok(web::Json(UsageSnapshotView::from(found)))
}

/// `POST /api/v1/usage-snapshots`: a tenant's complete usage, keyed by application id (an
/// application left out has none).
#[derive(Debug, ToSchema)]
pub struct PushUsageSnapshot {
    /// A tenant that is not a KSC tenant (KSC tenants are always pulled).
    pub tenant_id: String,
    /// When the counts were true; default now, never in the future.
    pub taken_at: Option<DateTime<Utc>>,
    /// Per-device applications: devices per category (a category left out counts 0).
    pub devices: Option<BTreeMap<String, CategoryCounts>>,
    /// Per-user applications: users.
    pub users: Option<BTreeMap<String, u64>>,
    /// Per-mailbox applications: protected mailboxes.
    pub mailboxes: Option<BTreeMap<String, u64>>,
}

/// Push a tenant's usage
///
/// Stores a tenant's complete usage from Business Hub or any other non-KSC source. An application
/// left out has no usage; each must be a non-retired application of the tenant's solution, counted
/// in the unit of its licensing model. Role: operator. 409: the tenant is a KSC tenant (its usage
/// is pulled). 422: every invalid field, by path (e.g. `devices.kes.windows_server`).
#[utoipa::path(operation_id = "pushUsageSnapshot", tag = "usage", request_body = PushUsageSnapshot,
    responses(
        (status = 201, description = "Stored", body = UsageSnapshotView,
            headers(("Location" = String, description = "The snapshot's URL"))),
        (status = 409, description = "The tenant is a KSC tenant: its usage is pulled, never pushed",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/usage-snapshots")]
pub async fn push_usage_snapshot(
    auth: Operator,
    state: web::Data<AppState>,
    body: LenientJson<PushedUsage>,
) -> Result<HttpResponse, ApiError> {
    let stored = snapshots::push(&state, auth.actor(), body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/usage-snapshots/{}", stored.0.id),
        ))
        .json(UsageSnapshotView::from(stored)))
}

/// `POST /api/v1/usage-snapshots/collect`: which tenant to collect (all when left out).
#[derive(Debug, ToSchema)]
pub struct CollectUsage {
    /// One KSC tenant; without it, every enabled KSC tenant that KSC still lists.
    pub tenant_id: Option<String>,
}

impl FromJsonBody for CollectUsage {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        Some(CollectUsage {
            tenant_id: f.optional("tenant_id"),
        })
    }
}

/// One tenant's result of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectedTenant {
    pub tenant_id: String,
    pub name: String,
    pub status: SnapshotStatus,
    /// The snapshot stored for it (also when the collection failed).
    pub snapshot_id: String,
    /// Why its usage could not be read.
    pub error: Option<String>,
}

impl From<Collected> for CollectedTenant {
    fn from(c: Collected) -> Self {
        let status = c.snapshot.outcome.status();
        let error = match c.snapshot.outcome {
            Outcome::Failed(reason) => Some(reason),
            Outcome::Ok(_) => None,
        };
        CollectedTenant {
            tenant_id: c.tenant.id,
            name: c.tenant.name,
            status,
            snapshot_id: c.snapshot.id,
            error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Collection {
    /// Tenants whose usage was read.
    pub collected: usize,
    /// Tenants whose usage could not be read (a `failed` snapshot says why).
    pub failed: usize,
    /// By tenant name.
    pub tenants: Vec<CollectedTenant>,
}

/// Collect usage from KSC now
///
/// Pulls fresh usage from KSC and stores one snapshot per tenant (failed tenants included, with
/// their error), without syncing. Role: operator. 409: KSC is not configured. 422: the tenant asked
/// for is unknown or not a KSC tenant. 502: the KSC address is blocked by the outbound policy.
#[utoipa::path(operation_id = "collectUsageSnapshots", tag = "usage",
    request_body(content = Option<CollectUsage>, description = "Optional: one tenant only"),
    responses(
        (status = 200, description = "One snapshot stored per tenant, failed ones included",
            body = Collection),
        (status = 409, description = "KSC is not configured", body = crate::web::error::Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "The tenant is unknown or not a KSC tenant",
            body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The KSC connection is blocked by the outbound policy",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/usage-snapshots/collect")]
pub async fn collect_usage_snapshots(
    auth: Operator,
    state: web::Data<AppState>,
    body: OptionalJson<CollectUsage>,
) -> Result<web::Json<Collection>, ApiError> {
    let tenant_id = body.0.and_then(|b| b.tenant_id);
    let collected = snapshots::collect(&state, auth.actor(), tenant_id).await?;
    let tenants: Vec<CollectedTenant> = collected.into_iter().map(CollectedTenant::from).collect();
    let failed = tenants
        .iter()
        .filter(|t| t.status == SnapshotStatus::Failed)
        .count();
    Ok(web::Json(Collection {
        collected: tenants.len() - failed,
        failed,
        tenants,
    }))
}
