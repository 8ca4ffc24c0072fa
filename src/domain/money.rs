//! Money (DOMAIN.md §7): exact decimals in the ConnectWise site's currency, never converted and
//! never binary floating point. Amounts a change moves are rounded to cents the way ConnectWise
//! rounds an extended price (half away from zero); unit prices keep their own precision.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Neg, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The most decimal places a unit price or cost may have (ConnectWise keeps amounts to this).
pub const MAX_PLACES: u32 = 4;

/// An exact amount of money, sent and read as a decimal string (`"19.99"`, `"-120.00"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(value: Decimal) -> Money {
        Money(value)
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// A decimal written plainly: optional `-`, digits, optional `.` and at most
    /// `MAX_PLACES` digits (no exponent, no thousands separator, no currency sign).
    pub fn parse(text: &str) -> Option<Money> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let plain = !whole.is_empty()
            && whole.len() <= 15
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= MAX_PLACES as usize
            && (fraction.is_empty() != unsigned.contains('.'));
        if !plain {
            return None;
        }
        Decimal::from_str_exact(text).ok().map(Money)
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Rounded to cents as ConnectWise rounds an extended amount (0.005 → 0.01).
    pub fn cents(self) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// `units` of this unit price, rounded to cents.
    pub fn times(self, units: Decimal) -> Money {
        Money(self.0 * units).cents()
    }
}

impl From<Decimal> for Money {
    fn from(value: Decimal) -> Self {
        Money(value)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

/// At least two decimal places (`120.00`), more only when the value has them (`4.125`).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0.normalize();
        if value.scale() < 2 {
            value.rescale(2);
        }
        write!(f, "{value}")
    }
}

impl FromStr for Money {
    type Err = String;
    fn from_str(text: &str) -> Result<Money, String> {
        Money::parse(text).ok_or_else(|| format!("{text:?} is not a plain decimal amount"))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The pattern every amount in the API matches.
pub const PATTERN: &str = r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$";

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("decimal".into())))
            .pattern(Some(PATTERN))
            .description(Some(
                "An exact decimal amount in the ConnectWise site's currency, as a string \
                 (never a binary floating-point number), e.g. \"19.99\".",
            ))
            .examples(["19.99"])
            .into()
    }
}

impl ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Money {
        Money::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn parses_plain_decimals_only() {
        let cases = [
            ("19.99", Some("19.99")),
            ("-120", Some("-120.00")),
            ("0", Some("0.00")),
            ("4.125", Some("4.125")),
            ("0.0001", Some("0.0001")),
            ("0.00001", None),
            ("1e3", None),
            ("1,000", None),
            ("$5", None),
            ("", None),
            ("-", None),
            (".5", None),
            ("5.", None),
            (" 5", None),
            ("1234567890123456", None),
            ("NaN", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                Money::parse(text).map(|v| v.to_string()),
                expected.map(String::from),
                "{text}"
            );
        }
    }

    #[test]
    fn arithmetic_is_exact_and_rounds_like_connectwise() {
        // 3 × 19.99 is 59.97 exactly (59.970000000000006 in binary floating point).
        assert_eq!(m("19.99").times(Decimal::from(3)), m("59.97"));
        assert_eq!((m("0.1") + m("0.2")).to_string(), "0.30");
        // Half a cent rounds away from zero, both ways.
        assert_eq!(m("0.005").cents(), m("0.01"));
        assert_eq!(m("-0.005").cents(), m("-0.01"));
        assert_eq!(m("0.0049").cents(), m("0.00"));
        assert_eq!(m("4.125").times(Decimal::from(3)), m("12.38"));
        assert_eq!(m("10.00") - m("130.00"), m("-120.00"));
        assert!((m("10") - m("130")).is_negative());
        assert!(!Money::ZERO.is_negative());
        let total: Money = [m("1.10"), m("2.20"), m("-0.30")].into_iter().sum();
        assert_eq!(total, m("3.00"));
    }

    #[test]
    fn travels_as_a_string() {
        let json = serde_json::to_string(&m("59.97")).unwrap();
        assert_eq!(json, "\"59.97\"");
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m("59.97"));
        assert!(serde_json::from_str::<Money>("59.97").is_err());
        assert!(serde_json::from_str::<Money>("\"5e2\"").is_err());
    }
}
