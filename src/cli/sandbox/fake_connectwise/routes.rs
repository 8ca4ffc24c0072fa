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
use serde_json::json;

use super::http::{
    error_response, json_body, list_of, rejection_response, reply, write, ListQuery,
};
use super::route;
use super::store::{invalid, not_found, Collection};
use super::{Fault, Shared};
use crate::adapters::connectwise::{ApiErrorBody, PatchOperation};

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
