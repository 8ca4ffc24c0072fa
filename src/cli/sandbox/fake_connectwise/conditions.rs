//! ConnectWise's `conditions` language, parsed and evaluated against JSON records.
//!
//! Grammar: `expr := and ("or" and)*`, `and := unary ("and" unary)*`, `unary := "not" unary | "(" expr ")"
//! | path op value`, with ops `= != < <= > >= like contains` (`not like`, `not contains` too) and values
//! `"strings"` (backslash escapes), numbers, `null`, `true`, `false` and `[dates]`. Keywords and field
//! names are case-insensitive, and so are text comparisons (like SQL Server's default collation).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        path: Vec<String>,
        op: Op,
        value: Literal,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    Contains,
    NotContains,
}

#[derive(Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(DateTime<Utc>),
    Null,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Date(DateTime<Utc>),
    Symbol(&'static str),
    Open,
    Close,
}

pub fn parse(input: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
    };
    let expr = parser.or_expr()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some(token) => Err(format!("unexpected {token:?} in conditions")),
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' | ')' => {
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
                i += 1;
            }
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string in conditions".into()),
                        Some('"') => break,
                        Some('\\') => {
                            let escaped =
                                chars.get(i + 1).ok_or("dangling escape in conditions")?;
                            text.push(*escaped);
                            i += 2;
                        }
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                i += 1;
                tokens.push(Token::Text(text));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or("unterminated date in conditions")?;
                let raw: String = chars[i + 1..i + end].iter().collect();
                let date = DateTime::parse_from_rfc3339(raw.trim())
                    .map_err(|_| format!("invalid date [{raw}] in conditions"))?;
                tokens.push(Token::Date(date.with_timezone(&Utc)));
                i += end + 1;
            }
            '=' | '!' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let symbol = match two.as_str() {
                    "!=" => "!=",
                    "<=" => "<=",
                    ">=" => ">=",
                    "<>" => "!=",
                    _ => match c {
                        '=' => "=",
                        '<' => "<",
                        '>' => ">",
                        _ => return Err("unexpected `!` in conditions".into()),
                    },
                };
                i += symbol.len().min(two.len());
                tokens.push(Token::Symbol(symbol));
            }
            _ if c.is_ascii_digit() || c == '-' || c == '.' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | 'e' | 'E'))
                    .count();
                let raw: String = chars[i..i + len].iter().collect();
                let number = raw
                    .parse()
                    .map_err(|_| format!("invalid number {raw} in conditions"))?;
                tokens.push(Token::Number(number));
                i += len;
            }
            _ if c.is_alphanumeric() || c == '_' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.'))
                    .count();
                tokens.push(Token::Word(chars[i..i + len].iter().collect()));
                i += len;
            }
            _ => return Err(format!("unexpected `{c}` in conditions")),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        if found {
            self.pos += 1;
        }
        found
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.pos);
        self.pos += 1;
        token
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.pos) == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or_expr()?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                _ => Err("missing `)` in conditions".into()),
            };
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let path = match self.next() {
            Some(Token::Word(word)) => word.split('/').map(str::to_owned).collect(),
            other => return Err(format!("expected a field name, found {other:?}")),
        };
        let op = self.operator()?;
        let value = match self.next() {
            Some(Token::Text(text)) => Literal::Text(text.clone()),
            Some(Token::Number(n)) => Literal::Number(*n),
            Some(Token::Date(d)) => Literal::Date(*d),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            other => return Err(format!("expected a value, found {other:?}")),
        };
        Ok(Expr::Compare { path, op, value })
    }

    fn operator(&mut self) -> Result<Op, String> {
        let negated = self.eat_keyword("not");
        let op = match self.next() {
            Some(Token::Symbol(symbol)) if !negated => match *symbol {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            },
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("like") => {
                if negated {
                    Op::NotLike
                } else {
                    Op::Like
                }
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("contains") => {
                if negated {
                    Op::NotContains
                } else {
                    Op::Contains
                }
            }
            other => return Err(format!("expected an operator, found {other:?}")),
        };
        Ok(op)
    }
}

impl Expr {
    pub fn matches(&self, record: &Value) -> Result<bool, String> {
        match self {
            Expr::And(a, b) => Ok(a.matches(record)? && b.matches(record)?),
            Expr::Or(a, b) => Ok(a.matches(record)? || b.matches(record)?),
            Expr::Not(inner) => Ok(!inner.matches(record)?),
            Expr::Compare { path, op, value } => compare(lookup(record, path), *op, value),
        }
    }
}

