//! KSC typed values: scalars are plain JSON, other types come as `{"type": …, "value": …}`
//! (`params`, `long`, `datetime`, `date`, `binary`, `float`, `double`), see KlAkOAPI `Params.py`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::KscError;

/// The value inside a typed wrapper, or the value itself when it is a plain scalar.
pub(crate) fn unwrap_typed(value: &Value) -> &Value {
    match value {
        Value::Object(object)
            if object.len() == 2 && object.get("type").is_some_and(Value::is_string) =>
        {
            object.get("value").unwrap_or(value)
        }
        _ => value,
    }
}

/// A read-only view of a `params` container.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    pub(crate) fn of(value: &'a Value) -> Result<Self, KscError> {
        match unwrap_typed(value) {
            Value::Object(map) => Ok(Params(map)),
            other => Err(KscError::Decode(format!("expected params, got {other}"))),
        }
    }

    /// An owned copy, to outlive the response it came from.
    pub(crate) fn to_value(self) -> Value {
        Value::Object(self.0.clone())
    }

    fn field(&self, name: &str) -> Option<&'a Value> {
        self.0
            .get(name)
            .map(unwrap_typed)
            .filter(|value| !value.is_null())
    }

    fn missing(name: &str) -> KscError {
        KscError::Decode(format!("field {name} is missing or mistyped"))
    }

    /// A string field; numbers are accepted too (ids such as `KLLIC_APP_ID`).
    pub(crate) fn text(&self, name: &str) -> Result<String, KscError> {
        self.opt_text(name).ok_or_else(|| Self::missing(name))
    }

    pub(crate) fn opt_text(&self, name: &str) -> Option<String> {
        match self.field(name)? {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    pub(crate) fn int(&self, name: &str) -> Result<i64, KscError> {
        self.field(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| Self::missing(name))
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool, KscError> {
        match self.field(name) {
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(Value::Number(number)) => Ok(number.as_i64() != Some(0)),
            _ => Err(Self::missing(name)),
        }
    }

    /// A datetime field; absent or empty means "not set".
    pub(crate) fn datetime(&self, name: &str) -> Result<Option<DateTime<Utc>>, KscError> {
        match self.field(name) {
            None => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => parse_datetime(text)
                .map(Some)
                .ok_or_else(|| KscError::Decode(format!("field {name}: bad datetime {text:?}"))),
            Some(_) => Err(Self::missing(name)),
        }
    }

    /// A nested params field.
    pub(crate) fn params(&self, name: &str) -> Result<Params<'a>, KscError> {
        self.0
            .get(name)
            .ok_or_else(|| Self::missing(name))
            .and_then(Params::of)
    }

    /// The rows of an array field, each a params container; an absent array is empty.
    pub(crate) fn rows(&self, name: &str) -> Result<Vec<Params<'a>>, KscError> {
        match self.field(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(Params::of).collect(),
            Some(_) => Err(Self::missing(name)),
        }
    }
}

/// KSC writes `2026-05-07T23:18:00Z`; RFC 3339 offsets are accepted as well.
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|datetime| datetime.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
                .ok()
                .map(|naive| naive.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_values_decode() {
        let row = json!({"type": "params", "value": {
            "S": "serial", "N": 1103, "L": {"type": "long", "value": 42}, "B": true, "B0": 0,
            "D": {"type": "datetime", "value": "2026-05-07T23:18:00Z"}, "E": {"type": "datetime", "value": ""},
            "A": [{"type": "params", "value": {"X": 1}}, {"X": 2}], "NULL": null
        }});
        let params = Params::of(&row).unwrap();
        assert_eq!(params.text("S").unwrap(), "serial");
        assert_eq!(params.text("N").unwrap(), "1103");
        assert_eq!(params.int("L").unwrap(), 42);
        assert!(params.bool("B").unwrap());
        assert!(!params.bool("B0").unwrap());
        assert_eq!(
            params.datetime("D").unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 5, 7, 23, 18, 0).unwrap())
        );
        assert_eq!(params.datetime("E").unwrap(), None);
        assert_eq!(params.datetime("ABSENT").unwrap(), None);
        assert_eq!(params.opt_text("NULL"), None);
        let rows = params.rows("A").unwrap();
        assert_eq!(
            rows.iter()
                .map(|row| row.int("X").unwrap())
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(params.int("S").is_err());
        assert!(params.text("ABSENT").is_err());
        assert!(Params::of(&json!([1])).is_err());
    }
}
