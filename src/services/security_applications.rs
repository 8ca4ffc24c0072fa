//! Security applications: custom ones added, edited (name, match rules, retired) and deleted
//! under the Products tab's write lock, every change audited.

use crate::adapters::db::security_applications::SecurityApplication;
use crate::adapters::db::{self, audit, audit::Actor, DbConnection, PRODUCTS_LOCK};
use crate::domain::model::{LicensingModel, MatchRules, Solution};
use crate::runtime::state::Core;
use crate::services::products::{application_not_found, ensure_deletable};
use crate::services::ServiceError;

/// The audited form of an application.
pub fn audited(a: &SecurityApplication) -> serde_json::Value {
    serde_json::json!({"name": a.name, "solution": a.solution,
        "licensing_model": a.licensing_model, "match_rules": a.match_rules, "retired": a.retired})
}

pub async fn find(ctx: &Core, id: String) -> Result<SecurityApplication, ServiceError> {
    db::run(&ctx.pool, move |conn| find_in(conn, &id)).await
}

fn find_in(conn: &mut DbConnection, id: &str) -> Result<SecurityApplication, ServiceError> {
    db::security_applications::find(conn, id)?.ok_or_else(|| application_not_found(id))
}

/// A custom application to add (its id and name already checked).
pub struct NewApplication {
    pub id: String,
    pub name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    pub match_rules: MatchRules,
}

/// Adds a custom application; 409 when the id is taken.
pub async fn create(
    ctx: &Core,
    actor: Actor,
    new: NewApplication,
) -> Result<SecurityApplication, ServiceError> {
    let now = db::now();
    let app = SecurityApplication {
        id: new.id,
        name: new.name,
        solution: new.solution,
        licensing_model: new.licensing_model,
        match_rules: new.match_rules,
        folds_into: None,
        custom: true,
        retired: false,
        created_at: now,
        updated_at: now,
    };
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
            if db::security_applications::find(conn, &app.id)?.is_some() {
                return Err(ServiceError::Conflict(format!(
                    "There is already a security application {}.",
                    app.id
                )));
            }
            db::security_applications::insert(conn, &app)?;
            record(conn, &actor, "create", &app.id, None, Some(&app))?;
            Ok(app)
        })
    })
    .await
}

/// Changes one application in a transaction and audits it; a change that changes nothing is
/// not written.
pub async fn edit(
    ctx: &Core,
    actor: Actor,
    id: String,
    change: impl FnOnce(&mut SecurityApplication) -> Result<(), ServiceError> + Send + 'static,
) -> Result<SecurityApplication, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
            let before = find_in(conn, &id)?;
            let mut after = before.clone();
            change(&mut after)?;
            if after == before {
                return Ok(before);
            }
            after.updated_at = db::now();
            db::security_applications::update(conn, &after)?;
            record(conn, &actor, "update", &id, Some(&before), Some(&after))?;
            Ok(after)
        })
    })
    .await
}

/// Deletes an application that nothing maps and no tenant uses (409 otherwise: retire it).
pub async fn delete(ctx: &Core, actor: Actor, id: String) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
            let before = find_in(conn, &id)?;
            ensure_deletable(conn, &id)?;
            db::security_applications::delete(conn, &id)?;
            record(conn, &actor, "delete", &id, Some(&before), None)
        })
    })
    .await
}

fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: &str,
    id: &str,
    before: Option<&SecurityApplication>,
    after: Option<&SecurityApplication>,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        actor,
        action,
        "security_application",
        id,
        before.map(audited),
        after.map(audited),
    )?;
    Ok(())
}

/// Every application (of one solution with `solution`), in list order.
pub async fn list(
    ctx: &Core,
    solution: Option<Solution>,
) -> Result<Vec<SecurityApplication>, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        Ok(db::security_applications::list(conn, solution)?)
    })
    .await
}
