//! The Companies tab: tenant ↔ ConnectWise company (one-to-one both ways) and the agreement that
//! receives the tenant's additions. The agreement is checked against ConnectWise on every save.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::connectwise::{Conditions, ConnectWiseClient};
use crate::adapters::db::utc;
use crate::adapters::db::{
    self, audit, audit::Actor, company_mappings::CompanyMappingRow, DbConnection,
};
use crate::domain::ids::CompanyId;
use crate::domain::model::Solution;
use crate::runtime::state::Core;
use crate::services::connections::connectwise::upstream_error;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::listing::{PageRequest, Rows};
use crate::services::{FieldError, ServiceError};

pub const LOCK: &str = "company_mappings";

/// A validated create or replace body.
#[derive(Debug, Clone, ToSchema)]
pub struct CompanyMappingInput {
    /// The Kaspersky tenant.
    pub tenant_id: String,
    /// The ConnectWise company it bills to.
    #[schema(minimum = 1)]
    pub cw_company_id: i64,
    /// The company's agreement that receives the additions (must be active).
    #[schema(minimum = 1)]
    pub agreement_id: i64,
    /// Default true. Off: the tenant's additions are left as they are and no longer managed.
    pub billing_enabled: Option<bool>,
}

impl FromJsonBody for CompanyMappingInput {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let tenant_id = f.required::<String>("tenant_id");
        let cw_company_id = f.required_id("cw_company_id");
        let agreement_id = f.required_id("agreement_id");
        let billing_enabled = f.optional::<bool>("billing_enabled");
        Some(CompanyMappingInput {
            tenant_id: tenant_id?,
            cw_company_id: cw_company_id?,
            agreement_id: agreement_id?,
            billing_enabled,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantRef {
    pub id: String,
    pub name: String,
    pub solution: Solution,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompanyMapping {
    pub id: String,
    pub tenant: TenantRef,
    pub cw_company_id: i64,
    /// As ConnectWise named it when the mapping was saved.
    pub cw_company_name: String,
    pub agreement_id: i64,
    agreement_name: String,
    pub billing_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(conn: &mut DbConnection, row: CompanyMappingRow) -> Result<CompanyMapping, ServiceError> {
    let tenant = db::tenants::find(conn, &row.tenant_id)?.ok_or_else(|| {
        ServiceError::internal(anyhow::anyhow!("mapping {} has no tenant", row.id))
    })?;
    Ok(CompanyMapping {
        id: row.id,
        tenant: TenantRef {
            solution: tenant.solution,
            id: tenant.id,
            name: tenant.name,
        },
        cw_company_id: row.cw_company_id,
        cw_company_name: row.cw_company_name,
        agreement_id: row.agreement_id,
        agreement_name: row.agreement_name,
        billing_enabled: row.billing_enabled,
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    })
}

/// What ConnectWise says about the company and agreement of a mapping.
struct CheckedAgreement {
    company_name: String,
    agreement_name: String,
}

/// The company must exist and the agreement must be one of its agreements that can take
/// additions now; every problem is reported at once.
async fn check_in_connectwise(
    client: &ConnectWiseClient,
    input: &CompanyMappingInput,
) -> Result<CheckedAgreement, ServiceError> {
    let companies = client
        .list_companies(Some(&Conditions::eq("id", input.cw_company_id)))
        .await
        .map_err(upstream_error)?;
    let Some(company) = companies
        .into_iter()
        .find(|c| c.id == Some(input.cw_company_id))
    else {
        return Err(ServiceError::validation(
            "cw_company_id",
            format!("ConnectWise has no company {}", input.cw_company_id),
        ));
    };
    let agreements = client
        .list_agreements(CompanyId(input.cw_company_id))
        .await
        .map_err(upstream_error)?;
    let Some(agreement) = agreements
        .into_iter()
        .find(|a| a.id == Some(input.agreement_id))
    else {
        return Err(ServiceError::validation(
            "agreement_id",
            format!(
                "is not an agreement of ConnectWise company {}",
                input.cw_company_id
            ),
        ));
    };
    if !agreement.accepts_additions(Utc::now()) {
        return Err(ServiceError::validation(
            "agreement_id",
            format!(
                "agreement {} is not active (status {}); choose an active agreement",
                input.agreement_id,
                agreement.agreement_status.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    Ok(CheckedAgreement {
        company_name: company.name.unwrap_or_default(),
        agreement_name: agreement.name.unwrap_or_default(),
    })
}

fn audited(m: &CompanyMappingRow) -> serde_json::Value {
    serde_json::json!({"tenant_id": m.tenant_id, "cw_company_id": m.cw_company_id,
        "agreement_id": m.agreement_id, "billing_enabled": m.billing_enabled})
}

/// A page of the mappings, by company name.
pub async fn list(ctx: &Core, page: PageRequest) -> Result<Rows<CompanyMapping>, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let (rows, total) = db::company_mappings::list(conn, page.offset, page.limit)?;
        let rows = rows
            .into_iter()
            .map(|r| view(conn, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rows { rows, total })
    })
    .await
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("There is no company mapping {id}."))
}

/// One mapping; 404 when there is none.
pub async fn find(ctx: &Core, id: String) -> Result<CompanyMapping, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let row = db::company_mappings::find(conn, &id)?.ok_or_else(|| not_found(&id))?;
        view(conn, row)
    })
    .await
}

/// Maps a tenant to a company and agreement, checked in ConnectWise first.
pub async fn create(
    ctx: &Core,
    actor: Actor,
    input: CompanyMappingInput,
) -> Result<CompanyMapping, ServiceError> {
    let checked = check(ctx, &input).await?;
    let result = db::run(&ctx.pool, move |conn| {
        save(conn, &actor, None, &IfMatch::any(), input, checked)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}

/// Replaces a mapping: 404 before anything is asked of ConnectWise, then the check, then the
/// write (which checks `If-Match` against the state it reads under the lock).
pub async fn replace(
    ctx: &Core,
    actor: Actor,
    id: String,
    if_match: IfMatch,
    input: CompanyMappingInput,
) -> Result<CompanyMapping, ServiceError> {
    let lookup = id.clone();
    let exists = db::run(&ctx.pool, move |conn| {
        Ok::<_, ServiceError>(db::company_mappings::find(conn, &lookup)?.is_some())
    })
    .await?;
    if !exists {
        return Err(not_found(&id));
    }
    let checked = check(ctx, &input).await?;
    let result = db::run(&ctx.pool, move |conn| {
        save(conn, &actor, Some(&id), &if_match, input, checked)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}

/// Checks a mapping before saving it: the tenant here, the company and agreement in
/// ConnectWise; every invalid field is reported at once.
async fn check(ctx: &Core, input: &CompanyMappingInput) -> Result<CheckedAgreement, ServiceError> {
    let tenant_id = input.tenant_id.clone();
    let tenant_known = db::run(&ctx.pool, move |conn| {
        Ok::<_, ServiceError>(db::tenants::find(conn, &tenant_id)?.is_some())
    })
    .await?;
    let client = crate::services::connections::connectwise::shared_client(ctx).await?;
    let checked = check_in_connectwise(&client, input).await;
    let mut problems = Vec::new();
    if !tenant_known {
        problems.push(FieldError::new("tenant_id", "is not a known tenant"));
    }
    match checked {
        Ok(c) if problems.is_empty() => Ok(c),
        Ok(_) => Err(ServiceError::Validation(problems)),
        Err(ServiceError::Validation(more)) => {
            problems.extend(more);
            Err(ServiceError::Validation(problems))
        }
        Err(other) => Err(other),
    }
}

/// Creates (`existing_id` none) or replaces a mapping, keeping the one-to-one rule.
fn save(
    conn: &mut DbConnection,
    actor: &Actor,
    existing_id: Option<&str>,
    if_match: &IfMatch,
    input: CompanyMappingInput,
    checked: CheckedAgreement,
) -> Result<CompanyMapping, ServiceError> {
    db::write_transaction(conn, LOCK, |conn| {
        let before = match existing_id {
            Some(id) => {
                let row = db::company_mappings::find(conn, id)?.ok_or_else(|| not_found(id))?;
                if_match.check(&etag_of(&view(conn, row.clone())?))?;
                Some(row)
            }
            None => None,
        };
        let own_id = before.as_ref().map(|b| b.id.clone());
        let mut problems = Vec::new();
        if db::tenants::find(conn, &input.tenant_id)?.is_none() {
            problems.push(FieldError::new("tenant_id", "is not a known tenant"));
        }
        if !problems.is_empty() {
            return Err(ServiceError::Validation(problems));
        }
        if let Some(other) = db::company_mappings::find_by_tenant(conn, &input.tenant_id)? {
            if Some(&other.id) != own_id.as_ref() {
                return Err(ServiceError::Conflict(format!(
                    "The tenant is mapped already (company mapping {}).",
                    other.id
                )));
            }
        }
        if let Some(other) = db::company_mappings::find_by_company(conn, input.cw_company_id)? {
            if Some(&other.id) != own_id.as_ref() {
                return Err(ServiceError::Conflict(format!(
                    "ConnectWise company {} is mapped to another tenant already (company mapping {}).",
                    input.cw_company_id, other.id
                )));
            }
        }
        let now = db::now();
        let row = CompanyMappingRow {
            id: own_id.clone().unwrap_or_else(db::new_id),
            tenant_id: input.tenant_id,
            cw_company_id: input.cw_company_id,
            cw_company_name: checked.company_name,
            agreement_id: input.agreement_id,
            agreement_name: checked.agreement_name,
            billing_enabled: input.billing_enabled.unwrap_or(true),
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        match &before {
            Some(_) => db::company_mappings::update(conn, &row)?,
            None => db::company_mappings::insert(conn, &row)?,
        }
        let action = if before.is_some() { "update" } else { "create" };
        audit::record(
            conn,
            actor,
            action,
            "company_mapping",
            &row.id,
            before.as_ref().map(audited),
            Some(audited(&row)),
        )?;
        view(conn, row)
    })
}

/// Deleting only breaks the link: nothing in ConnectWise changes.
pub async fn delete(
    ctx: &Core,
    actor: Actor,
    id: String,
    if_match: IfMatch,
) -> Result<(), ServiceError> {
    let result = db::run(&ctx.pool, move |conn| {
        delete_in(conn, &actor, &id, &if_match)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}

fn delete_in(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), ServiceError> {
    db::write_transaction(conn, LOCK, |conn| {
        let row = db::company_mappings::find(conn, id)?.ok_or_else(|| not_found(id))?;
        if_match.check(&etag_of(&view(conn, row.clone())?))?;
        db::company_mappings::delete(conn, id)?;
        audit::record(
            conn,
            actor,
            "delete",
            "company_mapping",
            id,
            Some(audited(&row)),
            None,
        )?;
        Ok(())
    })
}
