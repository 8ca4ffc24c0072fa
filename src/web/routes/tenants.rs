use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::utc;
use crate::adapters::db::{company_mappings::CompanyMappingRow, tenants::TenantRow};
use crate::domain::model::Solution;
use crate::domain::validation::trim_blank;
use crate::runtime::state::AppState;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::tenants::{self, TenantWithMapping};
use crate::web::error::ApiError;
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::ValidJson;
use crate::web::routes::paging::{Page, PageQuery, Paging};

#[derive(Debug, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    pub solution: Solution,
    pub name: String,
    /// KSC: the virtual server's uid; Business Hub: the id given at creation.
    pub external_id: String,
    /// KSC: the virtual server's id.
    pub ksc_vserver_id: Option<i64>,
    /// A disabled virtual server is not billed.
    pub enabled: bool,
    /// KSC: absent from the last discovery.
    pub vanished: bool,
    /// KSC: when discovery last saw it.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether a company mapping bills this tenant.
    pub mapping_status: TenantMappingStatus,
    pub company_mapping_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantMappingStatus {
    /// No ConnectWise company: its usage is unbilled.
    Unmapped,
    /// Mapped with billing enabled.
    Mapped,
    /// Mapped, billing switched off.
    BillingDisabled,
}

impl Tenant {
    fn new(t: TenantRow, mapping: Option<&CompanyMappingRow>) -> Self {
        Tenant {
            mapping_status: match mapping {
                None => TenantMappingStatus::Unmapped,
                Some(m) if m.billing_enabled => TenantMappingStatus::Mapped,
                Some(_) => TenantMappingStatus::BillingDisabled,
            },
            company_mapping_id: mapping.map(|m| m.id.clone()),
            solution: t.solution,
            id: t.id,
            name: t.name,
            external_id: t.external_id,
            ksc_vserver_id: t.ksc_vserver_id,
            enabled: t.enabled,
            vanished: t.vanished,
            last_seen_at: t.last_seen_at.map(utc),
            created_at: utc(t.created_at),
        }
    }
}

impl From<TenantWithMapping> for Tenant {
    fn from((tenant, mapping): TenantWithMapping) -> Self {
        Tenant::new(tenant, mapping.as_ref())
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// Only tenants of this solution.
    pub solution: Option<Solution>,
}

/// List tenants
///
/// Kaspersky tenants of both solutions as last discovered (KSC virtual servers, Business Hub
/// companies), ordered by name, paged, with their mapping status. Role: any.
#[utoipa::path(operation_id = "listTenants", tag = "tenants", params(TenantQuery, PageQuery),
    responses((status = 200, description = "A page of tenants", body = Page<Tenant>)))]
#[get("/tenants")]
pub async fn list_tenants(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<TenantQuery>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Tenant>>, ApiError> {
    let query = query.into_inner();
    let paging = Paging::new(page.page, page.per_page)?;
    let rows = tenants::list(&state, query.solution, paging.request()).await?;
    Ok(web::Json(paging.of(rows)))
}

/// Read a tenant
///
/// One tenant with its mapping status. Role: any. 404: no tenant has this id.
#[utoipa::path(operation_id = "getTenant", tag = "tenants", params(("id" = String, Path)),
    responses((status = 200, description = "The tenant", body = Tenant)))]
#[get("/tenants/{id}")]
pub async fn get_tenant(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Tenant>, ApiError> {
    let tenant = tenants::find(&state, id.into_inner()).await?;
    Ok(web::Json(Tenant::from(tenant)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDiscovery {
    /// Virtual servers KSC lists now.
    pub total: usize,
    pub added: usize,
    pub updated: usize,
    /// Known virtual servers KSC no longer lists (kept, marked `vanished`).
    pub vanished: usize,
}

/// Re-discover KSC tenants
///
/// Lists the KSC virtual servers and updates the tenants: new ones are added, vanished ones
/// flagged. Role: operator. 409: KSC is not configured. 502 and 504: KSC failed or was too slow.
#[utoipa::path(operation_id = "refreshTenants", tag = "tenants",
    responses(
        (status = 200, description = "Tenants now match KSC", body = TenantDiscovery),
        crate::web::error::KscFailures))]
#[post("/tenants/refresh")]
pub async fn refresh_tenants(
    _auth: Operator,
    state: web::Data<AppState>,
) -> Result<web::Json<TenantDiscovery>, ApiError> {
    let d = tenants::refresh(&state).await?;
    Ok(web::Json(TenantDiscovery {
        total: d.total,
        added: d.added,
        updated: d.updated,
        vanished: d.vanished,
    }))
}

#[derive(Debug, ToSchema)]
pub struct CreateTenant {
    /// The Business Hub company's name.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Its id in Business Hub (or whatever the pushing automation uses), unique.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub external_id: String,
}

impl FromJsonBody for CreateTenant {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let text = |f: &mut JsonFields, name: &str| {
            let v = f
                .required::<String>(name)
                .map(|v| trim_blank(&v).to_string());
            if v.as_ref()
                .is_some_and(|v| v.is_empty() || v.chars().count() > 200)
            {
                f.error(name, "must be 1 to 200 characters");
            }
            v
        };
        let name = text(f, "name");
        let external_id = text(f, "external_id");
        Some(CreateTenant {
            name: name?,
            external_id: external_id?,
        })
    }
}

/// Add a Business Hub tenant
///
/// Creates a Business Hub tenant (Business Hub has no public API to discover them); its usage is
/// then pushed with `POST /api/v1/usage-snapshots`. Role: operator. 409: the external id is taken.
/// 422: every invalid field.
#[utoipa::path(operation_id = "createTenant", tag = "tenants", request_body = CreateTenant,
    responses(
        (status = 201, description = "Created", body = Tenant,
            headers(("Location" = String, description = "The tenant's URL"))),
        (status = 409, description = "The external id is taken", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/tenants")]
pub async fn create_tenant(
    auth: Operator,
    state: web::Data<AppState>,
    body: ValidJson<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    let row = tenants::create(&state, auth.actor(), input.name, input.external_id).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tenants/{}", row.id)))
        .json(Tenant::new(row, None)))
}
