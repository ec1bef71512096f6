//! Structured logs through `tracing`. Nothing secret is ever a field: codes,
//! keys, passwords and URLs with credentials stay out of every event.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Levels of dependencies that print secrets, kept whatever `TILLCODE_LOG`
/// asks for: tokio-postgres logs every statement's parameters at `debug`,
/// device TOTP secrets among them.
const CAPS: &[&str] = &["tokio_postgres=info"];

/// The filter for `directives` (`TILLCODE_LOG`), with [`CAPS`] on top.
pub fn filter(directives: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    CAPS.iter()
        .filter_map(|cap| cap.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}

/// Logs go to stderr, so that commands printing JSON on stdout stay parseable.
pub fn init(config: &LogConfig) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(&config.filter))
        .with_writer(std::io::stderr);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// The header that carries a request's id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// At most this many bytes in an incoming `X-Request-Id`.
pub const REQUEST_ID_MAX_LEN: usize = 128;

/// The id of one request: the caller's `X-Request-Id` when it is a sane
/// token ([`RequestId::from_header`]), else a fresh UUIDv7. Every log event
/// of the request carries it (the request's span, [`Spans`]), its answer
/// repeats it in `X-Request-Id`, and a problem body in `request_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(std::sync::Arc<str>);

impl RequestId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().to_string().into())
    }

    /// A caller's id, kept only if it is 1 to [`REQUEST_ID_MAX_LEN`] bytes of
    /// visible ASCII (no space, no control character): anything else could
    /// forge or break a log line, or swell every line of the request.
    pub fn from_header(value: &[u8]) -> Option<Self> {
        let sane = (1..=REQUEST_ID_MAX_LEN).contains(&value.len())
            && value.iter().all(|b| b.is_ascii_graphic());
        let text = std::str::from_utf8(value).ok().filter(|_| sane)?;
        Some(Self(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl serde::Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    /// The id of the request whose future is running: problem bodies are
    /// built where no request is at hand (`ResponseError::error_response`).
    static CURRENT_REQUEST_ID: RequestId;
}

/// The id of the request being answered, if any.
pub fn current_request_id() -> Option<RequestId> {
    CURRENT_REQUEST_ID.try_with(RequestId::clone).ok()
}

/// Middleware, the outermost: gives the request its [`RequestId`] (in its
/// extensions, for [`Spans`], and for everything the request runs, for
/// problem bodies) and puts it in the answer's `X-Request-Id`, whatever the
/// answer. An error that reached here unanswered is answered here, so that
/// it too carries the id (as an error whose answer is made: actix-http
/// sends it as it is).
pub async fn assign_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| RequestId::from_header(v.as_bytes()))
        .unwrap_or_default();
    req.extensions_mut().insert(id.clone());
    let outcome = CURRENT_REQUEST_ID
        .scope(id.clone(), async move {
            match next.call(req).await {
                Ok(res) => Ok(res.map_into_boxed_body()),
                // Answered here, within the scope: a problem gets the id.
                // (The request cannot be kept to make a `ServiceResponse`:
                // routing needs it unshared.)
                Err(e) => {
                    let answer = e.error_response();
                    Err((e, answer))
                }
            }
        })
        .await;
    let header = (
        HeaderName::from_static(REQUEST_ID_HEADER),
        HeaderValue::from_str(id.as_str()),
    );
    match (outcome, header) {
        (Ok(mut res), (name, Ok(value))) => {
            res.headers_mut().insert(name, value);
            Ok(res)
        }
        (Err((e, mut answer)), (name, Ok(value))) => {
            answer.headers_mut().insert(name, value);
            Err(InternalError::from_response(e, answer).into())
        }
        (Ok(res), _) => Ok(res),
        (Err((e, _)), _) => Err(e),
    }
}

/// Target of the one line logged per answered request (method, route,
/// status, duration; `info`). `TILLCODE_LOG=info,tillcode::http=warn`
/// silences it.
pub const HTTP_TARGET: &str = "tillcode::http";

/// When a request started, for its duration.
#[derive(Clone, Copy)]
struct Started(std::time::Instant);

/// The span of a request, for `tracing_actix_web::TracingLogger`: its
/// method, route pattern (`/v1/redemptions/{id}/void`, never the path with
/// its values, never the query) and [`RequestId`]; no header, no client
/// address. Every event logged while the request runs carries them. At level
/// `error`, so that no filter short of `off` leaves an error of a request
/// without them.
pub struct Spans;

