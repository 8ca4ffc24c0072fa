//! The security applications usage is counted for, and the match rules that recognise them
//! in KSC licence data. Everyone reads them; admins add custom ones and edit or retire them.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::security_applications::SecurityApplication;
use crate::adapters::db::utc;
use crate::domain::model::{
    LicensingModel, MatchRules, Solution, MAX_RULE_CHARS as MAX_TEXT_CHARS, MIN_PATTERN_CHARS,
    MIN_SKU_CHARS,
};
use crate::domain::usage::name_words;
use crate::runtime::state::AppState;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::security_applications as applications;
use crate::services::ServiceError;
use crate::web::error::ApiError;
use crate::web::routes::extract::{Admin, Viewer};
use crate::web::routes::input::ValidJson;

#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityApplicationView {
    /// Stable slug, e.g. `kes-windows`.
    pub id: String,
    pub name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    /// Whether "Bill devices by category" applies (per-device applications only).
    pub category_billing: bool,
    pub match_rules: MatchRules,
    /// A licence tier (Kaspersky Next, Endpoint Security for Business Select, …) that counted as
    /// this other application before tiers were billed on their own: while the billing setting
    /// `bill_licence_tiers` is off, its keys still count there.
    pub folds_into: Option<String>,
    /// Added by an admin rather than seeded.
    pub custom: bool,
    /// Hidden from the mapping grid; its stored mapping is kept.
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&SecurityApplication> for SecurityApplicationView {
    fn from(a: &SecurityApplication) -> Self {
        SecurityApplicationView {
            id: a.id.clone(),
            name: a.name.clone(),
            solution: a.solution,
            licensing_model: a.licensing_model,
            category_billing: a.licensing_model == LicensingModel::PerDevice,
            match_rules: a.match_rules.clone(),
            folds_into: a.folds_into.clone(),
            custom: a.custom,
            retired: a.retired,
            created_at: utc(a.created_at),
            updated_at: utc(a.updated_at),
        }
    }
}

fn check_entries(f: &mut JsonFields, field: &str, entries: &[String], min_chars: usize) {
    for (i, entry) in entries.iter().enumerate() {
        check_length(f, &format!("{field}[{i}]"), Some(entry), min_chars);
    }
}

fn check_length(f: &mut JsonFields, field: &str, text: Option<&String>, min_chars: usize) {
    let n = text.map_or(min_chars, |t| t.chars().count());
    if n < min_chars || n > MAX_TEXT_CHARS {
        f.error(
            field,
            format!("must be {min_chars} to {MAX_TEXT_CHARS} characters"),
        );
    }
}

fn trimmed(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect()
}

impl FromJsonBody for MatchRules {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let app_ids = trimmed(f.absent_or("app_ids"));
        check_entries(f, "app_ids", &app_ids, 1);
        let name_patterns = trimmed(f.absent_or("name_patterns"));
        check_entries(f, "name_patterns", &name_patterns, MIN_PATTERN_CHARS);
        let skus = trimmed(f.absent_or("skus"));
        check_entries(f, "skus", &skus, MIN_SKU_CHARS);
        Some(MatchRules {
            app_ids,
            name_patterns,
            skus,
        })
    }
}

fn check_name(f: &mut JsonFields, name: Option<String>) -> Option<String> {
    let name = name?.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_TEXT_CHARS {
        f.error("name", format!("must be 1 to {MAX_TEXT_CHARS} characters"));
    }
    Some(name)
}

