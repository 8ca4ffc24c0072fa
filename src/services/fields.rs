//! Reading a JSON body field by field, collecting every problem, so one request with a wrong
//! type here, a missing field there and an unknown field elsewhere gets one 422 listing all
//! three. The HTTP extractors built on it are `routes::input`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::domain::model::{DeviceCategory, LicensingModel, Solution};
use crate::domain::money::Money;
use crate::domain::notices::{ChannelKind, NoticeKind, Severity};
use crate::domain::policies::{CancelDatePolicy, EffectiveDatePolicy};
use crate::domain::role::Role;
use crate::domain::terms::{BillCustomer, Price};
use crate::services::{FieldError, ServiceError};

/// A type a body field may have, named in our words: a value of another type gets
/// "must be <expected>", never the JSON library's message.
pub trait FieldType: serde::de::DeserializeOwned {
    fn expected() -> String;

    /// Whether a value the type holds is also one the schema allows.
    fn in_range(&self) -> bool {
        true
    }
}

macro_rules! field_types {
    ($($ty:ty => $expected:expr),+ $(,)?) => {
        $(impl FieldType for $ty {
            fn expected() -> String {
                $expected.into()
            }
        })+
    };
}

field_types! {
    String => "a string",
    bool => "true or false",
    u8 => "a whole number from 0 to 255",
    i64 => "a whole number",
    Value => "a JSON value",
    Map<String, Value> => "an object",
    DateTime<Utc> => "a date-time with a time zone, e.g. 2026-03-01T08:00:00Z",
    Role => one_of::<Role>(),
    Solution => one_of::<Solution>(),
    LicensingModel => one_of::<LicensingModel>(),
    EffectiveDatePolicy => one_of::<EffectiveDatePolicy>(),
    CancelDatePolicy => one_of::<CancelDatePolicy>(),
    Money => "a decimal amount as a string, e.g. \"19.99\" (at most 4 decimal places)",
    Price => "`catalog` or a decimal amount as a string, e.g. \"24.50\"",
    BillCustomer => one_of::<BillCustomer>(),
    DeviceCategory => one_of::<DeviceCategory>(),
    NoticeKind => one_of::<NoticeKind>(),
    Severity => one_of::<Severity>(),
    ChannelKind => one_of::<ChannelKind>(),
}

/// The schema calls `u32` an `int32`, so that is its range here too.
impl FieldType for u32 {
    fn expected() -> String {
        format!("a whole number from 0 to {}", i32::MAX)
    }

    fn in_range(&self) -> bool {
        i32::try_from(*self).is_ok()
    }
}

impl<T: FieldType> FieldType for Vec<T> {
    fn expected() -> String {
        format!("an array, each item {}", T::expected())
    }
}

/// "one of `a`, `b`": the values of a string enum, from its schema.
fn one_of<T: utoipa::PartialSchema>() -> String {
    use utoipa::openapi::{RefOr, Schema};
    let names: Vec<String> = match T::schema() {
        RefOr::T(Schema::Object(object)) => object
            .enum_values
            .unwrap_or_default()
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    };
    format!("one of {}", names.join(", "))
}

/// Request bodies that validate themselves from a parsed JSON value.
pub trait FromJsonBody: Sized {
    fn from_json(fields: &mut JsonFields) -> Option<Self>;
}

/// A body whose rules also need the database: read leniently, keeping what was read and the
/// problems found, so the handler can add its own and answer with all of them in one 422.
pub struct LenientJson<T> {
    value: T,
    problems: Vec<FieldError>,
}

impl<T> LenientJson<T> {
    pub fn new(value: T, problems: Vec<FieldError>) -> Self {
        LenientJson { value, problems }
    }

    /// What was read, for the checks that need the database.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The body, or one 422 listing the reading problems and `more`.
    pub fn finish(mut self, more: Vec<FieldError>) -> Result<T, ServiceError> {
        self.problems.extend(more);
        if self.problems.is_empty() {
            Ok(self.value)
        } else {
            Err(ServiceError::Validation(self.problems))
        }
    }
}

pub fn parse_body<T: FromJsonBody>(value: Value) -> Result<T, ServiceError> {
    refuse_nul(&value)?;
    let mut fields = JsonFields::new(value)?;
    let parsed = T::from_json(&mut fields);
    fields.finish()?;
    parsed.ok_or_else(|| ServiceError::internal(anyhow::anyhow!("validator returned no value")))
}

