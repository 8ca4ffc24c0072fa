//! `MoneyText`: an exact amount stored as decimal text, on both backends. Never a floating-point
//! column: what is stored is what was read from ConnectWise or given by the MSP, digit for digit.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use rust_decimal::Decimal;
use std::io::Write;

use super::MultiBackend;
use crate::domain::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct MoneyText(pub Money);

impl<DB> FromSql<Text, DB> for MoneyText
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        // Older rows hold what the database printed of a number (`5.0`, `19.99`, `1E-5`).
        let value = Decimal::from_str_exact(&text)
            .or_else(|_| Decimal::from_scientific(&text))
            .map_err(|e| format!("stored amount {text:?}: {e}"))?;
        Ok(MoneyText(Money::new(value)))
    }
}

impl ToSql<Text, Pg> for MoneyText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        write!(out, "{}", self.0.decimal())?;
        Ok(IsNull::No)
    }
}

impl ToSql<Text, MultiBackend> for MoneyText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Sqlite> for MoneyText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.decimal().to_string());
        Ok(IsNull::No)
    }
}
