//! The ConnectWise Manage connection: settings, validation, and the one shared client.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::connectwise::{site_origin, ConnectWiseError};
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::{FieldError, ServiceError, UpstreamFailure};

pub const DEFAULT_API_VERSION: &str = "2025.1";

pub use crate::runtime::clients::{
    one_shot_connectwise as one_shot_client, shared_connectwise as shared_client, ConnectWise,
    ConnectWiseSecrets, ConnectWiseSettings,
};

impl super::Connection for ConnectWise {
    type View = ConnectWiseConnection;
    type Update = ConnectWiseUpdate;

    fn view(
        s: &ConnectWiseSettings,
        k: &ConnectWiseSecrets,
        updated_at: DateTime<Utc>,
    ) -> ConnectWiseConnection {
        ConnectWiseConnection::new(s, k, updated_at)
    }

    fn apply(
        update: ConnectWiseUpdate,
        stored: Option<&super::Stored<ConnectWise>>,
    ) -> Result<(ConnectWiseSettings, ConnectWiseSecrets), FieldError> {
        update.apply(stored)
    }
}

/// The ConnectWise connection as the API shows it: the private key never, only whether it is set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectWiseConnection {
    /// `https://na.myconnectwise.net` (scheme, host, optional port).
    pub site_url: String,
    /// e.g. `v4_6_release/`; null = discovered through `login/companyinfo`.
    pub codebase: Option<String>,
    /// The ConnectWise company id used to log in (e.g. `mymsp`).
    pub company_id: String,
    /// The API member's public key.
    pub public_key: String,
    /// Whether a private key is stored (it is write-only).
    pub private_key_set: bool,
    /// The integration's clientId (a GUID from developer.connectwise.com).
    pub client_id: String,
    /// API version pinned in the `Accept` header, e.g. `2025.1`.
    pub api_version: String,
    /// Extra trusted CA certificate (PEM) for a site behind a private PKI.
    pub ca_certificate_pem: Option<String>,
    /// Calls in flight at once against this site.
    pub max_concurrency: u32,
    /// Timeout of one call.
    pub request_timeout_seconds: u32,
    pub updated_at: DateTime<Utc>,
}

impl ConnectWiseConnection {
    pub fn new(s: &ConnectWiseSettings, k: &ConnectWiseSecrets, updated_at: DateTime<Utc>) -> Self {
        ConnectWiseConnection {
            site_url: s.site_url.clone(),
            codebase: s.codebase.clone(),
            company_id: s.company_id.clone(),
            public_key: s.public_key.clone(),
            private_key_set: k.private_key.is_some(),
            client_id: s.client_id.clone(),
            api_version: s.api_version.clone(),
            ca_certificate_pem: s.ca_certificate_pem.clone(),
            max_concurrency: s.max_concurrency,
            request_timeout_seconds: s.request_timeout_seconds,
            updated_at,
        }
    }
}

/// `PUT /api/v1/connections/connectwise` (the documented body): replaces the settings.
#[derive(Debug, ToSchema)]
pub struct PutConnectWiseConnection {
    /// The ConnectWise site, e.g. `https://na.myconnectwise.net`.
    #[schema(min_length = 1, max_length = 500)]
    pub site_url: String,
    /// The code base path, e.g. `v4_6_release/`; found from the site when absent.
    #[schema(max_length = 100, pattern = "^[A-Za-z0-9_./-]*$")]
    pub codebase: Option<String>,
    /// The company id of the API member's login.
    #[schema(min_length = 1, max_length = 100)]
    pub company_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub public_key: String,
    /// Write-only. Omit to keep the stored key (refused with 422 when scheme, host or port of
    /// `site_url` change: a stored key never goes to another address); `null` clears it.
    #[schema(min_length = 1, max_length = 200)]
    pub private_key: Option<String>,
    /// The integration's client id from developer.connectwise.com.
    #[schema(format = "uuid")]
    pub client_id: String,
    /// The API version asked for.
    #[schema(default = "2025.1", pattern = "^\\s*[0-9]{4}\\.[0-9]+\\s*$")]
    pub api_version: Option<String>,
    /// A PEM certificate to trust besides the system roots (a private CA).
    pub ca_certificate_pem: Option<String>,
    /// Calls at once.
    #[schema(default = 4, minimum = 1, maximum = 32)]
    pub max_concurrency: Option<u32>,
    #[schema(default = 30, minimum = 1, maximum = 300)]
    pub request_timeout_seconds: Option<u32>,
}

/// A validated `PUT` body.
#[derive(Debug)]
pub struct ConnectWiseUpdate {
    site_url: String,
    codebase: Option<String>,
    company_id: String,
    public_key: String,
    private_key: Patch<String>,
    client_id: String,
    api_version: Option<String>,
    ca_certificate_pem: Option<String>,
    max_concurrency: Option<u32>,
    request_timeout_seconds: Option<u32>,
}