/// A 422 for every string and key of `value` that holds NUL, before anything reads it.
pub fn refuse_nul(value: &Value) -> Result<(), ServiceError> {
    let mut with_nul = Vec::new();
    find_nul_characters(value, "", &mut with_nul);
    if with_nul.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Validation(with_nul))
    }
}

/// PostgreSQL cannot store text containing NUL (U+0000), so no string of a body may carry one.
fn find_nul_characters(value: &Value, path: &str, found: &mut Vec<FieldError>) {
    match value {
        Value::String(text) if text.contains('\0') => {
            found.push(FieldError::new(path, "must not contain NUL characters"));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_nul_characters(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                if name.contains('\0') {
                    let at = if path.is_empty() { "body" } else { path };
                    found.push(FieldError::new(
                        at,
                        "must not have keys with NUL characters",
                    ));
                    continue;
                }
                let field = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                find_nul_characters(item, &field, found);
            }
        }
        _ => {}
    }
}

/// `3.0` as `3`: JSON Schema counts a number with a zero fraction as an integer, and so do we.
fn integral(value: Value) -> Value {
    match value.as_f64() {
        Some(f) if value.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
        _ => value,
    }
}

/// Reads the fields of a JSON object, collecting every problem.
pub struct JsonFields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

/// A field that distinguishes "absent" from "explicitly null" (e.g. secrets on `PUT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch<T> {
    Absent,
    Null,
    Value(T),
}

impl JsonFields {
    pub fn new(value: Value) -> Result<JsonFields, ServiceError> {
        match value {
            Value::Object(map) => Ok(JsonFields {
                map,
                errors: Vec::new(),
            }),
            _ => Err(ServiceError::validation("body", "must be a JSON object")),
        }
    }

    fn take<T: FieldType>(&mut self, name: &str) -> Patch<T> {
        match self.map.remove(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(v) => match serde_json::from_value::<T>(integral(v)) {
                Ok(t) if t.in_range() => Patch::Value(t),
                _ => {
                    self.error(name, format!("must be {}", T::expected()));
                    Patch::Absent
                }
            },
        }
    }

    /// A field that must be present and not null.
    pub fn required<T: FieldType>(&mut self, name: &str) -> Option<T> {
        let present = self.map.contains_key(name);
        match self.take(name) {
            Patch::Value(v) => Some(v),
            Patch::Null => {
                self.error(name, "must not be null");
                None
            }
            Patch::Absent => {
                if !present {
                    self.error(name, "is required");
                }
                None
            }
        }
    }

    /// A field that may be absent or null (both mean "not given").
    pub fn optional<T: FieldType>(&mut self, name: &str) -> Option<T> {
        match self.take(name) {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }

    /// A required ConnectWise id: a whole number of at least 1 (the schemas say `minimum: 1`).
    pub fn required_id(&mut self, name: &str) -> Option<i64> {
        let id = self.required::<i64>(name);
        self.check_id(name, id)
    }

    /// An optional ConnectWise id (absent or null: none).
    pub fn optional_id(&mut self, name: &str) -> Option<i64> {
        let id = self.optional::<i64>(name);
        self.check_id(name, id)
    }

    fn check_id(&mut self, name: &str, id: Option<i64>) -> Option<i64> {
        if id.is_some_and(|id| id < 1) {
            self.error(
                name,
                "must be a ConnectWise id (a whole number of at least 1)",
            );
        }
        id
    }

    /// A field that may be left out, but not `null` (its schema does not allow null).
    pub fn absent_or<T: FieldType>(&mut self, name: &str) -> Option<T> {
        match self.take::<T>(name) {
            Patch::Value(value) => Some(value),
            Patch::Null => {
                self.error(
                    name,
                    format!("must be {} (or left out), not null", T::expected()),
                );
                None
            }
            Patch::Absent => None,
        }
    }

    /// A field where absent and null mean different things.
    pub fn patch<T: FieldType>(&mut self, name: &str) -> Patch<T> {
        self.take(name)
    }

    /// A required array of objects, each read by `T`; problems are reported as `name[i].field`.
    pub fn list<T: FromJsonBody>(&mut self, name: &str) -> Option<Vec<T>> {
        let items = self.required::<Vec<Value>>(name)?;
        let count = items.len();
        let parsed: Vec<T> = items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| self.nested(&format!("{name}[{i}]"), item))
            .collect();
        (parsed.len() == count).then_some(parsed)
    }

    /// An array of objects that may be left out (empty), but not `null`, each read by `T`.
    pub fn optional_list<T: FromJsonBody>(&mut self, name: &str) -> Option<Vec<T>> {
        if !self.map.contains_key(name) {
            return Some(Vec::new());
        }
        self.list(name)
    }