fn lookup<'a>(record: &'a Value, path: &[String]) -> &'a Value {
    path.iter().fold(record, |value, key| {
        value
            .as_object()
            .and_then(|fields| {
                fields
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .unwrap_or(&Value::Null)
    })
}

fn compare(field: &Value, op: Op, literal: &Literal) -> Result<bool, String> {
    if let Literal::Null = literal {
        return match op {
            Op::Eq => Ok(field.is_null()),
            Op::Ne => Ok(!field.is_null()),
            _ => Err("null can only be compared with = or !=".into()),
        };
    }
    if field.is_null() {
        // SQL semantics: nothing equals an absent value, so only "not" comparisons hold.
        return Ok(matches!(op, Op::Ne | Op::NotLike | Op::NotContains));
    }
    let mismatch = || format!("cannot compare {field} with {literal:?}");
    let ordering = match (literal, field) {
        (Literal::Text(text), Value::String(actual)) => {
            let (actual, text) = (actual.to_lowercase(), text.to_lowercase());
            match op {
                Op::Like => return Ok(wildcard_match(&text, &actual)),
                Op::NotLike => return Ok(!wildcard_match(&text, &actual)),
                Op::Contains => return Ok(actual.contains(&text)),
                Op::NotContains => return Ok(!actual.contains(&text)),
                _ => actual.cmp(&text),
            }
        }
        (Literal::Number(n), Value::Number(actual)) => actual
            .as_f64()
            .and_then(|a| a.partial_cmp(n))
            .ok_or_else(mismatch)?,
        (Literal::Bool(b), Value::Bool(actual)) => actual.cmp(b),
        (Literal::Date(d), Value::String(actual)) => DateTime::parse_from_rfc3339(actual)
            .map_err(|_| mismatch())?
            .with_timezone(&Utc)
            .cmp(d),
        _ => return Err(mismatch()),
    };
    match op {
        Op::Eq => Ok(ordering == Ordering::Equal),
        Op::Ne => Ok(ordering != Ordering::Equal),
        Op::Lt => Ok(ordering == Ordering::Less),
        Op::Le => Ok(ordering != Ordering::Greater),
        Op::Gt => Ok(ordering == Ordering::Greater),
        Op::Ge => Ok(ordering != Ordering::Less),
        _ => Err(format!("{op:?} needs a text value")),
    }
}

/// `*` matches any run of characters; everything else literally.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return text == pattern;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(conditions: &str, record: &Value) -> bool {
        parse(conditions).unwrap().matches(record).unwrap()
    }

    #[test]
    fn compares_nested_fields_and_types() {
        let r = json!({"id": 5, "name": "Smith & \"Sons\"", "company": {"id": 250},
            "inactiveFlag": false, "cancelledDate": null, "startDate": "2026-01-01T00:00:00Z"});
        assert!(eval("company/id=250", &r));
        assert!(eval("COMPANY/ID = 250 and cancelledDate = null", &r));
        assert!(eval(r#"name = "smith & \"sons\"""#, &r));
        assert!(eval("inactiveFlag = false and id >= 5 and id < 6", &r));
        assert!(eval("startDate > [2025-12-31T00:00:00Z]", &r));
        assert!(!eval("cancelledDate > [2025-12-31T00:00:00Z]", &r));
        assert!(eval("cancelledDate != [2025-12-31T00:00:00Z]", &r));
        assert!(eval("id = 4 or (id = 5 and not inactiveFlag = true)", &r));
        assert!(!eval("id = 4 or id = 6", &r));
    }

    #[test]
    fn like_and_contains_ignore_case() {
        let r = json!({"identifier": "KES-Cloud-Plus"});
        assert!(eval(r#"identifier like "kes*""#, &r));
        assert!(eval(r#"identifier like "*cloud*""#, &r));
        assert!(!eval(r#"identifier like "*cloud""#, &r));
        assert!(eval(r#"identifier not like "ksc*""#, &r));
        assert!(eval(r#"identifier contains "d-p""#, &r));
    }

    #[test]
    fn precedence_is_and_over_or() {
        let r = json!({"a": 1, "b": 2});
        assert!(eval("a = 1 or a = 2 and b = 3", &r));
        assert!(!eval("(a = 1 or a = 2) and b = 3", &r));
    }

    #[test]
    fn malformed_conditions_are_errors() {
        for bad in [
            r#"name = "open"#,
            "id =",
            "(id = 1",
            "id = 1 id",
            "id ~ 1",
            "d > [yesterday]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(r#"id = "x""#)
            .unwrap()
            .matches(&json!({"id": 1}))
            .is_err());
    }
}
