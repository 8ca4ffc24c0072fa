//! A company mapping's own terms (DOMAIN.md §7): minimums, included units and prices per
//! product; per application (and category) another product or an exclusion. Read and replaced
//! under `If-Match`, audited; the next sync applies them (an override is a move, an exclusion
//! a guarded cancel).

use std::collections::{BTreeSet, HashMap};

use crate::adapters::db::company_terms::CompanyTermsRow;
use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::{self, audit, audit::Actor, DbConnection};
use crate::domain::model::LicensingModel;
use crate::domain::terms::CompanyTerms;
use crate::runtime::state::Core;
use crate::services::billing_profiles::negative;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::{FieldError, ServiceError};

const LOCK: &str = "company_terms";

/// A mapping's terms and the ETag `If-Match` is checked against.
pub struct Terms {
    pub terms: CompanyTerms,
    pub etag: String,
}

impl Terms {
    fn new(terms: CompanyTerms) -> Terms {
        let etag = etag_of(&terms);
        Terms { terms, etag }
    }
}

fn stored(conn: &mut DbConnection, mapping_id: &str) -> Result<CompanyTerms, ServiceError> {
    if db::company_mappings::find(conn, mapping_id)?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "There is no company mapping {mapping_id}."
        )));
    }
    Ok(db::company_terms::find(conn, mapping_id)?
        .map(|row| row.terms_json.0)
        .unwrap_or_default())
}

/// A mapping's terms (none set: empty); 404 when there is no such mapping.
pub async fn get(ctx: &Core, mapping_id: String) -> Result<Terms, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        Ok(Terms::new(stored(conn, &mapping_id)?))
    })
    .await
}

/// Replaces a mapping's terms under `If-Match`, after checking every rule against the catalog
/// cache and the applications.
pub async fn put(
    ctx: &Core,
    actor: Actor,
    mapping_id: String,
    if_match: IfMatch,
    terms: CompanyTerms,
) -> Result<Terms, ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let before = stored(conn, &mapping_id)?;
            if_match.check(&etag_of(&before))?;
            let problems = problems(conn, &terms)?;
            if !problems.is_empty() {
                return Err(ServiceError::Validation(problems));
            }
            if before != terms {
                db::company_terms::put(
                    conn,
                    &CompanyTermsRow {
                        company_mapping_id: mapping_id.clone(),
                        terms_json: JsonText(terms.clone()),
                        updated_at: db::now(),
                    },
                )?;
                let audited = |t: &CompanyTerms| serde_json::to_value(t).expect("terms serialise");
                audit::record(
                    conn,
                    &actor,
                    "update",
                    "company_terms",
                    &mapping_id,
                    Some(audited(&before)),
                    Some(audited(&terms)),
                )?;
            }
            Ok(Terms::new(terms))
        })
    })
    .await
}

/// Every rule the terms break, by field (`products[i].…`, `applications[i].…`).
fn problems(
    conn: &mut DbConnection,
    terms: &CompanyTerms,
) -> Result<Vec<FieldError>, ServiceError> {
    let named: Vec<i64> = terms
        .products
        .iter()
        .map(|p| p.product_id)
        .chain(terms.applications.iter().filter_map(|a| a.product))
        .collect();
    let catalog: HashMap<i64, bool> = db::cw_products::find_many(conn, &named)?
        .iter()
        .map(|p| (p.id, db::cw_products::is_selectable(p)))
        .collect();
    let models: HashMap<String, LicensingModel> = db::security_applications::list(conn, None)?
        .into_iter()
        .map(|a| (a.id, a.licensing_model))
        .collect();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, p) in terms.products.iter().enumerate() {
        let field = |name: &str| format!("products[{i}].{name}");
        if !seen.insert(p.product_id) {
            problems.push(FieldError::new(field("product_id"), "is listed twice"));
        }
        if !catalog.contains_key(&p.product_id) {
            problems.push(FieldError::new(
                field("product_id"),
                format!("there is no product {} in the catalog cache", p.product_id),
            ));
        }
        if p.minimum_quantity > 0 && p.minimum_quantity < p.included_quantity {
            problems.push(FieldError::new(
                field("minimum_quantity"),
                format!(
                    "must not be below the included quantity ({}): the minimum would bill \
                     units the agreement already includes",
                    p.included_quantity
                ),
            ));
        }
        if let Some(amount) = p.unit_price {
            problems.extend(negative(&field("unit_price"), amount));
        }
    }
    let mut rules = BTreeSet::new();
    for (i, a) in terms.applications.iter().enumerate() {
        let field = |name: &str| format!("applications[{i}].{name}");
        match models.get(&a.application_id) {
            None => problems.push(FieldError::new(
                field("application_id"),
                format!("there is no security application {}", a.application_id),
            )),
            Some(model) if a.category.is_some() && *model != LicensingModel::PerDevice => problems
                .push(FieldError::new(
                    field("category"),
                    "only per-device applications have device categories",
                )),
            Some(_) => {}
        }
        if !rules.insert((a.application_id.as_str(), a.category)) {
            problems.push(FieldError::new(
                field("application_id"),
                "has a rule for this category already",
            ));
        }
        match (a.product, a.excluded) {
            (Some(_), true) => problems.push(FieldError::new(
                field("product"),
                "an excluded application bills on no product: send `product` or `excluded`",
            )),
            (None, false) => problems.push(FieldError::new(
                field("product"),
                "is required unless the application is `excluded`",
            )),
            (Some(product), false) => match catalog.get(&product) {
                None => problems.push(FieldError::new(
                    field("product"),
                    format!("there is no product {product} in the catalog cache"),
                )),
                Some(false) => problems.push(FieldError::new(
                    field("product"),
                    format!("product {product} is inactive or gone from the catalog"),
                )),
                Some(true) => {}
            },
            (None, true) => {}
        }
    }
    Ok(problems)
}