impl RootSpanBuilder for Spans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request.extensions().get::<RequestId>().cloned();
        let id = id.unwrap_or_default();
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        request
            .extensions_mut()
            .insert(Started(std::time::Instant::now()));
        tracing::error_span!(
            target: "tillcode::request",
            "request",
            method = %request.method(),
            route = %route,
            request_id = %id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // Called inside the span (`span` is the current one).
        let _ = span;
        let (status, started) = match outcome {
            Ok(res) => (
                res.status(),
                res.request().extensions().get::<Started>().copied(),
            ),
            Err(e) => (e.as_response_error().status_code(), None),
        };
        let duration_ms = started.map(|s| s.0.elapsed().as_millis());
        tracing::info!(
            target: HTTP_TARGET,
            status = status.as_u16(),
            duration_ms,
            "answered"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{REQUEST_ID_MAX_LEN, RequestId};
    use crate::testing::logs::LogCapture;
    use crate::testing::{spawn_app, spawn_app_with_dead_redis};

    /// The answer's `X-Request-Id`, and the `request_id` of its problem body
    /// if it has one.
    async fn ids(response: reqwest::Response) -> (String, Option<String>) {
        let header = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let is_problem = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json");
        let body = if is_problem {
            let body: serde_json::Value = response.json().await.unwrap();
            Some(body["request_id"].as_str().unwrap().to_owned())
        } else {
            None
        };
        (header, body)
    }

    fn is_uuid_v7(id: &str) -> bool {
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 7)
    }

    #[tokio::test]
    async fn every_answer_has_a_request_id_and_a_problem_repeats_it() {
        let app = spawn_app().await;
        let client = reqwest::Client::new();

        let ok = client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let (header, body) = ids(ok).await;
        assert!(is_uuid_v7(&header), "{header}");
        assert_eq!(body, None);

        // A route nobody serves, a refusal of a handler (an unsigned till
        // request), an extractor's (a JSON body that is no JSON) and what
        // actix answers without a problem type (a `web::Bytes` body over the
        // limit) made into one by `error::plain_errors_as_problems`.
        let refusals = [
            client.get(app.url("/no/such/thing")),
            client.post(app.url("/v1/redemptions")).body("{}"),
            client
                .post(app.url("/v1/customers/sign-in"))
                .header("content-type", "application/json")
                .body("{not json"),
            client
                .post(app.url("/v1/redemptions"))
                .header("content-type", "application/json")
                .body("x".repeat(64 * 1024)),
        ];
        let mut seen = std::collections::HashSet::new();
        for request in refusals {
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(status.is_client_error(), "{status}");
            let (header, body) = ids(response).await;
            assert!(is_uuid_v7(&header), "{status}: {header}");
            assert_eq!(body.as_deref(), Some(header.as_str()), "{status}");
            assert!(seen.insert(header), "a request id given twice");
        }
    }

    #[tokio::test]
    async fn a_sane_incoming_request_id_is_kept_and_any_other_replaced() {
        let app = spawn_app().await;
        let client = reqwest::Client::new();
        let longest = "r".repeat(REQUEST_ID_MAX_LEN);
        for sane in [
            "till-7:sale/42",
            "0198f3a2-6c1e-7b3d-9a41-2f6d8e0c5b17",
            &longest,
        ] {
            for path in ["/healthz", "/no/such/thing"] {
                let response = client
                    .get(app.url(path))
                    .header("X-Request-Id", sane)
                    .send()
                    .await
                    .unwrap();
                let (header, body) = ids(response).await;
                assert_eq!(header, sane, "{path}");
                if path != "/healthz" {
                    assert_eq!(body.as_deref(), Some(sane), "{path}");
                }
            }
        }
        let too_long = "r".repeat(REQUEST_ID_MAX_LEN + 1);
        let insane: [&[u8]; 5] = [
            b"two words",
            b"tab\there",
            b"caf\xc3\xa9",
            b"",
            too_long.as_bytes(),
        ];
        for value in insane {
            let response = client
                .get(app.url("/no/such/thing"))
                .header(
                    "X-Request-Id",
                    reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                )
                .send()
                .await
                .unwrap();
            let (header, body) = ids(response).await;
            assert!(is_uuid_v7(&header), "{value:?} kept as {header}");
            assert_eq!(body.as_deref(), Some(header.as_str()));
        }
    }

    #[test]
    fn only_short_visible_ascii_is_a_request_id() {
        assert!(RequestId::from_header(b"abc-123_~!").is_some());
        for bad in [&b""[..], b" ", b"a b", b"a\nb", b"a\x7fb", b"\xff"] {
            assert_eq!(RequestId::from_header(bad), None, "{bad:?}");
        }
        let ids: Vec<_> = (0..2).map(|_| RequestId::new()).collect();
        assert_ne!(ids[0], ids[1]);
        assert!(is_uuid_v7(ids[0].as_str()));
    }

    /// An error a request logs carries its route and id, even with the
    /// filter at `warn`; the `tillcode::http` line of each answer is at
    /// `info`, so that filter leaves it out. The capture is the process's
    /// global subscriber, installed before the server starts: nextest (what
    /// `ops/test.sh` runs) gives each test a process of its own.
    #[tokio::test]
    async fn an_error_a_request_logs_carries_its_route_and_request_id() {
        let capture = LogCapture::install("warn");
        let app = spawn_app_with_dead_redis().await;
        // A challenge is kept in Redis: with Redis down, a logged 503.
        let response = reqwest::Client::new()
            .post(app.url("/v1/challenges"))
            .header("X-Request-Id", "report-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let (header, body) = ids(response).await;
        assert_eq!(header, "report-me-42");
        assert_eq!(body.as_deref(), Some("report-me-42"));

        let text = capture.text();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let failed = events
            .iter()
            .find(|e| e["fields"]["message"] == "request failed")
            .unwrap_or_else(|| panic!("no error logged: {text}"));
        assert_eq!(failed["level"], "ERROR");
        let span = &failed["span"];
        assert_eq!(span["name"], "request", "{failed}");
        assert_eq!(span["route"], "/v1/challenges", "{failed}");
        assert_eq!(span["method"], "POST", "{failed}");
        assert_eq!(span["request_id"], "report-me-42", "{failed}");
        assert!(
            !events.iter().any(|e| e["target"] == super::HTTP_TARGET),
            "{text}"
        );
    }
}
