//! Typed configuration, read from the environment (and an optional `.env` file).
//!
//! Every variable is listed in the README; `Settings::from_env` reports every invalid one at
//! once in a single readable line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::adapters::database_kind::DatabaseKind;
use crate::adapters::net::TrustedProxies;
use crate::adapters::outbound::OutboundPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone)]
pub struct Settings {
    /// `postgres://…` or `sqlite://path` (a plain path is SQLite too).
    pub database_url: String,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub admin_password: Option<String>,
    pub jwt_secret: Option<String>,
    pub jwt_ttl: Duration,
    pub log_format: LogFormat,
    pub cors_origins: Vec<String>,
    pub db_pool_size: u32,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    pub login_throttle: LoginThrottleSettings,
    /// Key for secrets at rest (32 bytes, base64 or hex); none = a key file in `data_dir`.
    pub encryption_key: Option<String>,
    /// Where outbound calls (ConnectWise, KSC) may go (`BRIDGE_OUTBOUND_ALLOW`).
    pub outbound: Arc<OutboundPolicy>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client
    /// (`BRIDGE_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Whether `serve` runs scheduled syncs and daily retention (`BRIDGE_SCHEDULER=off` turns
    /// them off, e.g. on all but one of several servers, or in tests).
    pub scheduler: bool,
}

/// Caps on failed logins inside a sliding window: per (username, address) pair (refused past
/// it), and a looser allowance per address past which its attempts are slowed, never refused, so
/// one attacker cannot lock other users out; past a global ceiling (many addresses at once)
/// attempts are spaced out, never refused.
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottleSettings {
    pub window: Duration,
    pub max_failures_per_user_and_address: u32,
    /// Failures from one address in the window after which its attempts are slowed (each
    /// waits its turn, the turns doubling apart from `slowed_interval` up to `max_slowdown`).
    pub max_failures_per_address: u32,
    /// Failures from everywhere in the window after which attempts are slowed.
    pub slow_down_after_failures: u32,
    /// While slowed, attempts start at most one per this interval (each waits its turn).
    pub slowed_interval: Duration,
    /// The longest one attempt waits for its turn.
    pub max_slowdown: Duration,
}

impl Default for LoginThrottleSettings {
    fn default() -> Self {
        LoginThrottleSettings {
            window: Duration::from_secs(15 * 60),
            max_failures_per_user_and_address: 5,
            max_failures_per_address: 50,
            slow_down_after_failures: 500,
            slowed_interval: Duration::from_millis(250),
            max_slowdown: Duration::from_secs(10),
        }
    }
}

// Secrets must never reach logs, not even through `{:?}`.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "***"),
            )
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("jwt_ttl", &self.jwt_ttl)
            .field("log_format", &self.log_format)
            .field("cors_origins", &self.cors_origins)
            .field("db_pool_size", &self.db_pool_size)
            .field(
                "encryption_key",
                &self.encryption_key.as_ref().map(|_| "***"),
            )
            .field("outbound", &self.outbound)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("scheduler", &self.scheduler)
            .finish_non_exhaustive()
    }
}

/// Hides the password of a database URL (`postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const MIN_JWT_SECRET_LEN: usize = 32;

impl Settings {
    /// Defaults for everything: SQLite under `data_dir`, loopback bind.
    pub fn defaults(data_dir: &Path) -> Settings {
        Settings {
            database_url: default_database_url(data_dir),
            bind: DEFAULT_BIND.parse().expect("valid default bind address"),
            data_dir: data_dir.to_path_buf(),
            admin_password: None,
            jwt_secret: None,
            jwt_ttl: Duration::from_secs(3600),
            log_format: LogFormat::Human,
            cors_origins: Vec::new(),
            db_pool_size: 16,
            max_body_bytes: 1024 * 1024,
            login_throttle: LoginThrottleSettings::default(),
            encryption_key: None,
            outbound: Arc::new(OutboundPolicy::default()),
            trusted_proxies: Arc::default(),
            scheduler: true,
        }
    }

    /// Reads the process environment, after loading `.env` if one exists.
    pub fn from_env() -> Result<Settings, String> {
        Settings::from_env_with(&Overrides::default(), &[])
    }

