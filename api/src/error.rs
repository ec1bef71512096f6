//! The one place where errors become HTTP responses: RFC 9457 problem+json
//! with a stable `type` per cause (see `tillcode_protocol::ProblemType`).
//! A client's mistake is always a 4xx; a 5xx never carries internal detail.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, ContentType};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, error as actix_error, web};
use tillcode_protocol::{Problem, ProblemType};

use crate::http_limits::is_body_timeout;
use crate::ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error with a cause and an explanation safe to show.
    #[error("{1}")]
    Client(ProblemType, String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A dependency is down: worth a retry, never the client's fault.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn client(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Client(kind, detail.into())
    }

    /// The problem type this error is answered with.
    pub fn kind(&self) -> ProblemType {
        match self {
            Self::Client(kind, _) => *kind,
            // The ledger calls every database failure its own; one that is
            // the database's unavailability is worth the client's retry.
            Self::Ledger(LedgerError::Database(e)) if crate::db::is_unavailable(e) => {
                ProblemType::ServiceUnavailable
            }
            Self::Ledger(e) => e.problem_type(),
            Self::Unavailable(_) => ProblemType::ServiceUnavailable,
            Self::Internal(_) => ProblemType::Internal,
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::Client(_, detail) => Some(detail.clone()),
            Self::Ledger(LedgerError::Database(_)) => None,
            Self::Ledger(e) => Some(e.to_string()),
            Self::Unavailable(_) | Self::Internal(_) => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        problem_response(self.kind(), self.detail())
    }
}

/// Seconds a client should wait before retrying a 503: dependencies come
/// back in seconds (a restart, a failover), and a retry with the same
/// `Idempotency-Key` is always safe.
pub const RETRY_AFTER_SECS: u32 = 1;

pub fn problem_response(kind: ProblemType, detail: Option<String>) -> HttpResponse {
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header(ContentType(PROBLEM_JSON.clone()));
    // A 409 request-in-flight is answered the same way: the first copy of
    // the request will have committed or failed by then.
    if status == StatusCode::SERVICE_UNAVAILABLE || kind == ProblemType::RequestInFlight {
        response.insert_header((actix_web::http::header::RETRY_AFTER, RETRY_AFTER_SECS));
    }
    response.json(ProblemBody {
        problem: Problem::new(kind, detail),
        request_id: crate::telemetry::current_request_id(),
    })
}

/// A problem as answered: the request's id beside the RFC 9457 members
/// (an extension member, which clients that do not know it ignore), so that
/// a client's report of a failure leads to its log lines.
#[derive(serde::Serialize)]
struct ProblemBody {
    #[serde(flatten)]
    problem: Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<crate::telemetry::RequestId>,
}

static PROBLEM_JSON: std::sync::LazyLock<actix_web::mime::Mime> = std::sync::LazyLock::new(|| {
    "application/problem+json"
        .parse()
        .unwrap_or(actix_web::mime::APPLICATION_JSON)
});

impl From<tillcode_protocol::CodeError> for ApiError {
    fn from(e: tillcode_protocol::CodeError) -> Self {
        Self::Client(e.problem_type(), e.to_string())
    }
}

/// Every failed query becomes an answer here, whichever module ran it: 503
/// with `Retry-After` when the database is down, restarting, too slow or
/// locked up (`db::is_unavailable`), else a 500 that shows nothing (a bug,
/// such as a row that does not deserialize or an unexpected constraint
/// violation). A module that expects a particular error (a unique
/// violation meaning "taken") matches it before falling back on this.
impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            Self::Unavailable(format!("postgres: {e}"))
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Unavailable(format!("postgres pool: {e}"))
    }
}

