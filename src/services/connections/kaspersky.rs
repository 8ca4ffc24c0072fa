//! The Kaspersky Security Center connection: settings, validation, and building a client.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kaspersky::{KscClient, KscConfig, KscError, RetryPolicy};
use crate::outbound::{build_http_client, HttpClientOptions};
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::ServiceError;
use crate::state::AppState;

pub const DEFAULT_PORT: u16 = 13299;

/// The KSC Open API connection.
pub struct Kaspersky;

impl super::Connection for Kaspersky {
    const KIND: &'static str = "kaspersky";
    const NAME: &'static str = "Kaspersky Security Center";
    type Settings = KasperskySettings;
    type Secrets = KasperskySecrets;
    type View = KasperskyConnection;
    type Update = KasperskyUpdate;

    fn view(
        s: &KasperskySettings,
        k: &KasperskySecrets,
        updated_at: DateTime<Utc>,
    ) -> KasperskyConnection {
        KasperskyConnection {
            server_url: s.server_url.clone(),
            user: s.user.clone(),
            password_set: k.password.is_some(),
            domain: s.domain.clone(),
            internal_user: s.internal_user,
            max_concurrency: s.max_concurrency,
            request_timeout_seconds: s.request_timeout_seconds,
            ca_certificate_pem: s.ca_certificate_pem.clone(),
            insecure_skip_tls_verify: s.insecure_skip_tls_verify,
            updated_at,
        }
    }

    fn apply(
        u: KasperskyUpdate,
        stored: Option<&KasperskySecrets>,
    ) -> (KasperskySettings, KasperskySecrets) {
        let password = match u.password {
            Patch::Absent => stored.and_then(|s| s.password.clone()),
            Patch::Null => None,
            Patch::Value(p) => Some(p),
        };
        (
            KasperskySettings {
                server_url: u.server_url,
                user: u.user,
                domain: u.domain,
                internal_user: u.internal_user,
                max_concurrency: u.max_concurrency,
                request_timeout_seconds: u.request_timeout_seconds,
                ca_certificate_pem: u.ca_certificate_pem,
                insecure_skip_tls_verify: u.insecure_skip_tls_verify,
            },
            KasperskySecrets { password },
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KasperskySettings {
    pub server_url: String,
    pub user: String,
    pub domain: String,
    pub internal_user: bool,
    pub max_concurrency: u32,
    pub request_timeout_seconds: u32,
    pub ca_certificate_pem: Option<String>,
    pub insecure_skip_tls_verify: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KasperskySecrets {
    pub password: Option<String>,
}

/// The KSC connection as the API shows it: the password never, only whether it is set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KasperskyConnection {
    /// `https://ksc.example.com:13299`.
    pub server_url: String,
    pub user: String,
    /// Whether a password is stored (it is write-only).
    pub password_set: bool,
    /// Windows domain of the account; empty for none.
    pub domain: String,
    /// A KSC internal user rather than a Windows account.
    pub internal_user: bool,
    /// Virtual servers read at once.
    pub max_concurrency: u32,
    pub request_timeout_seconds: u32,
    /// Extra trusted CA certificate (PEM) for the server's certificate.
    pub ca_certificate_pem: Option<String>,
    /// Certificate checks are OFF (lab servers with self-signed certificates only).
    pub insecure_skip_tls_verify: bool,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /api/v1/connections/kaspersky` (the documented body).
#[derive(Debug, ToSchema)]
pub struct PutKasperskyConnection {
    /// `https://host[:port]`; the port defaults to 13299.
    pub server_url: String,
    pub user: String,
    /// Write-only. Omit to keep the stored password; `null` clears it.
    pub password: Option<String>,
    /// Default empty.
    pub domain: Option<String>,
    /// Default true.
    pub internal_user: Option<bool>,
    /// 1 to 32, default 4.
    pub max_concurrency: Option<u32>,
    /// 1 to 600, default 60.
    pub request_timeout_seconds: Option<u32>,
    pub ca_certificate_pem: Option<String>,
    /// Turns certificate verification off. Default false.
    pub insecure_skip_tls_verify: Option<bool>,
}

/// A validated `PUT` body.
#[derive(Debug)]
pub struct KasperskyUpdate {
    server_url: String,
    user: String,
    password: Patch<String>,
    domain: String,
    internal_user: bool,
    max_concurrency: u32,
    request_timeout_seconds: u32,
    ca_certificate_pem: Option<String>,
    insecure_skip_tls_verify: bool,
}

/// `https://host[:port]` with the default port filled in.
fn normalize_server_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('/');
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let mut url = url::Url::parse(&with_scheme).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err("must be https://host[:port]".into());
    }
    if url.path() != "/" || url.query().is_some() {
        return Err("must be just scheme, host and optional port".into());
    }
    if url.port().is_none() {
        url.set_port(Some(DEFAULT_PORT))
            .map_err(|_| "cannot take a port".to_string())?;
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

impl FromJsonBody for KasperskyUpdate {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let server_url =
            f.required::<String>("server_url")
                .and_then(|u| match normalize_server_url(&u) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        f.error("server_url", e);
                        None
                    }
                });
        let user = f.required::<String>("user").map(|u| u.trim().to_string());
        if user.as_ref().is_some_and(|u| u.is_empty() || u.len() > 200) {
            f.error("user", "must be 1 to 200 characters");
        }
        let password = f.patch::<String>("password");
        if matches!(&password, Patch::Value(p) if p.is_empty() || p.len() > 500) {
            f.error("password", "must be 1 to 500 characters");
        }
        let domain = f
            .optional::<String>("domain")
            .map(|d| d.trim().to_string())
            .unwrap_or_default();
        let internal_user = f.optional::<bool>("internal_user").unwrap_or(true);
        let max_concurrency = f.optional::<u32>("max_concurrency").unwrap_or(4);
        if !(1..=32).contains(&max_concurrency) {
            f.error("max_concurrency", "must be from 1 to 32");
        }
        let request_timeout_seconds = f.optional::<u32>("request_timeout_seconds").unwrap_or(60);
        if !(1..=600).contains(&request_timeout_seconds) {
            f.error("request_timeout_seconds", "must be from 1 to 600");
        }
        let ca_certificate_pem = f
            .optional::<String>("ca_certificate_pem")
            .filter(|p| !p.trim().is_empty());
        if let Some(pem) = &ca_certificate_pem {
            f.check("ca_certificate_pem", super::check_pem(pem));
        }
        let insecure_skip_tls_verify = f
            .optional::<bool>("insecure_skip_tls_verify")
            .unwrap_or(false);
        Some(KasperskyUpdate {
            server_url: server_url?,
            user: user?,
            password,
            domain,
            internal_user,
            max_concurrency,
            request_timeout_seconds,
            ca_certificate_pem,
            insecure_skip_tls_verify,
        })
    }
}