    /// Like [`Settings::from_env`], with the command line's flags over it and fallbacks for
    /// variables that are not set (the sandbox keeps its data apart from a real installation's).
    pub fn from_env_with(
        overrides: &Overrides,
        fallbacks: &[(&str, &str)],
    ) -> Result<Settings, String> {
        // A missing .env is normal; a broken one is worth failing for.
        if let Err(err) = dotenvy::dotenv() {
            if !err.not_found() {
                return Err(format!("cannot read .env: {err}"));
            }
        }
        let environment = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| {
                    fallbacks
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.to_string())
                })
        };
        Settings::from_lookup_with(environment, overrides)
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        Settings::from_lookup_with(get, &Overrides::default())
    }

    /// Builds settings from a variable source with the command line's flags over it.
    pub fn from_lookup_with(
        get: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Settings, String> {
        let mut problems = Vec::new();
        let mut read_secret = |name: &str, given: Option<String>| {
            secret(&get, name, given).unwrap_or_else(|e| {
                problems.push(e);
                None
            })
        };
        let database_url = read_secret("DATABASE_URL", overrides.database_url.clone());
        let admin_password = read_secret("BRIDGE_ADMIN_PASSWORD", None);
        let jwt_secret = read_secret("BRIDGE_JWT_SECRET", None);
        let encryption_key = read_secret("BRIDGE_ENCRYPTION_KEY", None);
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| get("BRIDGE_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let mut settings = Settings::defaults(&data_dir);
        if let Some(url) = database_url {
            match validate_database_url(&url) {
                Ok(()) => settings.database_url = url,
                Err(e) => problems.push(format!("DATABASE_URL (--database-url) {e}")),
            }
        }
        if let Some(bind) = overrides.bind.clone().or_else(|| get("BRIDGE_BIND")) {
            match bind.parse() {
                Ok(addr) => settings.bind = addr,
                Err(_) => problems.push(format!(
                    "BRIDGE_BIND (--bind) must be an address:port like {DEFAULT_BIND}, got {bind:?}"
                )),
            }
        }
        settings.admin_password = admin_password;
        if let Some(p) = &settings.admin_password {
            if let Err(e) = check_password_strength(p) {
                problems.push(format!("BRIDGE_ADMIN_PASSWORD {e}"));
            }
        }
        settings.jwt_secret = jwt_secret;
        if let Some(s) = &settings.jwt_secret {
            if s.len() < MIN_JWT_SECRET_LEN {
                problems.push(format!(
                    "BRIDGE_JWT_SECRET must be at least {MIN_JWT_SECRET_LEN} characters"
                ));
            }
        }
        if let Some(ttl) = get("BRIDGE_JWT_TTL_SECONDS") {
            match ttl.parse::<u64>() {
                Ok(secs) if (60..=86_400 * 7).contains(&secs) => {
                    settings.jwt_ttl = Duration::from_secs(secs)
                }
                _ => problems.push(format!(
                    "BRIDGE_JWT_TTL_SECONDS must be a number of seconds from 60 to 604800, got {ttl:?}"
                )),
            }
        }
        if let Some(format) = get("BRIDGE_LOG_FORMAT") {
            match format.to_ascii_lowercase().as_str() {
                "human" | "text" => settings.log_format = LogFormat::Human,
                "json" => settings.log_format = LogFormat::Json,
                _ => problems.push(format!(
                    "BRIDGE_LOG_FORMAT must be `human` or `json`, got {format:?}"
                )),
            }
        }
        if let Some(origins) = get("BRIDGE_CORS_ORIGINS") {
            for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                if origin.starts_with("http://") || origin.starts_with("https://") {
                    settings
                        .cors_origins
                        .push(origin.trim_end_matches('/').to_string());
                } else {
                    problems.push(format!(
                        "BRIDGE_CORS_ORIGINS entries must look like https://host[:port], got {origin:?}"
                    ));
                }
            }
        }
        if let Some(size) = get("BRIDGE_DB_POOL_SIZE") {
            match size.parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => settings.db_pool_size = n,
                _ => problems.push(format!(
                    "BRIDGE_DB_POOL_SIZE must be a number from 1 to 256, got {size:?}"
                )),
            }
        }
        settings.encryption_key = encryption_key;
        if let Some(key) = &settings.encryption_key {
            if let Err(e) = decode_encryption_key(key) {
                problems.push(format!("BRIDGE_ENCRYPTION_KEY {e}"));
            }
        }
        if let Some(allow) = get("BRIDGE_OUTBOUND_ALLOW") {
            match allow.parse::<OutboundPolicy>() {
                Ok(policy) => settings.outbound = Arc::new(policy),
                Err(e) => problems.push(e.to_string()),
            }
        }
        if let Some(proxies) = get("BRIDGE_TRUSTED_PROXIES") {
            match proxies.parse::<TrustedProxies>() {
                Ok(proxies) => settings.trusted_proxies = Arc::new(proxies),
                Err(e) => problems.push(format!("BRIDGE_TRUSTED_PROXIES {e}")),
            }
        }
        if let Some(scheduler) = get("BRIDGE_SCHEDULER") {
            match scheduler.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => settings.scheduler = true,
                "off" | "false" | "0" => settings.scheduler = false,
                _ => problems.push(format!(
                    "BRIDGE_SCHEDULER must be `on` or `off`, got {scheduler:?}"
                )),
            }
        }
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(format!("invalid configuration: {}", problems.join("; ")))
        }
    }

    pub fn database_kind(&self) -> DatabaseKind {
        DatabaseKind::of(&self.database_url)
    }

    pub fn is_postgres(&self) -> bool {
        self.database_kind() == DatabaseKind::Postgres
    }
}

/// What the command line says (`serve --bind …`): it beats the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// The variables that may name a file holding the secret instead (`NAME_FILE`, as Docker and
/// Kubernetes secrets are mounted).
pub const SECRET_VARIABLES: [&str; 4] = [
    "DATABASE_URL",
    "BRIDGE_ADMIN_PASSWORD",
    "BRIDGE_JWT_SECRET",
    "BRIDGE_ENCRYPTION_KEY",
];

