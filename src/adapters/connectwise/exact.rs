//! Amounts on the ConnectWise wire: JSON numbers, read and written digit for digit. A number is
//! taken as its raw text (never through `f64`), so 19.99 stays 19.99 and 0.1 + 0.2 stays 0.3.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::domain::money::Money;

/// The amount as a JSON number token.
pub fn number(amount: Money) -> Box<RawValue> {
    RawValue::from_string(amount.decimal().normalize().to_string())
        .expect("a decimal's text is a JSON number")
}

/// The amount a JSON number token (or a decimal string) stands for.
pub fn parse(token: &str) -> Option<Money> {
    let text = token.trim().trim_matches('"');
    Decimal::from_str_exact(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
        .map(Money::new)
}

pub fn serialize<S: Serializer>(amount: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
    match amount {
        Some(amount) => number(*amount).serialize(s),
        None => s.serialize_none(),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
    let Some(raw) = Option::<Box<RawValue>>::deserialize(d)? else {
        return Ok(None);
    };
    match raw.get() {
        "null" => Ok(None),
        token => parse(token)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{token} is not an amount"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Line {
        #[serde(default, with = "super")]
        price: Option<Money>,
    }

    #[test]
    fn numbers_keep_their_digits() {
        let read: Line = serde_json::from_str(r#"{"price": 19.99}"#).unwrap();
        assert_eq!(read.price, Money::parse("19.99"));
        let read: Line = serde_json::from_str(r#"{"price": 0.30000000000000004}"#).unwrap();
        assert_eq!(
            read.price.unwrap().decimal().to_string(),
            "0.30000000000000004"
        );
        let read: Line = serde_json::from_str(r#"{"price": 1.5e2}"#).unwrap();
        assert_eq!(read.price, Money::parse("150"));
        let read: Line = serde_json::from_str(r#"{"price": null}"#).unwrap();
        assert_eq!(read.price, None);
        let read: Line = serde_json::from_str("{}").unwrap();
        assert_eq!(read.price, None);
        let line = Line {
            price: Money::parse("59.970"),
        };
        assert_eq!(serde_json::to_string(&line).unwrap(), r#"{"price":59.97}"#);
    }
}
