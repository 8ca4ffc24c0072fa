//! HTTP surface of the fake: auth, faults and counters around ConnectWise's routes.

use std::sync::Arc;

use actix_web::body::{BodyStream, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::future::Either;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::conditions;
use super::route;
use super::store::{invalid, not_found, Collection, Rejection};
use super::{Fault, Shared};
use crate::adapters::connectwise::{ApiErrorBody, PatchOperation};

const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;

pub(super) fn app(
    shared: Arc<Shared>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let api = web::scope(&shared.api_prefix())
        .route(route::SYSTEM_INFO, web::get().to(system_info))
        .route(route::CATALOG, web::get().to(list_catalog))
        .route(route::COMPANIES, web::get().to(list_companies))
        .route(route::AGREEMENTS, web::get().to(list_agreements))
        .route(route::ADDITIONS, web::get().to(list_additions))
        .route(route::ADDITIONS, web::post().to(create_addition))
        .route(route::ADDITION, web::get().to(get_addition))
        .route(route::ADDITION, web::patch().to(patch_addition))
        .route(route::ADDITION, web::put().to(put_addition))
        .route(route::ADDITION, web::delete().to(delete_addition))
        .configure(super::service_desk::routes);
    App::new()
        .app_data(web::Data::from(shared))
        .route(route::COMPANY_INFO, web::get().to(company_info))
        .service(api)
        .default_service(web::to(|| async {
            error_response(404, "NotFound", "The requested resource was not found.")
        }))
        .wrap_fn(intercept)
}

/// Counts, delays, authenticates and disturbs every request before the route sees it.
fn intercept<S>(
    req: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let shared = req
        .app_data::<web::Data<Shared>>()
        .expect("registered in app()")
        .clone()
        .into_inner();
    let prefix = shared.api_prefix();
    let pattern = req.match_pattern().unwrap_or_else(|| req.path().to_owned());
    let route = pattern.strip_prefix(&prefix).unwrap_or(&pattern).to_owned();
    let is_api = pattern.starts_with(&prefix);
    let method = req.method().as_str().to_owned();

    let (latency, fault) = {
        let mut state = shared.lock();
        *state
            .calls
            .entry((method.clone(), route.clone()))
            .or_default() += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let fault = state
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && f.method == method && f.route == route)
            .map(|f| {
                f.remaining -= 1;
                f.fault
            });
        (state.latency, fault)
    };
    let refusal = if is_api {
        check_credentials(&shared, req.request())
    } else {
        None
    };
    let early = match (fault, refusal) {
        (
            Some(Fault::Status {
                status,
                retry_after,
            }),
            _,
        ) => {
            let mut response = error_response(status, "Fault", "Injected fault.");
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            Some(response)
        }
        (Some(Fault::DropBeforeProcessing), _) => Some(dropped_connection()),
        (Some(Fault::EchoCredentials { status }), _) => Some(echo_credentials(
            status,
            req.request(),
            &shared.options.private_key,
        )),
        (_, Some(refusal)) => Some(refusal),
        _ => None,
    };
    let handling = match early {
        Some(response) => Either::Left(req.into_response(response)),
        None => Either::Right(service.call(req)),
    };
    let in_flight = InFlight(shared);
    // The answer leaves `latency` after the request arrived; the work counts towards it.
    let answer_at = std::time::Instant::now() + latency;
    async move {
        // Moved into the future, so it is dropped with it.
        let _counted = in_flight;
        match handling {
            Either::Left(response) => {
                crate::cli::sandbox::latency::wait_until(answer_at).await;
                Ok(response)
            }
            Either::Right(call) => {
                let answer = call.await;
                crate::cli::sandbox::latency::wait_until(answer_at).await;
                if let Some(Fault::SlowAnswer(delay)) = fault {
                    actix_web::rt::time::sleep(delay).await;
                }
                answer
            }
            .map(|response| {
                if fault == Some(Fault::ApplyThenDrop) {
                    response.map_body(|_, _| dropped_connection().into_body())
                } else {
                    response
                }
            }),
        }
    }
}

/// Counts a request out when its handling ends, also when the client went away first.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

/// A response whose body fails at once, so the server cuts the connection instead of answering.
fn dropped_connection() -> HttpResponse {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other(
            "connection dropped by an injected fault",
        ))
    });
    HttpResponse::Ok().body(BodyStream::new(failing).boxed())
}

fn check_credentials(shared: &Shared, req: &HttpRequest) -> Option<HttpResponse> {
    let options = &shared.options;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}+{}:{}",
            options.company_id, options.public_key, options.private_key
        ))
    );
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header(header::AUTHORIZATION.as_str()) != Some(expected.as_str()) {
        return Some(error_response(
            401,
            "Unauthorized",
            "Invalid credentials: check the company id, public key and private key.",
        ));
    }
    if !header("clientId").is_some_and(|id| id.eq_ignore_ascii_case(&options.client_id)) {
        return Some(error_response(
            403,
            "Forbidden",
            "A valid clientId header is required. See developer.connectwise.com for a clientId.",
        ));
    }
    None
}

