//! The security applications usage is counted for (seeded by migration, custom ones added by
//! admins). Enumerations are stored as their names, match rules as JSON; [`SecurityApplication`] is the
//! typed form the rest of the server uses.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

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
    solution: String,
    licensing_model: String,
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
    solution: String,
    licensing_model: String,
    retired: bool,
}

impl TryFrom<ApplicationSummaryRow> for ApplicationSummary {
    type Error = diesel::result::Error;

    fn try_from(row: ApplicationSummaryRow) -> QueryResult<Self> {
        Ok(ApplicationSummary {
            solution: from_text(&row.solution)?,
            licensing_model: from_text(&row.licensing_model)?,
            id: row.id,
            name: row.name,
            retired: row.retired,
        })
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

/// Enumerations are stored as their serde name (`per_device`).
fn to_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => unreachable!("stored enumerations serialise as strings"),
    }
}

fn from_text<T: DeserializeOwned>(text: &str) -> QueryResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

impl TryFrom<SecurityApplicationRow> for SecurityApplication {
    type Error = diesel::result::Error;

    fn try_from(row: SecurityApplicationRow) -> QueryResult<Self> {
        Ok(SecurityApplication {
            solution: from_text(&row.solution)?,
            licensing_model: from_text(&row.licensing_model)?,
            match_rules: row.match_rules_json.into_inner(),
            folds_into: row.folds_into,
            id: row.id,
            name: row.name,
            custom: row.custom,
            retired: row.retired,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

impl From<&SecurityApplication> for SecurityApplicationRow {
    fn from(app: &SecurityApplication) -> Self {
        SecurityApplicationRow {
            id: app.id.clone(),
            name: app.name.clone(),
            solution: to_text(&app.solution),
            licensing_model: to_text(&app.licensing_model),
            match_rules_json: JsonText(app.match_rules.clone()),
            custom: app.custom,
            retired: app.retired,
            created_at: app.created_at,
            updated_at: app.updated_at,
            folds_into: app.folds_into.clone(),
        }
    }
}

fn typed(rows: Vec<SecurityApplicationRow>) -> QueryResult<Vec<SecurityApplication>> {
    rows.into_iter()
        .map(SecurityApplication::try_from)
        .collect()
}

/// Every application (of one solution, if given), ordered by solution and name.
pub fn list(
    conn: &mut DbConnection,
    solution: Option<Solution>,
) -> QueryResult<Vec<SecurityApplication>> {
    let mut query = security_applications::table.into_boxed();
    if let Some(solution) = solution {
        query = query.filter(security_applications::solution.eq(to_text(&solution)));
    }
    let rows = query
        .order((
            security_applications::solution.asc(),
            security_applications::name.asc(),
            security_applications::id.asc(),
        ))
        .select(SecurityApplicationRow::as_select())
        .load(conn)?;
    typed(rows)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SecurityApplication>> {
    security_applications::table
        .find(id)
        .select(SecurityApplicationRow::as_select())
        .first(conn)
        .optional()?
        .map(SecurityApplication::try_from)
        .transpose()
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
