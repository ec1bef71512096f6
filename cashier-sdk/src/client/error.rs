//! What can go wrong talking to the API, with the server's RFC 9457 problem
//! kept whole (typed, and as the exact JSON it sent) so that callers branch
//! on its `type` and scripts can print it unchanged.

use tillcode_protocol::{Problem, ProblemType};
use tillcode_sdk_common::http::{
    BaseError, ResponseError, certificate_refused, describe, excerpt, parse_problem,
    transport_chain,
};

use crate::signing::SignError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status and said why.
    #[error("{}", describe(.problem))]
    Problem {
        /// The HTTP status (the problem's own `status` member may differ
        /// if a proxy rewrote it; this one is what arrived).
        status: u16,
        problem: Problem,
        /// The problem document as received, extension members included.
        body: serde_json::Value,
    },
    /// No answer: connection refused or dropped, timeout, DNS.
    #[error("cannot reach the API: {}", transport_chain(.0))]
    Transport(#[from] reqwest::Error),
    /// An error status without a problem body (a proxy's error page, say).
    #[error("the API answered HTTP {status} without a problem body: {body:?}")]
    UnexpectedStatus { status: u16, body: String },
    /// A success status with a body this client cannot read.
    #[error("the API's {what} response is not what this client expects: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the API's {what} response is larger than {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    #[error("cannot use {url:?} as the API address: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl ClientError {
    /// The error for a non-success `status` with `body`: the problem it
    /// carries, or [`ClientError::UnexpectedStatus`] when it carries none.
    pub fn from_error_response(status: u16, body: &[u8]) -> Self {
        match parse_problem(body) {
            Some((problem, body)) => Self::Problem {
                status,
                problem,
                body,
            },
            None => Self::UnexpectedStatus {
                status,
                body: excerpt(body),
            },
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The problem's cause, when the server sent one this version knows.
    pub fn problem_type(&self) -> Option<ProblemType> {
        self.problem().and_then(Problem::kind)
    }

    /// The HTTP status of the answer, when there was an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem { status, .. } | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the request may or may not have taken effect: no answer, a
    /// server error, the server still busy with an earlier attempt of the
    /// same key, or a success answer this client could not read. Retrying
    /// with the same idempotency key and body settles it; anything else is
    /// a definite refusal (nothing happened) or a local mistake.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            // A refused certificate fails the handshake, before the request.
            Self::Transport(e) => !e.is_builder() && certificate_refused(e).is_none(),
            Self::Decode { .. } | Self::TooLarge { .. } => true,
            Self::Problem { status, .. } | Self::UnexpectedStatus { status, .. } => {
                *status >= 500 || self.is_in_flight()
            }
            Self::BadUrl { .. } | Self::Sign(_) => false,
        }
    }

    /// Whether another attempt of the same request (same key, same body,
    /// signed afresh) may get a definite answer. Not for an unreadable
    /// success answer: the retry would get the same stored answer back.
    pub fn is_retryable(&self) -> bool {
        self.outcome_unknown() && !matches!(self, Self::Decode { .. } | Self::TooLarge { .. })
    }

    /// Whether the client refused the server's TLS certificate (a setup
    /// mistake, such as a missing private CA): nothing was sent.
    pub fn certificate_refused(&self) -> bool {
        matches!(self, Self::Transport(e) if certificate_refused(e).is_some())
    }

    fn is_in_flight(&self) -> bool {
        matches!(
            self.problem_type(),
            Some(ProblemType::RequestInFlight | ProblemType::IdempotencyInFlight)
        )
    }
}

impl From<BaseError> for ClientError {
    fn from(error: BaseError) -> Self {
        match error {
            BaseError::BadUrl { url, reason } => Self::BadUrl { url, reason },
            BaseError::Transport(e) => Self::Transport(e),
        }
    }
}

impl From<ResponseError> for ClientError {
    fn from(error: ResponseError) -> Self {
        match error {
            ResponseError::Transport(e) => Self::Transport(e),
            ResponseError::TooLarge { what, limit } => Self::TooLarge { what, limit },
            ResponseError::Status { status, body } => Self::from_error_response(status, &body),
        }
    }
}

#[cfg(test)]
mod tests {
    use tillcode_sdk_common::http::BODY_EXCERPT_CHARS;

    use super::*;

    #[test]
    fn a_problem_body_is_kept_typed_and_verbatim_with_its_type_in_the_message() {
        let body = br#"{
            "type": "https://tillcode.dev/problems/insufficient-balance",
            "title": "The balance is lower than the amount",
            "status": 422,
            "detail": "balance 20",
            "balance": 20
        }"#;
        let err = ClientError::from_error_response(422, body);
        assert_eq!(err.problem_type(), Some(ProblemType::InsufficientBalance));
        assert_eq!(err.status(), Some(422));
        assert!(!err.outcome_unknown());
        assert!(!err.is_retryable());
        let ClientError::Problem { body, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(body["balance"], 20);
        assert_eq!(
            err.to_string(),
            "https://tillcode.dev/problems/insufficient-balance \
             (422 The balance is lower than the amount): balance 20"
        );
    }

    #[test]
    fn server_errors_and_requests_in_flight_are_retried_refusals_are_not() {
        let problem = |kind: ProblemType| {
            let body = serde_json::to_vec(&Problem::new(kind, None)).unwrap();
            ClientError::from_error_response(kind.status(), &body)
        };
        for kind in [
            ProblemType::ServiceUnavailable,
            ProblemType::Internal,
            ProblemType::RequestInFlight,
            ProblemType::IdempotencyInFlight,
        ] {
            let err = problem(kind);
            assert!(err.outcome_unknown() && err.is_retryable(), "{kind:?}");
        }
        for kind in [
            ProblemType::InsufficientBalance,
            ProblemType::CodeReplayed,
            ProblemType::SignatureInvalid,
            ProblemType::TerminalNotActive,
            ProblemType::IdempotencyKeyReused,
            ProblemType::RateLimited,
            ProblemType::NotFound,
        ] {
            let err = problem(kind);
            assert!(!err.outcome_unknown() && !err.is_retryable(), "{kind:?}");
        }
        let gateway = ClientError::from_error_response(502, b"<html>Bad gateway</html>");
        assert!(gateway.is_retryable());
        let not_found = ClientError::from_error_response(404, b"<html>no</html>");
        assert!(!not_found.is_retryable());
    }

    #[test]
    fn an_unreadable_success_answer_is_an_unknown_outcome_that_is_not_retried() {
        let source = serde_json::from_slice::<u8>(b"x").unwrap_err();
        let err = ClientError::Decode {
            what: "redemption",
            source,
        };
        assert!(err.outcome_unknown());
        assert!(!err.is_retryable());
    }

    #[test]
    fn an_error_page_that_is_not_a_problem_is_reported_with_an_excerpt() {
        let page = format!("<html>{}</html>", "x".repeat(1000));
        let err = ClientError::from_error_response(502, page.as_bytes());
        let ClientError::UnexpectedStatus { status, body } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*status, 502);
        assert_eq!(body.chars().count(), BODY_EXCERPT_CHARS);
        // JSON that is not a problem document is not taken for one.
        let err = ClientError::from_error_response(400, br#"{"error":"nope"}"#);
        assert!(
            matches!(err, ClientError::UnexpectedStatus { .. }),
            "{err:?}"
        );
    }
}
