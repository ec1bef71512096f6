//! An async client for the customer HTTP API (`/v1/...`).
//!
//! `https://` through rustls, trusting the system's CAs or a private CA
//! ([`Transport`]); plain `http://` only to this machine unless allowed,
//! since a sign-in sends the password. The base address, timeouts, TLS and
//! reading of answers are `tillcode_sdk_common::http`'s, shared with the
//! cashier SDK.

mod endpoints;
mod error;
mod flows;
mod types;

use std::time::Duration;

use reqwest::{RequestBuilder, Url};
use serde::de::DeserializeOwned;
use tillcode_sdk_common::http::{ApiBase, HttpOptions, read_success};

pub use error::ClientError;
pub use tillcode_sdk_common::http::{CaCertError, Transport};
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
    /// `https://api.example.com/tillcode/` or `http://127.0.0.1:8080`; the
    /// system's CAs are trusted.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_transport(base_url, &Transport::default())
    }

    /// Like [`Client::new`], with a private CA or plain HTTP to another
    /// machine allowed.
    pub fn with_transport(base_url: &str, transport: &Transport) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiBase::new(base_url, OPTIONS, transport)?,
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
    fn https_and_loopback_http_are_accepted_and_other_addresses_refused() {
        for bad in [
            "http://api.test",
            "ftp://api.test",
            "api.test:8080",
            "https://api.test/?q=1",
            "mailto:x@y",
        ] {
            let err = Client::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err}");
        }
        let err = Client::new("http://api.test").unwrap_err();
        assert!(err.to_string().contains("in clear"), "{err}");
        Client::new("https://api.test").unwrap();
        Client::new("http://127.0.0.1:8080").unwrap();
        let insecure = Transport::default().allow_insecure_http(true);
        Client::with_transport("http://api.test", &insecure).unwrap();
    }

    #[test]
    fn paths_hang_from_the_base_address() {
        let client = Client::new("https://api.test/tillcode").unwrap();
        assert_eq!(client.base_url(), "https://api.test/tillcode");
        assert_eq!(
            client.url(&["v1", "me", "balance"]).as_str(),
            "https://api.test/tillcode/v1/me/balance"
        );
    }
}