/// Every variable the server reads, for `--help` (the README's table says more).
pub const VARIABLES: [(&str, &str); 14] = [
    ("BRIDGE_BIND", "address:port to listen on (127.0.0.1:8080)"),
    (
        "BRIDGE_DATA_DIR",
        "SQLite database, key file, initial admin password (./data)",
    ),
    (
        "DATABASE_URL",
        "postgres://user:pass@host/db or sqlite://path (SQLite in the data directory)",
    ),
    (
        "BRIDGE_ADMIN_PASSWORD",
        "password of the first admin (generated into the data directory)",
    ),
    (
        "BRIDGE_JWT_SECRET",
        "token signing secret, at least 32 characters (generated once)",
    ),
    ("BRIDGE_JWT_TTL_SECONDS", "lifetime of login tokens (3600)"),
    (
        "BRIDGE_ENCRYPTION_KEY",
        "32-byte key for stored secrets, base64 or hex (key file in the data directory)",
    ),
    ("BRIDGE_LOG_FORMAT", "human or json (human)"),
    (
        "BRIDGE_CORS_ORIGINS",
        "comma-separated browser origins allowed to call the API",
    ),
    (
        "BRIDGE_DB_POOL_SIZE",
        "database connections per process (16)",
    ),
    (
        "BRIDGE_OUTBOUND_ALLOW",
        "IPs, CIDRs or host names ConnectWise and KSC calls may reach (anything)",
    ),
    (
        "BRIDGE_TRUSTED_PROXIES",
        "IPs or CIDRs of reverse proxies whose X-Forwarded-For / Forwarded name the client (none)",
    ),
    (
        "BRIDGE_SCHEDULER",
        "on or off: scheduled syncs and retention (on)",
    ),
    (
        "RUST_LOG",
        "log filter in tracing's EnvFilter syntax (info)",
    ),
];

/// The variables for `--help`: one line each, and which secrets also come from files.
pub fn variables_help() -> String {
    let width = VARIABLES
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("Environment (also read from ./.env):\n");
    for (name, about) in VARIABLES {
        text.push_str(&format!("  {name:width$}  {about}\n"));
    }
    text.push_str(&format!(
        "Secrets may come from files instead (Docker/Kubernetes secrets): {}.",
        SECRET_VARIABLES
            .map(|name| format!("{name}_FILE"))
            .join(", ")
    ));
    text
}

/// A secret from `NAME`, else from the file `NAME_FILE` names; `given` (a flag) beats both,
/// but setting both variables is a mistake either way.
fn secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    given: Option<String>,
) -> Result<Option<String>, String> {
    let file_variable = format!("{name}_FILE");
    match (get(name), get(&file_variable)) {
        (Some(_), Some(_)) => Err(format!("set {name} or {file_variable}, not both")),
        _ if given.is_some() => Ok(given),
        (value, None) => Ok(value),
        (None, Some(path)) => read_secret_file(&path)
            .map(Some)
            .map_err(|e| format!("{file_variable} {e}")),
    }
}

/// The file's content less its trailing line break (`echo secret > file` adds one).
fn read_secret_file(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("names a file that cannot be read: {path}: {e}"))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(format!("names an empty file: {path}"));
    }
    Ok(value.to_string())
}

pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("bridge.db").display())
}

fn validate_database_url(url: &str) -> Result<(), String> {
    if DatabaseKind::of(url) == DatabaseKind::Postgres {
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or_default();
        if rest.is_empty() || rest.starts_with('/') && rest.len() == 1 {
            return Err(format!("has no host or database: {}", redact_url(url)));
        }
        return Ok(());
    }
    if let Some((scheme, _)) = url.split_once("://") {
        if scheme != "sqlite" {
            return Err(format!(
                "must start with postgres://, postgresql:// or sqlite://, got {scheme}://"
            ));
        }
    }
    if sqlite_path(url).is_empty() {
        return Err("names no SQLite file".into());
    }
    Ok(())
}

/// The file path of a SQLite URL (`sqlite://path`, `sqlite:path` or a plain path).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

pub const MIN_PASSWORD_LEN: usize = 10;
/// Hashing is deliberately slow: an upper bound keeps a huge "password" from costing more.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The rule every password meets (accounts, the initial admin's `BRIDGE_ADMIN_PASSWORD`).
pub fn check_password_strength(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(format!("must be at most {MAX_PASSWORD_LEN} bytes"));
    }
    if password.trim().is_empty() {
        return Err("must not be only white space".into());
    }
    Ok(())
}

/// A key given as 44 base64 characters or 64 hex digits.
pub fn decode_encryption_key(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|e| e.to_string()))
            .collect::<Result<Vec<u8>, String>>()?
    } else {
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)
            .map_err(|_| "must be 32 bytes in base64 or hex".to_string())?
    };
    bytes
        .try_into()
        .map_err(|_| "must be 32 bytes in base64 or hex".to_string())
}

#[cfg(test)]
mod tests;
