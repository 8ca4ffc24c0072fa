//! What went wrong in a use case, in terms a caller can act on. The web layer turns it into
//! problem+json (`ApiError: From<ServiceError>`); the CLI prints it.

use crate::adapters::db::{self, StorageError};
use crate::runtime::clients::ConnectionError;
use crate::sync::SyncError;

pub use crate::domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the state (a duplicate, a missing connection, a busy lease).
    #[error("{0}")]
    Conflict(String),
    /// Every invalid field at once.
    #[error("invalid request: {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// The caller's `If-Match` is stale.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The caller did not prove who it is (a wrong password, an account gone).
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed proofs from this account or address: try again after `retry_after`.
    #[error("{detail}")]
    Throttled {
        detail: String,
        retry_after: std::time::Duration,
    },
    /// An outside system (ConnectWise, KSC) failed: `failure` says how, `code` names it.
    #[error("{detail}")]
    Upstream {
        failure: UpstreamFailure,
        code: &'static str,
        detail: String,
    },
    /// The database cannot be reached now.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ServiceError::Internal(err.into())
    }
}

/// How an outside system failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// It answered with an error, or could not be reached.
    Failed,
    /// It did not answer in time.
    TimedOut,
    /// What we have stored cannot work with it (a configuration to fix, not a fault).
    Misconfigured,
}

fn database_unreachable() -> ServiceError {
    ServiceError::Unavailable("The database is not reachable right now; try again shortly.".into())
}

impl From<diesel::result::Error> for ServiceError {
    fn from(err: diesel::result::Error) -> Self {
        if db::is_connection_lost(&err) {
            tracing::warn!(error = %err, "database connection lost");
            return database_unreachable();
        }
        ServiceError::Internal(err.into())
    }
}

impl From<StorageError> for ServiceError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(e) => {
                tracing::warn!(error = %e, "no database connection available");
                database_unreachable()
            }
            crashed => ServiceError::Internal(crashed.into()),
        }
    }
}

impl From<ConnectionError> for ServiceError {
    fn from(err: ConnectionError) -> Self {
        match err {
            ConnectionError::NotConfigured(m)
            | ConnectionError::Incomplete(m)
            | ConnectionError::Unusable(m) => ServiceError::Conflict(m),
            ConnectionError::Blocked(blocked) => ServiceError::Upstream {
                failure: UpstreamFailure::Failed,
                code: "outbound_blocked",
                detail: blocked.to_string(),
            },
            ConnectionError::ConnectWise(e) => {
                crate::services::connections::connectwise::upstream_error(e)
            }
            ConnectionError::Corrupt(e) => ServiceError::Internal(e),
            ConnectionError::Database(e) => e.into(),
            ConnectionError::Storage(e) => e.into(),
        }
    }
}

impl From<SyncError> for ServiceError {
    fn from(err: SyncError) -> Self {
        match err {
            SyncError::Invalid(errors) => ServiceError::Validation(errors),
            SyncError::NotFound(m) => ServiceError::NotFound(m),
            SyncError::Busy(m) => ServiceError::Conflict(m),
            SyncError::Connection(e) => e.into(),
            SyncError::Database(e) => e.into(),
            SyncError::Storage(e) => e.into(),
            SyncError::Internal(e) => ServiceError::Internal(e),
        }
    }
}