fn check_slug(id: &str) -> Result<(), String> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if id.is_empty() || id.len() > 64 || !ok_chars || id.starts_with('-') {
        return Err("must be 1 to 64 characters: lower-case letters, digits or `-`".into());
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecurityApplication {
    /// Stable slug: lower-case letters, digits and `-`.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    /// How KSC licence keys are recognised (none by default).
    pub match_rules: Option<MatchRules>,
}

impl FromJsonBody for CreateSecurityApplication {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let id = f.required::<String>("id");
        if let Some(id) = &id {
            f.check("id", check_slug(id));
        }
        let name = f.required::<String>("name");
        let name = check_name(f, name);
        let solution = f.required("solution");
        let licensing_model = f.required("licensing_model");
        let match_rules = f.object("match_rules");
        Some(CreateSecurityApplication {
            id: id?,
            name: name?,
            solution: solution?,
            licensing_model: licensing_model?,
            match_rules,
        })
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecurityApplication {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Replaces every list (a list left out is emptied).
    pub match_rules: Option<MatchRules>,
    /// Retire (hide from the grid, keep the mapping) or bring back.
    pub retired: Option<bool>,
}

impl FromJsonBody for UpdateSecurityApplication {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let name = f.optional::<String>("name");
        let name = check_name(f, name);
        let match_rules = f.object("match_rules");
        let retired = f.optional("retired");
        for fixed in ["id", "solution", "licensing_model"] {
            if f.optional::<serde_json::Value>(fixed).is_some() {
                f.error(
                    fixed,
                    "cannot be changed: mappings and usage depend on it; add a new application instead",
                );
            }
        }
        Some(UpdateSecurityApplication {
            name,
            match_rules,
            retired,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SolutionQuery {
    /// Only this solution's applications (all when absent).
    pub solution: Option<Solution>,
}

/// List security applications
///
/// Every security application, by solution and name, whole (retired ones included and flagged),
/// with the match rules that recognise KSC licence keys. Role: any.
#[utoipa::path(operation_id = "listSecurityApplications", tag = "products", params(SolutionQuery),
    responses((status = 200, description = "The applications, by solution and name",
        body = Vec<SecurityApplicationView>)))]
#[get("/security-applications")]
pub async fn list_security_applications(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<SolutionQuery>,
) -> Result<web::Json<Vec<SecurityApplicationView>>, ApiError> {
    let solution = query.solution;
    let apps = applications::list(&state, solution).await?;
    Ok(web::Json(
        apps.iter().map(SecurityApplicationView::from).collect(),
    ))
}

/// Read a security application
///
/// One security application with its match rules. Role: any. 404: no application has this id.
#[utoipa::path(operation_id = "getSecurityApplication", tag = "products", params(("id" = String, Path)),
    responses((status = 200, description = "The application", body = SecurityApplicationView)))]
#[get("/security-applications/{id}")]
pub async fn get_security_application(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<SecurityApplicationView>, ApiError> {
    let id = id.into_inner();
    let app = applications::find(&state, id).await?;
    Ok(web::Json(SecurityApplicationView::from(&app)))
}

/// Add a custom security application
///
/// Adds an application the built-in list lacks, with its solution, licensing model and (for KSC)
/// match rules. Role: admin. 409: the id is taken. 422: every invalid field (id characters, empty
/// name, unknown solution or model, too short a name pattern).
#[utoipa::path(operation_id = "createSecurityApplication", tag = "products",
    request_body = CreateSecurityApplication,
    responses(
        (status = 201, description = "Created", body = SecurityApplicationView,
            headers(("Location" = String, description = "The application's URL"))),
        (status = 409, description = "The id is taken", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[post("/security-applications")]
pub async fn create_security_application(
    auth: Admin,
    state: web::Data<AppState>,
    body: ValidJson<CreateSecurityApplication>,
) -> Result<HttpResponse, ApiError> {
    let input = body.0;
    let new = applications::NewApplication {
        id: input.id,
        name: input.name,
        solution: input.solution,
        licensing_model: input.licensing_model,
        match_rules: input.match_rules.unwrap_or_default(),
    };
    let created = applications::create(&state, auth.actor(), new).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/security-applications/{}", created.id),
        ))
        .json(SecurityApplicationView::from(&created)))
}

/// Edit a security application
///
/// Changes an application's name or match rules (both lists replaced), or retires it (hidden from
/// the grid, mapping kept) or brings it back. Id, solution and licensing model never change. Role:
/// admin. 404: no application has this id. 422: every invalid field.
#[utoipa::path(operation_id = "updateSecurityApplication", tag = "products",
    params(("id" = String, Path)), request_body = UpdateSecurityApplication,
    responses((status = 200, description = "The application now", body = SecurityApplicationView)))]