fn echo_credentials(status: u16, req: &HttpRequest, private_key: &str) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    rejection_response((
        status,
        ApiErrorBody {
            code: Some("InvalidObject".into()),
            message: Some(format!(
                "Request rejected. Authorization: {}; clientId: {}; {}",
                header("authorization"),
                header("clientid"),
                "x".repeat(2000)
            )),
            errors: vec![crate::adapters::connectwise::ApiFieldError {
                code: Some("InvalidField".into()),
                message: Some(format!("private key {private_key} is not accepted here")),
                resource: Some("addition".into()),
                field: Some("password=hunter2".into()),
            }],
        },
    ))
}

pub(super) fn error_response(status: u16, code: &str, message: &str) -> HttpResponse {
    rejection_response((
        status,
        ApiErrorBody {
            code: Some(code.into()),
            message: Some(message.into()),
            errors: Vec::new(),
        },
    ))
}

pub(super) fn rejection_response((status, body): Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(body)
}

pub(super) fn reply(result: Result<Value, Rejection>, success: StatusCode) -> HttpResponse {
    match result {
        Ok(record) => HttpResponse::build(success).json(record),
        Err(rejection) => rejection_response(rejection),
    }
}

async fn company_info(shared: web::Data<Shared>, path: web::Path<String>) -> HttpResponse {
    let options = &shared.options;
    if !path.eq_ignore_ascii_case(&options.company_id) {
        return error_response(404, "NotFound", "Company not found.");
    }
    HttpResponse::Ok().json(json!({
        "CompanyName": options.company_name,
        "Codebase": options.codebase,
        "VersionCode": options.version.split('.').take(2).collect::<Vec<_>>().join("."),
        "VersionNumber": options.version,
        "CompanyID": options.company_id,
        "IsCloud": false,
        "SiteUrl": null,
        "AllowAutoSso": false,
    }))
}

async fn system_info(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": shared.options.version,
        "isCloud": false,
        "serverTimeZone": "Eastern Standard Time",
        "cloudRegion": "NA",
        "licenseBits": [],
    }))
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    conditions: Option<String>,
    page: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
}

async fn list_catalog(
    req: HttpRequest,
    q: web::Query<ListQuery>,
    s: web::Data<Shared>,
) -> HttpResponse {
    list(&req, &q, &s, Collection::Catalog, None)
}

async fn list_companies(
    req: HttpRequest,
    q: web::Query<ListQuery>,
    s: web::Data<Shared>,
) -> HttpResponse {
    list(&req, &q, &s, Collection::Companies, None)
}

async fn list_agreements(
    req: HttpRequest,
    q: web::Query<ListQuery>,
    s: web::Data<Shared>,
) -> HttpResponse {
    list(&req, &q, &s, Collection::Agreements, None)
}

async fn list_additions(
    req: HttpRequest,
    q: web::Query<ListQuery>,
    s: web::Data<Shared>,
    path: web::Path<i64>,
) -> HttpResponse {
    let agreement_id = path.into_inner();
    if s.lock()
        .store
        .get(Collection::Agreements, agreement_id)
        .is_none()
    {
        return rejection_response(not_found("Agreement", agreement_id));
    }
    list(&req, &q, &s, Collection::Additions, Some(agreement_id))
}

/// Filters by `conditions`, then pages by id like ConnectWise, with `Link` headers.
fn list(
    req: &HttpRequest,
    query: &ListQuery,
    shared: &Shared,
    collection: Collection,
    agreement_id: Option<i64>,
) -> HttpResponse {
    list_of(req, query, shared, |store| match agreement_id {
        Some(id) => Box::new(store.additions_of(id)),
        None => Box::new(store.records(collection)),
    })
}

