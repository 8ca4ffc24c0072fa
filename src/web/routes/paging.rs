//! Pagination of lists that grow without bound: `page` (from 1) and `per_page`.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::services::listing::{PageRequest, Rows};
use crate::web::error::{ApiError, FieldError};

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 500;
/// The largest page number: what a 32-bit signed integer holds, as the schema's `int32` says.
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// The query of a plain paged list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(value_type = Option<u32>, default = 1)]
    pub page: Option<QueryNumber>,
    /// Items per page, 1 to 500.
    #[param(value_type = Option<u32>, default = 50)]
    pub per_page: Option<QueryNumber>,
}

/// A whole number from the query string, read leniently: `page=abc` is a 422 naming `page`
/// beside the range checks, like `page=0`, not a 400 about the whole query.
#[derive(Debug, Clone, Copy)]
pub struct QueryNumber(Option<u64>);

impl<'de> Deserialize<'de> for QueryNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(QueryNumber(text.parse().ok()))
    }
}

/// `value` within `range`, or the problem with `name`.
fn bounded(
    name: &str,
    value: Option<QueryNumber>,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
    errors: &mut Vec<FieldError>,
) -> u32 {
    let Some(QueryNumber(value)) = value else {
        return default;
    };
    match value.and_then(|v| u32::try_from(v).ok()) {
        Some(v) if range.contains(&v) => v,
        _ => {
            errors.push(FieldError::new(
                name,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
            default
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(
        page: Option<QueryNumber>,
        per_page: Option<QueryNumber>,
    ) -> Result<Paging, ApiError> {
        let mut errors = Vec::new();
        let page = bounded("page", page, 1, 1..=MAX_PAGE, &mut errors);
        let per_page = bounded(
            "per_page",
            per_page,
            DEFAULT_PER_PAGE,
            1..=MAX_PER_PAGE,
            &mut errors,
        );
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

    /// The rows this page asks for.
    pub fn request(&self) -> PageRequest {
        PageRequest {
            offset: self.offset(),
            limit: self.limit(),
        }
    }

    /// The page of the rows read for it, each shown as its view.
    pub fn of<R, V: From<R>>(&self, rows: Rows<R>) -> Page<V> {
        self.wrap(rows.rows.into_iter().map(V::from).collect(), rows.total)
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
