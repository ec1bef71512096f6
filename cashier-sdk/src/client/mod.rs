//! An async client for the terminal HTTP API (`/v1/...`): enrollment, and
//! through [`TerminalClient`] every signed request a till makes, with
//! retries that can never charge a customer twice.
//!
//! Plain HTTP only for now: reqwest is built without a TLS stack (the
//! workspace's setting), so an `https://` address is refused up front with
//! a clear message rather than failing at the first request.

mod error;
mod terminal;
mod types;

use std::time::Duration;

use reqwest::{Response, Url};
use serde::de::DeserializeOwned;
use tillcode_protocol::{EnrollmentCode, StoreId};

pub use error::ClientError;
pub use terminal::{RetryNotice, TerminalClient};
pub use types::{
    Accrual, AccrualTarget, AccrueRequest, Earned, RedeemRequest, Redemption, Refund, TerminalView,
    Transaction, TransactionPage, Void,
};

use crate::{RetryPolicy, TerminalKey, enrollment};

/// No response of this API comes near it; a body past it is not ours.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Timeouts and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    /// For one attempt, from sending to the last byte of the answer. A
    /// request that times out may still have been carried out: it is
    /// retried with the same idempotency key, which settles it.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    /// 5 s to connect and 10 s an attempt: a redemption takes milliseconds,
    /// and a customer at a till will not wait a minute.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client for one API base address. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
}

impl Client {
    /// `base_url` is the address the API's `/v1` paths hang from, such as
    /// `http://127.0.0.1:8080` or `http://example.test/tillcode/`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_options(base_url, ClientOptions::default())
    }

    pub fn with_options(base_url: &str, options: ClientOptions) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let base = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        match base.scheme() {
            "http" => {}
            "https" => return Err(bad("this build speaks plain HTTP only (no TLS stack)")),
            _ => return Err(bad("not an http:// address")),
        }
        if base.cannot_be_a_base() || base.query().is_some() || base.fragment().is_some() {
            return Err(bad("an API address has no query or fragment"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            // A signature covers the path it was made for: a redirected
            // request would arrive elsewhere with a signature that cannot
            // verify there, so a redirect is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            base,
            retry: options.retry,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The base address with `segments` appended, each percent-encoded as
    /// one path segment (so an id cannot add path parts).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `with_options` refused addresses that cannot be a base, for which
        // this would be Err; nothing to append to then.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `POST /v1/terminals/enroll` (unsigned: the proof of possession in the
    /// body is the authentication). Never retried: it carries no
    /// idempotency key, and an enrollment code allows only 5 attempts.
    pub async fn enroll(
        &self,
        key: &TerminalKey,
        store_id: StoreId,
        code: &EnrollmentCode,
        name: &str,
    ) -> Result<TerminalView, ClientError> {
        let body = enrollment::enroll_request(key, store_id, code, name);
        let url = self.url(&["v1", "terminals", "enroll"]);
        let response = self.http.post(url).json(&body).send().await?;
        decode("enrollment", &read_success("enrollment", response).await?)
    }
}

/// The body of a success response, or the error a failure carries.
async fn read_success(what: &'static str, mut response: Response) -> Result<Vec<u8>, ClientError> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::TooLarge {
                what,
                limit: MAX_RESPONSE_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        Ok(body)
    } else {
        Err(ClientError::from_error_response(status.as_u16(), &body))
    }
}

fn decode<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_appended_to_the_base_with_or_without_a_trailing_slash() {
        for base in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            let client = Client::new(base).unwrap();
            assert_eq!(
                client.url(&["v1", "terminal"]).as_str(),
                "http://127.0.0.1:8080/v1/terminal"
            );
        }
        let prefixed = Client::new("http://api.test/tillcode/").unwrap();
        assert_eq!(
            prefixed.url(&["v1", "redemptions"]).path(),
            "/tillcode/v1/redemptions"
        );
    }

    #[test]
    fn a_segment_cannot_add_path_parts_or_a_query() {
        let client = Client::new("http://api.test").unwrap();
        let url = client.url(&["v1", "redemptions", "../../admin?x=1#y", "void"]);
        assert_eq!(
            url.as_str(),
            "http://api.test/v1/redemptions/..%2F..%2Fadmin%3Fx=1%23y/void"
        );
    }

    #[test]
    fn only_plain_http_addresses_are_accepted() {
        for bad in [
            "https://api.test",
            "ftp://api.test",
            "api.test:8080",
            "http://api.test/?q=1",
            "http://api.test/#x",
            "mailto:x@y",
        ] {
            let err = Client::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err}");
        }
        let err = Client::new("https://api.test").unwrap_err();
        assert!(err.to_string().contains("plain HTTP only"), "{err}");
    }
}
