//! The Products tab's stored state — billing settings, security applications, product
//! mappings — read and changed as one unit. The billing settings decide which mapping form is
//! in force, so toggles, application edits and mapping saves share one write lock and every
//! check runs against the state read inside it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use crate::adapters::db::billing_settings::BillingSettings;
use crate::adapters::db::cw_products::CwProductRow;
use crate::adapters::db::security_applications::{ApplicationSummary, SecurityApplication};
use crate::adapters::db::{self, audit, audit::Actor, cw_products, DbConnection};
use crate::domain::mapping_rules::{
    category_field, check_mapping, named_products, ProductAvailability, PRODUCT_FIELD,
};
use crate::domain::model::{DeviceCategory, Solution};
use crate::domain::product_mapping::ProductMapping;
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::{FieldError, ServiceError};

/// The write lock of everything on the Products tab.
pub use crate::adapters::db::PRODUCTS_LOCK;

struct Snapshot {
    pub billing: BillingSettings,
    pub applications: BTreeMap<String, SecurityApplication>,
    /// Stored mappings by application id; an application without one is unmapped.
    pub mappings: BTreeMap<String, ProductMapping>,
}

impl Snapshot {
    fn load(conn: &mut DbConnection) -> Result<Snapshot, ServiceError> {
        let billing = db::billing_settings::get(conn)?;
        let applications = db::security_applications::list(conn, None)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mappings = db::product_mappings::list(conn)?
            .into_iter()
            .map(|m| (m.application_id.clone(), m))
            .collect();
        Ok(Snapshot {
            billing,
            applications,
            mappings,
        })
    }

    fn application(&self, id: &str) -> Result<&SecurityApplication, ServiceError> {
        self.applications
            .get(id)
            .ok_or_else(|| application_not_found(id))
    }

    /// Every stored mapping by application id.
    fn mapping_refs(&self) -> BTreeMap<&str, &ProductMapping> {
        self.mappings.iter().map(|(k, m)| (k.as_str(), m)).collect()
    }
}

/// What the mapping grid shows, read in one round trip.
struct GridState {
    pub billing: BillingSettings,
    /// Every application in list order, with its stored mapping.
    pub applications: Vec<(ApplicationSummary, Option<ProductMapping>)>,
    /// The cached catalog products the mappings name.
    pub catalog: HashMap<i64, CwProductRow>,
}

impl GridState {
    fn load(conn: &mut DbConnection) -> Result<GridState, ServiceError> {
        let rows = db::product_mappings::grid_rows(conn)?;
        let billing = match rows.first() {
            Some(row) => row.billing_settings.clone().unwrap_or_default(),
            None => db::billing_settings::get(conn)?,
        };
        let mut applications: Vec<(ApplicationSummary, Option<ProductMapping>)> = Vec::new();
        let mut catalog = HashMap::new();
        for row in rows {
            if let Some(product) = row.product {
                catalog.insert(product.id, product);
            }
            // Rows of one application are adjacent (ordered by application first).
            if applications
                .last()
                .is_none_or(|(a, _)| a.id != row.application.id)
            {
                applications.push((row.application, row.mapping));
            }
        }
        Ok(GridState {
            billing,
            applications,
            catalog,
        })
    }

    /// Every stored mapping by application id.
    fn mappings(&self) -> BTreeMap<&str, &ProductMapping> {
        self.applications
            .iter()
            .filter_map(|(app, m)| m.as_ref().map(|m| (app.id.as_str(), m)))
            .collect()
    }
}

pub fn application_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound(format!("There is no security application {id}."))
}

/// An application can be deleted only when nothing refers to it: no stored product mapping and
/// no usage in any tenant's latest snapshot (billing and reports still need it). Either way,
/// retiring it is the alternative.
pub fn ensure_deletable(conn: &mut DbConnection, id: &str) -> Result<(), ServiceError> {
    if db::product_mappings::exists(conn, id)? {
        return Err(ServiceError::Conflict(format!(
            "{id} has a product mapping; clear the mapping or retire the application \
             (PATCH `retired: true`) instead."
        )));
    }
    let tenants = tenants_using(conn, id)?;
    if tenants > 0 {
        return Err(ServiceError::Conflict(format!(
            "{id} has usage in the latest snapshot of {tenants} tenant(s); retire it \
             (PATCH `retired: true`) instead."
        )));
    }
    Ok(())
}

