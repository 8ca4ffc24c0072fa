//! Lists that grow without bound, read a page at a time.

use diesel::QueryResult;

use crate::adapters::db::{self, DbConnection};
use crate::runtime::state::Core;
use crate::services::ServiceError;

/// Which rows of a list to read.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub offset: i64,
    pub limit: i64,
}

/// One page of rows, and how many rows the whole list has.
pub struct Rows<R> {
    pub rows: Vec<R>,
    pub total: i64,
}

/// Reads one page with `list(conn, offset, limit)`, which answers the rows and the total.
pub async fn page<R, F>(ctx: &Core, page: PageRequest, list: F) -> Result<Rows<R>, ServiceError>
where
    F: FnOnce(&mut DbConnection, i64, i64) -> QueryResult<(Vec<R>, i64)> + Send + 'static,
    R: Send + 'static,
{
    let (rows, total) = db::run(&ctx.pool, move |conn| {
        Ok::<_, ServiceError>(list(conn, page.offset, page.limit)?)
    })
    .await?;
    Ok(Rows { rows, total })
}
