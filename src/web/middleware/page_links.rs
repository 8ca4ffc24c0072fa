//! `Link` on paged lists (RFC 8288): the first, previous, next and last pages, read from the
//! counts of the page the handler rendered.

use std::collections::HashSet;

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// The route patterns of paged lists.
pub struct PagedRoutes(HashSet<String>);

impl PagedRoutes {
    pub fn new(patterns: impl IntoIterator<Item = String>) -> PagedRoutes {
        PagedRoutes(patterns.into_iter().collect())
    }
}

/// `Link` (first, prev, next, last; RFC 8288) beside the JSON of a paged list.
pub async fn with_page_links(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let paged = res
        .request()
        .app_data::<web::Data<PagedRoutes>>()
        .zip(res.request().match_pattern())
        .is_some_and(|(routes, pattern)| routes.0.contains(&pattern));
    if !paged || res.request().method() != Method::GET || res.status() != StatusCode::OK {
        return res;
    }
    let (req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = actix_web::body::to_bytes(body).await else {
        return ServiceResponse::new(req, HttpResponse::InternalServerError().finish());
    };
    let link = serde_json::from_slice::<PageCounts>(&bytes)
        .ok()
        .and_then(|counts| {
            let header = counts.links(req.path(), req.query_string());
            HeaderValue::from_str(&header).ok()
        });
    let mut response = head.set_body(BoxBody::new(bytes));
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    ServiceResponse::new(req, response)
}

/// The counts of a rendered page, read back for its `Link` header.
#[derive(Debug, Deserialize)]
pub struct PageCounts {
    page: u32,
    per_page: u32,
    total: i64,
}

impl PageCounts {
    /// `Link` (RFC 8288) to the first, previous, next and last pages of the list at `path`,
    /// keeping every other parameter of `query`.
    pub fn links(&self, path: &str, query: &str) -> String {
        let per_page = i64::from(self.per_page.max(1));
        let last = ((self.total + per_page - 1) / per_page).max(1);
        let page = i64::from(self.page);
        let others: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && p.split('=').next() != Some("page"))
            .collect();
        let url = |n: i64| {
            let mut params = vec![format!("page={n}")];
            params.extend(others.iter().map(|p| p.to_string()));
            format!("<{path}?{}>", params.join("&"))
        };
        let mut links = vec![format!("{}; rel=\"first\"", url(1))];
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
        }
        if page < last {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
        }
        links.push(format!("{}; rel=\"last\"", url(last)));
        links.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(page: u32, per_page: u32, total: i64) -> PageCounts {
        PageCounts {
            page,
            per_page,
            total,
        }
    }

    #[test]
    fn links_of_a_middle_page_keep_the_other_parameters() {
        assert_eq!(
            counts(2, 10, 25).links("/api/v1/x", "per_page=10&page=2&q=a"),
            "</api/v1/x?page=1&per_page=10&q=a>; rel=\"first\", \
             </api/v1/x?page=1&per_page=10&q=a>; rel=\"prev\", \
             </api/v1/x?page=3&per_page=10&q=a>; rel=\"next\", \
             </api/v1/x?page=3&per_page=10&q=a>; rel=\"last\""
        );
    }

    #[test]
    fn an_empty_list_has_one_page() {
        assert_eq!(
            counts(1, 50, 0).links("/l", ""),
            "</l?page=1>; rel=\"first\", </l?page=1>; rel=\"last\""
        );
    }

    #[test]
    fn a_page_past_the_end_points_back_to_the_last() {
        let links = counts(9, 10, 15).links("/l", "page=9");
        assert!(links.contains("</l?page=2>; rel=\"prev\""), "{links}");
        assert!(!links.contains("next"), "{links}");
    }
}