/// JSON bodies of at most `limit` bytes (`HttpLimits::body_bytes`):
/// malformed, unknown fields, too large, too slow or not JSON at all are the
/// client's mistakes, each with its own problem type.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _req: &HttpRequest| {
            let api_error = match &err {
                actix_error::JsonPayloadError::OverflowKnownLength { .. }
                | actix_error::JsonPayloadError::Overflow { .. } => ApiError::client(
                    ProblemType::PayloadTooLarge,
                    format!("the body is larger than {limit} bytes"),
                ),
                actix_error::JsonPayloadError::Payload(e) if is_body_timeout(e) => {
                    ApiError::client(ProblemType::RequestTimeout, e.to_string())
                }
                actix_error::JsonPayloadError::ContentType => ApiError::client(
                    ProblemType::UnsupportedMediaType,
                    "send Content-Type: application/json",
                ),
                actix_error::JsonPayloadError::Deserialize(e) => {
                    ApiError::client(ProblemType::BadRequest, format!("invalid JSON body: {e}"))
                }
                other => ApiError::client(ProblemType::BadRequest, other.to_string()),
            };
            api_error.into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        ApiError::client(ProblemType::NotFound, format!("invalid path: {err}")).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::client(ProblemType::BadRequest, format!("invalid query: {err}")).into()
    })
}

/// Middleware: an error answer that is not yet a problem becomes one (with
/// the request's id, as every problem built here), so
/// that what actix answers by itself (a `web::Bytes` body over the limit or
/// cut short, a malformed header an extractor refused) has a stable type
/// like everything else. The status is kept whenever a type has it.
pub async fn plain_errors_as_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_boxed_body());
    }
    let timed_out = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_error::PayloadError>())
        .is_some_and(is_body_timeout);
    let kind = match status.as_u16() {
        _ if timed_out => ProblemType::RequestTimeout,
        404 => ProblemType::NotFound,
        405 => ProblemType::MethodNotAllowed,
        408 => ProblemType::RequestTimeout,
        413 => ProblemType::PayloadTooLarge,
        415 => ProblemType::UnsupportedMediaType,
        401 => ProblemType::Unauthorized,
        403 => ProblemType::Forbidden,
        429 => ProblemType::RateLimited,
        503 => ProblemType::ServiceUnavailable,
        500..=599 => ProblemType::Internal,
        _ => ProblemType::BadRequest,
    };
    if status.is_server_error() {
        tracing::error!(%status, "an error answer without a problem type");
    }
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, problem_response(kind, None)))
}

/// Unknown routes answer 404 problem+json instead of an empty body.
pub async fn not_found() -> HttpResponse {
    problem_response(ProblemType::NotFound, None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::testing::spawn_app;

    #[tokio::test]
    async fn an_unknown_route_is_a_404_problem() {
        let app = spawn_app().await;
        let response = reqwest::get(app.url("/no/such/thing")).await.unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["type"], "https://tillcode.dev/problems/not-found");
        assert_eq!(body["status"], 404);
    }

    #[test]
    fn a_503_says_when_to_retry() {
        use actix_web::ResponseError;
        let response = super::ApiError::Unavailable("redis: down".into()).error_response();
        assert_eq!(response.status(), 503);
        let retry_after = response
            .headers()
            .get(actix_web::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        assert_eq!(retry_after, Some("1"));
    }

    #[test]
    fn a_lost_database_connection_is_a_503_not_a_500() {
        use actix_web::ResponseError;
        let lost = || {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UnableToSendCommand,
                Box::new("connection closed".to_owned()),
            )
        };
        assert_eq!(super::ApiError::from(lost()).status_code(), 503);
        let in_ledger = super::ApiError::from(crate::ledger::LedgerError::Database(lost()));
        assert_eq!(in_ledger.status_code(), 503);
        assert_eq!(in_ledger.detail(), None);
        assert_eq!(
            super::ApiError::from(diesel::result::Error::NotFound).status_code(),
            500
        );
    }

    #[test]
    fn a_database_failure_shows_no_internal_detail() {
        use actix_web::ResponseError;
        let err = super::ApiError::from(crate::ledger::LedgerError::Database(
            diesel::result::Error::NotFound,
        ));
        assert_eq!(err.status_code(), 500);
        assert_eq!(err.detail(), None);
    }
}
