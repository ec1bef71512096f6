//! An async client for the customer HTTP API (`/v1/...`).
//!
//! Plain HTTP only for now: reqwest is built without a TLS stack (the
//! workspace's setting, for tests against a local server), so an `https://`
//! address is refused up front with a clear message rather than failing at
//! the first request. The base address, timeouts and reading of answers are
//! `tillcode_sdk_common::http`'s, shared with the cashier SDK.

mod endpoints;
mod error;
mod flows;
mod types;

use std::time::Duration;

use reqwest::{RequestBuilder, Url};
use serde::de::DeserializeOwned;
use tillcode_sdk_common::http::{ApiBase, HttpOptions, read_success};

pub use error::ClientError;
pub use types::{
    Balance, Bearer, Challenge, DeviceView, HistoryItem, HistoryPage, LinkCreated, LinkState,
    LinkStatus, LinkedDevice, OnlineKey, RegisteredDevice, Session, SignedIn,
};

const OPTIONS: HttpOptions = HttpOptions {
    connect_timeout: Duration::from_secs(10),
    request_timeout: Duration::from_secs(30),
    // Nothing here is signed over its path, so reqwest's default applies.
    follow_redirects: true,
};

/// A client for one API base address. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    api: ApiBase,
}

impl Client {
    /// `base_url` is the address the API's `/v1` paths hang from, such as
    /// `http://127.0.0.1:8080` or `http://example.test/tillcode/`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiBase::new(base_url, OPTIONS)?,
        })
    }

    pub fn base_url(&self) -> &str {
        self.api.base_url()
    }

    fn http(&self) -> &reqwest::Client {
        self.api.http()
    }

    /// The base address with `segments` appended, each percent-encoded as
    /// one path segment (so an id from the server cannot add path parts).
    fn url(&self, segments: &[&str]) -> Url {
        self.api.url(segments)
    }

    /// Sends and decodes a JSON success body as `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        request: RequestBuilder,
    ) -> Result<T, ClientError> {
        let body = read_success(what, request.send().await?).await?;
        serde_json::from_slice(&body).map_err(|source| ClientError::Decode { what, source })
    }

    /// Sends and expects a success with nothing to read (204).
    async fn empty(&self, what: &'static str, request: RequestBuilder) -> Result<(), ClientError> {
        read_success(what, request.send().await?)
            .await
            .map(drop)
            .map_err(ClientError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_addresses_are_accepted() {
        for bad in [
            "https://api.test",
            "ftp://api.test",
            "api.test:8080",
            "http://api.test/?q=1",
            "mailto:x@y",
        ] {
            let err = Client::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err}");
        }
        let err = Client::new("https://api.test").unwrap_err();
        assert!(err.to_string().contains("plain HTTP only"), "{err}");
    }

    #[test]
    fn paths_hang_from_the_base_address() {
        let client = Client::new("http://api.test/tillcode").unwrap();
        assert_eq!(client.base_url(), "http://api.test/tillcode");
        assert_eq!(
            client.url(&["v1", "me", "balance"]).as_str(),
            "http://api.test/tillcode/v1/me/balance"
        );
    }
}
