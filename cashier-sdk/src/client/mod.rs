//! An async client for the terminal HTTP API (`/v1/...`): enrollment, and
//! through [`TerminalClient`] every signed request a till makes, with
//! retries that can never charge a customer twice.
//!
//! `https://` through rustls, trusting the system's CAs or a private CA
//! ([`Transport`]); plain `http://` only to this machine unless allowed.
//! The base address, TLS and reading of answers are
//! `tillcode_sdk_common::http`'s, shared with the customer SDK.

mod error;
mod terminal;
mod types;

use std::time::Duration;

use reqwest::{Response, Url};
use serde::de::DeserializeOwned;
use tillcode_protocol::{EnrollmentCode, StoreId};
use tillcode_sdk_common::http::{ApiBase, HttpOptions};

pub use error::ClientError;
pub use terminal::{RetryNotice, TerminalClient};
pub use tillcode_sdk_common::http::{CaCertError, Transport};
pub use types::{
    Accrual, AccrualTarget, AccrueRequest, Earned, RedeemRequest, Redemption, Refund, TerminalView,
    Transaction, TransactionPage, Void,
};

use crate::{RetryPolicy, TerminalKey, enrollment};

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
    api: ApiBase,
    retry: RetryPolicy,
}

impl Client {
    /// `base_url` is the address the API's `/v1` paths hang from, such as
    /// `https://api.example.com/tillcode/` or `http://127.0.0.1:8080`; the
    /// system's CAs are trusted.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_options(base_url, ClientOptions::default())
    }

    pub fn with_options(base_url: &str, options: ClientOptions) -> Result<Self, ClientError> {
        Self::with_transport(base_url, options, &Transport::default())
    }

    /// Like [`Client::with_options`], with a private CA or plain HTTP to
    /// another machine allowed.
    pub fn with_transport(
        base_url: &str,
        options: ClientOptions,
        transport: &Transport,
    ) -> Result<Self, ClientError> {
        let http = HttpOptions {
            connect_timeout: options.connect_timeout,
            request_timeout: options.request_timeout,
            // A signature covers the path it was made for: a redirected
            // request would arrive elsewhere with a signature that cannot
            // verify there, so a redirect is reported, not followed.
            follow_redirects: false,
        };
        Ok(Self {
            api: ApiBase::new(base_url, http, transport)?,
            retry: options.retry,
        })
    }

    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn http(&self) -> &reqwest::Client {
        self.api.http()
    }

    /// The base address with `segments` appended, each percent-encoded as
    /// one path segment (so an id cannot add path parts).
    fn url(&self, segments: &[&str]) -> Url {
        self.api.url(segments)
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
        let response = self.http().post(url).json(&body).send().await?;
        decode("enrollment", &read_success("enrollment", response).await?)
    }
}

/// The body of a success response, or the error a failure carries.
async fn read_success(what: &'static str, response: Response) -> Result<Vec<u8>, ClientError> {
    Ok(tillcode_sdk_common::http::read_success(what, response).await?)
}

fn decode<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|source| ClientError::Decode { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_accepted_and_other_addresses_refused() {
        for bad in [
            "http://api.test",
            "ftp://api.test",
            "api.test:8080",
            "https://api.test/?q=1",
            "https://api.test/#x",
            "mailto:x@y",
        ] {
            let err = Client::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err}");
        }
        let err = Client::new("http://api.test").unwrap_err();
        assert!(err.to_string().contains("in clear"), "{err}");
        Client::new("https://api.test").unwrap();
        Client::new("http://[::1]:8080").unwrap();
        let insecure = Transport::default().allow_insecure_http(true);
        Client::with_transport("http://api.test", ClientOptions::default(), &insecure).unwrap();
    }

    #[test]
    fn paths_hang_from_the_base_address_and_the_options_are_kept() {
        let options = ClientOptions {
            retry: RetryPolicy {
                max_attempts: 7,
                ..RetryPolicy::default()
            },
            ..ClientOptions::default()
        };
        let client = Client::with_options("https://api.test/tillcode/", options).unwrap();
        assert_eq!(client.base_url(), "https://api.test/tillcode/");
        assert_eq!(
            client.url(&["v1", "redemptions"]).path(),
            "/tillcode/v1/redemptions"
        );
        assert_eq!(client.retry_policy(), options.retry);
    }
}
