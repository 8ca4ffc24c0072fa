//! Usage snapshots: usage pushed by automation for non-KSC tenants, and usage pulled from KSC
//! on demand (DOMAIN.md §5, §6 "Pushed usage").
//!
//! Snapshots are written under the Products tab's lock: a snapshot names applications, and
//! deleting an application checks the latest snapshots, so the two must not interleave.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::adapters::db::security_applications::SecurityApplication;
use crate::adapters::db::tenants::TenantRow;
use crate::adapters::db::usage_snapshots::{
    Outcome, SnapshotFilter, SnapshotSource, UsageSnapshot,
};
use crate::adapters::db::{self, audit::Actor, DbConnection};
use crate::domain::model::{
    ApplicationId, CategoryCounts, DeviceCategory, LicensingModel, Solution, TenantUsage,
};
use crate::runtime::state::Core;
use crate::services::fields::{FromJsonBody, JsonFields, LenientJson};
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::products::PRODUCTS_LOCK;
use crate::services::{FieldError, ServiceError};
use crate::sync::collect::Collected;

/// How far a pushed `taken_at` may lie ahead of our clock (the pusher's clock may drift).
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// A pushed snapshot as read from the body: every application named, with its counts where
/// they were valid (`None` where they were not; the problem is already recorded).
#[derive(Debug)]
pub struct PushedUsage {
    pub tenant_id: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub devices: Vec<(ApplicationId, Option<CategoryCounts>)>,
    pub users: Vec<(ApplicationId, Option<u64>)>,
    pub mailboxes: Vec<(ApplicationId, Option<u64>)>,
}

/// The body sections and the licensing model each one carries.
const SECTIONS: [(&str, LicensingModel); 3] = [
    ("devices", LicensingModel::PerDevice),
    ("users", LicensingModel::PerUser),
    ("mailboxes", LicensingModel::PerMailbox),
];

fn section_of(model: LicensingModel) -> &'static str {
    SECTIONS
        .iter()
        .find(|(_, m)| *m == model)
        .map(|(name, _)| *name)
        .expect("every licensing model has a section")
}

fn count(f: &mut JsonFields, field: &str, value: serde_json::Value) -> Option<u64> {
    let n = value.as_u64();
    if n.is_none() {
        f.error(field, "must be a non-negative integer");
    }
    n
}

/// The body's names of the device categories.
const CATEGORIES: [(&str, DeviceCategory); 3] = [
    ("windows_workstation", DeviceCategory::WindowsWorkstation),
    ("windows_server", DeviceCategory::WindowsServer),
    ("non_windows", DeviceCategory::NonWindows),
];

impl FromJsonBody for CategoryCounts {
    /// A category left out has no devices, as an application left out has no usage.
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let mut counts = CategoryCounts::default();
        let mut complete = true;
        for (name, category) in CATEGORIES {
            let Some(value) = f.optional::<serde_json::Value>(name) else {
                continue;
            };
            match count(f, name, value) {
                Some(n) => counts.add(category, n),
                None => complete = false,
            }
        }
        complete.then_some(counts)
    }
}

impl FromJsonBody for PushedUsage {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let tenant_id = f.required::<String>("tenant_id");
        let taken_at = f.optional::<DateTime<Utc>>("taken_at");
        if taken_at.is_some_and(|t| t > Utc::now() + MAX_CLOCK_SKEW) {
            f.error("taken_at", "must not be in the future");
        }
        let devices = f.entries("devices", |f, field, value| f.nested(field, value));
        let users = f.entries("users", count);
        let mailboxes = f.entries("mailboxes", count);
        Some(PushedUsage {
            tenant_id,
            taken_at,
            devices,
            users,
            mailboxes,
        })
    }
}

fn ids<T>(entries: &[(ApplicationId, Option<T>)]) -> Vec<&str> {
    entries.iter().map(|(id, _)| id.as_str()).collect()
}

fn valid<T>(entries: Vec<(ApplicationId, Option<T>)>) -> BTreeMap<ApplicationId, T> {
    entries
        .into_iter()
        .filter_map(|(id, counts)| Some((id, counts?)))
        .collect()
}

impl PushedUsage {
    /// Every application named: its field, its id, the licensing model of its section.
    fn named(&self) -> Vec<(String, &str, LicensingModel)> {
        [ids(&self.devices), ids(&self.users), ids(&self.mailboxes)]
            .into_iter()
            .zip(SECTIONS)
            .flat_map(|(ids, (section, model))| {
                ids.into_iter()
                    .map(move |id| (format!("{section}.{id}"), id, model))
            })
            .collect()
    }

