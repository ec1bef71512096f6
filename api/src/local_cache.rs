//! What the per-process caches share. They are `moka` caches (keys,
//! devices, terminals, fraud settings): bounded, each entry kept for its
//! time to live, and loaded once when several requests miss the same key at
//! the same time (`try_get_with`): the others wait for that one load.
//!
//! A load that fails is not cached, and its error reaches every request that
//! waited on it, shared ([`unshare`] gives each one an [`ApiError`] again).

use std::sync::Arc;

use tillcode_protocol::ProblemType;

use crate::error::ApiError;

/// The error of a load, for one of the requests that waited on it: the
/// error itself when no other request holds it any more (the usual case, a
/// miss nobody else waited on), else an equal answer (same problem type,
/// same detail).
pub fn unshare(error: Arc<ApiError>) -> ApiError {
    Arc::try_unwrap(error).unwrap_or_else(|shared| again(&shared))
}

/// An error answered as `error` is.
pub fn again(error: &ApiError) -> ApiError {
    match error {
        ApiError::Client(kind, detail) => ApiError::Client(*kind, detail.clone()),
        ApiError::Unavailable(message) => ApiError::Unavailable(message.clone()),
        ApiError::Internal(message) => ApiError::Internal(message.clone()),
        ApiError::Ledger(_) => match error.kind() {
            ProblemType::ServiceUnavailable => ApiError::Unavailable(error.to_string()),
            ProblemType::Internal => ApiError::Internal(error.to_string()),
            kind => ApiError::Client(kind, error.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_error_is_answered_as_the_original() {
        let errors = [
            ApiError::client(ProblemType::TerminalNotActive, "this terminal is revoked"),
            ApiError::Unavailable("postgres: gone".into()),
            ApiError::Internal("bug".into()),
        ];
        for error in errors {
            let (kind, text) = (error.kind(), error.to_string());
            let shared = Arc::new(error);
            let held = Arc::clone(&shared);
            let copy = unshare(shared);
            assert_eq!((copy.kind(), copy.to_string()), (kind, text.clone()));
            let last = unshare(held);
            assert_eq!((last.kind(), last.to_string()), (kind, text));
        }
    }
}
