//! What stops a sync (or a collection) from running, in the sync's own terms; the services and
//! the web layer decide what a caller learns of it.

use crate::adapters::db::StorageError;
use crate::domain::validation::FieldError;
use crate::runtime::clients::ConnectionError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A request names something that is not there (a stored plan, a tenant).
    #[error("invalid request: {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    /// Another run holds the lease.
    #[error("{0}")]
    Busy(String),
    /// ConnectWise or KSC cannot be reached with the stored connection (or there is none).
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl SyncError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        SyncError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        SyncError::Internal(err.into())
    }

    /// What a run record or a log line for operators may say: internal causes stay in the log.
    pub fn detail(&self) -> String {
        match self {
            SyncError::Database(_) | SyncError::Storage(_) | SyncError::Internal(_) => {
                "the server failed; the cause is in its log".into()
            }
            SyncError::Invalid(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
}
