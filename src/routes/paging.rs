//! Pagination of lists that grow without bound: `page` (from 1) and `per_page`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{self, DbConnection, DbPool};
use crate::error::ApiError;

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;

/// The query of a plain paged list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Items per page, 1 to 500 (default 50).
    pub per_page: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Paging, ApiError> {
        let mut errors = Vec::new();
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 {
            errors.push(crate::error::FieldError::new("page", "must be at least 1"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            errors.push(crate::error::FieldError::new(
                "per_page",
                format!("must be from 1 to {MAX_PER_PAGE}"),
            ));
        }
        if errors.is_empty() {
            Ok(Paging { page, per_page })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// Reads this page with `list(conn, offset, limit)`, which answers the rows and the total,
    /// and shows each row as its view.
    pub async fn fetch<R, V, F>(self, pool: &DbPool, list: F) -> Result<Page<V>, ApiError>
    where
        F: FnOnce(&mut DbConnection, i64, i64) -> diesel::QueryResult<(Vec<R>, i64)>
            + Send
            + 'static,
        R: Send + 'static,
        V: From<R>,
    {
        let (offset, limit) = (self.offset(), self.limit());
        let (rows, total) = db::run(pool, move |conn| {
            Ok::<_, ApiError>(list(conn, offset, limit)?)
        })
        .await?;
        Ok(self.wrap(rows.into_iter().map(V::from).collect(), total))
    }

    /// This page of a list held whole in memory.
    pub fn slice<T>(&self, all: impl ExactSizeIterator<Item = T>) -> Page<T> {
        let total = all.len() as i64;
        let items = all
            .skip(self.offset() as usize)
            .take(self.limit() as usize)
            .collect();
        self.wrap(items, total)
    }

    pub fn wrap<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            page: self.page,
            per_page: self.per_page,
            total,
        }
    }
}

/// One page of a list, with the total number of items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}