/// [`list`] over the records `of` the store yields (a collection, or the children of one record).
pub(super) fn list_of(
    req: &HttpRequest,
    query: &ListQuery,
    shared: &Shared,
    of: impl for<'a> Fn(&'a super::store::Store) -> Box<dyn Iterator<Item = &'a Value> + 'a>,
) -> HttpResponse {
    let bad_request = |message: String| error_response(400, "InvalidObject", &message);
    let number = |raw: &Option<String>, default: usize, name: &str| match raw {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} must be a positive integer")),
    };
    let (page, page_size) = match (
        number(&query.page, 1, "page"),
        number(&query.page_size, DEFAULT_PAGE_SIZE, "pageSize"),
    ) {
        (Ok(page), Ok(size)) => (page, size.min(MAX_PAGE_SIZE)),
        (Err(message), _) | (_, Err(message)) => return bad_request(message),
    };
    let filter = match query
        .conditions
        .as_deref()
        .map(conditions::parse)
        .transpose()
    {
        Ok(filter) => filter,
        Err(message) => return bad_request(message),
    };
    let matching: Result<Vec<Value>, String> = {
        let state = shared.lock();
        of(&state.store)
            .filter_map(|record| match &filter {
                None => Some(Ok(record.clone())),
                Some(filter) => match filter.matches(record) {
                    Ok(true) => Some(Ok(record.clone())),
                    Ok(false) => None,
                    Err(message) => Some(Err(message)),
                },
            })
            .collect()
    };
    let matching = match matching {
        Ok(records) => records,
        Err(message) => return bad_request(message),
    };
    let last_page = matching.len().div_ceil(page_size).max(1);
    let items: Vec<&Value> = matching
        .iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .collect();
    let mut response = HttpResponse::Ok();
    if let Some(link) = link_header(req, page, last_page) {
        response.insert_header((header::LINK, link));
    }
    response.json(items)
}

/// ConnectWise's `Link`: first/prev on later pages, next/last on earlier ones, `page` last in the URL.
fn link_header(req: &HttpRequest, page: usize, last_page: usize) -> Option<String> {
    let info = req.connection_info();
    let base = Url::parse(&format!(
        "{}://{}{}",
        info.scheme(),
        info.host(),
        req.path()
    ))
    .ok()?;
    let url_for = |target: usize| {
        let mut url = base.clone();
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
                if !key.eq_ignore_ascii_case("page") {
                    pairs.append_pair(&key, &value);
                }
            }
            pairs.append_pair("page", &target.to_string());
        }
        url
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url_for(1)));
        links.push(format!("<{}>; rel=\"prev\"", url_for(page - 1)));
    }
    if page < last_page {
        links.push(format!("<{}>; rel=\"next\"", url_for(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url_for(last_page)));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

pub(super) fn json_body(body: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(body).map_err(|e| {
        let mut rejection = invalid("request", Vec::new());
        rejection.1.message = Some(format!("The request body is not valid JSON: {e}"));
        rejection
    })
}

/// Runs a write against the store, counting it when it was applied.
pub(super) fn write(
    shared: &Shared,
    apply: impl FnOnce(&mut super::store::Store) -> Result<Value, Rejection>,
) -> Result<Value, Rejection> {
    let mut state = shared.lock();
    let result = apply(&mut state.store);
    if result.is_ok() {
        state.writes += 1;
    }
    result
}

async fn get_addition(s: web::Data<Shared>, path: web::Path<(i64, i64)>) -> HttpResponse {
    let (agreement_id, addition_id) = path.into_inner();
    let found = s
        .lock()
        .store
        .agreement_addition(agreement_id, addition_id)
        .cloned();
    reply(found, StatusCode::OK)
}

async fn create_addition(s: web::Data<Shared>, path: web::Path<i64>, body: Bytes) -> HttpResponse {
    let agreement_id = path.into_inner();
    let result = json_body(&body)
        .and_then(|body| write(&s, |store| store.create_addition(agreement_id, body)));
    reply(result, StatusCode::CREATED)
}

async fn put_addition(
    s: web::Data<Shared>,
    path: web::Path<(i64, i64)>,
    body: Bytes,
) -> HttpResponse {
    let (agreement_id, addition_id) = path.into_inner();
    let result = json_body(&body).and_then(|body| {
        write(&s, |store| {
            store.replace_addition(agreement_id, addition_id, body)
        })
    });
    reply(result, StatusCode::OK)
}

async fn patch_addition(
    s: web::Data<Shared>,
    path: web::Path<(i64, i64)>,
    body: Bytes,
) -> HttpResponse {
    let (agreement_id, addition_id) = path.into_inner();
    let operations = json_body(&body).and_then(|_| {
        serde_json::from_slice::<Vec<PatchOperation>>(&body).map_err(|e| {
            let mut rejection = invalid("patch", Vec::new());
            rejection.1.message = Some(format!("Expected a JSON-Patch array: {e}"));
            rejection
        })
    });
    let result = operations.and_then(|ops| {
        write(&s, |store| {
            store.patch_addition(agreement_id, addition_id, &ops)
        })
    });
    reply(result, StatusCode::OK)
}

async fn delete_addition(s: web::Data<Shared>, path: web::Path<(i64, i64)>) -> HttpResponse {
    let (agreement_id, addition_id) = path.into_inner();
    let result = write(&s, |store| {
        store.agreement_addition(agreement_id, addition_id)?;
        store
            .remove(Collection::Additions, addition_id)
            .ok_or_else(|| not_found("Addition", addition_id))
    });
    match result {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(rejection) => rejection_response(rejection),
    }
}
