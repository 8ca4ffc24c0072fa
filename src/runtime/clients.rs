//! The stored connections to the outside systems (settings as JSON, secrets sealed with the
//! installation's key) and the clients built from them: the one shared ConnectWise client and
//! KSC clients. Reading and replacing a connection through the API is `services::connections`.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::adapters::connectwise::{
    ConnectWiseClient, ConnectWiseConfig, ConnectWiseError, RetryPolicy,
};
use crate::adapters::db::{self, DbConnection, StorageError};
use crate::adapters::kaspersky::{KscClient, KscConfig};
use crate::adapters::outbound::{HttpClientOptions, OutboundBlocked};
use crate::adapters::secrets::SecretBox;
use crate::runtime::state::Core;

/// Why no client could be made for a stored connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Nothing stored yet.
    #[error("{0}")]
    NotConfigured(String),
    /// Stored, but a secret the client needs is missing.
    #[error("{0}")]
    Incomplete(String),
    /// Stored settings no client can be built with.
    #[error("{0}")]
    Unusable(String),
    #[error(transparent)]
    Blocked(#[from] OutboundBlocked),
    #[error(transparent)]
    ConnectWise(#[from] ConnectWiseError),
    #[error("the stored connection cannot be read: {0}")]
    Corrupt(anyhow::Error),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One kind of stored connection.
pub trait Kind: 'static {
    const KIND: &'static str;
    /// Human name for messages, e.g. `ConnectWise`.
    const NAME: &'static str;
    type Settings: Serialize + DeserializeOwned + Send;
    type Secrets: Serialize + DeserializeOwned + Default + Send;
}

/// The ConnectWise Manage connection.
pub struct ConnectWise;

impl Kind for ConnectWise {
    const KIND: &'static str = "connectwise";
    const NAME: &'static str = "ConnectWise";
    type Settings = ConnectWiseSettings;
    type Secrets = ConnectWiseSecrets;
}

/// The Kaspersky Security Center connection.
pub struct Kaspersky;

impl Kind for Kaspersky {
    const KIND: &'static str = "kaspersky";
    const NAME: &'static str = "Kaspersky Security Center";
    type Settings = KasperskySettings;
    type Secrets = KasperskySecrets;
}

/// A connection's settings and secrets, as stored.
pub struct Stored<C: Kind> {
    pub settings: C::Settings,
    pub secrets: C::Secrets,
    pub updated_at: NaiveDateTime,
}

impl<C: Kind> Stored<C> {
    /// Changes whenever anything a client is built from changes: shared clients are rebuilt then.
    fn version(&self) -> Result<String, ConnectionError> {
        serde_json::to_string(&(&self.settings, &self.secrets))
            .map_err(|e| ConnectionError::Corrupt(e.into()))
    }
}

/// The purpose a connection's secrets are sealed for.
pub fn purpose(kind: &str) -> String {
    format!("connection:{kind}")
}

pub fn load<C: Kind>(
    conn: &mut DbConnection,
    secrets: &SecretBox,
) -> Result<Option<Stored<C>>, ConnectionError> {
    let Some(row) = db::connections::get(conn, C::KIND)? else {
        return Ok(None);
    };
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        ConnectionError::Corrupt(anyhow::anyhow!("stored {} {what}: {e}", C::KIND))
    };
    let settings = serde_json::from_str(&row.settings_json).map_err(|e| corrupt("settings", &e))?;
    let secret_values = match &row.secrets_ciphertext {
        Some(sealed) => {
            let plain = secrets
                .open(&purpose(C::KIND), sealed)
                .map_err(ConnectionError::Corrupt)?;
            serde_json::from_slice(&plain).map_err(|e| corrupt("secrets", &e))?
        }
        None => C::Secrets::default(),
    };
    Ok(Some(Stored {
        settings,
        secrets: secret_values,
        updated_at: row.updated_at,
    }))
}

pub fn not_configured<C: Kind>() -> ConnectionError {
    ConnectionError::NotConfigured(format!(
        "The {} connection is not configured yet: an admin sets it with PUT /api/v1/connections/{}.",
        C::NAME,
        C::KIND
    ))
}

/// Loads the stored connection, or 409 when there is none.
pub async fn require<C: Kind>(state: &Core) -> Result<Stored<C>, ConnectionError> {
    let secrets = state.secrets.clone();
    db::run(&state.pool, move |conn| load::<C>(conn, &secrets))
        .await?
        .ok_or_else(not_configured::<C>)
}

