//! The Kaspersky Security Center connection: settings, validation, and building a client.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::kaspersky::KscError;
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::{FieldError, ServiceError, UpstreamFailure};

pub const DEFAULT_PORT: u16 = 13299;

pub use crate::runtime::clients::{
    one_shot_ksc as one_shot_client, shared_ksc as shared_client, Kaspersky, KasperskySecrets,
    KasperskySettings,
};

impl super::Connection for Kaspersky {
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
        stored: Option<&super::Stored<Kaspersky>>,
    ) -> Result<(KasperskySettings, KasperskySecrets), FieldError> {
        // Where the password goes: the server's origin and how its certificate is trusted.
        let destination = |url: &str, ca: &Option<String>, insecure: bool| {
            let origin = url::Url::parse(url).ok()?.origin();
            Some((origin, ca.clone(), insecure))
        };
        let password = super::secret_on_put(
            u.password,
            stored.map(|s| {
                let was = &s.settings;
                let at = destination(
                    &was.server_url,
                    &was.ca_certificate_pem,
                    was.insecure_skip_tls_verify,
                );
                (&s.secrets.password, at)
            }),
            destination(
                &u.server_url,
                &u.ca_certificate_pem,
                u.insecure_skip_tls_verify,
            )
            .as_ref(),
            "password",
            "password",
        )?;
        Ok((
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
        ))
    }
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
    #[schema(min_length = 1)]
    pub server_url: String,
    #[schema(min_length = 1, max_length = 200)]
    pub user: String,
    /// Write-only. Omit to keep the stored password (refused with 422 when scheme, host or port
    /// of `server_url`, `ca_certificate_pem` or `insecure_skip_tls_verify` change: a stored
    /// password never goes to another server); `null` clears it.
    #[schema(min_length = 1, max_length = 500)]
    pub password: Option<String>,
    /// The Windows domain of `user`, if any.
    #[schema(default = "")]
    pub domain: Option<String>,
    /// A KSC internal user (true) or a Windows account (false).
    #[schema(default = true)]
    pub internal_user: Option<bool>,
    /// Calls at once.
    #[schema(default = 4, minimum = 1, maximum = 32)]
    pub max_concurrency: Option<u32>,
    #[schema(default = 60, minimum = 1, maximum = 600)]
    pub request_timeout_seconds: Option<u32>,
    /// A PEM certificate to trust besides the system roots (KSC's own is usually self-signed).
    pub ca_certificate_pem: Option<String>,
    /// Turns certificate verification off.
    #[schema(default = false)]
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
    let mut url = url::Url::parse(&with_scheme)
        .map_err(|_| "is not a URL; send https://host[:port]".to_string())?;
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

/// A KSC failure as a problem an MSP can act on.
pub fn upstream_error(err: KscError) -> ServiceError {
    let (failure, code, hint) = match &err {
        KscError::BadCredentials => (
            UpstreamFailure::Failed,
            "ksc_bad_credentials",
            "check the user, password, domain and internal-user flag",
        ),
        KscError::VServerRefused(_) | KscError::VServerDisabled(_) => (
            UpstreamFailure::Failed,
            "ksc_vserver_refused",
            "check the virtual server and the account's access to it",
        ),
        KscError::Timeout => (
            UpstreamFailure::TimedOut,
            "ksc_timeout",
            "check that the server is up and the timeout is long enough",
        ),
        KscError::Connect => (
            UpstreamFailure::Failed,
            "ksc_unreachable",
            "check the server URL, port 13299, DNS and firewall",
        ),
        KscError::Blocked(_) => (
            UpstreamFailure::Failed,
            "outbound_blocked",
            "add the server to BRIDGE_OUTBOUND_ALLOW if it is the right one",
        ),
        KscError::Tls => (
            UpstreamFailure::Failed,
            "ksc_tls",
            "add the server's CA certificate, or for a lab server opt out of verification",
        ),
        KscError::Pxg { .. } | KscError::Http { .. } | KscError::Decode(_) => (
            UpstreamFailure::Failed,
            "ksc_error",
            "see the KSC server's event log",
        ),
    };
    ServiceError::Upstream {
        failure,
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
