//! Optimistic concurrency for mutable configuration: responses carry an `ETag` computed from the
//! resource's representation; a write with `If-Match` applies only when the ETag still matches
//! (412 otherwise), so two frontends cannot silently overwrite each other. Check the ETag
//! inside the write transaction, against the state read there. (`routes::etag` reads the
//! header and writes the response header.)

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::services::ServiceError;

/// A strong ETag of a JSON representation.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).expect("representations serialise");
    let digest = Sha256::digest(&bytes);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// The request's `If-Match` header: absent (no precondition), `*`, or a list of ETags.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    pub fn any() -> IfMatch {
        IfMatch(None)
    }

    /// The tags sent, or `None` without the header.
    pub fn from_header(tags: Option<Vec<String>>) -> IfMatch {
        IfMatch(tags)
    }

    /// 412 when a precondition was sent and `current` does not satisfy it.
    pub fn check(&self, current: &str) -> Result<(), ServiceError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(()),
            Some(_) => Err(stale()),
        }
    }
}

fn stale() -> ServiceError {
    ServiceError::PreconditionFailed(
        "The resource changed since you read it (If-Match does not match its ETag); \
         read it again and reapply your change."
            .into(),
    )
}

impl IfMatch {
    /// Like `check`, for a resource that may not exist yet (`None`): any precondition on a
    /// missing resource fails, as RFC 9110 says.
    pub fn check_current(&self, current: Option<&str>) -> Result<(), ServiceError> {
        match current {
            Some(etag) => self.check(etag),
            None if self.0.is_none() => Ok(()),
            None => Err(stale()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions() {
        let current = etag_of(&serde_json::json!({"a": 1}));
        assert_ne!(current, etag_of(&serde_json::json!({"a": 2})));
        assert!(IfMatch::any().check(&current).is_ok());
        assert!(IfMatch(Some(vec!["*".into()])).check(&current).is_ok());
        assert!(IfMatch(Some(vec!["\"x\"".into(), current.clone()]))
            .check(&current)
            .is_ok());
        assert!(matches!(
            IfMatch(Some(vec!["\"stale\"".into()])).check(&current),
            Err(ServiceError::PreconditionFailed(_))
        ));
    }
}
