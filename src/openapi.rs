//! The OpenAPI document: generated from the handlers' `#[utoipa::path]`s and the one route
//! table in `startup`, then completed here with what every operation shares (the bearer
//! scheme and the problem+json error responses every client must expect).

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, RefOr, Response, Schema};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem, PROBLEM_JSON};
use crate::routes::paging::MAX_PER_PAGE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kaspersky-msp-bridge",
        description = "Turns what Kaspersky security applications really protect into correct \
            ConnectWise Manage agreement additions. Every error is `application/problem+json` \
            (RFC 9457). Log in with `POST /api/v1/auth/login` and send the token as \
            `Authorization: Bearer <token>`."
    ),
    tags(
        (name = "auth", description = "Log in, who am I, own password"),
        (name = "users", description = "People and their roles (admin)"),
        (name = "service-tokens", description = "Long-lived tokens for automation (admin)"),
        (name = "audit", description = "Who changed which configuration"),
        (name = "connections", description = "ConnectWise and Kaspersky connections (admin)"),
        (name = "connectwise", description = "ConnectWise look-ups for drop-downs"),
        (name = "products", description = "Products tab: security applications and their ConnectWise product mappings"),
        (name = "settings", description = "Billing settings"),
        (name = "tenants", description = "Kaspersky tenants: KSC virtual servers and Business Hub companies"),
        (name = "companies", description = "Companies tab: tenant ↔ ConnectWise company and agreement"),
        (name = "usage", description = "Usage snapshots: pushed for non-KSC tenants, collected from KSC"),
        (name = "sync", description = "Preview, runs and their changes, unbilled usage"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

pub const BEARER: &str = "bearer";
/// Operations that need no token.
const PUBLIC_OPERATIONS: &[&str] = &["login"];

/// The complete document, as served at `/api-docs/openapi.json`.
pub fn spec() -> OpenApiDoc {
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::table)
        .split_for_parts();
    complete(&mut doc);
    doc
}

/// The document as committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    let mut text = spec()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

fn complete(doc: &mut OpenApiDoc) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            add_common_errors(path, op);
            document_paging(op);
        }
    }
    link_created_resources(doc);
}

/// The bounds of `page` and `per_page`, the same on every paged list, documented in one place.
fn document_paging(op: &mut Operation) {
    for parameter in op.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let maximum = match parameter.name.as_str() {
            "page" => None,
            "per_page" => Some(MAX_PER_PAGE),
            _ => continue,
        };
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
            schema.minimum = Some(1.into());
            schema.maximum = maximum.map(Into::into);
        }
    }
}

/// Links from each `POST /things` that creates (201) to the operations of `/things/{id}`, with
/// the new resource's `id`: stateful clients, and Schemathesis, can follow what they created.
fn link_created_resources(doc: &mut OpenApiDoc) {
    let mut links = Vec::new();
    for (path, item) in &doc.paths.paths {
        let Some((parent, last)) = path.rsplit_once('/') else {
            continue;
        };
        let Some(parameter) = last.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            continue;
        };
        let operations = [&item.get, &item.put, &item.patch, &item.delete];
        for id in operations
            .into_iter()
            .flatten()
            .filter_map(|op| op.operation_id.clone())
        {
            links.push((parent.to_string(), parameter.to_string(), id));
        }
    }
    for (parent, parameter, operation_id) in links {
        let created = doc
            .paths
            .paths
            .get_mut(&parent)
            .and_then(|item| item.post.as_mut())
            .and_then(|post| post.responses.responses.get_mut("201"));
        if let Some(RefOr::T(created)) = created {
            let link = LinkBuilder::new()
                .operation_id(&operation_id)
                .parameter(parameter, "$response.body#/id")
                .build();
            created.links.insert(operation_id, RefOr::T(link));
        }
    }
}

fn problem(description: &str) -> RefOr<Response> {
    let mut response = Response::new(description);
    response.content.insert(
        PROBLEM_JSON.to_string(),
        RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))),
    );
    RefOr::T(response)
}

fn add_common_errors(path: &str, op: &mut Operation) {
    let public = op
        .operation_id
        .as_deref()
        .is_some_and(|id| PUBLIC_OPERATIONS.contains(&id));
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    };
    if path.starts_with("/api/") && !public {
        add("401", "Missing, invalid or expired token");
        add("403", "The caller's role is too small");
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter().any(|p| {
            matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
        })
    });
    if op.request_body.is_some() {
        add("400", "The body is not valid JSON");
        add("413", "The body is too large");
        add("415", "The body is not JSON");
        add(
            "422",
            "The body breaks the rules; `errors` lists every problem",
        );
    }
    if has_query {
        add("400", "A query parameter is malformed");
        add("422", "A query parameter is out of range");
    }
    if path.contains('{') {
        add("404", "No such resource");
    }
    add("500", "The server failed; the cause is in its log");
    add("503", "The database is unreachable");
    if path.starts_with("/api/") && !public {
        op.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
}

/// Methods allowed on each documented path, to answer 405 with `Allow` instead of 404.
pub struct MethodTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl MethodTable {
    pub fn from_spec(doc: &OpenApiDoc) -> MethodTable {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(m, _)| m.to_string())
                .collect();
                (segments, methods)
            })
            .collect();
        MethodTable { routes }
    }

    /// The methods of the documented path matching `path`, if any.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(segments, _)| {
                segments.len() == wanted.len()
                    && segments
                        .iter()
                        .zip(&wanted)
                        .all(|(s, w)| s == w || (s.starts_with('{') && !w.is_empty()))
            })
            .map(|(_, methods)| methods.clone())
    }
}
