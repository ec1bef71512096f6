//! What can go wrong talking to the API, with the server's RFC 9457 problem
//! kept whole so callers branch on its `type`.

use tillcode_protocol::{Problem, ProblemType};
use tillcode_sdk_common::http::{
    BaseError, ResponseError, describe, excerpt, parse_problem, transport_chain,
};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request and said why.
    #[error("{}", describe(.0))]
    Problem(Problem),
    /// No answer: connection refused, timeout, DNS, broken connection.
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
}

impl ClientError {
    /// The error for a non-success `status` with `body`: the problem it
    /// carries, or [`ClientError::UnexpectedStatus`] when it carries none.
    pub fn from_error_response(status: u16, body: &[u8]) -> Self {
        match parse_problem(body) {
            Some((problem, _)) => Self::Problem(problem),
            None => Self::UnexpectedStatus {
                status,
                body: excerpt(body),
            },
        }
    }

    /// The problem's `type`, when the server sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// The problem's cause, when the server sent one this version knows.
    pub fn problem_type(&self) -> Option<ProblemType> {
        self.problem().and_then(Problem::kind)
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
    fn a_problem_body_becomes_a_typed_problem_with_its_type_in_the_message() {
        let body = br#"{
            "type": "https://tillcode.dev/problems/invalid-credentials",
            "title": "Wrong email or password",
            "status": 401,
            "detail": "the email or the password is wrong"
        }"#;
        let err = ClientError::from_error_response(401, body);
        assert_eq!(err.problem_type(), Some(ProblemType::InvalidCredentials));
        assert_eq!(
            err.to_string(),
            "https://tillcode.dev/problems/invalid-credentials (401 Wrong email or password): \
             the email or the password is wrong"
        );
    }

    #[test]
    fn a_problem_of_a_type_this_version_does_not_know_is_kept_whole() {
        let body =
            br#"{"type":"https://tillcode.dev/problems/brand-new","title":"New","status":409}"#;
        let err = ClientError::from_error_response(409, body);
        assert_eq!(err.problem_type(), None);
        let problem = err.problem().unwrap();
        assert_eq!(problem.type_uri, "https://tillcode.dev/problems/brand-new");
        assert_eq!(problem.detail, None);
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
        assert!(body.starts_with("<html>"));
    }
}