/// A client for the stored connection (`retry` shapes how hard each call tries).
pub async fn client(state: &AppState, retry: RetryPolicy) -> Result<KscClient, ServiceError> {
    let stored = super::require::<Kaspersky>(state).await?;
    let (s, k) = (stored.settings, stored.secrets);
    let password = k.password.ok_or_else(|| {
        ServiceError::Conflict(
            "The Kaspersky Security Center connection has no password: set it with \
             PUT /api/v1/connections/kaspersky."
                .into(),
        )
    })?;
    let url = url::Url::parse(&s.server_url).map_err(ServiceError::internal)?;
    if let Err(blocked) = state.settings.outbound.check_url(&url) {
        return Err(ServiceError::Upstream {
            status: 502,
            code: "outbound_blocked",
            detail: blocked.to_string(),
        });
    }
    let timeout = Duration::from_secs(u64::from(s.request_timeout_seconds));
    let options = HttpClientOptions {
        connect_timeout: timeout.min(Duration::from_secs(10)),
        request_timeout: timeout,
        extra_ca_pem: s.ca_certificate_pem.clone(),
        accept_invalid_certs: s.insecure_skip_tls_verify,
        policy: state.settings.outbound.clone(),
    };
    // One HTTP client (connection pool) per concurrency slot: a login, bound to its TCP
    // connection, then never holds up the virtual servers read on the other slots.
    let lanes = (0..s.max_concurrency.max(1))
        .map(|_| build_http_client(&options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ServiceError::Conflict(format!(
                "The Kaspersky connection settings are unusable: {e}"
            ))
        })?;
    let mut config = KscConfig::new(s.server_url, s.user, password);
    config.domain = s.domain;
    config.internal_user = s.internal_user;
    config.max_concurrency = s.max_concurrency as usize;
    config.request_timeout = timeout;
    config.retry = retry;
    Ok(KscClient::with_lanes(lanes, config))
}

/// A KSC failure as a problem an MSP can act on.
pub fn upstream_error(err: KscError) -> ServiceError {
    let (status, code, hint) = match &err {
        KscError::BadCredentials => (
            502,
            "ksc_bad_credentials",
            "check the user, password, domain and internal-user flag",
        ),
        KscError::VServerRefused(_) | KscError::VServerDisabled(_) => (
            502,
            "ksc_vserver_refused",
            "check the virtual server and the account's access to it",
        ),
        KscError::Timeout => (
            504,
            "ksc_timeout",
            "check that the server is up and the timeout is long enough",
        ),
        KscError::Connect(_) => (
            502,
            "ksc_unreachable",
            "check the server URL, port 13299, DNS and firewall",
        ),
        KscError::Tls(_) => (
            502,
            "ksc_tls",
            "add the server's CA certificate, or for a lab server opt out of verification",
        ),
        KscError::Pxg { .. } | KscError::Http { .. } | KscError::Decode(_) => {
            (502, "ksc_error", "see the KSC server's event log")
        }
    };
    ServiceError::Upstream {
        status,
        code,
        detail: format!("{err}: {hint}."),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_server_url;

    #[test]
    fn server_urls() {
        let cases = [
            ("ksc.example.com", Ok("https://ksc.example.com:13299")),
            (
                "https://ksc.example.com/",
                Ok("https://ksc.example.com:13299"),
            ),
            ("https://10.0.0.5:8443", Ok("https://10.0.0.5:8443")),
            ("http://127.0.0.1:5000", Ok("http://127.0.0.1:5000")),
            ("ftp://ksc", Err(())),
            ("https://ksc/api", Err(())),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize_server_url(input).map_err(|_| ()),
                expected.map(String::from),
                "{input}"
            );
        }
    }
}
