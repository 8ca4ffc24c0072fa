//! Stored connection settings for the outside systems: non-secret settings as JSON, secrets
//! sealed with the installation's key, one row per system. Reading and replacing a connection
//! (with `If-Match` and an audit event whose values hold no secret) is the same for every
//! system: each one implements [`Connection`].

pub mod connectwise;
pub mod kaspersky;

use chrono::DateTime;
use serde::Serialize;

use crate::adapters::db::utc;
use crate::adapters::db::{self, audit, audit::Actor, connections::ConnectionRow, DbConnection};
use crate::adapters::secrets::SecretBox;
pub use crate::runtime::clients::{load, not_configured, purpose, require, Kind, Stored};
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::fields::Patch;
use crate::services::{FieldError, ServiceError};

/// Tests the stored ConnectWise connection: the API base in use and the server's version.
pub async fn test_connectwise(ctx: &Core) -> Result<(String, Option<String>), ServiceError> {
    let result = async {
        let client = connectwise::one_shot_client(ctx).await?;
        let api_base = client
            .api_base()
            .await
            .map_err(connectwise::upstream_error)?;
        let info = client
            .system_info()
            .await
            .map_err(connectwise::upstream_error)?;
        Ok((api_base.to_string(), info.version))
    };
    tested::<connectwise::ConnectWise, _>(ctx, result.await).await
}

/// Tests the stored KSC connection: how many virtual servers it lists.
pub async fn test_kaspersky(ctx: &Core) -> Result<usize, ServiceError> {
    let result = async {
        let client = kaspersky::one_shot_client(ctx).await?;
        let vservers = client
            .list_vservers()
            .await
            .map_err(kaspersky::upstream_error)?;
        Ok(vservers.len())
    };
    tested::<kaspersky::Kaspersky, _>(ctx, result.await).await
}

/// A connection test's outcome, also kept as a notice: a failure opens (or recurs) it, a
/// success resolves it. The failure is said in the API's words, never an internal error's.
async fn tested<C: Kind, T>(
    state: &Core,
    result: Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let failure = result.as_ref().err().map(|e| match e {
        ServiceError::Internal(_) => "the server failed; the cause is in its log".to_string(),
        other => other.to_string(),
    });
    crate::sync::notices::connection_tested(state, C::KIND, C::NAME, failure).await;
    result
}

/// One kind of connection as the API reads and replaces it.
pub trait Connection: Kind + Sized {
    /// What the API shows: the settings and whether each secret is set, never a secret.
    type View: Serialize + Send;
    /// A validated `PUT` body.
    type Update: Send;

    fn view(
        settings: &Self::Settings,
        secrets: &Self::Secrets,
        updated_at: DateTime<chrono::Utc>,
    ) -> Self::View;
    /// The settings and secrets to store, given what is stored (omitted secrets are kept, see
    /// [`secret_on_put`]).
    fn apply(
        update: Self::Update,
        stored: Option<&Stored<Self>>,
    ) -> Result<(Self::Settings, Self::Secrets), FieldError>;
}

/// A write-only secret on `PUT`: omitted keeps the stored one and `null` clears it. A stored
/// secret never follows the connection to another destination — another address (scheme,
/// host or port), or for KSC the same address trusted another way (CA, certificate checks):
/// the connection test would send it there, to a server of whoever changed the settings.
pub fn secret_on_put<D: PartialEq>(
    patch: Patch<String>,
    stored: Option<(&Option<String>, Option<D>)>,
    destination: Option<&D>,
    field: &str,
    noun: &str,
) -> Result<Option<String>, FieldError> {
    match patch {
        Patch::Value(secret) => Ok(Some(secret)),
        Patch::Null => Ok(None),
        Patch::Absent => match stored {
            Some((Some(secret), Some(was))) if Some(&was) == destination => {
                Ok(Some(secret.clone()))
            }
            Some((Some(_), _)) => Err(FieldError::new(
                field,
                format!(
                    "re-enter the {noun} for the new address: a stored {noun} is never sent to \
                     another scheme, host or port, nor to a server trusted another way"
                ),
            )),
            _ => Ok(None),
        },
    }
}

impl<C: Connection> Stored<C> {
    pub fn view(&self) -> C::View {
        C::view(&self.settings, &self.secrets, utc(self.updated_at))
    }
}

/// The stored connection as the API shows it; 404 when it is not configured yet.
pub async fn view<C: Connection>(ctx: &Core) -> Result<C::View, ServiceError> {
    let secrets = ctx.secrets.clone();
    let stored = db::run(&ctx.pool, move |conn| load::<C>(conn, &secrets)).await?;
    let stored = stored.ok_or_else(|| {
        ServiceError::NotFound(format!("The {} connection is not configured yet.", C::NAME))
    })?;
    Ok(stored.view())
}

/// Replaces the stored connection (creating it), checking `If-Match` against what is stored
/// and auditing before → after, all in one transaction.
pub async fn replace<C: Connection>(
    ctx: &Core,
    actor: Actor,
    if_match: IfMatch,
    update: C::Update,
) -> Result<C::View, ServiceError>
where
    C::Update: 'static,
    C::View: 'static,
{
    let secrets = ctx.secrets.clone();
    db::run(&ctx.pool, move |conn| {
        replace_in::<C>(conn, &secrets, &actor, &if_match, update)
    })
    .await
}

fn replace_in<C: Connection>(
    conn: &mut DbConnection,
    secrets: &SecretBox,
    actor: &Actor,
    if_match: &IfMatch,
    update: C::Update,
) -> Result<C::View, ServiceError> {
    db::write_transaction(conn, &purpose(C::KIND), |conn| {
        let stored = load::<C>(conn, secrets)?;
        let before = stored.as_ref().map(Stored::view);
        if_match.check_current(before.as_ref().map(etag_of).as_deref())?;
        let (settings, new_secrets) =
            C::apply(update, stored.as_ref()).map_err(|e| ServiceError::Validation(vec![e]))?;
        let updated_at = db::now();
        let plain = serde_json::to_vec(&new_secrets).map_err(ServiceError::internal)?;
        db::connections::save(
            conn,
            &ConnectionRow {
                kind: C::KIND.to_string(),
                settings_json: serde_json::to_string(&settings).map_err(ServiceError::internal)?,
                secrets_ciphertext: Some(secrets.seal(&purpose(C::KIND), &plain)),
                updated_at,
            },
        )?;
        let after = C::view(&settings, &new_secrets, utc(updated_at));
        // Views hold no secret, only whether each is set.
        let audited = |v: &C::View| serde_json::to_value(v).ok();
        let action = if before.is_some() { "update" } else { "create" };
        audit::record(
            conn,
            actor,
            action,
            "connection",
            C::KIND,
            before.as_ref().and_then(audited),
            audited(&after),
        )?;
        Ok(after)
    })
}

/// A CA certificate given for a private PKI must be a PEM certificate.
pub fn check_pem(pem: &str) -> Result<(), String> {
    if pem.contains("-----BEGIN CERTIFICATE-----")
        && reqwest::Certificate::from_pem(pem.as_bytes()).is_ok()
    {
        Ok(())
    } else {
        Err("must be a PEM certificate (-----BEGIN CERTIFICATE-----)".into())
    }
}
