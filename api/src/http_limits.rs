//! What a client may send and how slowly: the one place the HTTP limits are
//! set, read from `TILLCODE_HTTP_*` variables by `config.rs` and applied by
//! `server.rs`. Every limit turns hostile input into a 4xx problem (or, for a
//! client too slow to send its headers, a closed connection) before it costs
//! more than a bounded amount of memory or time.
//!
//! Limits actix-http fixes and no setting changes: a request head of at most
//! 128 KiB and 96 headers (more is refused with 431 and the connection closed).

use std::io;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, web};
use futures_util::{Stream, StreamExt};
use tillcode_protocol::ProblemType;

use crate::error::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// `TILLCODE_HTTP_BODY_LIMIT_BYTES`, default 16 KiB: the largest request
    /// body, JSON or signed. The largest real one (a redemption with an
    /// offline token) is under 300 bytes.
    pub body_bytes: usize,
    /// `TILLCODE_HTTP_HEAD_TIMEOUT_MS`, default 5000: how long a client has
    /// to send a request's line and headers. A client that sends them byte
    /// by byte (slowloris) gets 408 and a closed connection.
    pub head_timeout: Duration,
    /// `TILLCODE_HTTP_BODY_TIMEOUT_MS`, default 10000: how long, from the
    /// first handler's read, a client has to send the whole body; a slower
    /// one gets a `request-timeout` problem (408).
    pub body_timeout: Duration,
    /// `TILLCODE_HTTP_KEEP_ALIVE_SECS`, default 5: how long an idle
    /// keep-alive connection is held open.
    pub keep_alive: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_bytes: 16 * 1024,
            head_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
        }
    }
}

impl HttpLimits {
    /// For `web::Bytes` bodies (the signed terminal requests).
    pub fn payload_config(&self) -> web::PayloadConfig {
        web::PayloadConfig::new(self.body_bytes)
    }

    /// For `web::Json` bodies, with every refusal mapped to its problem.
    pub fn json_config(&self) -> web::JsonConfig {
        crate::error::json_config(self.body_bytes)
    }
}

/// The error a body read too slowly ends with; [`is_body_timeout`] knows it.
fn body_timed_out() -> PayloadError {
    PayloadError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        "the request body was not received in time",
    ))
}

pub fn is_body_timeout(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(e) if e.kind() == io::ErrorKind::TimedOut)
}

/// Middleware: the body must arrive within [`HttpLimits::body_timeout`] of
/// the request reaching the app, however slowly it trickles in. Limits come
/// from the app's `web::Data<HttpLimits>`, defaults when there is none.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<HttpLimits>>()
        .map_or_else(|| HttpLimits::default().body_timeout, |l| l.body_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    let payload = req.take_payload();
    let bounded = futures_util::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            // Ends the stream after the error: nothing more is read.
            Err(_) => Some((Err(body_timed_out()), None)),
        }
    });
    let bounded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(bounded);
    req.set_payload(Payload::from(bounded));
    next.call(req).await
}

/// A signed request's body is JSON and says so: the signature covers the
/// bytes, not their type, so the type is checked here. An empty body (a
/// signed GET) needs no type.
pub fn require_json_body(req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<actix_web::mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == actix_web::mime::APPLICATION && m.subtype() == actix_web::mime::JSON
        });
    if is_json {
        Ok(())
    } else {
        Err(ApiError::client(
            ProblemType::UnsupportedMediaType,
            "send Content-Type: application/json",
        ))
    }
}

#[cfg(test)]
mod tests;