/// A mapping to store (no product at all clears it); `field_prefix` names it in errors, e.g.
/// `rows[2].`.
pub struct MappingChange {
    pub field_prefix: String,
    pub mapping: ProductMapping,
}

/// The audited form of a mapping: the request's field names.
pub fn audited(m: &ProductMapping) -> Value {
    let mut value = json!({ PRODUCT_FIELD: m.product_id });
    for c in DeviceCategory::ALL {
        value[category_field(c)] = json!(m.category_products.get(c));
    }
    value
}

/// Validates every change against the current state, then stores them all or none, one audit
/// event per changed mapping. `precondition` (existence, `If-Match`) runs first, on the state
/// read under the lock. Returns the state after the change.
fn save_mappings(
    conn: &mut DbConnection,
    actor: &Actor,
    changes: &[MappingChange],
    precondition: impl FnOnce(&Snapshot) -> Result<(), ServiceError>,
) -> Result<Snapshot, ServiceError> {
    db::write_transaction(conn, PRODUCTS_LOCK, |conn| {
        let before = Snapshot::load(conn)?;
        precondition(&before)?;
        let errors = validate(conn, &before, changes)?;
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        for change in changes {
            store(
                conn,
                actor,
                before.mappings.get(&change.mapping.application_id),
                &change.mapping,
            )?;
        }
        Snapshot::load(conn)
    })
}

fn validate(
    conn: &mut DbConnection,
    snapshot: &Snapshot,
    changes: &[MappingChange],
) -> Result<Vec<FieldError>, ServiceError> {
    let catalog = availability(conn, changes)?;
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for MappingChange {
        field_prefix,
        mapping,
    } in changes
    {
        let field = |name: &str| format!("{field_prefix}{name}");
        let id = &mapping.application_id;
        if !seen.insert(id.as_str()) {
            errors.push(FieldError::new(field("application_id"), "is listed twice"));
            continue;
        }
        let Some(app) = snapshot.applications.get(id) else {
            errors.push(FieldError::new(
                field("application_id"),
                format!("there is no security application {id}"),
            ));
            continue;
        };
        if app.retired && mapping.stores_any_product() {
            errors.push(FieldError::new(
                field("application_id"),
                format!("{id} is retired; un-retire it before mapping it"),
            ));
            continue;
        }
        let violations = check_mapping(
            mapping,
            app.licensing_model,
            snapshot.billing.bill_devices_by_category,
            |p| {
                catalog
                    .get(&p)
                    .copied()
                    .unwrap_or(ProductAvailability::Unknown)
            },
        );
        errors.extend(
            violations
                .into_iter()
                .map(|v| FieldError::new(field(v.field), v.message)),
        );
    }
    Ok(errors)
}

/// Where each product named by the changes stands in the catalog cache.
fn availability(
    conn: &mut DbConnection,
    changes: &[MappingChange],
) -> Result<HashMap<i64, ProductAvailability>, ServiceError> {
    let ids: Vec<i64> = changes
        .iter()
        .flat_map(|c| product_ids(&c.mapping))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(cw_products::find_many(conn, &ids)?
        .iter()
        .map(|p| {
            let state = if cw_products::is_selectable(p) {
                ProductAvailability::Selectable
            } else {
                ProductAvailability::Inactive
            };
            (p.id, state)
        })
        .collect())
}

/// Every product a mapping names, in either form.
pub fn product_ids(m: &ProductMapping) -> impl Iterator<Item = i64> + '_ {
    named_products(m).map(|(_, product)| product)
}

fn store(
    conn: &mut DbConnection,
    actor: &Actor,
    before: Option<&ProductMapping>,
    after: &ProductMapping,
) -> Result<(), ServiceError> {
    let id = &after.application_id;
    let action = match (before, after.stores_any_product()) {
        (None, false) => return Ok(()),
        (Some(b), true) if b == after => return Ok(()),
        (Some(_), false) => {
            db::product_mappings::delete(conn, id)?;
            "delete"
        }
        (None, true) => {
            db::product_mappings::replace(conn, after)?;
            "create"
        }
        (Some(_), true) => {
            db::product_mappings::replace(conn, after)?;
            "update"
        }
    };
    let after_audit = after.stores_any_product().then(|| audited(after));
    audit::record(
        conn,
        actor,
        action,
        "product_mapping",
        id,
        before.map(audited),
        after_audit,
    )?;
    Ok(())
}

/// How many tenants report usage of `application` in their latest readable snapshot.
pub fn tenants_using(conn: &mut DbConnection, application: &str) -> Result<usize, ServiceError> {
    Ok(db::usage_snapshots::latest_ok_usage(conn)?
        .iter()
        .filter(|usage| usage.uses(application))
        .count())
}

