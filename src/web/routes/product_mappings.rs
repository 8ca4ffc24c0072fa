//! The product mapping grid of the Products tab and its rows.
//!
//! ETags: see `services::products` (the grid's covers every stored mapping and the billing
//! settings; a single row's, that mapping and the billing settings).

use std::collections::HashMap;

use actix_web::{delete, get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::db::billing_settings::BillingSettings;
use crate::adapters::db::cw_products;
use crate::adapters::db::cw_products::CwProductRow;
use crate::adapters::db::security_applications::ApplicationSummary;
use crate::domain::model::{LicensingModel, Solution};
use crate::domain::product_mapping::{
    bills_by_category, mapping_status, CategoryProducts, MappingStatus, ProductMapping,
};
use crate::runtime::state::AppState;
use crate::services::etag::IfMatch;
use crate::services::fields::{FromJsonBody, JsonFields};
use crate::services::products::{self, Grid, MappingChange};
use crate::web::error::ApiError;
use crate::web::routes::etag::{json_with_tag, ok_with_tag};
use crate::web::routes::extract::{Operator, Viewer};
use crate::web::routes::input::ValidJson;

/// A ConnectWise product as the catalog cache knows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRef {
    pub id: i64,
    /// Absent when the product is not in the catalog cache.
    pub identifier: Option<String>,
    pub description: Option<String>,
    /// In the catalog and active: may be chosen.
    pub selectable: bool,
}

/// Which mapping form bills an application in the mode in force.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingForm {
    Single,
    Category,
}

/// One application's row of the grid: both stored forms, the status in the mode in force, and
/// the products named.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingView {
    pub application_id: String,
    pub application_name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    pub retired: bool,
    pub form_in_force: MappingForm,
    pub status: MappingStatus,
    #[serde(flatten)]
    pub forms: MappingForms,
    /// Every product named by either form, by id.
    pub products: Vec<ProductRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MappingGrid {
    pub bill_devices_by_category: bool,
    pub mappings: Vec<MappingView>,
}

/// Both forms of a mapping; `null` or absent = no product. Sending no product at all clears
/// the mapping. Every field is replaced: send both forms to keep both.
// Not `deny_unknown_fields`: the schema is flattened into `MappingView` and `MappingRow`, and
// a closed schema inside their `allOf` would forbid their own fields. The body parser still
// refuses unknown fields.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct MappingForms {
    /// Single form: in force when category billing is off, and always for per-user and
    /// per-mailbox applications.
    #[schema(minimum = 1)]
    pub product_id: Option<i64>,
    /// Category form (per-device applications only): Windows workstations.
    #[schema(minimum = 1)]
    pub workstation_product_id: Option<i64>,
    /// Category form: Windows servers.
    #[schema(minimum = 1)]
    pub server_product_id: Option<i64>,
    /// Category form: Linux, macOS and mobile devices.
    #[schema(minimum = 1)]
    pub non_windows_product_id: Option<i64>,
}

impl MappingForms {
    fn of(m: &ProductMapping) -> MappingForms {
        MappingForms {
            product_id: m.product_id,
            workstation_product_id: m.category_products.windows_workstation,
            server_product_id: m.category_products.windows_server,
            non_windows_product_id: m.category_products.non_windows,
        }
    }

    fn into_mapping(self, application_id: String) -> ProductMapping {
        ProductMapping {
            application_id,
            product_id: self.product_id,
            category_products: CategoryProducts {
                windows_workstation: self.workstation_product_id,
                windows_server: self.server_product_id,
                non_windows: self.non_windows_product_id,
            },
        }
    }
}

