//! The security applications usage is counted for (seeded by migration, custom ones added by
//! admins). Enumerations are stored as their names, match rules as JSON; [`SecurityApplication`] is the
//! typed form the rest of the server uses.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::json_text::JsonText;
use super::schema::security_applications;
use super::DbConnection;
use crate::domain::desired;
use crate::domain::model::{LicensingModel, MatchRules, Solution};
use crate::domain::usage::ApplicationRules;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = security_applications)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct SecurityApplicationRow {
    id: String,
    name: String,
    solution: Solution,
    licensing_model: LicensingModel,
    match_rules_json: JsonText<MatchRules>,
    custom: bool,
    retired: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    folds_into: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityApplication {
    pub id: String,
    pub name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    pub match_rules: MatchRules,
    /// A licence tier: the application it counted as before tiers were billed on their own.
    pub folds_into: Option<String>,
    pub custom: bool,
    pub retired: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An application as the mapping grid shows it: no match rules to read and parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSummary {
    pub id: String,
    pub name: String,
    pub solution: Solution,
    pub licensing_model: LicensingModel,
    pub retired: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = security_applications)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ApplicationSummaryRow {
    id: String,
    name: String,
    solution: Solution,
    licensing_model: LicensingModel,
    retired: bool,
}

impl From<ApplicationSummaryRow> for ApplicationSummary {
    fn from(row: ApplicationSummaryRow) -> Self {
        ApplicationSummary {
            solution: row.solution,
            licensing_model: row.licensing_model,
            id: row.id,
            name: row.name,
            retired: row.retired,
        }
    }
}

impl SecurityApplication {
    pub fn summary(&self) -> ApplicationSummary {
        ApplicationSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            solution: self.solution,
            licensing_model: self.licensing_model,
            retired: self.retired,
        }
    }

    /// What KSC counting needs to attribute licence keys to this application.
    pub fn application_rules(&self) -> ApplicationRules {
        ApplicationRules {
            id: self.id.clone(),
            licensing: self.licensing_model,
            rules: self.match_rules.clone(),
            folds_into: self.folds_into.clone(),
        }
    }

    /// What the billing rules need.
    pub fn billing(&self) -> desired::SecurityApplication {
        desired::SecurityApplication {
            id: self.id.clone(),
            solution: self.solution,
            licensing_model: self.licensing_model,
            folds_into: self.folds_into.clone(),
        }
    }
}

impl From<SecurityApplicationRow> for SecurityApplication {
    fn from(row: SecurityApplicationRow) -> Self {
        SecurityApplication {
            solution: row.solution,
            licensing_model: row.licensing_model,
            match_rules: row.match_rules_json.into_inner(),
            folds_into: row.folds_into,
            id: row.id,
            name: row.name,
            custom: row.custom,
            retired: row.retired,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&SecurityApplication> for SecurityApplicationRow {
    fn from(app: &SecurityApplication) -> Self {
        SecurityApplicationRow {
            id: app.id.clone(),
            name: app.name.clone(),
            solution: app.solution,
            licensing_model: app.licensing_model,
            match_rules_json: JsonText(app.match_rules.clone()),
            custom: app.custom,
            retired: app.retired,
            created_at: app.created_at,
            updated_at: app.updated_at,
            folds_into: app.folds_into.clone(),
        }
    }
}

/// Every application (of one solution, if given), ordered by solution and name.
pub fn list(
    conn: &mut DbConnection,
    solution: Option<Solution>,
) -> QueryResult<Vec<SecurityApplication>> {
    let mut query = security_applications::table.into_boxed();
    if let Some(solution) = solution {
        query = query.filter(security_applications::solution.eq(solution));
    }
    let rows = query
        .order((
            security_applications::solution.asc(),
            security_applications::name.asc(),
            security_applications::id.asc(),
        ))
        .select(SecurityApplicationRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(SecurityApplication::from).collect())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SecurityApplication>> {
    security_applications::table
        .find(id)
        .select(SecurityApplicationRow::as_select())
        .first(conn)
        .optional()
        .map(|row| row.map(SecurityApplication::from))
}

pub fn insert(conn: &mut DbConnection, app: &SecurityApplication) -> QueryResult<()> {
    diesel::insert_into(security_applications::table)
        .values(SecurityApplicationRow::from(app))
        .execute(conn)
        .map(drop)
}

pub fn update(conn: &mut DbConnection, app: &SecurityApplication) -> QueryResult<()> {
    diesel::update(security_applications::table.find(&app.id))
        .set(SecurityApplicationRow::from(app))
        .execute(conn)
        .map(drop)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(security_applications::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}
