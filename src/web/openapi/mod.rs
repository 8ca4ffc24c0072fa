//! The OpenAPI document: generated from the handlers' `#[utoipa::path]`s and the one route
//! table in `startup`, then completed here with what every operation shares (the bearer
//! scheme and the problem+json error responses every client must expect).

mod examples;
mod request_rules;

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{Components, Content, OpenApi as OpenApiDoc, Ref, RefOr, Response, Schema};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::web::error::{FieldError, Problem, PROBLEM_JSON};
use crate::web::routes::paging::{MAX_PAGE, MAX_PER_PAGE};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kaspersky-msp-bridge",
        description = "Turns what Kaspersky security applications really protect into correct \
            ConnectWise Manage agreement additions. Every error is `application/problem+json` \
            (RFC 9457). Log in with `POST /api/v1/auth/login` and send the token as \
            `Authorization: Bearer <token>`.",
        contact(name = "The team that runs this bridge (see its README)"),
    ),
    servers((url = "/", description = "This server")),
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
        (name = "companies", description = "Companies tab: tenant ↔ ConnectWise company and agreement, and the company's own terms"),
        (name = "billing", description = "Money: billing profiles per product and the reconciliation of billed against deployed"),
        (name = "usage", description = "Usage snapshots: pushed for non-KSC tenants, collected from KSC"),
        (name = "sync", description = "Preview, runs and their changes, unbilled usage"),
        (name = "notifications", description = "Billing notices, their channels (admin) and delivery log"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

pub const BEARER: &str = "bearer";
/// Operations that need no token.
const PUBLIC_OPERATIONS: &[&str] = &["login", "healthz", "readyz", "metrics"];

/// The document as utoipa builds it from the route table, completed with what every operation
/// shares: the source of the method table and the paged routes.
pub fn spec() -> OpenApiDoc {
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::web::routes::table)
        .split_for_parts();
    complete(&mut doc);
    doc
}

/// The complete document, as served at `/api-docs/openapi.json`: [`spec`] with the rules the
/// body parser enforces on every request written into its schemas.
pub fn spec_value() -> serde_json::Value {
    let mut json = serde_json::to_value(spec()).expect("the OpenAPI document serialises");
    request_rules::apply(&mut json);
    examples::add(&mut json);
    json
}

/// The document as committed in `openapi/openapi.json`.
pub fn spec_json() -> String {
    let mut text =
        serde_json::to_string_pretty(&spec_value()).expect("the OpenAPI document serialises");
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
                .description(Some(
                    "How to get a token: open `POST /api/v1/auth/login` below, *Try it out* \
                     with your username and password, and paste the `access_token` of the \
                     answer here (without `Bearer `). Automation uses a service token \
                     (`POST /api/v1/service-tokens`, admin). The token is kept across reloads \
                     of this page until you log out here.",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations_mut(item) {
            add_common_errors(path, op);
            document_paging(op);
        }
    }
    link_created_resources(doc);
    reference_page_items(components_of(doc));
    document_headers(doc);
}

const REQUEST_ID: &str = "X-Request-Id";
const HEADERS: &[(&str, &str)] = &[
    (
        REQUEST_ID,
        "The request's id, on every response and in the server's log line of the request. \
         Send your own (up to 128 letters, digits, `-_.:`) to correlate.",
    ),
    (
        "Link",
        "RFC 8288 links to the `first`, `prev`, `next` and `last` pages of this list, with \
         the same filters.",
    ),
    ("Retry-After", "Seconds to wait before trying again."),
    (
        "ETag",
        "The representation's strong ETag: send it back in `If-Match` to write only what you \
         read, or in `If-None-Match` to get 304 while it is unchanged.",
    ),
];

/// Every operation of a path.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn header_ref(name: &str) -> RefOr<Header> {
    RefOr::Ref(Ref::new(format!("#/components/headers/{name}")))
}

