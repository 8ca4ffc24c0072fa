//! The web console (issue 15): static assets under `console/src/`, embedded at compile time and
//! served at `/` and `/console/…` with a strict Content-Security-Policy. Not API operations, so
//! they stay out of the OpenAPI document; the console itself only calls the public API.
//!
//! Cheap to load (issue 24): every file is served gzip-compressed to a browser that accepts it,
//! with a strong `ETag` (a revalidation is a 304). The page loads its files under a path that
//! names the build's content hash, `/console/<version>/app.js`, cached for a year as
//! `immutable`; only `/` itself is revalidated on each load. The relative imports between the
//! modules keep them under the same version. `/console/<file>` without a version still works
//! (revalidated on each use).

use std::io::Write;
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::web::error::ApiError;

/// Only the console's own files; no inline script or style anywhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A versioned file never changes: a year, and no revalidation.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One embedded file: its name under `console/src/`, type and bytes.
struct Source {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! sources {
    ($($name:literal => $content_type:expr),* $(,)?) => {
        &[$(Source {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/src/", $name)),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static SOURCES: &[Source] = sources![
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "ui.js" => JS,
    "home.js" => JS,
    "products.js" => JS,
    "companies.js" => JS,
    "sync.js" => JS,
    "unbilled.js" => JS,
    "settings.js" => JS,
    "audit.js" => JS,
    "account.js" => JS,
    "admin.js" => JS,
    "billing_profiles.js" => JS,
    "company_terms.js" => JS,
    "reconciliation.js" => JS,
    "notifications.js" => JS,
    "vendor/htm-preact.mjs" => JS,
    "vendor/LICENSE-htm.txt" => "text/plain; charset=utf-8",
    "vendor/LICENSE-preact.txt" => "text/plain; charset=utf-8",
];

/// A file as served: plain and gzip-compressed, with the ETag of each.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    etag: String,
    /// None when compressing would not make it smaller.
    gzip: Option<(Vec<u8>, String)>,
}

/// Every file of one build of the console, and the version naming them.
struct Console {
    /// The first 12 hex digits of a hash over every file: `/console/<version>/…`.
    version: String,
    assets: Vec<Asset>,
}

impl Console {
    fn build(read: impl Fn(&Source) -> Vec<u8>) -> Console {
        let mut whole = Sha256::new();
        let mut assets: Vec<Asset> = SOURCES
            .iter()
            .map(|source| {
                let body = read(source);
                whole.update(source.name.as_bytes());
                whole.update([0]);
                whole.update(&body);
                Asset {
                    name: source.name,
                    content_type: source.content_type,
                    etag: String::new(),
                    gzip: None,
                    body,
                }
            })
            .collect();
        let version = hex(&whole.finalize())[..12].to_string();
        for asset in &mut assets {
            if asset.name == "index.html" {
                // The page names its files under this build's version.
                let page = String::from_utf8_lossy(&asset.body)
                    .replace("\"/console/", &format!("\"/console/{version}/"));
                asset.body = page.into_bytes();
            }
            let tag = hex(&Sha256::digest(&asset.body))[..20].to_string();
            asset.etag = format!("\"{tag}\"");
            let gzip = gzip(&asset.body);
            if gzip.len() < asset.body.len() {
                asset.gzip = Some((gzip, format!("\"{tag}-gz\"")));
            }
        }
        Console { version, assets }
    }

    fn find(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.name == name)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

static EMBEDDED: LazyLock<Arc<Console>> =
    LazyLock::new(|| Arc::new(Console::build(|source| source.body.to_vec())));

/// The console as served. A debug build reads the files from `BRIDGE_CONSOLE_DIR` on every
/// request when it is set (work on the console without rebuilding the server); a release build
/// only ever serves the embedded files.
fn console() -> Arc<Console> {
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os("BRIDGE_CONSOLE_DIR") {
        let dir = std::path::PathBuf::from(dir);
        return Arc::new(Console::build(|source| {
            std::fs::read(dir.join(source.name)).unwrap_or_else(|_| source.body.to_vec())
        }));
    }
    EMBEDDED.clone()
}

/// `GET /` and `GET /console/{file}` (and `HEAD`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/", web::head().to(index))
        .route("/console/{file:.+}", web::get().to(file))
        .route("/console/{file:.+}", web::head().to(file));
}

async fn index(req: HttpRequest) -> HttpResponse {
    let console = console();
    let page = console.find("index.html").expect("index.html is embedded");
    serve(&req, page, "no-cache")
}

async fn file(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let console = console();
    let path = path.into_inner();
    let (asset, cache) = match path.split_once('/') {
        Some((version, name)) if version == console.version => (console.find(name), IMMUTABLE),
        // Another build's file: this server does not have it.
        Some((version, _)) if is_version(version) => (None, ""),
        _ => (console.find(&path), "no-cache"),
    };
    asset
        .filter(|a| a.name != "index.html")
        .map(|a| serve(&req, a, cache))
        .ok_or_else(|| ApiError::NotFound(format!("There is no resource at {}.", req.path())))
}

fn is_version(segment: &str) -> bool {
    segment.len() == 12 && segment.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether the request accepts gzip (`Accept-Encoding`, a `q=0` refuses it).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Whether `If-None-Match` names one of the asset's tags (or `*`).
fn not_modified(req: &HttpRequest, asset: &Asset) -> bool {
    let tags: Vec<&str> = std::iter::once(asset.etag.as_str())
        .chain(asset.gzip.as_ref().map(|(_, tag)| tag.as_str()))
        .collect();
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || tags.contains(&t))
}

fn serve(req: &HttpRequest, asset: &Asset, cache: &'static str) -> HttpResponse {
    let compressed = asset.gzip.as_ref().filter(|_| accepts_gzip(req));
    let etag = compressed.map_or(asset.etag.as_str(), |(_, tag)| tag.as_str());
    let fresh = not_modified(req, asset);
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((
            header::ETAG,
            HeaderValue::from_str(etag).expect("hex digits"),
        ));
    if fresh {
        return response.finish();
    }
    response.content_type(asset.content_type);
    match compressed {
        Some((body, _)) => response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(body.clone()),
        None => response.body(asset.body.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_page_names_its_files_under_the_version() {
        let console = Console::build(|source| source.body.to_vec());
        let page = String::from_utf8(console.find("index.html").unwrap().body.clone()).unwrap();
        let script = format!("src=\"/console/{}/app.js\"", console.version);
        assert!(page.contains(&script), "{page}");
        assert!(is_version(&console.version));
    }

    #[test]
    fn gzip_is_chosen_by_accept_encoding() {
        let accepts = |value: &str| {
            accepts_gzip(
                &TestRequest::default()
                    .insert_header((header::ACCEPT_ENCODING, value))
                    .to_http_request(),
            )
        };
        assert!(accepts("gzip, deflate, br"));
        assert!(accepts("br;q=1.0, gzip;q=0.8"));
        assert!(accepts("*"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("br, identity"));
        assert!(!accepts_gzip(&TestRequest::default().to_http_request()));
    }
}
