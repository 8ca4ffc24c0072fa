//! Builder for ConnectWise `conditions` query strings.
//!
//! Strings are double-quoted with `"` and `\` backslash-escaped; dates go in brackets. Field names are
//! code-supplied identifiers (`company/id`), never user input. URL encoding happens when the query is
//! attached to the URL, so ampersands in names are safe.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Clone, Debug, PartialEq)]
pub enum ConditionValue {
    Text(String),
    Integer(i64),
    Number(f64),
    Bool(bool),
    Date(DateTime<Utc>),
    Null,
}

impl fmt::Display for ConditionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => {
                f.write_str("\"")?;
                for c in text.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Self::Integer(n) => write!(f, "{n}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Date(d) => write!(f, "[{}]", d.to_rfc3339_opts(SecondsFormat::Secs, true)),
            Self::Null => f.write_str("null"),
        }
    }
}

impl From<&str> for ConditionValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for ConditionValue {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<i64> for ConditionValue {
    fn from(v: i64) -> Self {
        Self::Integer(v)
    }
}
impl From<f64> for ConditionValue {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}
impl From<bool> for ConditionValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<DateTime<Utc>> for ConditionValue {
    fn from(v: DateTime<Utc>) -> Self {
        Self::Date(v)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Joiner {
    And,
    Or,
}

/// A conditions expression; combine with [`Conditions::and`] / [`Conditions::or`].
#[derive(Clone, Debug, PartialEq)]
pub struct Conditions {
    text: String,
    /// The top-level joiner, if compound: decides whether a combination needs parentheses.
    joiner: Option<Joiner>,
}

impl Conditions {
    fn compare(field: &str, operator: &str, value: ConditionValue) -> Self {
        Self {
            text: format!("{field} {operator} {value}"),
            joiner: None,
        }
    }

    pub fn eq(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, "=", value.into())
    }
    pub fn ne(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, "!=", value.into())
    }
    pub fn lt(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, "<", value.into())
    }
    pub fn le(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, "<=", value.into())
    }
    pub fn gt(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, ">", value.into())
    }
    pub fn ge(field: &str, value: impl Into<ConditionValue>) -> Self {
        Self::compare(field, ">=", value.into())
    }
    /// `*` is ConnectWise's wildcard.
    pub fn like(field: &str, pattern: &str) -> Self {
        Self::compare(field, "like", pattern.into())
    }
    pub fn contains(field: &str, text: &str) -> Self {
        Self::compare(field, "contains", text.into())
    }
    pub fn is_null(field: &str) -> Self {
        Self::compare(field, "=", ConditionValue::Null)
    }
    pub fn is_not_null(field: &str) -> Self {
        Self::compare(field, "!=", ConditionValue::Null)
    }

    pub fn and(self, other: Conditions) -> Self {
        self.join(Joiner::And, other)
    }
    pub fn or(self, other: Conditions) -> Self {
        self.join(Joiner::Or, other)
    }

    fn join(self, joiner: Joiner, other: Conditions) -> Self {
        let word = match joiner {
            Joiner::And => "and",
            Joiner::Or => "or",
        };
        Self {
            text: format!(
                "{} {word} {}",
                self.operand_for(joiner),
                other.operand_for(joiner)
            ),
            joiner: Some(joiner),
        }
    }

    fn operand_for(&self, joiner: Joiner) -> String {
        match self.joiner {
            Some(own) if own != joiner => format!("({})", self.text),
            _ => self.text.clone(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn strings_are_quoted_and_escaped() {
        let c = Conditions::eq("name", r#"Smith & "Sons" \ Co"#);
        assert_eq!(c.as_str(), r#"name = "Smith & \"Sons\" \\ Co""#);
    }

    #[test]
    fn values_render_in_connectwise_syntax() {
        let date = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            Conditions::eq("company/id", 250).as_str(),
            "company/id = 250"
        );
        assert_eq!(
            Conditions::gt("cancelledDate", date).as_str(),
            "cancelledDate > [2026-01-01T00:00:00Z]"
        );
        assert_eq!(
            Conditions::is_null("cancelledDate").as_str(),
            "cancelledDate = null"
        );
        assert_eq!(
            Conditions::eq("inactiveFlag", false).as_str(),
            "inactiveFlag = false"
        );
        assert_eq!(
            Conditions::like("name", "Kas*").as_str(),
            r#"name like "Kas*""#
        );
    }

    #[test]
    fn mixed_joiners_get_parentheses() {
        let active = Conditions::is_null("cancelledDate").or(Conditions::gt(
            "cancelledDate",
            Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
        ));
        let c = Conditions::eq("agreementId", 7)
            .and(Conditions::eq("product/id", 3))
            .and(active);
        assert_eq!(
            c.as_str(),
            "agreementId = 7 and product/id = 3 and (cancelledDate = null or cancelledDate > [2026-05-01T00:00:00Z])"
        );
    }
}
