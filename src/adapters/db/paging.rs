//! Pages with their total in one query: `COUNT(*) OVER ()` beside each row, instead of a
//! `COUNT(*)` round trip before every page.

use diesel::backend::Backend;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::QueryResult;

/// `COUNT(*) OVER ()`: how many rows the query matches before `OFFSET`/`LIMIT`, on every row.
/// A static query id, so the statement stays in the prepared-statement cache.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct TotalRows;

impl Expression for TotalRows {
    type SqlType = BigInt;
}

impl<DB: Backend> QueryFragment<DB> for TotalRows {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("COUNT(*) OVER ()");
        Ok(())
    }
}

impl<QS> AppearsOnTable<QS> for TotalRows {}

impl<QS> SelectableExpression<QS> for TotalRows {}

impl ValidGrouping<()> for TotalRows {
    type IsAggregate = is_aggregate::No;
}

/// Splits rows selected with [`TotalRows`] into the page and the total. An empty page past the
/// first carries no total, so only then is `count` asked.
pub fn page_and_total<T>(
    rows: Vec<(T, i64)>,
    offset: i64,
    count: impl FnOnce() -> QueryResult<i64>,
) -> QueryResult<(Vec<T>, i64)> {
    let total = match rows.first() {
        Some((_, total)) => *total,
        None if offset == 0 => 0,
        None => count()?,
    };
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

#[cfg(test)]
mod tests {
    use super::page_and_total;

    #[test]
    fn the_total_comes_from_the_rows_and_is_counted_only_past_the_end() {
        let never = || -> diesel::QueryResult<i64> { panic!("no count needed") };
        type Case = (
            Vec<(&'static str, i64)>,
            i64,
            Option<i64>,
            (Vec<&'static str>, i64),
        );
        let cases: [Case; 4] = [
            (vec![("a", 3), ("b", 3)], 0, None, (vec!["a", "b"], 3)),
            (vec![("c", 3)], 2, None, (vec!["c"], 3)),
            (vec![], 0, None, (vec![], 0)),
            (vec![], 50, Some(7), (vec![], 7)),
        ];
        for (rows, offset, counted, expected) in cases {
            let got = match counted {
                Some(n) => page_and_total(rows, offset, || Ok(n)),
                None => page_and_total(rows, offset, never),
            };
            assert_eq!(got.unwrap(), expected);
        }
    }
}
