//! A company mapping's own terms (DOMAIN.md §7), stored as one JSON document per mapping.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::json_text::JsonText;
use super::schema::company_terms;
use super::DbConnection;
use crate::domain::terms::CompanyTerms;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = company_terms)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CompanyTermsRow {
    pub company_mapping_id: String,
    pub terms_json: JsonText<CompanyTerms>,
    pub updated_at: NaiveDateTime,
}

/// The terms of every company mapping that has any.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<CompanyTermsRow>> {
    company_terms::table
        .order(company_terms::company_mapping_id.asc())
        .select(CompanyTermsRow::as_select())
        .load(conn)
}

/// Every mapping's terms as a map by company mapping id.
pub fn by_mapping(
    conn: &mut DbConnection,
) -> QueryResult<std::collections::HashMap<String, CompanyTerms>> {
    Ok(list(conn)?
        .into_iter()
        .map(|r| (r.company_mapping_id, r.terms_json.0))
        .collect())
}

pub fn find(conn: &mut DbConnection, mapping_id: &str) -> QueryResult<Option<CompanyTermsRow>> {
    company_terms::table
        .find(mapping_id)
        .select(CompanyTermsRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a mapping's terms; terms that say nothing are not kept.
pub fn put(conn: &mut DbConnection, row: &CompanyTermsRow) -> QueryResult<()> {
    diesel::delete(company_terms::table.find(&row.company_mapping_id)).execute(conn)?;
    if row.terms_json.0 != CompanyTerms::default() {
        diesel::insert_into(company_terms::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
