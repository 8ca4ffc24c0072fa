//! Every `text_enum!` as a column value, on both backends: rows hold the enum itself and the
//! stored name is read and written here, the one codec for all of them.
//!
//! A stored name no value has is a decode error of its row (a server fault, as for an
//! unreadable `JsonText`), never a default shown as if it were the data. That is also the one
//! policy for an unreadable stored role: whoever holds it can neither log in nor act, and no
//! list shows it as some other role.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::text_enum::TextEnum;

/// The value a stored name stands for.
pub fn decode<T: TextEnum, DB>(bytes: DB::RawValue<'_>) -> deserialize::Result<T>
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    let text = String::from_sql(bytes)?;
    T::parse(&text).ok_or_else(|| format!("stored {} {text:?} is unknown", T::NAME).into())
}

/// Writes the stored name of `value`.
pub fn encode<'b, T: TextEnum, DB>(value: T, out: &mut Output<'b, '_, DB>) -> serialize::Result
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    value.as_str().to_sql(out)
}

/// Makes each listed `text_enum!` a `Text` column value (`FromSql`, `ToSql`, `AsExpression`,
/// `FromSqlRow`); the impls live here so the domain stays free of diesel.
macro_rules! text_columns {
    ($($ty:ty),+ $(,)?) => {$(
        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                decode(bytes)
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                encode(*self, out)
            }
        }

        // diesel's derives, pointed at the enum itself (`foreign_derive`): the struct is only
        // their carrier.
        const _: () = {
            #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
            #[diesel(foreign_derive)]
            #[diesel(sql_type = Text)]
            #[allow(dead_code)]
            struct Column($ty);
        };
    )+};
}

text_columns!(
    crate::domain::role::Role,
    crate::domain::outcome::Trigger,
    crate::domain::outcome::RunStatus,
    crate::domain::outcome::Outcome,
    crate::domain::plan_lines::PlanAction,
    crate::domain::model::Solution,
    crate::domain::model::LicensingModel,
    super::usage_snapshots::SnapshotSource,
    super::usage_snapshots::SnapshotStatus,
);

#[cfg(test)]
mod tests {
    use diesel::dsl::sql;
    use diesel::{Connection, IntoSql, RunQueryDsl, SqliteConnection};

    use super::*;
    use crate::domain::role::Role;

    #[test]
    fn a_name_reads_and_writes_as_its_value_and_an_unknown_one_is_an_error() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let read = |conn: &mut SqliteConnection, stored: &str| {
            diesel::select(sql::<Text>(&format!("'{stored}'"))).get_result::<Role>(conn)
        };
        assert_eq!(read(&mut conn, "operator").unwrap(), Role::Operator);
        let err = format!("{:?}", read(&mut conn, "root").unwrap_err());
        assert!(err.contains(r#"stored Role \"root\" is unknown"#), "{err}");
        let written: String = diesel::select(Role::Admin.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(written, "admin");
    }
}