/// Rows of the mapping grid as one use case answers them: each application with its stored
/// mapping, the billing settings that decide the form in force, the cached catalog products
/// the mappings name, and the ETag a later save is checked against.
pub struct Grid {
    pub billing: BillingSettings,
    pub rows: Vec<(ApplicationSummary, Option<ProductMapping>)>,
    pub catalog: HashMap<i64, CwProductRow>,
    pub etag: String,
}

/// The grid's ETag covers every stored mapping (of both solutions) and the billing settings,
/// so a bulk save checks one value whatever rows it lists. It does not cover the catalog
/// descriptions shown alongside: a catalog refresh does not make an edit stale.
fn grid_etag(billing: &BillingSettings, mappings: &BTreeMap<&str, &ProductMapping>) -> String {
    etag_of(&(billing, mappings))
}

/// A single mapping's ETag covers that mapping and the billing settings.
fn mapping_etag(s: &Snapshot, application_id: &str) -> String {
    etag_of(&(&s.billing, s.mappings.get(application_id)))
}

/// The Products tab: every application still in use (of one solution with `solution`).
pub async fn grid(ctx: &Core, solution: Option<Solution>) -> Result<Grid, ServiceError> {
    let g = db::run(&ctx.pool, GridState::load).await?;
    let etag = grid_etag(&g.billing, &g.mappings());
    let rows = g
        .applications
        .into_iter()
        .filter(|(a, _)| !a.retired && solution.is_none_or(|sol| a.solution == sol))
        .collect();
    Ok(Grid {
        billing: g.billing,
        rows,
        catalog: g.catalog,
        etag,
    })
}

/// The rows of `ids` (in that order) as stored in `s`, with the products they name.
fn rows_of(
    conn: &mut DbConnection,
    s: &Snapshot,
    ids: &[String],
    etag: String,
) -> Result<Grid, ServiceError> {
    let apps: Vec<&SecurityApplication> = ids
        .iter()
        .map(|id| s.application(id))
        .collect::<Result<_, _>>()?;
    let named: Vec<i64> = apps
        .iter()
        .filter_map(|a| s.mappings.get(&a.id))
        .flat_map(product_ids)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let catalog = cw_products::find_many(conn, &named)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(Grid {
        billing: s.billing.clone(),
        rows: apps
            .into_iter()
            .map(|a| (a.summary(), s.mappings.get(&a.id).cloned()))
            .collect(),
        catalog,
        etag,
    })
}

/// "Save changes": replaces the mappings listed, all or nothing, under the grid's ETag;
/// answers the rows saved and the grid's new ETag.
pub async fn save_grid(
    ctx: &Core,
    actor: Actor,
    if_match: IfMatch,
    changes: Vec<MappingChange>,
) -> Result<Grid, ServiceError> {
    let result = db::run(&ctx.pool, move |conn| {
        let s = save_mappings(conn, &actor, &changes, |before| {
            if_match.check(&grid_etag(&before.billing, &before.mapping_refs()))
        })?;
        let ids: Vec<String> = changes
            .iter()
            .map(|c| c.mapping.application_id.clone())
            .collect();
        let etag = grid_etag(&s.billing, &s.mapping_refs());
        rows_of(conn, &s, &ids, etag)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}

/// One application's row with its own ETag; 404 when there is no such application.
pub async fn mapping(ctx: &Core, id: String) -> Result<Grid, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let s = Snapshot::load(conn)?;
        let etag = mapping_etag(&s, &id);
        rows_of(conn, &s, &[id], etag)
    })
    .await
}

/// Replaces (or, with no product at all, clears) one mapping under its ETag.
pub async fn save_mapping(
    ctx: &Core,
    actor: Actor,
    if_match: IfMatch,
    mapping: ProductMapping,
) -> Result<Grid, ServiceError> {
    let id = mapping.application_id.clone();
    let change = MappingChange {
        field_prefix: String::new(),
        mapping,
    };
    let result = db::run(&ctx.pool, move |conn| {
        let s = save_mappings(conn, &actor, &[change], |before| {
            before.application(&id)?;
            if_match.check(&mapping_etag(before, &id))
        })?;
        let etag = mapping_etag(&s, &id);
        rows_of(conn, &s, &[id], etag)
    })
    .await;
    crate::sync::notices::wake_after(ctx, result)
}
