//! What went wrong in a use case, in terms a caller can act on. The web layer turns it into
//! problem+json (`ApiError: From<ServiceError>`); the CLI prints it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{self, StorageError};

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `role` or `rows[2].product_id`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

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
    /// An outside system (ConnectWise, KSC) failed: `status` says how (502 failed, 504 timed
    /// out, 409 misconfigured), `code` names the failure.
    #[error("{detail}")]
    Upstream {
        status: u16,
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