    /// The tenant's complete usage: applications left out have none.
    fn into_usage(self) -> TenantUsage {
        TenantUsage {
            devices: valid(self.devices),
            users: valid(self.users),
            mailboxes: valid(self.mailboxes),
            ..TenantUsage::default()
        }
    }
}

/// What is wrong with pushing `application` under `model` for a tenant of `solution`.
fn application_problem(
    id: &str,
    application: Option<&SecurityApplication>,
    model: LicensingModel,
    solution: Option<Solution>,
) -> Option<String> {
    let Some(app) = application else {
        return Some(format!("there is no security application {id}"));
    };
    if app.retired {
        return Some(format!("{id} is retired"));
    }
    if solution.is_some_and(|s| s != app.solution) {
        return Some(format!(
            "{id} is not an application of this tenant's solution"
        ));
    }
    if app.licensing_model != model {
        let licensed = match app.licensing_model {
            LicensingModel::PerDevice => "per device",
            LicensingModel::PerUser => "per user",
            LicensingModel::PerMailbox => "per mailbox",
        };
        return Some(format!(
            "{id} is licensed {licensed}: send it under `{}`",
            section_of(app.licensing_model)
        ));
    }
    None
}

/// Stores a pushed snapshot after checking it against the tenant and the applications; a 422
/// lists every problem of the body at once. A KSC tenant is refused with 409: its usage is
/// always pulled, whatever the body says.
fn push_in(
    conn: &mut DbConnection,
    actor: &Actor,
    body: LenientJson<PushedUsage>,
) -> Result<(UsageSnapshot, TenantRow), ServiceError> {
    db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
        let pushed = body.value();
        let tenant = match &pushed.tenant_id {
            Some(id) => db::tenants::find(conn, id)?,
            None => None,
        };
        if let Some(t) = tenant.as_ref().filter(|t| t.solution() == Solution::Ksc) {
            return Err(ServiceError::Conflict(format!(
                "{} is a KSC tenant: its usage is pulled from KSC \
                 (POST /api/v1/usage-snapshots/collect), never pushed.",
                t.name
            )));
        }
        let mut problems = Vec::new();
        if let (Some(id), None) = (&pushed.tenant_id, &tenant) {
            problems.push(FieldError::new(
                "tenant_id",
                format!("there is no tenant {id}"),
            ));
        }
        let applications: BTreeMap<String, SecurityApplication> =
            db::security_applications::list(conn, None)?
                .into_iter()
                .map(|a| (a.id.clone(), a))
                .collect();
        let solution = tenant.as_ref().map(TenantRow::solution);
        for (field, id, model) in pushed.named() {
            if let Some(problem) = application_problem(id, applications.get(id), model, solution) {
                problems.push(FieldError::new(field, problem));
            }
        }
        let pushed = body.finish(problems)?;
        let tenant = tenant.expect("a valid push names a known tenant");
        let now = db::now();
        let snapshot = UsageSnapshot {
            id: db::new_id(),
            tenant_id: tenant.id.clone(),
            taken_at: pushed.taken_at.map_or(now, db::stored_time),
            source: SnapshotSource::Push,
            outcome: Outcome::Ok(pushed.into_usage()),
            created_by: actor.id.clone(),
            created_at: now,
        };
        db::usage_snapshots::insert(conn, &snapshot)?;
        Ok((snapshot, tenant))
    })
}

/// A page of stored snapshots.
pub async fn list(
    ctx: &Core,
    filter: SnapshotFilter,
    page: PageRequest,
) -> Result<Rows<(UsageSnapshot, TenantRow)>, ServiceError> {
    listing::page(ctx, page, move |conn, offset, limit| {
        db::usage_snapshots::list(conn, &filter, offset, limit)
    })
    .await
}

/// One stored snapshot; 404 when there is none.
pub async fn find(ctx: &Core, id: String) -> Result<(UsageSnapshot, TenantRow), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::usage_snapshots::find(conn, &id)?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no usage snapshot {id}.")))
    })
    .await
}

/// Stores a pushed snapshot (a non-KSC tenant's whole usage), after every check of its body.
pub async fn push(
    ctx: &Core,
    actor: Actor,
    body: LenientJson<PushedUsage>,
) -> Result<(UsageSnapshot, TenantRow), ServiceError> {
    db::run(&ctx.pool, move |conn| push_in(conn, &actor, body)).await
}

/// Pulls the usage of one KSC tenant, or of all, from KSC now.
pub async fn collect(
    ctx: &Core,
    actor: Actor,
    tenant_id: Option<String>,
) -> Result<Vec<Collected>, ServiceError> {
    Ok(crate::sync::collect::collect(ctx, &actor, tenant_id).await?)
}