    /// An optional object read by `T`; problems are reported as `name.field`.
    pub fn object<T: FromJsonBody>(&mut self, name: &str) -> Option<T> {
        let value = self.optional::<Value>(name)?;
        self.nested(name, value)
    }

    /// An optional object whose keys are data (e.g. application ids), each value read by `read`
    /// with its path `name.key`. Every key is returned, `None` where its value had problems, so
    /// later checks still see them all.
    pub fn entries<T>(
        &mut self,
        name: &str,
        mut read: impl FnMut(&mut JsonFields, &str, Value) -> Option<T>,
    ) -> Vec<(String, Option<T>)> {
        let Some(map) = self.optional::<Map<String, Value>>(name) else {
            return Vec::new();
        };
        map.into_iter()
            .map(|(key, value)| {
                let read = read(self, &format!("{name}.{key}"), value);
                (key, read)
            })
            .collect()
    }

    /// A value already taken out of the body, read by `T`; problems are reported as
    /// `prefix.field`.
    pub fn nested<T: FromJsonBody>(&mut self, prefix: &str, value: Value) -> Option<T> {
        match parse_body::<T>(value) {
            Ok(t) => Some(t),
            Err(ServiceError::Validation(errors)) => {
                for e in errors {
                    let field = match e.field.as_str() {
                        "body" => prefix.to_string(),
                        f => format!("{prefix}.{f}"),
                    };
                    self.error(&field, e.message);
                }
                None
            }
            Err(other) => {
                self.error(prefix, other.to_string());
                None
            }
        }
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Records a rule violation when `check` fails.
    pub fn check(&mut self, field: &str, check: Result<(), String>) {
        if let Err(message) = check {
            self.error(field, message);
        }
    }

    /// Unknown fields are errors too: a misspelt field silently ignored could cost money.
    pub fn into_problems(mut self) -> Vec<FieldError> {
        let unknown: Vec<String> = self.map.keys().cloned().collect();
        for name in unknown {
            self.error(&name, "is not a known field");
        }
        self.errors
    }

    fn finish(self) -> Result<(), ServiceError> {
        let problems = self.into_problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Validation(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Sample {
        name: String,
        count: u32,
        note: Option<String>,
    }

    impl FromJsonBody for Sample {
        fn from_json(f: &mut JsonFields) -> Option<Self> {
            let name = f.required::<String>("name");
            let count = f.required::<u32>("count");
            let note = f.optional::<String>("note");
            Some(Sample {
                name: name?,
                count: count?,
                note,
            })
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let err = parse_body::<Sample>(json!({"count": "x", "extra": 1}))
            .err()
            .unwrap();
        let ServiceError::Validation(errors) = err else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "count", "extra"]);
    }

    #[test]
    fn valid_body() {
        let s: Sample = parse_body(json!({"name": "a", "count": 2, "note": null})).unwrap();
        assert_eq!((s.name.as_str(), s.count, s.note), ("a", 2, None));
    }

    struct Rows {
        rows: Vec<Sample>,
    }

    impl FromJsonBody for Rows {
        fn from_json(f: &mut JsonFields) -> Option<Self> {
            Some(Rows {
                rows: f.list("rows")?,
            })
        }
    }

    #[test]
    fn list_items_are_reported_by_index() {
        let body = json!({"rows": [{"name": "a", "count": 1}, {"count": -1}, 3]});
        let Err(ServiceError::Validation(errors)) = parse_body::<Rows>(body) else {
            panic!("expected a validation error")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["rows[1].name", "rows[1].count", "rows[2]"]);
        let ok: Rows = parse_body(json!({"rows": [{"name": "a", "count": 1}]})).unwrap();
        assert_eq!(ok.rows.len(), 1);
    }

    #[test]
    fn nul_characters_are_reported_by_path() {
        let mut found = Vec::new();
        let body = json!({"rows": [{"name": "ok"}, {"name": "a\u{0}b"}], "n": 1,
            "devices": {"x\u{0}": 1}});
        find_nul_characters(&body, "", &mut found);
        assert_eq!(
            found,
            [
                FieldError::new("devices", "must not have keys with NUL characters"),
                FieldError::new("rows[1].name", "must not contain NUL characters"),
            ]
        );
    }

    #[test]
    fn not_an_object() {
        assert!(matches!(
            parse_body::<Sample>(json!([1])),
            Err(ServiceError::Validation(_))
        ));
    }
}
