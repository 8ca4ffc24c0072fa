//! Settings values (billing, sync) replaced whole: `If-Match` checked under their lock, audited.

use std::collections::BTreeMap;

use diesel::QueryResult;
use serde::Serialize;

use crate::adapters::db::billing_settings::BillingSettings;
use crate::adapters::db::{self, audit, audit::Actor, DbConnection};
use crate::domain::product_mapping::{mapping_status, MappingStatus};
use crate::domain::usage::name_words;
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::products::{tenants_using, PRODUCTS_LOCK};
use crate::services::{FieldError, ServiceError};
use crate::sync::settings::{self as sync_settings, SyncSettings};

/// Where one settings value lives and how it is audited.
struct SettingsStore<T> {
    /// The write lock it is changed under.
    lock: &'static str,
    entity_type: &'static str,
    entity_id: &'static str,
    get: fn(&mut DbConnection) -> QueryResult<T>,
    put: fn(&mut DbConnection, &T) -> QueryResult<()>,
}

/// Replaces a settings value: `If-Match` checked against the stored value under its lock,
/// `change` turning what is stored into what is to be stored (and checking it), an audit
/// event (before → after) when it changed. Returns the value now stored.
async fn save<T>(
    ctx: &Core,
    store: SettingsStore<T>,
    actor: Actor,
    if_match: IfMatch,
    change: impl FnOnce(&mut DbConnection, &T) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError>
where
    T: Serialize + PartialEq + Send + 'static,
{
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, store.lock, |conn| {
            let before = (store.get)(conn)?;
            if_match.check(&etag_of(&before))?;
            let after = change(conn, &before)?;
            if before != after {
                (store.put)(conn, &after)?;
                audit::record(
                    conn,
                    &actor,
                    "update",
                    store.entity_type,
                    store.entity_id,
                    Some(serde_json::to_value(&before).expect("settings serialise")),
                    Some(serde_json::to_value(&after).expect("settings serialise")),
                )?;
            }
            Ok::<_, ServiceError>(after)
        })
    })
    .await
}

/// The billing settings in force.
pub async fn billing(ctx: &Core) -> Result<BillingSettings, ServiceError> {
    db::run(&ctx.pool, |conn| Ok(db::billing_settings::get(conn)?)).await
}

/// The sync settings in force.
pub async fn sync(ctx: &Core) -> Result<SyncSettings, ServiceError> {
    db::run(&ctx.pool, |conn| Ok(sync_settings::get(conn)?)).await
}

/// Replaces the sync settings (already checked whole by their parser).
pub async fn save_sync(
    ctx: &Core,
    actor: Actor,
    if_match: IfMatch,
    settings: SyncSettings,
) -> Result<SyncSettings, ServiceError> {
    let store = SettingsStore {
        lock: "sync_settings",
        entity_type: "sync_settings",
        entity_id: "sync",
        get: sync_settings::get,
        put: sync_settings::put,
    };
    let result = save(ctx, store, actor, if_match, move |_, _| Ok(settings)).await;
    crate::sync::notices::wake_after(ctx, result)
}

/// A change of the billing settings; `bill_licence_tiers` left out keeps what is stored (a
/// client that does not know it never opts in by accident).
pub struct BillingChange {
    pub bill_devices_by_category: bool,
    pub bill_licence_tiers: Option<bool>,
}

/// Changes the billing settings. Turning `bill_licence_tiers` on moves every folded tier's
/// devices to the tier's own mapping, so it is refused while a tier in use that folds into a
/// mapped application is not mapped itself, or a tier still shares a name rule with the
/// application it folds into (422 naming each).
pub async fn save_billing(
    ctx: &Core,
    actor: Actor,
    if_match: IfMatch,
    change: BillingChange,
) -> Result<BillingSettings, ServiceError> {
    let store = SettingsStore {
        lock: PRODUCTS_LOCK,
        entity_type: "billing_settings",
        entity_id: "billing",
        get: db::billing_settings::get,
        put: db::billing_settings::put,
    };
    save(ctx, store, actor, if_match, move |conn, before| {
        let after = BillingSettings {
            bill_devices_by_category: change.bill_devices_by_category,
            bill_licence_tiers: change
                .bill_licence_tiers
                .unwrap_or(before.bill_licence_tiers),
        };
        if after.bill_licence_tiers && !before.bill_licence_tiers {
            let problems = tiers_not_ready(conn, after.bill_devices_by_category)?;
            if !problems.is_empty() {
                return Err(ServiceError::Validation(problems));
            }
        }
        Ok(after)
    })
    .await
}

/// Why the folded licence tiers cannot bill on their own yet, one problem per tier.
fn tiers_not_ready(
    conn: &mut DbConnection,
    bill_devices_by_category: bool,
) -> Result<Vec<FieldError>, ServiceError> {
    let applications = db::security_applications::list(conn, None)?;
    let mappings: BTreeMap<String, _> = db::product_mappings::list(conn)?
        .into_iter()
        .map(|m| (m.application_id.clone(), m))
        .collect();
    let status = |id: &str| {
        let app = applications.iter().find(|a| a.id == id);
        app.map_or(MappingStatus::Unmapped, |app| {
            mapping_status(
                mappings.get(id),
                app.licensing_model,
                bill_devices_by_category,
            )
        })
    };
    let mut problems = Vec::new();
    for tier in applications.iter().filter(|a| !a.retired) {
        let Some(target) = tier.folds_into.as_deref() else {
            continue;
        };
        let unmapped = status(target) != MappingStatus::Unmapped
            && status(&tier.id) != MappingStatus::Complete;
        if unmapped {
            let tenants = tenants_using(conn, &tier.id)?;
            if tenants > 0 {
                problems.push(format!(
                    "map {} ({}) first: {tenants} tenant(s) use it, and its devices, billed as \
                     {target} until now, would no longer be billed",
                    tier.id, tier.name
                ));
            }
        }
        let shared = applications
            .iter()
            .find(|a| a.id == target)
            .into_iter()
            .flat_map(|a| &a.match_rules.name_patterns)
            .filter(|pattern| {
                tier.match_rules
                    .name_patterns
                    .iter()
                    .any(|own| name_words(own) == name_words(pattern))
            });
        for pattern in shared {
            problems.push(format!(
                "{target} still recognises \"{pattern}\", as {} does: remove it from {target}'s match rules first",
                tier.id
            ));
        }
    }
    Ok(problems
        .into_iter()
        .map(|message| FieldError::new("bill_licence_tiers", message))
        .collect())
}