fn non_empty(f: &mut JsonFields, name: &str, max: usize) -> Option<String> {
    let value = f.required::<String>(name).map(|v| v.trim().to_string());
    if let Some(v) = &value {
        if v.is_empty() || v.len() > max {
            f.error(name, format!("must be 1 to {max} characters"));
        }
    }
    value
}

impl FromJsonBody for ConnectWiseUpdate {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let site_url = non_empty(f, "site_url", 500);
        if let Some(url) = &site_url {
            if let Err(e) = site_origin(url) {
                f.error("site_url", e.to_string());
            }
        }
        let codebase = f
            .optional::<String>("codebase")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        if let Some(c) = &codebase {
            if c.len() > 100
                || !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_./-".contains(ch))
            {
                f.error("codebase", "must look like v4_6_release/");
            }
        }
        let company_id = non_empty(f, "company_id", 100);
        let public_key = non_empty(f, "public_key", 200);
        let private_key = f.patch::<String>("private_key");
        if let Patch::Value(k) = &private_key {
            if k.trim().is_empty() || k.len() > 200 {
                f.error("private_key", "must be 1 to 200 characters");
            }
        }
        let client_id = non_empty(f, "client_id", 100);
        if let Some(id) = &client_id {
            if uuid::Uuid::parse_str(id).is_err() {
                f.error(
                    "client_id",
                    "must be a GUID such as 2b9d6f3e-1111-4000-8000-000000000001",
                );
            }
        }
        let api_version = f
            .optional::<String>("api_version")
            .map(|v| v.trim().to_string());
        if let Some(v) = &api_version {
            let ok = v.split_once('.').is_some_and(|(y, m)| {
                y.len() == 4
                    && y.chars().all(|c| c.is_ascii_digit())
                    && !m.is_empty()
                    && m.chars().all(|c| c.is_ascii_digit())
            });
            if !ok {
                f.error("api_version", "must look like 2025.1");
            }
        }
        let ca_certificate_pem = f
            .optional::<String>("ca_certificate_pem")
            .filter(|p| !p.trim().is_empty());
        if let Some(pem) = &ca_certificate_pem {
            if !pem.contains("-----BEGIN CERTIFICATE-----")
                || reqwest::Certificate::from_pem(pem.as_bytes()).is_err()
            {
                f.error(
                    "ca_certificate_pem",
                    "must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
                );
            }
        }
        let max_concurrency = f.optional::<u32>("max_concurrency");
        if max_concurrency.is_some_and(|n| !(1..=32).contains(&n)) {
            f.error("max_concurrency", "must be from 1 to 32");
        }
        let request_timeout_seconds = f.optional::<u32>("request_timeout_seconds");
        if request_timeout_seconds.is_some_and(|n| !(1..=300).contains(&n)) {
            f.error("request_timeout_seconds", "must be from 1 to 300");
        }
        Some(ConnectWiseUpdate {
            site_url: site_url?,
            codebase,
            company_id: company_id?,
            public_key: public_key?,
            private_key,
            client_id: client_id?,
            api_version,
            ca_certificate_pem,
            max_concurrency,
            request_timeout_seconds,
        })
    }
}

impl ConnectWiseUpdate {
    /// The settings and secrets to store, given what is stored now.
    pub fn apply(
        self,
        stored: Option<&super::Stored<ConnectWise>>,
    ) -> Result<(ConnectWiseSettings, ConnectWiseSecrets), FieldError> {
        let address = |url: &str| site_origin(url).ok().map(|u| u.origin());
        let private_key = super::secret_on_put(
            self.private_key,
            stored.map(|s| (&s.secrets.private_key, address(&s.settings.site_url))),
            address(&self.site_url).as_ref(),
            "private_key",
            "private key",
        )?;
        Ok((
            ConnectWiseSettings {
                site_url: self.site_url.trim_end_matches('/').to_string(),
                codebase: self.codebase,
                company_id: self.company_id,
                public_key: self.public_key,
                client_id: self.client_id,
                api_version: self
                    .api_version
                    .unwrap_or_else(|| DEFAULT_API_VERSION.into()),
                ca_certificate_pem: self.ca_certificate_pem,
                max_concurrency: self.max_concurrency.unwrap_or(4),
                request_timeout_seconds: self.request_timeout_seconds.unwrap_or(30),
            },
            ConnectWiseSecrets { private_key },
        ))
    }
}

/// A ConnectWise failure as a problem an MSP can act on.
pub fn upstream_error(err: ConnectWiseError) -> ServiceError {
    let failure = match &err {
        ConnectWiseError::Timeout => UpstreamFailure::TimedOut,
        ConnectWiseError::InvalidConfig(_) => UpstreamFailure::Misconfigured,
        _ => UpstreamFailure::Failed,
    };
    ServiceError::Upstream {
        failure,
        code: err.code(),
        detail: err.to_string(),
    }
}
