//! What every route of the fake answers with: ConnectWise's error bodies, JSON records, paged
//! and filtered lists with `Link` headers, and writes that count.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::conditions;
use super::store::{invalid, Rejection, Store};
use super::Shared;
use crate::adapters::connectwise::ApiErrorBody;

const DEFAULT_PAGE_SIZE: usize = 25;
const MAX_PAGE_SIZE: usize = 1000;

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

#[derive(Deserialize)]
pub(super) struct ListQuery {
    conditions: Option<String>,
    page: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<String>,
}

/// Lists the records `of` the store yields (a collection, or the children of one record) (a collection, or the children of one record).
pub(super) fn list_of(
    req: &HttpRequest,
    query: &ListQuery,
    shared: &Shared,
    of: impl for<'a> Fn(&'a Store) -> Box<dyn Iterator<Item = &'a Value> + 'a>,
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
    apply: impl FnOnce(&mut Store) -> Result<Value, Rejection>,
) -> Result<Value, Rejection> {
    let mut state = shared.lock();
    let result = apply(&mut state.store);
    if result.is_ok() {
        state.writes += 1;
    }
    result
}
