//! Billing profiles (DOMAIN.md §7): how every addition of one ConnectWise product is written.
//! Read and replaced under `If-Match`, every change audited; the next sync corrects managed
//! additions whose terms drifted (reason "terms").

use crate::adapters::db::billing_profiles::BillingProfileRow;
use crate::adapters::db::cw_products::CwProductRow;
use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::{self, audit, audit::Actor, DbConnection};
use crate::domain::money::Money;
use crate::domain::terms::{BillingProfile, Price, INVOICE_DESCRIPTION_MAX};
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::{FieldError, ServiceError};

const LOCK: &str = "billing_profiles";

/// A stored profile with the catalog product it belongs to.
pub struct StoredProfile {
    pub row: BillingProfileRow,
    /// Absent when the product left the catalog cache.
    pub product: Option<CwProductRow>,
}

impl StoredProfile {
    /// What `If-Match` is checked against: the profile as stored.
    pub fn etag(&self) -> String {
        etag_of(&self.row.profile_json.0)
    }
}

fn not_found(product_id: i64) -> ServiceError {
    ServiceError::NotFound(format!(
        "Product {product_id} has no billing profile: its additions are written with the \
         catalog's terms."
    ))
}

fn with_product(
    conn: &mut DbConnection,
    row: BillingProfileRow,
) -> Result<StoredProfile, ServiceError> {
    let product = db::cw_products::find(conn, row.product_id)?;
    Ok(StoredProfile { row, product })
}

/// Every profile, by product id.
pub async fn list(ctx: &Core) -> Result<Vec<StoredProfile>, ServiceError> {
    db::run(&ctx.pool, |conn| {
        db::billing_profiles::list(conn)?
            .into_iter()
            .map(|row| with_product(conn, row))
            .collect()
    })
    .await
}

/// One product's profile; 404 when it has none.
pub async fn find(ctx: &Core, product_id: i64) -> Result<StoredProfile, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        let row =
            db::billing_profiles::find(conn, product_id)?.ok_or_else(|| not_found(product_id))?;
        with_product(conn, row)
    })
    .await
}

/// Every rule a profile breaks, by field.
pub fn problems(profile: &BillingProfile) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let amounts = [
        ("unit_price", profile.unit_price),
        ("unit_cost", profile.unit_cost),
    ];
    for (field, price) in amounts {
        if let Price::Fixed(amount) = price {
            problems.extend(negative(field, amount));
        }
    }
    if let Some(template) = &profile.invoice_description {
        if template.chars().count() > INVOICE_DESCRIPTION_MAX {
            problems.push(FieldError::new(
                "invoice_description",
                format!("must be at most {INVOICE_DESCRIPTION_MAX} characters (ConnectWise keeps no more)"),
            ));
        }
    }
    problems
}

/// An amount below zero, as a problem of `field`.
pub fn negative(field: &str, amount: Money) -> Option<FieldError> {
    amount
        .is_negative()
        .then(|| FieldError::new(field, "must not be negative"))
}

/// Creates or replaces a product's profile under `If-Match` (a missing profile matches no tag);
/// 404 when the product is not in the catalog cache.
pub async fn put(
    ctx: &Core,
    actor: Actor,
    product_id: i64,
    if_match: IfMatch,
    profile: BillingProfile,
) -> Result<StoredProfile, ServiceError> {
    let problems = problems(&profile);
    if !problems.is_empty() {
        return Err(ServiceError::Validation(problems));
    }
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let product = db::cw_products::find(conn, product_id)?.ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "There is no product {product_id} in the ConnectWise catalog cache \
                     (refresh it with POST /api/v1/connectwise/products/refresh)."
                ))
            })?;
            let before = db::billing_profiles::find(conn, product_id)?;
            let before_tag = before.as_ref().map(|b| etag_of(&b.profile_json.0));
            if_match.check_current(before_tag.as_deref())?;
            let row = BillingProfileRow {
                product_id,
                profile_json: JsonText(profile),
                updated_at: db::now(),
            };
            if before.as_ref().map(|b| &b.profile_json) != Some(&row.profile_json) {
                db::billing_profiles::put(conn, &row)?;
                audit::record(
                    conn,
                    &actor,
                    if before.is_some() { "update" } else { "create" },
                    "billing_profile",
                    &product_id.to_string(),
                    before.map(|b| audited(&b.profile_json.0)),
                    Some(audited(&row.profile_json.0)),
                )?;
            }
            let row = db::billing_profiles::find(conn, product_id)?
                .ok_or_else(|| not_found(product_id))?;
            Ok(StoredProfile {
                row,
                product: Some(product),
            })
        })
    })
    .await
}

/// Deletes a product's profile under `If-Match`: its additions are written with the catalog's
/// terms again (additions already written keep theirs); 404 when it has none.
pub async fn delete(
    ctx: &Core,
    actor: Actor,
    product_id: i64,
    if_match: IfMatch,
) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let before = db::billing_profiles::find(conn, product_id)?
                .ok_or_else(|| not_found(product_id))?;
            if_match.check(&etag_of(&before.profile_json.0))?;
            db::billing_profiles::delete(conn, product_id)?;
            audit::record(
                conn,
                &actor,
                "delete",
                "billing_profile",
                &product_id.to_string(),
                Some(audited(&before.profile_json.0)),
                None,
            )?;
            Ok(())
        })
    })
    .await
}

fn audited(profile: &BillingProfile) -> serde_json::Value {
    serde_json::to_value(profile).expect("profiles serialise")
}