impl FromJsonBody for MappingForms {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        Some(MappingForms {
            product_id: f.optional_id("product_id"),
            workstation_product_id: f.optional_id("workstation_product_id"),
            server_product_id: f.optional_id("server_product_id"),
            non_windows_product_id: f.optional_id("non_windows_product_id"),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MappingRow {
    pub application_id: String,
    #[serde(flatten)]
    pub forms: MappingForms,
}

impl FromJsonBody for MappingRow {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let application_id = f.required::<String>("application_id");
        let forms = MappingForms::from_json(f)?;
        Some(MappingRow {
            application_id: application_id?,
            forms,
        })
    }
}

/// "Save changes": the rows listed are replaced, the others untouched; all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveMappings {
    pub rows: Vec<MappingRow>,
}

impl FromJsonBody for SaveMappings {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        Some(SaveMappings {
            rows: f.list("rows")?,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridQuery {
    /// Only this solution's applications (all when absent).
    pub solution: Option<Solution>,
}

/// The rows of a grid as the API shows them: the one builder of GET, PUT and the single rows.
fn views(g: Grid) -> Vec<MappingView> {
    g.rows
        .iter()
        .map(|(app, mapping)| view(&g.billing, app, mapping.as_ref(), &g.catalog))
        .collect()
}

fn grid_view(g: Grid) -> (MappingGrid, String) {
    let bill_devices_by_category = g.billing.bill_devices_by_category;
    let etag = g.etag.clone();
    let grid = MappingGrid {
        bill_devices_by_category,
        mappings: views(g),
    };
    (grid, etag)
}

fn one_view(g: Grid) -> (MappingView, String) {
    let etag = g.etag.clone();
    (views(g).remove(0), etag)
}

fn view(
    billing: &BillingSettings,
    app: &ApplicationSummary,
    mapping: Option<&ProductMapping>,
    catalog: &HashMap<i64, CwProductRow>,
) -> MappingView {
    let mut ids: Vec<i64> = mapping
        .into_iter()
        .flat_map(products::product_ids)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let products = ids
        .into_iter()
        .map(|id| {
            let cached = catalog.get(&id);
            ProductRef {
                id,
                identifier: cached.map(|p| p.identifier.clone()),
                description: cached.map(|p| p.description.clone()),
                selectable: cached.is_some_and(cw_products::is_selectable),
            }
        })
        .collect();
    let by_category = bills_by_category(app.licensing_model, billing.bill_devices_by_category);
    MappingView {
        application_id: app.id.clone(),
        application_name: app.name.clone(),
        solution: app.solution,
        licensing_model: app.licensing_model,
        retired: app.retired,
        form_in_force: if by_category {
            MappingForm::Category
        } else {
            MappingForm::Single
        },
        status: mapping_status(
            mapping,
            app.licensing_model,
            billing.bill_devices_by_category,
        ),
        forms: mapping.map(MappingForms::of).unwrap_or_default(),
        products,
    }
}

/// Read the mapping grid
///
/// The Products tab: every application still in use (of one solution with `solution`), whole, with
/// both stored mapping forms, the form in force, its status and the ConnectWise products named.
/// Keep the `ETag` to save changes with `If-Match`. Role: any.
#[utoipa::path(operation_id = "listProductMappings", tag = "products", params(GridQuery),
    responses((status = 200, description = "The grid", body = MappingGrid,
        headers(("ETag" = String, description = "Covers every stored mapping and the billing settings")))))]
#[get("/product-mappings")]
pub async fn list_product_mappings(
    _auth: Viewer,
    state: web::Data<AppState>,
    query: web::Query<GridQuery>,
) -> Result<HttpResponse, ApiError> {
    let solution = query.solution;
    let (body, etag) = state
        .copies
        .grid
        .get_or_load(
            &state.copies.versions,
            |v| v.products,
            solution,
            || async {
                let (grid, etag) = grid_view(products::grid(&state, solution).await?);
                let body = serde_json::to_vec(&grid).expect("the grid serialises");
                Ok::<_, ApiError>((body.into(), etag))
            },
        )
        .await?;
    Ok(json_with_tag(etag, body))
}

/// Save the mapping grid
///
/// The Save changes of the Products tab: replaces the mappings of the rows listed, all or nothing;
/// rows not listed are untouched and a row without any product clears its mapping. Send the grid's
/// `ETag` in `If-Match`. Role: operator. 412: a mapping or the billing mode changed since the grid
/// was read. 422: every invalid row field, e.g. an unknown application or a product not in the
/// catalog cache (`rows[i].field`).
#[utoipa::path(operation_id = "saveProductMappings", tag = "products", request_body = SaveMappings,
    params(("If-Match" = Option<String>, Header, description = "The grid's ETag")),
    responses(
        (status = 200, description = "The rows saved, as the grid shows them now", body = MappingGrid,
            headers(("ETag" = String, description = "The grid's new ETag"))),
        (status = 412, description = "A mapping changed since the grid was read", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/product-mappings")]
pub async fn save_product_mappings(
    auth: Operator,
    state: web::Data<AppState>,
    if_match: IfMatch,
    body: ValidJson<SaveMappings>,
) -> Result<HttpResponse, ApiError> {
    let changes: Vec<MappingChange> = body
        .0
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| MappingChange {
            field_prefix: format!("rows[{i}]."),
            mapping: row.forms.into_mapping(row.application_id),
        })
        .collect();
    let saved = products::save_grid(&state, auth.actor(), if_match, changes).await?;
    let (grid, etag) = grid_view(saved);
    Ok(ok_with_tag(etag, &grid))
}

/// Read one mapping
///
/// One application's row of the grid, with its own `ETag`. Role: any. 404: no application has this
/// id.
#[utoipa::path(operation_id = "getProductMapping", tag = "products",
    params(("application_id" = String, Path)),
    responses((status = 200, description = "The mapping", body = MappingView,
        headers(("ETag" = String, description = "Covers this mapping and the billing settings")))))]
#[get("/product-mappings/{application_id}")]
pub async fn get_product_mapping(
    _auth: Viewer,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = one_view(products::mapping(&state, id.into_inner()).await?);
    Ok(ok_with_tag(etag, &view))
}

/// Stores one mapping (validated, replaced or cleared) under `If-Match`; returns the view.
async fn change_one(
    state: &AppState,
    auth: Operator,
    id: String,
    if_match: IfMatch,
    forms: MappingForms,
) -> Result<(MappingView, String), ApiError> {
    let saved =
        products::save_mapping(state, auth.actor(), if_match, forms.into_mapping(id)).await?;
    Ok(one_view(saved))
}

/// Replace one mapping
///
/// Replaces both forms of one application's mapping; no product at all clears it. Role: operator.
/// 404: no application has this id. 412: the mapping or the billing mode changed since it was read.
/// 422: every invalid field.
#[utoipa::path(operation_id = "putProductMapping", tag = "products",
    params(("application_id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The mapping's ETag")),
    request_body = MappingForms,
    responses(
        (status = 200, description = "The mapping now", body = MappingView,
            headers(("ETag" = String, description = "The mapping's new ETag"))),
        (status = 412, description = "The mapping changed since it was read", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[put("/product-mappings/{application_id}")]
pub async fn put_product_mapping(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<MappingForms>,
) -> Result<HttpResponse, ApiError> {
    let (view, etag) = change_one(&state, auth, id.into_inner(), if_match, body.0).await?;
    Ok(ok_with_tag(etag, &view))
}

/// Clear one mapping
///
/// Clears both forms of one application's mapping; clearing an absent mapping is not an error.
/// Role: operator. 404: no application has this id. 412: the mapping changed since it was read.
#[utoipa::path(operation_id = "deleteProductMapping", tag = "products",
    params(("application_id" = String, Path),
        ("If-Match" = Option<String>, Header, description = "The mapping's ETag")),
    responses(
        (status = 204, description = "Cleared (also when there was nothing to clear)"),
        (status = 412, description = "The mapping changed since it was read", body = crate::web::error::Problem,
            content_type = "application/problem+json")))]
#[delete("/product-mappings/{application_id}")]
pub async fn delete_product_mapping(
    auth: Operator,
    state: web::Data<AppState>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    change_one(
        &state,
        auth,
        id.into_inner(),
        if_match,
        MappingForms::default(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
