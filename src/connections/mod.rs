//! Stored connection settings for the outside systems: non-secret settings as JSON, secrets
//! sealed with the installation's key, one row per system, audited with secrets masked.

pub mod connectwise;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::{self, connections::ConnectionRow, DbConnection};
use crate::error::ApiError;
use crate::secrets::SecretBox;

/// A connection's settings and secrets, as stored.
pub struct Stored<S, K> {
    pub settings: S,
    pub secrets: K,
    pub updated_at: chrono::NaiveDateTime,
}

fn purpose(kind: &str) -> String {
    format!("connection:{kind}")
}

pub fn load<S: DeserializeOwned, K: DeserializeOwned + Default>(
    conn: &mut DbConnection,
    secrets: &SecretBox,
    kind: &str,
) -> Result<Option<Stored<S, K>>, ApiError> {
    let Some(row) = db::connections::get(conn, kind)? else {
        return Ok(None);
    };
    let settings = serde_json::from_str(&row.settings_json)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored {kind} settings: {e}")))?;
    let secrets = match &row.secrets_ciphertext {
        Some(sealed) => {
            let plain = secrets.open(&purpose(kind), sealed)?;
            serde_json::from_slice(&plain)
                .map_err(|e| ApiError::internal(anyhow::anyhow!("stored {kind} secrets: {e}")))?
        }
        None => K::default(),
    };
    Ok(Some(Stored {
        settings,
        secrets,
        updated_at: row.updated_at,
    }))
}

pub fn save<S: Serialize, K: Serialize>(
    conn: &mut DbConnection,
    secrets: &SecretBox,
    kind: &str,
    settings: &S,
    secret_values: &K,
) -> Result<chrono::NaiveDateTime, ApiError> {
    let updated_at = db::now();
    let plain = serde_json::to_vec(secret_values).map_err(ApiError::internal)?;
    let row = ConnectionRow {
        kind: kind.to_string(),
        settings_json: serde_json::to_string(settings).map_err(ApiError::internal)?,
        secrets_ciphertext: Some(secrets.seal(&purpose(kind), &plain)),
        updated_at,
    };
    db::connections::save(conn, &row)?;
    Ok(updated_at)
}