/// Non-secret settings, stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectWiseSettings {
    pub site_url: String,
    pub codebase: Option<String>,
    pub company_id: String,
    pub public_key: String,
    pub client_id: String,
    pub api_version: String,
    pub ca_certificate_pem: Option<String>,
    pub max_concurrency: u32,
    pub request_timeout_seconds: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectWiseSecrets {
    pub private_key: Option<String>,
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

fn connectwise_client(
    s: &ConnectWiseSettings,
    k: &ConnectWiseSecrets,
    state: &Core,
    retry: RetryPolicy,
) -> Result<ConnectWiseClient, ConnectionError> {
    let private_key = k.private_key.clone().ok_or_else(|| {
        ConnectionError::Incomplete(
            "The ConnectWise connection has no private key: set it with \
             PUT /api/v1/connections/connectwise."
                .into(),
        )
    })?;
    let config = ConnectWiseConfig {
        site_url: s.site_url.clone(),
        codebase: s.codebase.clone(),
        company_id: s.company_id.clone(),
        public_key: s.public_key.clone(),
        private_key,
        client_id: s.client_id.clone(),
        api_version: s.api_version.clone(),
        max_concurrency: s.max_concurrency as usize,
    };
    let timeout = Duration::from_secs(u64::from(s.request_timeout_seconds));
    let http = HttpClientOptions {
        connect_timeout: timeout.min(Duration::from_secs(10)),
        request_timeout: timeout,
        extra_ca_pem: s.ca_certificate_pem.clone(),
        accept_invalid_certs: false,
        policy: state.settings.outbound.clone(),
    };
    Ok(ConnectWiseClient::with_retry_policy(config, &http, retry)?)
}

/// A client for the stored connection that makes exactly one attempt per call (for the
/// connection test: report what fails, quickly).
pub async fn one_shot_connectwise(state: &Core) -> Result<ConnectWiseClient, ConnectionError> {
    let stored = require::<ConnectWise>(state).await?;
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    connectwise_client(&stored.settings, &stored.secrets, state, once)
}

/// The one client of the stored connection, shared by every caller so its concurrency limit
/// holds for the whole process; rebuilt when the settings change.
pub async fn shared_connectwise(state: &Core) -> Result<ConnectWiseClient, ConnectionError> {
    let stored = require::<ConnectWise>(state).await?;
    let version = stored.version()?;
    state.connectwise.get_or_build(version, || {
        connectwise_client(
            &stored.settings,
            &stored.secrets,
            state,
            RetryPolicy::default(),
        )
    })
}

/// A client for the stored connection (`retry` shapes how hard each call tries).
/// The one KSC client of the stored connection (its concurrency bound holds process-wide),
/// rebuilt when the connection changes.
pub async fn shared_ksc(state: &Core) -> Result<KscClient, ConnectionError> {
    let stored = require::<Kaspersky>(state).await?;
    let version = stored.version()?;
    state.ksc.get_or_build(version, || {
        ksc_client(&stored.settings, &stored.secrets, state, None)
    })
}

/// A KSC client that makes exactly one attempt per call (for the connection test).
pub async fn one_shot_ksc(state: &Core) -> Result<KscClient, ConnectionError> {
    let stored = require::<Kaspersky>(state).await?;
    let once = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    ksc_client(&stored.settings, &stored.secrets, state, Some(once))
}

/// A client for stored KSC settings; `retry` replaces the client's own policy.
fn ksc_client(
    s: &KasperskySettings,
    k: &KasperskySecrets,
    state: &Core,
    retry: Option<RetryPolicy>,
) -> Result<KscClient, ConnectionError> {
    let password = k.password.clone().ok_or_else(|| {
        ConnectionError::Incomplete(
            "The Kaspersky Security Center connection has no password: set it with \
             PUT /api/v1/connections/kaspersky."
                .into(),
        )
    })?;
    let url = url::Url::parse(&s.server_url).map_err(|e| ConnectionError::Corrupt(e.into()))?;
    state.settings.outbound.check_url(&url)?;
    let timeout = Duration::from_secs(u64::from(s.request_timeout_seconds));
    let options = HttpClientOptions {
        connect_timeout: timeout.min(Duration::from_secs(10)),
        request_timeout: timeout,
        extra_ca_pem: s.ca_certificate_pem.clone(),
        accept_invalid_certs: s.insecure_skip_tls_verify,
        policy: state.settings.outbound.clone(),
    };
    let mut config = KscConfig::new(s.server_url.clone(), s.user.clone(), password);
    config.domain = s.domain.clone();
    config.internal_user = s.internal_user;
    config.max_concurrency = s.max_concurrency as usize;
    config.request_timeout = timeout;
    if let Some(retry) = retry {
        config.retry = retry;
    }
    KscClient::new(config, &options).map_err(|e| {
        ConnectionError::Unusable(format!(
            "The Kaspersky connection settings are unusable: {e}"
        ))
    })
}
