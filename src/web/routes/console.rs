//! The web console (issue 15): static assets under `console/src/`, embedded at compile time and
//! served at `/` and `/console/…` with a strict Content-Security-Policy. Not API operations, so
//! they stay out of the OpenAPI document; the console itself only calls the public API.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::web::error::ApiError;

/// Only the console's own files; no inline script or style anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $content_type:expr),* $(,)?) => {
        &[$(Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/src/", $name)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = assets![
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "ui.js" => JS,
    "products.js" => JS,
    "companies.js" => JS,
    "sync.js" => JS,
    "unbilled.js" => JS,
    "admin.js" => JS,
    "vendor/htm-preact.mjs" => JS,
    "vendor/LICENSE-htm.txt" => "text/plain; charset=utf-8",
    "vendor/LICENSE-preact.txt" => "text/plain; charset=utf-8",
];

/// `GET /` and `GET /console/{file}` (and `HEAD`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/", web::head().to(index))
        .route("/console/{file:.+}", web::get().to(file))
        .route("/console/{file:.+}", web::head().to(file));
}

async fn index() -> HttpResponse {
    serve(
        ASSETS
            .iter()
            .find(|a| a.name == "index.html")
            .expect("index.html is embedded"),
    )
}

async fn file(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == name.as_str() && a.name != "index.html")
        .map(serve)
        .ok_or_else(|| ApiError::NotFound(format!("There is no resource at {}.", req.path())))
}

fn serve(asset: &Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Embedded in the binary: a new build brings new files, so always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}