/// The headers clients act on, documented once under `components.headers` and referenced:
/// `X-Request-Id` on every response, `Retry-After` on every 429, `Link` on paged lists, and
/// for every `GET` with an `ETag`, `If-None-Match` and its 304.
fn document_headers(doc: &mut OpenApiDoc) {
    let components = components_of(doc);
    for (name, description) in HEADERS {
        let header = HeaderBuilder::new()
            .schema(Some(Object::with_type(Type::String)))
            .description(Some(*description))
            .build();
        components
            .headers
            .insert(name.to_string(), RefOr::T(header));
    }
    for item in doc.paths.paths.values_mut() {
        if let Some(get) = &mut item.get {
            document_conditional_get(get);
            if is_paged(get) {
                if let Some(RefOr::T(ok)) = get.responses.responses.get_mut("200") {
                    ok.headers.insert("Link".into(), header_ref("Link"));
                }
            }
        }
        for op in operations_mut(item) {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response {
                    let headers = &mut response.headers;
                    headers.insert(REQUEST_ID.into(), header_ref(REQUEST_ID));
                    if status == "429" {
                        headers.insert("Retry-After".into(), header_ref("Retry-After"));
                    }
                }
            }
        }
    }
}

/// A `GET` whose 200 carries an `ETag` also takes `If-None-Match` and may answer 304.
fn document_conditional_get(get: &mut Operation) {
    let tagged = matches!(get.responses.responses.get("200"),
        Some(RefOr::T(ok)) if ok.headers.contains_key("ETag"));
    if !tagged {
        return;
    }
    let parameter = ParameterBuilder::new()
        .name("If-None-Match")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "An ETag you hold: while it is current the answer is 304 without a body.",
        ))
        .schema(Some(Object::with_type(Type::String)))
        .build();
    get.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(parameter));
    let mut not_modified = Response::new("Not modified: the ETag in `If-None-Match` is current");
    not_modified
        .headers
        .insert("ETag".into(), header_ref("ETag"));
    get.responses
        .responses
        .insert("304".into(), RefOr::T(not_modified));
}

fn components_of(doc: &mut OpenApiDoc) -> &mut Components {
    doc.components.get_or_insert_with(Default::default)
}

/// `Page<T>` is generic, so utoipa copies `T` into every `Page_T`: point `items` at the `T`
/// component instead (adding it when nothing else named it), so generated clients get one
/// class per item type rather than a twin per page.
fn reference_page_items(components: &mut Components) {
    let mut items_of = Vec::new();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") else {
            continue;
        };
        let reference = ArrayItems::RefOrSchema(Box::new(Ref::from_schema_name(item).into()));
        if let ArrayItems::RefOrSchema(inline) = std::mem::replace(&mut items.items, reference) {
            items_of.push((item.to_string(), *inline));
        }
    }
    for (name, inline) in items_of {
        components.schemas.entry(name).or_insert(inline);
    }
}

/// The paths of paged lists (those whose `GET` has a `page` parameter), which answer with
/// `Link`.
pub fn paged_paths(doc: &OpenApiDoc) -> Vec<String> {
    doc.paths
        .paths
        .iter()
        .filter(|(_, item)| item.get.as_ref().is_some_and(is_paged))
        .map(|(path, _)| path.clone())
        .collect()
}

fn is_paged(op: &Operation) -> bool {
    op.parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.name == "page"))
}

/// The bounds of `page` and `per_page`, the same on every paged list, documented in one place.
fn document_paging(op: &mut Operation) {
    for parameter in op.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let maximum = match parameter.name.as_str() {
            "page" => MAX_PAGE,
            "per_page" => MAX_PER_PAGE,
            _ => continue,
        };
        if let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema {
            schema.minimum = Some(1.into());
            schema.maximum = Some(maximum.into());
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
    // Every URL is checked before routing (`middleware::nul_in_uri`, `query_too_long`).
    add("400", "The URL is malformed (a NUL character in the query)");
    add("414", "The query string is longer than 4096 bytes");
    add("500", "The server failed; the cause is in its log");
    add("503", "The database is unreachable");
    op.security = Some(if public {
        Vec::new()
    } else {
        vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]
    });
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
                    ("HEAD", item.get.is_some()),
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
