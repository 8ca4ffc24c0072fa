//! Upstream text made safe to record or show: an error message from ConnectWise or KSC may echo
//! what it was sent (an `Authorization` header, a key, a password). Whatever the server keeps or
//! answers of it is bounded and stripped of anything that looks like a credential; the full text
//! goes only to the log, at debug.

use std::sync::LazyLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use regex::Regex;

/// The longest upstream text kept or shown, in characters.
pub const MAX_CHARS: usize = 300;
const REDACTED: &str = "[redacted]";
/// Shorter configured values are not searched for: they would match ordinary words.
const MIN_SECRET_CHARS: usize = 4;

/// `Basic …`, `Bearer …` and the other HTTP authentication schemes' credentials (a token, or a
/// list of `name="value"` parameters as KSC's `KSCBasic user="…", pass="…"`).
static SCHEME_CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(basic|bearer|digest|negotiate|ntlm|kscbasic|kscwt|ksct)\s+((?:[a-z]+\s*=\s*"[^"]*"(?:\s*,\s*)?)+|[^\s"',;]+)"#,
    )
    .expect("a valid pattern")
});

/// `password=…`, `"private_key": "…"`, `pass="…"`, `token: …` and the like.
static SECRET_PAIRS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b([a-z0-9_.\-]*(?:pass(?:word|wd)?|pwd|secret|token|private[_\-]?key|privatekey|api[_\-]?key|authorization|session))("?)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)"#,
    )
    .expect("a valid pattern")
});

/// Strips the credentials of one connection (and anything credential-shaped) from upstream text.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// `secrets`: the connection's keys and passwords; their base64 forms are searched for too.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut all: Vec<String> = Vec::new();
        for secret in secrets {
            if secret.chars().count() >= MIN_SECRET_CHARS {
                all.push(secret.to_string());
                all.push(BASE64.encode(secret));
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        Redactor { secrets: all }
    }

    /// Also searches for a credential the connection sends in another form (a Basic header's
    /// base64 of `user:password`).
    pub fn with(mut self, secret: &str) -> Self {
        self.secrets.extend(Redactor::new([secret]).secrets);
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self.secrets.dedup();
        self
    }

    /// The text as the server may keep and show it: credentials out, at most [`MAX_CHARS`].
    pub fn clean(&self, text: &str) -> String {
        let mut cleaned = text.to_string();
        for secret in &self.secrets {
            cleaned = cleaned.replace(secret.as_str(), REDACTED);
        }
        let cleaned = SCHEME_CREDENTIALS.replace_all(&cleaned, format!("$1 {REDACTED}"));
        let cleaned = SECRET_PAIRS.replace_all(&cleaned, format!("$1$2$3{REDACTED}"));
        bounded(&cleaned)
    }
}

fn bounded(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_survive() {
        let basic = BASE64.encode("fakemsp+public-key:private-key-123");
        let redactor = Redactor::new(["private-key-123", "public-key"]).with(&basic);
        let cases = [
            (
                format!("Request rejected. Authorization: Basic {basic}"),
                "Request rejected. Authorization: [redacted] [redacted]",
            ),
            (
                "bearer eyJhbGciOiJIUzI1NiJ9.e30.x failed".into(),
                "bearer [redacted] failed",
            ),
            (
                "the key private-key-123 is wrong".into(),
                "the key [redacted] is wrong",
            ),
            (
                format!("echo {}", BASE64.encode("private-key-123")),
                "echo [redacted]",
            ),
            (
                "login?user=bob&password=hunter2&x=1".into(),
                "login?user=bob&password=[redacted]&x=1",
            ),
            (
                r#"{"privateKey": "s3cr3t", "name": "ok"}"#.into(),
                r#"{"privateKey": [redacted], "name": "ok"}"#,
            ),
            (
                r#"refused: KSCBasic user="YWRt", pass="cGFzcw==", domain="", internal="1" (401)"#
                    .into(),
                "refused: KSCBasic [redacted] (401)",
            ),
            (
                "quantity must be at least 0".into(),
                "quantity must be at least 0",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(redactor.clean(&text), expected, "{text}");
        }
    }

    #[test]
    fn long_text_is_bounded() {
        let long = "é".repeat(MAX_CHARS + 50);
        let cleaned = Redactor::default().clean(&long);
        assert_eq!(cleaned.chars().count(), MAX_CHARS + 1);
        assert!(cleaned.ends_with('…'));
        assert_eq!(Redactor::default().clean("  short  "), "short");
    }

    #[test]
    fn short_values_are_not_searched_for() {
        let redactor = Redactor::new(["ab", ""]);
        assert_eq!(redactor.clean("a cab ride"), "a cab ride");
    }
}