#[patch("/security-applications/{id}")]
pub async fn update_security_application(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<UpdateSecurityApplication>,
) -> Result<web::Json<SecurityApplicationView>, ApiError> {
    let change = body.0;
    let app = applications::edit(&state, auth.actor(), id.into_inner(), move |app| {
        if let Some(name) = change.name {
            app.name = name;
        }
        if let Some(rules) = change.match_rules {
            app.match_rules = rules;
        }
        if let Some(retired) = change.retired {
            app.retired = retired;
        }
        Ok(())
    })
    .await?;
    Ok(web::Json(SecurityApplicationView::from(&app)))
}

/// One rule to add: a licence key's product name or its application id, as the unbilled-usage
/// report and a snapshot's `unknown_keys` show them.
/// Exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(example = json!({"product_name": "Kaspersky Security for Storage 3.4"}))]
pub enum AddMatchRule {
    ProductName {
        /// Becomes a name pattern (compared as words: case, dashes and version numbers do not
        /// matter).
        #[schema(min_length = 3, max_length = 200)]
        product_name: String,
    },
    AppId {
        /// Becomes an app-id rule (an app-id match beats any name match).
        #[schema(min_length = 1, max_length = 200)]
        app_id: String,
    },
}

/// The rule an [`AddMatchRule`] body asks for.
enum NewRule {
    ProductName(String),
    AppId(String),
}

impl FromJsonBody for NewRule {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let product_name = trimmed(f.absent_or::<String>("product_name").map(|n| vec![n]));
        check_length(f, "product_name", product_name.first(), MIN_PATTERN_CHARS);
        let app_id = trimmed(f.absent_or::<String>("app_id").map(|id| vec![id]));
        check_length(f, "app_id", app_id.first(), 1);
        match (product_name.into_iter().next(), app_id.into_iter().next()) {
            (Some(name), None) => Some(NewRule::ProductName(name)),
            (None, Some(id)) => Some(NewRule::AppId(id)),
            (None, None) => {
                f.error("product_name", "give `product_name` or `app_id`");
                None
            }
            (Some(_), Some(_)) => {
                f.error("app_id", "give either `product_name` or `app_id`, not both");
                None
            }
        }
    }
}

/// Add a match rule from a licence key
///
/// Turns a licence key that no application recognises (or several do) into a match rule of this
/// application, from the key's product name or its application id. An equal rule is kept as it is.
/// Usage counts with it from the next collection (every sync run collects). Role: admin. 404: no
/// application has this id. 409: not a KSC application (its usage is pushed, never matched).
#[utoipa::path(operation_id = "addSecurityApplicationMatchRule", tag = "products",
    params(("id" = String, Path)), request_body = AddMatchRule,
    responses(
        (status = 200, description = "The application with the rule", body = SecurityApplicationView),
        (status = 409, description = "Not a KSC application: its usage is pushed, never matched",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[post("/security-applications/{id}/match-rules")]
pub async fn add_match_rule(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ValidJson<NewRule>,
) -> Result<web::Json<SecurityApplicationView>, ApiError> {
    let (id, rule) = (id.into_inner(), body.0);
    let app = applications::edit(&state, auth.actor(), id.clone(), move |app| {
        if app.solution != Solution::Ksc {
            return Err(ServiceError::Conflict(format!(
                "{id} is not a KSC application: its usage is pushed, never matched to keys."
            )));
        }
        let rules = &mut app.match_rules;
        match rule {
            NewRule::ProductName(name) => {
                let words = name_words(&name);
                if !rules.name_patterns.iter().any(|p| name_words(p) == words) {
                    rules.name_patterns.push(name);
                }
            }
            NewRule::AppId(app_id) => {
                if !rules.app_ids.iter().any(|known| known.trim() == app_id) {
                    rules.app_ids.push(app_id);
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(web::Json(SecurityApplicationView::from(&app)))
}

/// Delete a security application
///
/// Deletes an application that nothing maps and no tenant uses; otherwise retire it (`PATCH` with
/// `retired: true`). Role: admin. 404: no application has this id. 409: it is mapped or has usage
/// in a tenant's latest snapshot.
#[utoipa::path(operation_id = "deleteSecurityApplication", tag = "products",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The application is mapped or has usage in a tenant's latest snapshot; retire it instead",
            body = crate::web::error::Problem, content_type = "application/problem+json")))]
#[delete("/security-applications/{id}")]
pub async fn delete_security_application(
    auth: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    applications::delete(&state, auth.actor(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
