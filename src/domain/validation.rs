//! What is wrong with an input, field by field, so one answer can list every problem.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `role` or `rows[2].product_id`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `text` without the leading and trailing white space of the OpenAPI document's patterns
/// (ECMAScript's `\s`), so a value the schema's `\S` accepts is never trimmed to nothing (Rust's
/// `trim` also drops U+0085, which `\S` matches).
pub fn trim_blank(text: &str) -> &str {
    text.trim_matches(is_pattern_space)
}

fn is_pattern_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::trim_blank;

    #[test]
    fn trims_what_the_schema_pattern_calls_white_space() {
        for (given, kept) in [
            ("  name \t", "name"),
            ("\u{a0}\u{3000}name\u{feff}", "name"),
            ("\u{2028}", ""),
            // Not white space to an OpenAPI pattern: a name of its own.
            ("\u{85}", "\u{85}"),
            ("\u{85}x ", "\u{85}x"),
        ] {
            assert_eq!(trim_blank(given), kept, "{given:?}");
        }
    }
}
